//! Outbound action sends against a real upstream on 127.0.0.1 that stores replies by
//! idempotency key: a 500 or a lost answer is retried and still stores one reply, a 4xx is
//! not retried, a dead upstream fails after the bounded attempts, and DELETE compensates.

#[path = "support/upstream.rs"]
mod upstream;

use signoff_sync::actions::{send, Method, Request, SendOptions};
use std::time::{Duration, Instant};
use upstream::{Fault, Upstream};

fn fast() -> SendOptions {
    SendOptions {
        timeout: Duration::from_secs(5),
        attempts: 3,
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
    }
}

fn post<'a>(url: &'a str, key: &'a str) -> Request<'a> {
    Request {
        method: Method::Post,
        url,
        idempotency_key: key,
        body: Some(r#"{"text":"hello"}"#),
    }
}

#[test]
fn a_500_then_a_lost_answer_are_retried_and_one_reply_is_stored() {
    let up = Upstream::start();
    let url = format!("{}/replies", up.base);
    up.fail_next(&[Fault::Status(500), Fault::DropAfterStore]);
    let d = send(&post(&url, "k1"), &fast()).unwrap();
    assert!(d.ok, "{d:?}");
    assert_eq!(
        (d.attempts, d.status),
        (3, Some(200)),
        "the third post is a replay"
    );
    assert_eq!(up.replies().len(), 1);
    assert_eq!(up.replies()["k1"], r#"{"text":"hello"}"#);
    assert!(up.requests().iter().all(|r| r.2.as_deref() == Some("k1")));
    // Sending again (say after a crash before the outcome was recorded) stores nothing new.
    let again = send(&post(&url, "k1"), &fast()).unwrap();
    assert_eq!(
        (again.ok, again.status, again.attempts),
        (true, Some(200), 1)
    );
    assert_eq!(up.replies().len(), 1);
}

#[test]
fn a_4xx_is_failed_without_retry() {
    let up = Upstream::start();
    let url = format!("{}/replies", up.base);
    up.fail_next(&[Fault::Status(422)]);
    let d = send(&post(&url, "k2"), &fast()).unwrap();
    assert_eq!((d.ok, d.status, d.attempts), (false, Some(422), 1));
    assert!(d.error.unwrap().contains("answered 422"));
    assert_eq!(up.requests().len(), 1);
    assert!(up.replies().is_empty());
}

#[test]
fn an_unreachable_upstream_fails_after_the_bounded_attempts() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/v1/replies");
    let t = Instant::now();
    let d = send(&post(&url, "k3"), &fast()).unwrap();
    assert_eq!((d.ok, d.status, d.attempts), (false, None, 3));
    assert!(
        d.error.as_deref().unwrap().contains("after 3 attempt(s)"),
        "{d:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    let e = send(&post("ftp://x/replies", "k"), &fast()).unwrap_err();
    assert!(e.to_string().contains("ftp://x/replies"), "{e}");
}

#[test]
fn a_dropped_connection_and_a_503_storm_are_bounded() {
    let up = Upstream::start();
    let url = format!("{}/replies", up.base);
    up.fail_next(&[
        Fault::DropBeforeStore,
        Fault::Status(503),
        Fault::Status(503),
    ]);
    let d = send(&post(&url, "k4"), &fast()).unwrap();
    assert_eq!((d.ok, d.status, d.attempts), (false, Some(503), 3));
    assert!(up.replies().is_empty());
    up.fail_next(&[Fault::DropBeforeStore]);
    let d = send(&post(&url, "k4"), &fast()).unwrap();
    assert_eq!((d.ok, d.attempts), (true, 2));
    assert_eq!(up.replies().len(), 1);
}

#[test]
fn delete_compensates_and_a_missing_reply_counts_as_gone() {
    let up = Upstream::start();
    let url = format!("{}/replies", up.base);
    assert!(send(&post(&url, "k5"), &fast()).unwrap().ok);
    let del_url = format!("{url}/k5");
    let del = Request {
        method: Method::Delete,
        url: &del_url,
        idempotency_key: "k5",
        body: None,
    };
    up.fail_next(&[Fault::DropAfterStore]);
    let d = send(&del, &fast()).unwrap();
    assert!(d.ok, "{d:?}");
    assert_eq!(
        (d.status, d.attempts),
        (Some(404), 2),
        "the retry finds it gone"
    );
    assert!(up.replies().is_empty());
}
