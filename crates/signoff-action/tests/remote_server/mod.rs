//! A scripted OpenAI-compatible server on 127.0.0.1 (an ephemeral port) for the remote
//! client's tests: each request gets the next scripted reply — a JSON body (after an
//! optional delay), or a server-sent-event stream written chunk by chunk with chunked
//! transfer encoding that can stall, end with `[DONE]` or be cut (the socket closed
//! mid-body). It records every request and the moment each stream chunk was flushed.
//! Every loop is bounded: the server handles at most `script.len() + 2` connections and
//! reads at most 1 MiB per request.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One scripted reply.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A whole body with a status and content type, after `delay`.
    Body {
        /// HTTP status.
        status: u16,
        /// Content-Type.
        ctype: &'static str,
        /// Extra headers.
        headers: Vec<(&'static str, String)>,
        /// The body.
        body: String,
        /// Wait before the response head.
        delay: Duration,
    },
    /// An SSE stream: each (delay, event payload) is one `data:` event in its own chunk.
    Stream {
        /// The events, each after its delay.
        events: Vec<(Duration, String)>,
        /// After the events: how the stream ends.
        end: End,
    },
}

/// A latch a test opens to let a gated stream finish (a permit is kept if nobody waits yet).
#[derive(Debug, Default)]
pub struct Gate(tokio::sync::Notify);

impl Gate {
    /// Lets the stream waiting on this gate go on.
    pub fn open(&self) {
        self.0.notify_one();
    }
}

/// How a stream ends.
#[derive(Debug, Clone)]
pub enum End {
    /// `data: [DONE]` and the closing chunk.
    Done,
    /// The socket is closed mid-body (no `[DONE]`, no closing chunk).
    Cut,
    /// Nothing more for this long, then the socket closes.
    Stall(Duration),
    /// Nothing more until the gate opens (at most 120 s), then these deltas and `[DONE]`.
    Gated(Arc<Gate>, Vec<String>),
}

/// A JSON reply with a status.
pub fn json(status: u16, body: &str) -> Reply {
    Reply::Body {
        status,
        ctype: "application/json",
        headers: Vec::new(),
        body: body.to_string(),
        delay: Duration::ZERO,
    }
}

/// A non-streamed chat completion with `content`.
pub fn completion(content: &str) -> Reply {
    json(
        200,
        &serde_json::json!({
            "id": "x", "object": "chat.completion", "model": "test-model-2026",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]
        })
        .to_string(),
    )
}

/// One streamed delta event.
pub fn delta(text: &str) -> String {
    serde_json::json!({
        "id": "x", "object": "chat.completion.chunk", "model": "test-model-2026",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]
    })
    .to_string()
}

/// A stream of `parts` as deltas, `gap` apart, ending as `end` says.
pub fn stream(parts: &[&str], gap: Duration, end: End) -> Reply {
    Reply::Stream {
        events: parts.iter().map(|p| (gap, delta(p))).collect(),
        end,
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Request line and headers.
    pub head: String,
    /// The body.
    pub body: String,
}

/// The running server.
pub struct Server {
    /// Its address.
    pub addr: SocketAddr,
    /// Requests received, in order.
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// When each stream chunk was written and flushed.
    pub flushed: Arc<Mutex<Vec<Instant>>>,
    /// The same moments as wall-clock milliseconds since the Unix epoch (to compare with a
    /// timestamp taken in another process, e.g. the webview's `Date.now()`).
    pub flushed_ms: Arc<Mutex<Vec<u128>>>,
}

impl Server {
    /// The base URL to configure (`http://127.0.0.1:PORT/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Requests received so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Starts a server answering requests with `script` in order (a request beyond the script
/// gets a 500), on its own thread and runtime.
pub fn start(script: Vec<Reply>) -> Server {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let flushed = Arc::new(Mutex::new(Vec::new()));
    let flushed_ms = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let (s2, f2, m2) = (seen.clone(), flushed.clone(), flushed_ms.clone());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let mut script = script.into_iter();
            let limit = script.len() + 2;
            let mut tasks = Vec::new();
            for _ in 0..limit {
                let Ok(Ok((sock, _))) =
                    tokio::time::timeout(Duration::from_secs(30), listener.accept()).await
                else {
                    break;
                };
                let reply = script
                    .next()
                    .unwrap_or_else(|| json(500, "{\"error\":{\"message\":\"script exhausted\"}}"));
                let (s, f, m) = (s2.clone(), f2.clone(), m2.clone());
                tasks.push(tokio::spawn(async move {
                    let _ = serve(sock, reply, s, (f, m)).await;
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
        });
    });
    let addr = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    Server {
        addr,
        seen,
        flushed,
        flushed_ms,
    }
}

/// Reads one request (head + Content-Length body, at most 1 MiB).
async fn read_request(sock: &mut TcpStream) -> std::io::Result<Seen> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return Err(std::io::Error::other("head too long"));
        }
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            return Err(std::io::Error::other("closed before the head"));
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0)
        .min(1 << 20);
    while buf.len() < head_end + len {
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
    Ok(Seen { head, body })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Where flush moments go: monotonic instants and wall-clock epoch milliseconds.
type Stamps = (Arc<Mutex<Vec<Instant>>>, Arc<Mutex<Vec<u128>>>);

async fn serve(
    mut sock: TcpStream,
    reply: Reply,
    seen: Arc<Mutex<Vec<Seen>>>,
    flushed: Stamps,
) -> std::io::Result<()> {
    let mark = || {
        flushed.0.lock().unwrap().push(Instant::now());
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        flushed.1.lock().unwrap().push(wall);
    };
    let req = read_request(&mut sock).await?;
    seen.lock().unwrap().push(req);
    match reply {
        Reply::Body {
            status,
            ctype,
            headers,
            body,
            delay,
        } => {
            tokio::time::sleep(delay).await;
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n",
                reason(status),
                body.len()
            );
            for (k, v) in headers {
                head += &format!("{k}: {v}\r\n");
            }
            head += "\r\n";
            sock.write_all(head.as_bytes()).await?;
            sock.write_all(body.as_bytes()).await?;
            sock.flush().await?;
        }
        Reply::Stream { events, end } => {
            sock.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
            )
            .await?;
            sock.flush().await?;
            for (gap, ev) in events {
                tokio::time::sleep(gap).await;
                let data = format!("data: {ev}\n\n");
                sock.write_all(format!("{:x}\r\n{data}\r\n", data.len()).as_bytes())
                    .await?;
                sock.flush().await?;
                mark();
            }
            if let End::Gated(gate, rest) = &end {
                let _ = tokio::time::timeout(Duration::from_secs(120), gate.0.notified()).await;
                for part in rest {
                    let data = format!("data: {}\n\n", delta(part));
                    sock.write_all(format!("{:x}\r\n{data}\r\n", data.len()).as_bytes())
                        .await?;
                    sock.flush().await?;
                    mark();
                }
            }
            match end {
                End::Done | End::Gated(..) => {
                    let data = "data: [DONE]\n\n";
                    sock.write_all(format!("{:x}\r\n{data}\r\n0\r\n\r\n", data.len()).as_bytes())
                        .await?;
                    sock.flush().await?;
                }
                End::Cut => {}
                End::Stall(d) => tokio::time::sleep(d).await,
            }
        }
    }
    // Closing the socket here ends the body (or cuts the stream).
    Ok(())
}
