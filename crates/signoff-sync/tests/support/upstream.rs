//! A real upstream on 127.0.0.1 for tests of outbound actions: it stores posted replies keyed
//! by their `Idempotency-Key` (a second post with the same key is answered 200 and stores
//! nothing), deletes them by key, and can be told to fail the next requests (an HTTP status,
//! or a dropped connection before or after storing). Shared by the sync and API tests
//! (`#[path]`); every loop is bounded.
#![allow(dead_code)] // each test binary uses its own subset

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the next request meets instead of normal service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status, storing nothing.
    Status(u16),
    /// Close the connection without answering or storing.
    DropBeforeStore,
    /// Do the work (store or delete), then close without answering: the lost-answer case.
    DropAfterStore,
}

#[derive(Default)]
struct State {
    replies: BTreeMap<String, String>,
    faults: VecDeque<Fault>,
    requests: Vec<(String, String, Option<String>)>,
}

/// A running upstream; it stops accepting after a bounded number of connections.
pub struct Upstream {
    /// Base URL (`http://127.0.0.1:PORT/v1`).
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl Upstream {
    /// Starts a server on an ephemeral port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/v1", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().take(512) {
                let Ok(s) = conn else { continue };
                serve_one(s, &st);
            }
        });
        Self { base, state }
    }

    /// Makes the next request(s) meet these faults, in order.
    pub fn fail_next(&self, faults: &[Fault]) {
        self.state.lock().unwrap().faults.extend(faults);
    }

    /// The stored replies, by idempotency key.
    pub fn replies(&self) -> BTreeMap<String, String> {
        self.state.lock().unwrap().replies.clone()
    }

    /// Requests seen: (method, path, idempotency key).
    pub fn requests(&self) -> Vec<(String, String, Option<String>)> {
        self.state.lock().unwrap().requests.clone()
    }
}

fn answer(s: &mut TcpStream, status: u16, body: &str) {
    let _ = write!(
        s,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn serve_one(mut s: TcpStream, state: &Mutex<State>) {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    if r.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let (mut len, mut key) = (0usize, None);
    for _ in 0..100 {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        let (name, value) = h.split_once(':').unwrap_or((&h, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => len = value.trim().parse().unwrap_or(0),
            "idempotency-key" => key = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let mut body = vec![0; len.min(1 << 20)];
    if r.read_exact(&mut body).is_err() {
        return;
    }
    let body = String::from_utf8_lossy(&body).into_owned();
    let mut st = state.lock().unwrap();
    st.requests
        .push((method.clone(), path.clone(), key.clone()));
    let fault = st.faults.pop_front();
    match fault {
        Some(Fault::Status(code)) => return answer(&mut s, code, "{\"error\":\"injected\"}"),
        Some(Fault::DropBeforeStore) => return,
        _ => {}
    }
    let (status, text) = match (method.as_str(), path.strip_prefix("/v1/replies")) {
        ("POST", Some("")) => match key {
            None => (400, "{\"error\":\"Idempotency-Key required\"}"),
            Some(_) if serde_json::from_str::<serde_json::Value>(&body).is_err() => {
                (400, "{\"error\":\"body is not JSON\"}")
            }
            Some(k) if st.replies.contains_key(&k) => (200, "{\"replayed\":true}"),
            Some(k) => {
                st.replies.insert(k, body);
                (201, "{\"stored\":true}")
            }
        },
        ("DELETE", Some(rest)) if rest.starts_with('/') => match st.replies.remove(&rest[1..]) {
            Some(_) => (204, ""),
            None => (404, "{\"error\":\"no such reply\"}"),
        },
        _ => (404, "{\"error\":\"no such endpoint\"}"),
    };
    drop(st);
    if fault == Some(Fault::DropAfterStore) {
        return;
    }
    answer(&mut s, status, text);
}
