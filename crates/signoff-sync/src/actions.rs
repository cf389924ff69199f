//! Sending outbound actions upstream: one HTTP request (POST a reply, or DELETE it to
//! compensate) carrying an `Idempotency-Key` header, retried with exponential backoff and
//! full jitter (`signoff_core::retry`) on connection failures, timeouts, 408, 429 and 5xx
//! (a `Retry-After` honoured up to the longest wait), never on other 4xx answers.
//!
//! Retrying is safe because the key never changes: an upstream that honours it stores one
//! reply per key however often it is posted. A DELETE answered 404 or 410 means the reply is
//! already gone, which is what compensation wants. Nothing here touches the workspace; the
//! caller records the [`Delivery`] (see `signoff_api::actions`).

use crate::SyncError;
use signoff_core::retry::{self, Backoff, Jitter};
use std::time::Duration;

/// The header carrying the idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// What to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Post the reply (JSON body).
    Post,
    /// Remove a posted reply.
    Delete,
}

/// One request of an action.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// POST or DELETE.
    pub method: Method,
    /// The URL.
    pub url: &'a str,
    /// The `Idempotency-Key` header value.
    pub idempotency_key: &'a str,
    /// The JSON body (POST).
    pub body: Option<&'a str>,
}

/// How a send behaves on a slow or flaky upstream.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// Connect timeout and whole-request timeout.
    pub timeout: Duration,
    /// Attempts in all (at least one).
    pub attempts: u32,
    /// Base wait before the second attempt; doubles after each, before jitter.
    pub backoff: Duration,
    /// The longest single wait (also caps a server's `Retry-After`).
    pub max_backoff: Duration,
}

impl Default for SendOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            attempts: 4,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// What came of a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Upstream did what was asked (2xx; for DELETE also 404/410).
    pub ok: bool,
    /// The last HTTP status, if an answer came.
    pub status: Option<u16>,
    /// Attempts made.
    pub attempts: u32,
    /// Why it failed, naming the URL.
    pub error: Option<String>,
}

/// The backoff a send uses: full jitter up to `max_backoff`, a server's `Retry-After` honoured
/// up to `max_backoff` too.
fn backoff(opts: &SendOptions) -> Backoff {
    Backoff {
        base: opts.backoff,
        max: opts.max_backoff,
        max_retry_after: opts.max_backoff,
    }
}

/// Sends `req`, retrying what may succeed later. Only a malformed URL is an `Err`; every
/// upstream answer or failure is a [`Delivery`].
pub fn send(req: &Request<'_>, opts: &SendOptions) -> Result<Delivery, SyncError> {
    let client = crate::client_for(req.url, opts.timeout)?;
    let attempts = opts.attempts.max(1);
    let mut last = Delivery {
        ok: false,
        status: None,
        attempts: 0,
        error: None,
    };
    let mut retry_after = None;
    let (backoff, mut jitter) = (backoff(opts), Jitter::from_entropy());
    for attempt in 1..=attempts {
        if attempt > 1 {
            std::thread::sleep(backoff.wait(attempt - 1, retry_after, &mut jitter));
        }
        last.attempts = attempt;
        let builder = match req.method {
            Method::Post => client
                .post(req.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(req.body.unwrap_or("").to_string()),
            Method::Delete => client.delete(req.url),
        }
        .header(IDEMPOTENCY_HEADER, req.idempotency_key);
        match builder.send() {
            Ok(resp) => {
                let status = resp.status().as_u16();
                retry_after = crate::retry_after_of(&resp);
                // Read the body so the answer is complete (a cut body is a network failure).
                let body = resp.bytes();
                last.status = Some(status);
                let gone = req.method == Method::Delete && (status == 404 || status == 410);
                if (200..300).contains(&status) || gone {
                    if let Err(e) = body {
                        if !gone {
                            last.error = Some(format!("{}: the answer was cut off: {e}", req.url));
                            continue;
                        }
                    }
                    last.ok = true;
                    last.error = None;
                    return Ok(last);
                }
                last.error = Some(format!("{} answered {status}", req.url));
                if !retry::retryable_status(status) {
                    return Ok(last);
                }
            }
            Err(e) => {
                last.status = None;
                retry_after = None;
                last.error = Some(format!("{}: {}", req.url, chain(&e)));
            }
        }
    }
    if let Some(e) = &mut last.error {
        e.push_str(&format!(" (after {attempts} attempt(s))"));
    }
    Ok(last)
}

/// An error with its causes, one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_retry_after_is_capped_at_the_longest_wait() {
        let o = SendOptions {
            timeout: Duration::from_secs(1),
            attempts: 5,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
        };
        let b = backoff(&o);
        let mut j = Jitter::new(3);
        assert_eq!(b.bound(9), Duration::from_millis(350));
        let ra = b.wait(1, Some(Duration::from_secs(60)), &mut j);
        assert_eq!(ra, Duration::from_millis(350), "Retry-After is capped");
    }
}
