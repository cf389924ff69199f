//! Sending outbound actions upstream: one HTTP request (POST a reply, or DELETE it to
//! compensate) carrying an `Idempotency-Key` header, retried with exponential backoff and
//! jitter on connection failures, timeouts, 408, 429 and 5xx, never on other 4xx answers.
//!
//! Retrying is safe because the key never changes: an upstream that honours it stores one
//! reply per key however often it is posted. A DELETE answered 404 or 410 means the reply is
//! already gone, which is what compensation wants. Nothing here touches the workspace; the
//! caller records the [`Delivery`] (see `signoff_api::actions`).

use crate::SyncError;
use std::hash::{BuildHasher, Hasher};
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

/// Whether an answer is worth another attempt.
fn retryable(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

/// The wait before attempt `attempt + 1` (`attempt` ≥ 1): half of the doubled backoff plus a
/// random share of the other half ("equal jitter"), at least a server's `Retry-After`, at most
/// `max_backoff`.
pub fn backoff_wait(opts: &SendOptions, attempt: u32, retry_after: Option<Duration>) -> Duration {
    let doubled = opts
        .backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(opts.max_backoff);
    let half = doubled / 2;
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempt);
    let span = half.as_micros() as u64 + 1;
    let wait = half + Duration::from_micros(h.finish() % span);
    wait.max(retry_after.unwrap_or_default())
        .min(opts.max_backoff)
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
    for attempt in 1..=attempts {
        if attempt > 1 {
            std::thread::sleep(backoff_wait(opts, attempt - 1, retry_after));
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
                retry_after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
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
                if !retryable(status) {
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
    fn waits_double_with_jitter_and_stay_capped() {
        let o = SendOptions {
            timeout: Duration::from_secs(1),
            attempts: 5,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
        };
        for _ in 0..50 {
            let w1 = backoff_wait(&o, 1, None);
            assert!(w1 >= Duration::from_millis(50) && w1 <= Duration::from_millis(100));
            let w2 = backoff_wait(&o, 2, None);
            assert!(w2 >= Duration::from_millis(100) && w2 <= Duration::from_millis(200));
            let w9 = backoff_wait(&o, 9, None);
            assert!(w9 >= Duration::from_millis(175) && w9 <= Duration::from_millis(350));
            let ra = backoff_wait(&o, 1, Some(Duration::from_secs(60)));
            assert_eq!(ra, Duration::from_millis(350), "Retry-After is capped");
        }
        let distinct: std::collections::HashSet<Duration> =
            (0..50).map(|_| backoff_wait(&o, 3, None)).collect();
        assert!(distinct.len() > 1, "jitter varies the wait");
    }

    #[test]
    fn only_transient_answers_are_retried() {
        for s in [408, 429, 500, 502, 503] {
            assert!(retryable(s), "{s}");
        }
        for s in [400, 401, 404, 409, 422] {
            assert!(!retryable(s), "{s}");
        }
    }
}
