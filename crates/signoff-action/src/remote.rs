//! The OpenAI-compatible chat-completions client: one request with the rendered
//! prompt (redacted case text and numbered passages only), connect / idle / overall timeouts,
//! bounded retries with exponential backoff and full jitter (429 honouring `Retry-After`,
//! 408, 5xx and connection failures; never another 4xx), server-sent-event streaming handed
//! to a callback chunk by chunk, and cancellation checked while waiting for every chunk.
//!
//! The API key travels only in the `Authorization` header: it is never logged, never put in
//! an error (any error text is scrubbed of it) and never reaches the audit log.
//!
//! A stream is not retried once text has been handed to the callback (the reader has seen
//! it); the caller (the router) falls back to its next model instead.

use crate::sse::{SseEvent, SseParser};
use signoff_core::retry::{self, Backoff, Jitter};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// An API key: shown as `[redacted]` by `Debug`, so it cannot leak through a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key (surrounding whitespace, e.g. a newline from stdin, is dropped).
    pub fn new(key: &str) -> Self {
        ApiKey(key.trim().to_string())
    }

    /// The key itself (for the header only).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// Where and how to reach one OpenAI-compatible model.
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// Base URL up to and including the API version, e.g. `http://127.0.0.1:8080/v1`;
    /// the client posts to `{base_url}/chat/completions`.
    pub base_url: String,
    /// The model name sent in the request.
    pub model: String,
    /// Bearer token, when the server wants one.
    pub api_key: Option<ApiKey>,
    /// Longest wait to open the TCP connection.
    pub connect_timeout: Duration,
    /// Longest wait for the response head, and then between two body chunks.
    pub idle_timeout: Duration,
    /// Deadline for the whole call, retries and backoff included.
    pub total_timeout: Duration,
    /// Most attempts (1 = no retry).
    pub max_attempts: u32,
    /// First backoff; each retry doubles it (full jitter: a uniform wait up to the bound).
    pub backoff_base: Duration,
    /// Largest backoff bound.
    pub backoff_max: Duration,
    /// Ask for a server-sent-event stream.
    pub stream: bool,
    /// Sampling temperature sent with the request.
    pub temperature: f64,
    /// Most tokens to generate.
    pub max_tokens: u32,
}

impl RemoteConfig {
    /// A configuration with Signoff's default timeouts and retries.
    pub fn new(base_url: &str, model: &str) -> Self {
        RemoteConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            model: model.to_string(),
            api_key: None,
            connect_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(120),
            max_attempts: 4,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(8),
            stream: true,
            temperature: 0.0,
            max_tokens: 512,
        }
    }

    fn endpoint(&self) -> String {
        format!("{}/chat/completions", self.base_url)
    }
}

/// Everything a remote call can fail with. Messages never contain the API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The configuration cannot be used (bad URL, client construction).
    #[error("model configuration: {0}")]
    Config(String),
    /// The server could not be reached (refused, reset, DNS, TLS).
    #[error("cannot reach {url}: {cause}")]
    Connect {
        /// The endpoint.
        url: String,
        /// What the network layer said.
        cause: String,
    },
    /// Nothing arrived within the idle timeout.
    #[error("{url}: no {phase} within {ms} ms")]
    Timeout {
        /// The endpoint.
        url: String,
        /// `response` (waiting for the head) or `chunk` (waiting mid-body).
        phase: &'static str,
        /// The timeout.
        ms: u128,
    },
    /// The server answered with an error status.
    #[error("{url}: HTTP {status}: {detail}")]
    Status {
        /// The endpoint.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the body (error message), scrubbed.
        detail: String,
        /// Seconds the server asked to wait (`Retry-After`).
        retry_after: Option<u64>,
    },
    /// The server sent an HTML page instead of JSON (a proxy or login page, a wrong URL).
    #[error(
        "{url}: HTTP {status} returned an HTML page, not a chat completion (is base_url right?)"
    )]
    Html {
        /// The endpoint.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The body is not a chat completion.
    #[error("{url}: malformed reply: {detail}")]
    Malformed {
        /// The endpoint.
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// The model returned no text.
    #[error("{url}: the model returned an empty reply")]
    Empty {
        /// The endpoint.
        url: String,
    },
    /// The stream ended before `[DONE]` (connection dropped mid-stream).
    #[error("{url}: the stream was cut after {chunks} chunk(s) without [DONE]")]
    Cut {
        /// The endpoint.
        url: String,
        /// Text chunks received before the cut.
        chunks: usize,
    },
    /// The stream stopped sending after some text (not retried: the reader saw the text).
    #[error("{url}: the stream stalled after {chunks} chunk(s): nothing for {ms} ms")]
    Stalled {
        /// The endpoint.
        url: String,
        /// Text chunks received before the stall.
        chunks: usize,
        /// The idle timeout.
        ms: u128,
    },
    /// The caller cancelled.
    #[error("cancelled")]
    Cancelled,
    /// Every attempt failed, or the deadline came first.
    #[error("{url}: gave up after {attempts} attempt(s) in {ms} ms: {last}")]
    GaveUp {
        /// The endpoint.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// Time spent.
        ms: u128,
        /// The last failure.
        last: Box<RemoteError>,
    },
}

impl RemoteError {
    /// Whether another attempt may succeed: connection failures, timeouts, 408, 429, 5xx,
    /// and a stream cut before any text.
    pub fn retryable(&self) -> bool {
        match self {
            RemoteError::Connect { .. } | RemoteError::Timeout { .. } => true,
            RemoteError::Status { status, .. } | RemoteError::Html { status, .. } => {
                signoff_core::retry::retryable_status(*status)
            }
            RemoteError::Cut { chunks, .. } => *chunks == 0,
            _ => false,
        }
    }

    /// Whether the endpoint could not be used at all (the router falls back on these and on
    /// exhausted retries; a cancel is not a fallback reason).
    pub fn is_cancel(&self) -> bool {
        match self {
            RemoteError::Cancelled => true,
            RemoteError::GaveUp { last, .. } => last.is_cancel(),
            _ => false,
        }
    }
}

/// A cancellation token shared between the caller and a running call; the call checks it
/// while waiting for the response and between chunks, so a cancel takes effect at once.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<CancelInner>);

#[derive(Debug, Default)]
struct CancelInner {
    flag: AtomicBool,
    notify: Notify,
}

impl Cancel {
    /// A fresh, uncancelled token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every call holding this token.
    pub fn cancel(&self) {
        self.0.flag.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.flag.load(Ordering::SeqCst)
    }

    /// Resolves once cancelled.
    pub async fn cancelled(&self) {
        loop {
            let n = self.0.notify.notified();
            if self.is_cancelled() {
                return;
            }
            n.await;
        }
    }
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

/// What a finished call returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The whole reply text.
    pub text: String,
    /// The model name the server reported (else the one requested).
    pub model: String,
    /// Attempts it took.
    pub attempts: u32,
    /// Text chunks streamed to the callback.
    pub chunks: usize,
}

/// The chat-completions client.
#[derive(Debug, Clone)]
pub struct RemoteClient {
    cfg: RemoteConfig,
    http: reqwest::Client,
}

/// Largest error body read (for the message); the rest is dropped.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Largest non-streamed body accepted.
const MAX_BODY: usize = 8 * 1024 * 1024;

impl RemoteClient {
    /// A client for `cfg`.
    pub fn new(cfg: RemoteConfig) -> Result<Self, RemoteError> {
        if !(cfg.base_url.starts_with("http://") || cfg.base_url.starts_with("https://")) {
            return Err(RemoteError::Config(format!(
                "base_url {:?} must start with http:// or https://",
                cfg.base_url
            )));
        }
        if cfg.max_attempts == 0 {
            return Err(RemoteError::Config(
                "max_attempts must be at least 1".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .build()
            .map_err(|e| RemoteError::Config(e.to_string()))?;
        Ok(RemoteClient { cfg, http })
    }

    /// The configuration.
    pub fn config(&self) -> &RemoteConfig {
        &self.cfg
    }

    /// The request body: model, messages, sampling and whether to stream.
    pub fn request_body(&self, messages: &[Message]) -> serde_json::Value {
        serde_json::json!({
            "model": self.cfg.model,
            "messages": messages.iter().map(|m| serde_json::json!({"role": m.role, "content": m.content})).collect::<Vec<_>>(),
            "temperature": self.cfg.temperature,
            "max_tokens": self.cfg.max_tokens,
            "stream": self.cfg.stream,
        })
    }

    /// Sends the messages, retrying as configured; streamed text goes to `on_delta` chunk
    /// by chunk as it arrives (a non-streamed reply goes to it once, whole).
    pub async fn complete(
        &self,
        messages: &[Message],
        on_delta: &mut (dyn FnMut(&str) + Send),
        cancel: &Cancel,
    ) -> Result<Completion, RemoteError> {
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + self.cfg.total_timeout;
        let body = serde_json::to_vec(&self.request_body(messages)).expect("JSON serialises");
        let url = self.cfg.endpoint();
        let mut attempts = 0u32;
        let mut rng = Jitter::from_entropy();
        let backoff = Backoff {
            base: self.cfg.backoff_base,
            max: self.cfg.backoff_max,
            // The total deadline bounds a server's wait (below), not a cap.
            max_retry_after: Duration::MAX,
        };
        loop {
            attempts += 1;
            let attempt = self.attempt(&url, &body, on_delta, cancel);
            let result = tokio::select! {
                r = tokio::time::timeout_at(deadline, attempt) => r,
                () = cancel.cancelled() => return Err(RemoteError::Cancelled),
            };
            let err = match result {
                Ok(Ok(mut c)) => {
                    c.attempts = attempts;
                    return Ok(c);
                }
                Ok(Err(RemoteError::Cancelled)) => return Err(RemoteError::Cancelled),
                Ok(Err(e)) => e,
                Err(_) => RemoteError::Timeout {
                    url: url.clone(),
                    phase: "complete reply (total deadline)",
                    ms: self.cfg.total_timeout.as_millis(),
                },
            };
            let give_up = |last: RemoteError| RemoteError::GaveUp {
                url: url.clone(),
                attempts,
                ms: started.elapsed().as_millis(),
                last: Box::new(self.scrub(last)),
            };
            if !err.retryable() {
                return Err(if attempts == 1 {
                    self.scrub(err)
                } else {
                    give_up(err)
                });
            }
            if attempts >= self.cfg.max_attempts {
                return Err(give_up(err));
            }
            let retry_after = match &err {
                RemoteError::Status {
                    retry_after: Some(s),
                    ..
                } => Some(Duration::from_secs(*s)),
                _ => None,
            };
            let wait = backoff.wait(attempts, retry_after, &mut rng);
            if tokio::time::Instant::now() + wait > deadline {
                return Err(give_up(err));
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = cancel.cancelled() => return Err(RemoteError::Cancelled),
            }
        }
    }

    /// [`RemoteClient::complete`] from synchronous code (its own single-thread runtime).
    pub fn complete_blocking(
        &self,
        messages: &[Message],
        on_delta: &mut (dyn FnMut(&str) + Send),
        cancel: &Cancel,
    ) -> Result<Completion, RemoteError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RemoteError::Config(format!("async runtime: {e}")))?;
        rt.block_on(self.complete(messages, on_delta, cancel))
    }

    /// Removes the API key from any text that may reach a message.
    fn scrub(&self, e: RemoteError) -> RemoteError {
        let Some(key) = self.cfg.api_key.as_ref().filter(|k| !k.0.is_empty()) else {
            return e;
        };
        let clean = |s: String| s.replace(key.expose(), "[redacted]");
        match e {
            RemoteError::Status {
                url,
                status,
                detail,
                retry_after,
            } => RemoteError::Status {
                url,
                status,
                detail: clean(detail),
                retry_after,
            },
            RemoteError::Malformed { url, detail } => RemoteError::Malformed {
                url,
                detail: clean(detail),
            },
            RemoteError::Connect { url, cause } => RemoteError::Connect {
                url,
                cause: clean(cause),
            },
            RemoteError::GaveUp {
                url,
                attempts,
                ms,
                last,
            } => RemoteError::GaveUp {
                url,
                attempts,
                ms,
                last: Box::new(self.scrub(*last)),
            },
            other => other,
        }
    }

    async fn attempt(
        &self,
        url: &str,
        body: &[u8],
        on_delta: &mut (dyn FnMut(&str) + Send),
        cancel: &Cancel,
    ) -> Result<Completion, RemoteError> {
        let mut req = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header(
                "accept",
                if self.cfg.stream {
                    "text/event-stream"
                } else {
                    "application/json"
                },
            )
            .body(body.to_vec());
        if let Some(k) = &self.cfg.api_key {
            req = req.bearer_auth(k.expose());
        }
        let idle = self.cfg.idle_timeout;
        let timeout = |phase| RemoteError::Timeout {
            url: url.to_string(),
            phase,
            ms: idle.as_millis(),
        };
        let mut resp = tokio::select! {
            r = tokio::time::timeout(idle, req.send()) => r
                .map_err(|_| timeout("response"))?
                .map_err(|e| connect_error(url, &e))?,
            () = cancel.cancelled() => return Err(RemoteError::Cancelled),
        };
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry::retry_after(v, chrono::Utc::now()))
            .map(|d| d.as_secs());
        let next_chunk = async |resp: &mut reqwest::Response, phase| {
            tokio::select! {
                r = tokio::time::timeout(idle, resp.chunk()) => match r {
                    Err(_) => Err(timeout(phase)),
                    Ok(Err(e)) => Err(connect_error(url, &e)),
                    Ok(Ok(c)) => Ok(c),
                },
                () = cancel.cancelled() => Err(RemoteError::Cancelled),
            }
        };
        if !(200..300).contains(&status) {
            let mut bytes = Vec::new();
            while bytes.len() < MAX_ERROR_BODY {
                match next_chunk(&mut resp, "chunk").await {
                    Ok(Some(c)) => bytes.extend_from_slice(&c),
                    Ok(None) | Err(RemoteError::Timeout { .. }) => break,
                    Err(RemoteError::Cancelled) => return Err(RemoteError::Cancelled),
                    Err(_) => break,
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            if looks_like_html(&ctype, &text) {
                return Err(RemoteError::Html {
                    url: url.to_string(),
                    status,
                });
            }
            return Err(RemoteError::Status {
                url: url.to_string(),
                status,
                detail: error_detail(&text),
                retry_after,
            });
        }
        if ctype.contains("text/event-stream") {
            let mut parser = SseParser::new();
            let mut text = String::new();
            let mut model = None;
            let mut chunks = 0usize;
            loop {
                let bytes = match next_chunk(&mut resp, "chunk").await {
                    Ok(Some(b)) => b,
                    // The connection closed (cleanly or not) before [DONE].
                    Ok(None) | Err(RemoteError::Connect { .. }) => {
                        return Err(RemoteError::Cut {
                            url: url.to_string(),
                            chunks,
                        })
                    }
                    Err(RemoteError::Timeout { .. }) if chunks > 0 => {
                        // A stall after text: not retried (the reader saw the text).
                        return Err(RemoteError::Stalled {
                            url: url.to_string(),
                            chunks,
                            ms: idle.as_millis(),
                        });
                    }
                    Err(e) => return Err(e),
                };
                for ev in parser.push(&bytes) {
                    match ev {
                        SseEvent::Done => {
                            return finish(url, text, model, &self.cfg.model, chunks);
                        }
                        SseEvent::Data(d) => {
                            let v: serde_json::Value =
                                serde_json::from_str(&d).map_err(|e| RemoteError::Malformed {
                                    url: url.to_string(),
                                    detail: format!("stream event {} is not JSON: {e}", chunks + 1),
                                })?;
                            if let Some(err) = v.get("error") {
                                return Err(RemoteError::Malformed {
                                    url: url.to_string(),
                                    detail: format!(
                                        "the stream carried an error: {}",
                                        error_detail(&err.to_string())
                                    ),
                                });
                            }
                            if model.is_none() {
                                model = v.get("model").and_then(|m| m.as_str()).map(str::to_string);
                            }
                            let delta = v
                                .pointer("/choices/0/delta/content")
                                .and_then(|c| c.as_str())
                                .unwrap_or("");
                            if v.pointer("/choices/0").is_none() && v.get("choices").is_none() {
                                return Err(RemoteError::Malformed {
                                    url: url.to_string(),
                                    detail: "stream event without choices".into(),
                                });
                            }
                            if !delta.is_empty() {
                                chunks += 1;
                                text.push_str(delta);
                                on_delta(delta);
                            }
                        }
                    }
                }
                if parser.bad_lines > 0 {
                    return Err(RemoteError::Malformed {
                        url: url.to_string(),
                        detail: "stream line is not UTF-8 or too long".into(),
                    });
                }
            }
        }
        let mut bytes = Vec::new();
        loop {
            match next_chunk(&mut resp, "chunk").await {
                Ok(Some(c)) => {
                    bytes.extend_from_slice(&c);
                    if bytes.len() > MAX_BODY {
                        return Err(RemoteError::Malformed {
                            url: url.to_string(),
                            detail: format!("body larger than {MAX_BODY} bytes"),
                        });
                    }
                }
                Ok(None) => break,
                Err(e) => return Err(e),
            }
        }
        let raw = String::from_utf8_lossy(&bytes);
        if looks_like_html(&ctype, &raw) {
            return Err(RemoteError::Html {
                url: url.to_string(),
                status,
            });
        }
        let v: serde_json::Value =
            serde_json::from_str(&raw).map_err(|e| RemoteError::Malformed {
                url: url.to_string(),
                detail: format!("body is not JSON ({e}): {}", error_detail(&raw)),
            })?;
        let text = v
            .pointer("/choices/0/message/content")
            .and_then(|c| c.as_str())
            .ok_or_else(|| RemoteError::Malformed {
                url: url.to_string(),
                detail: "no choices[0].message.content".into(),
            })?
            .to_string();
        let model = v.get("model").and_then(|m| m.as_str()).map(str::to_string);
        if !text.trim().is_empty() {
            on_delta(&text);
        }
        finish(url, text, model, &self.cfg.model, 1)
    }
}

fn finish(
    url: &str,
    text: String,
    model: Option<String>,
    asked: &str,
    chunks: usize,
) -> Result<Completion, RemoteError> {
    if text.trim().is_empty() {
        return Err(RemoteError::Empty {
            url: url.to_string(),
        });
    }
    Ok(Completion {
        text,
        model: model.unwrap_or_else(|| asked.to_string()),
        attempts: 0,
        chunks,
    })
}

/// A network error with its causes (reqwest's top-level text alone says little).
fn connect_error(url: &str, e: &reqwest::Error) -> RemoteError {
    let mut cause = String::from(if e.is_connect() {
        "connection failed"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_body() || e.is_decode() {
        "body read failed"
    } else {
        "request failed"
    });
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        cause.push_str(": ");
        cause.push_str(&s.to_string());
        src = s.source();
    }
    RemoteError::Connect {
        url: url.to_string(),
        cause,
    }
}

fn looks_like_html(ctype: &str, body: &str) -> bool {
    let head = body.trim_start().get(..64).unwrap_or(body.trim_start());
    let head = head.to_ascii_lowercase();
    ctype.contains("text/html") || head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// A one-line excerpt of an error body: the JSON `error.message` when there is one.
fn error_detail(body: &str) -> String {
    let msg = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("message"))
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.to_string());
    let one: String = msg.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 200 {
        one.chars().take(200).collect::<String>() + "…"
    } else {
        one
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_classes() {
        let st = |status| RemoteError::Status {
            url: "u".into(),
            status,
            detail: String::new(),
            retry_after: None,
        };
        assert!(st(429).retryable() && st(408).retryable() && st(503).retryable());
        assert!(!st(400).retryable() && !st(401).retryable() && !st(404).retryable());
        assert!(RemoteError::Cut {
            url: "u".into(),
            chunks: 0
        }
        .retryable());
        assert!(!RemoteError::Cut {
            url: "u".into(),
            chunks: 2
        }
        .retryable());
        assert!(!RemoteError::Empty { url: "u".into() }.retryable());
    }

    #[test]
    fn the_key_never_shows() {
        let mut cfg = RemoteConfig::new("http://127.0.0.1:9/v1", "m");
        cfg.api_key = Some(ApiKey::new("sk-secret-123\n"));
        assert!(!format!("{cfg:?}").contains("sk-secret"));
        let c = RemoteClient::new(cfg).unwrap();
        let e = c.scrub(RemoteError::Status {
            url: "u".into(),
            status: 401,
            detail: "bad key sk-secret-123".into(),
            retry_after: None,
        });
        assert!(!e.to_string().contains("sk-secret"), "{e}");
        assert!(!format!("{:?}", c.request_body(&[])).contains("sk-secret"));
    }

    #[test]
    fn html_and_error_details() {
        assert!(looks_like_html("", "  <!DOCTYPE html><html>"));
        assert!(looks_like_html("text/html; charset=utf-8", "{}"));
        assert!(!looks_like_html("application/json", "{\"a\":1}"));
        assert_eq!(
            error_detail("{\"error\":{\"message\":\"rate\\n limited\"}}"),
            "rate limited"
        );
    }
}
