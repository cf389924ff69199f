//! Pulling cases from upstream: download a case file (JSONL or CSV) from a hub or any HTTP
//! endpoint into a local file, with timeouts, a size cap and bounded retries, so the store can
//! import it all-or-nothing; and sending outbound actions ([`actions`]: a reply posted with an
//! Idempotency-Key, retried safely, or deleted to compensate); and the team hub's client
//! ([`hub`]: every request signed per RFC 9421, [`httpsig`]). Nothing here touches the
//! workspace.

pub mod actions;
pub mod httpsig;
pub mod hub;

use signoff_core::retry::{self, Backoff, Jitter};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// How a pull behaves on a slow or flaky network.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Connect and per-read timeout.
    pub timeout: Duration,
    /// Attempts in all (at least one).
    pub attempts: u32,
    /// Bound of the jittered wait before the second attempt; doubles after each (full jitter).
    pub backoff: Duration,
    /// The largest body accepted.
    pub max_bytes: u64,
}

impl Default for PullOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            attempts: 3,
            backoff: Duration::from_millis(500),
            max_bytes: 2 * 1024 * 1024 * 1024,
        }
    }
}

/// What a pull fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// Bytes written.
    pub bytes: u64,
    /// Attempts it took.
    pub attempts: u32,
    /// The server's content type, if it said.
    pub content_type: Option<String>,
}

/// Errors from a pull; each names the URL.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The URL is not http(s).
    #[error("{0} is not an http:// or https:// URL")]
    BadUrl(String),
    /// The server answered with an error status that retrying will not fix.
    #[error("{url} answered {status}; nothing was imported")]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// Every attempt failed to connect or was cut off.
    #[error("{url}: {why} (after {attempts} attempt(s)); nothing was imported")]
    Network {
        /// The URL.
        url: String,
        /// The last failure.
        why: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The body is larger than allowed.
    #[error("{url} sent more than {max} bytes; nothing was imported")]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap.
        max: u64,
    },
    /// The local file could not be written.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The HTTP client for one request to `url` (http or https only; anything else is
/// [`SyncError::BadUrl`]), with `timeout` for connecting and for the whole request.
fn client_for(url: &str, timeout: Duration) -> Result<reqwest::blocking::Client, SyncError> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(SyncError::BadUrl(url.to_string()));
    }
    reqwest::blocking::Client::builder()
        .connect_timeout(timeout)
        .timeout(timeout)
        .user_agent(concat!("signoff/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SyncError::Network {
            url: url.into(),
            why: e.to_string(),
            attempts: 0,
        })
}

/// The wait an answer's `Retry-After` header asks for, if it has a readable one.
fn retry_after_of(resp: &reqwest::blocking::Response) -> Option<Duration> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry::retry_after(v, chrono::Utc::now()))
}

/// Downloads `url` into `dest`, retrying connection failures, cut transfers and 408/429/5xx
/// answers.
pub fn pull_to_file(url: &str, dest: &Path, opts: &PullOptions) -> Result<Pulled, SyncError> {
    let client = client_for(url, opts.timeout)?;
    // Full jitter (signoff_core::retry) up to 32 times the first wait; a server's
    // `Retry-After` is honoured up to the same bound.
    let backoff = Backoff {
        base: opts.backoff,
        max: opts.backoff.saturating_mul(32),
        max_retry_after: opts.backoff.saturating_mul(32),
    };
    let mut jitter = Jitter::from_entropy();
    let mut retry_after = None;
    let attempts = opts.attempts.max(1);
    let mut last = String::new();
    for attempt in 1..=attempts {
        if attempt > 1 {
            std::thread::sleep(backoff.wait(attempt - 1, retry_after.take(), &mut jitter));
        }
        match client.get(url).send() {
            Ok(resp) => {
                let status = resp.status();
                if retry::retryable_status(status.as_u16()) {
                    retry_after = retry_after_of(&resp);
                    last = format!("server answered {status}");
                    continue;
                }
                if !status.is_success() {
                    return Err(SyncError::Status {
                        url: url.into(),
                        status: status.as_u16(),
                    });
                }
                let content_type = resp
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                match copy_body(resp, dest, opts.max_bytes) {
                    Ok(bytes) => {
                        return Ok(Pulled {
                            bytes,
                            attempts: attempt,
                            content_type,
                        })
                    }
                    Err(CopyError::TooLarge) => {
                        return Err(SyncError::TooLarge {
                            url: url.into(),
                            max: opts.max_bytes,
                        })
                    }
                    Err(CopyError::Write(source)) => {
                        return Err(SyncError::Io {
                            path: dest.display().to_string(),
                            source,
                        })
                    }
                    Err(CopyError::Read(e)) => last = format!("the transfer was cut off: {e}"),
                }
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(SyncError::Network {
        url: url.into(),
        why: last,
        attempts,
    })
}

enum CopyError {
    TooLarge,
    Read(std::io::Error),
    Write(std::io::Error),
}

fn copy_body(
    mut resp: reqwest::blocking::Response,
    dest: &Path,
    max: u64,
) -> Result<u64, CopyError> {
    let mut out = std::fs::File::create(dest).map_err(CopyError::Write)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let k = resp.read(&mut buf).map_err(CopyError::Read)?;
        if k == 0 {
            break;
        }
        total += k as u64;
        if total > max {
            return Err(CopyError::TooLarge);
        }
        out.write_all(&buf[..k]).map_err(CopyError::Write)?;
    }
    out.sync_all().map_err(CopyError::Write)?;
    Ok(total)
}
