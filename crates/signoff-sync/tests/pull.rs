//! Pulls against a real HTTP server on 127.0.0.1: retries on 503, clear errors on 404, a cut
//! transfer and an oversized body. Every loop is bounded.

use signoff_sync::{pull_to_file, PullOptions, SyncError};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

/// Serves one canned raw HTTP response per connection, in order, then stops.
fn serve(responses: Vec<Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for resp in responses {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            while r.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            let _ = s.write_all(&resp);
        }
    });
    format!("http://{addr}/v1/cases.jsonl")
}

fn ok(body: &str) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).into_bytes()
}

fn fast() -> PullOptions {
    PullOptions {
        timeout: Duration::from_secs(5),
        attempts: 3,
        backoff: Duration::from_millis(20),
        max_bytes: 1 << 20,
    }
}

#[test]
fn a_503_is_retried_and_the_body_lands_in_the_file() {
    let body = "{\"id\":\"H-1\"}\n";
    let url = serve(vec![
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_vec(),
        ok(body),
    ]);
    let t = tempfile::tempdir().unwrap();
    let dest = t.path().join("pulled.jsonl");
    let p = pull_to_file(&url, &dest, &fast()).unwrap();
    assert_eq!(p.attempts, 2);
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), body);
}

#[test]
fn a_404_is_not_retried_and_names_the_url() {
    let url = serve(vec![
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    ]);
    let t = tempfile::tempdir().unwrap();
    let err = pull_to_file(&url, &t.path().join("x"), &fast()).unwrap_err();
    assert!(
        matches!(err, SyncError::Status { status: 404, .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&url));
}

#[test]
fn a_transfer_cut_short_fails_after_bounded_retries() {
    let cut =
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n{\"id\":".to_vec();
    let url = serve(vec![cut.clone(), cut.clone(), cut]);
    let t = tempfile::tempdir().unwrap();
    let err = pull_to_file(&url, &t.path().join("x"), &fast()).unwrap_err();
    assert!(
        matches!(err, SyncError::Network { attempts: 3, .. }),
        "{err}"
    );
}

#[test]
fn an_oversized_body_is_refused() {
    let big = "x".repeat(4096);
    let url = serve(vec![ok(&big)]);
    let t = tempfile::tempdir().unwrap();
    let opts = PullOptions {
        max_bytes: 1024,
        ..fast()
    };
    let err = pull_to_file(&url, &t.path().join("x"), &opts).unwrap_err();
    assert!(matches!(err, SyncError::TooLarge { .. }), "{err}");
}

#[test]
fn a_non_http_url_is_refused() {
    let err = pull_to_file(
        "ftp://example/x",
        std::path::Path::new("/nonexistent"),
        &fast(),
    )
    .unwrap_err();
    assert!(matches!(err, SyncError::BadUrl(_)));
}
