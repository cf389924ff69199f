//! The workstation's client for a team hub: every request signed with the device key
//! ([`crate::httpsig`]), JSON in and out, the hub's own error message passed through, and an
//! unreachable hub told apart from a refusal so the caller can keep working offline.

use crate::httpsig::{self, Target};
use signoff_audit::note::Signer;
use signoff_core::{Clock, NewCase};
use std::sync::Arc;
use std::time::Duration;

/// Errors talking to a hub.
#[derive(Debug, thiserror::Error)]
pub enum HubClientError {
    /// The hub could not be reached (connection refused, timeout, DNS): work continues offline.
    #[error(
        "the hub at {url} is unreachable ({why}); working offline, nothing was sent or changed"
    )]
    Unreachable {
        /// The hub's base URL.
        url: String,
        /// The transport error.
        why: String,
    },
    /// The hub answered with an error; its message says why.
    #[error("the hub refused {what} ({status} {code}): {message}")]
    Refused {
        /// What was asked.
        what: String,
        /// HTTP status.
        status: u16,
        /// The hub's error code.
        code: String,
        /// The hub's message.
        message: String,
    },
    /// The hub's answer was not what the API documents.
    #[error("the hub's answer to {what} is not valid: {why}")]
    BadAnswer {
        /// What was asked.
        what: String,
        /// What is wrong.
        why: String,
    },
    /// The URL is not http(s).
    #[error("{0} is not an http:// or https:// hub URL")]
    BadUrl(String),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] httpsig::SigError),
    /// No randomness for the nonce.
    #[error("no randomness for a request nonce: {0}")]
    Random(String),
}

/// A case leased to this device.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct LeasedCase {
    /// The case, with the import file's fields.
    pub case: NewCase,
    /// The lease's fencing token (grows with every new lease of the case).
    pub fence: i64,
    /// When the lease runs out (RFC 3339).
    pub expires_at: String,
}

/// What a lease call returns.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LeaseAnswer {
    /// Every case this device holds after the call (renewed ones first, then new ones).
    pub leases: Vec<LeasedCase>,
    /// How many of them are new leases.
    pub new: u64,
}

/// What the hub acknowledged of this device's log (`POST /v1/log`, `GET
/// /v1/devices/{device}/log`).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct LogAck {
    /// Entries the hub holds; the next batch starts here.
    pub size: u64,
    /// `size - 1`, or none.
    pub acknowledged_index: Option<u64>,
    /// Entries of the batch new to the hub.
    #[serde(default)]
    pub accepted: u64,
    /// The newest checkpoint the hub cosigned (this log's signed note plus its cosignature).
    pub cosigned_checkpoint: Option<String>,
    /// Its size.
    #[serde(default)]
    pub cosigned_size: u64,
    /// Dispositions of the batch the hub applied.
    #[serde(default)]
    pub applied: u64,
    /// Dispositions of the batch the hub queued as conflicts.
    #[serde(default)]
    pub conflicts: u64,
}

/// A signed client for one hub.
pub struct HubClient {
    base: String,
    signer: Arc<dyn Signer>,
    clock: Arc<dyn Clock>,
    http: reqwest::blocking::Client,
}

impl HubClient {
    /// A client for the hub at `base` (`http://host:port`), signing with `signer`.
    pub fn new(
        base: &str,
        signer: Arc<dyn Signer>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, HubClientError> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(HubClientError::BadUrl(base));
        }
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| HubClientError::Unreachable {
                url: base.clone(),
                why: e.to_string(),
            })?;
        Ok(Self {
            base,
            signer,
            clock,
            http,
        })
    }

    /// This device's id at the hub.
    pub fn device_id(&self) -> String {
        httpsig::device_id(&self.signer.public_key())
    }

    /// The hub's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends one signed request; `Ok((status, body))` for any answer, 2xx or not.
    pub fn send_raw(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        content_type: &str,
    ) -> Result<(u16, Vec<u8>), HubClientError> {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        let seed =
            signoff_audit::keyfile::os_seed().map_err(|e| HubClientError::Random(e.to_string()))?;
        let nonce = hex::encode(&seed[..16]);
        let h = httpsig::sign(
            Target {
                method,
                path,
                query,
            },
            body,
            self.clock.now().timestamp(),
            &nonce,
            self.signer.as_ref(),
        )?;
        let m = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| HubClientError::BadUrl(format!("method {method}")))?;
        let resp = self
            .http
            .request(m, format!("{}{path_and_query}", self.base))
            .header("content-type", content_type)
            .header(httpsig::CONTENT_DIGEST, h.content_digest)
            .header(httpsig::SIGNATURE_INPUT, h.signature_input)
            .header(httpsig::SIGNATURE, h.signature)
            .body(body.to_vec())
            .send()
            .map_err(|e| HubClientError::Unreachable {
                url: self.base.clone(),
                why: error_chain(&e),
            })?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().map_err(|e| HubClientError::Unreachable {
            url: self.base.clone(),
            why: error_chain(&e),
        })?;
        Ok((status, bytes.to_vec()))
    }

    /// Sends a signed request and decodes a 2xx JSON answer; an error answer becomes
    /// [`HubClientError::Refused`] with the hub's message.
    pub fn call(
        &self,
        what: &str,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, HubClientError> {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        self.call_bytes(what, method, path, &bytes, "application/json")
    }

    /// As [`HubClient::call`], with a raw body of the given content type.
    pub fn call_bytes(
        &self,
        what: &str,
        method: &str,
        path: &str,
        body: &[u8],
        content_type: &str,
    ) -> Result<serde_json::Value, HubClientError> {
        let (status, bytes) = self.send_raw(method, path, body, content_type)?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| HubClientError::BadAnswer {
                what: what.into(),
                why: format!("status {status}, body not JSON: {e}"),
            })?;
        if !(200..300).contains(&status) {
            return Err(HubClientError::Refused {
                what: what.into(),
                status,
                code: value["error"].as_str().unwrap_or("").into(),
                message: value["message"].as_str().unwrap_or("").into(),
            });
        }
        Ok(value)
    }

    /// Asks to join the hub (self-signed; a lead approves later). Returns the hub's device record.
    pub fn enrol(&self, name: &str) -> Result<serde_json::Value, HubClientError> {
        let body = serde_json::json!({
            "public_key": hex::encode(self.signer.public_key()),
            "name": name,
        });
        self.call("enrolment", "POST", "/v1/enrol", Some(&body))
    }

    /// The hub's witness verifier key (C2SP `cosignature/v1`).
    pub fn witness_key(&self) -> Result<String, HubClientError> {
        let v = self.call("the witness key", "GET", "/v1/witness", None)?;
        v["vkey"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| HubClientError::BadAnswer {
                what: "the witness key".into(),
                why: "no vkey".into(),
            })
    }

    /// What the hub holds of this device's log.
    pub fn log_head(&self) -> Result<LogAck, HubClientError> {
        let v = self.call(
            "the hub's copy of this log",
            "GET",
            &format!("/v1/devices/{}/log", self.device_id()),
            None,
        )?;
        decode("the hub's copy of this log", v)
    }

    /// Pushes leaves `start..` of this device's log with its signed checkpoint at the end of
    /// them, and the fencing tokens of the cases it holds.
    pub fn push_log(
        &self,
        start: u64,
        leaves: &[Vec<u8>],
        checkpoint: &str,
        fences: &std::collections::BTreeMap<String, i64>,
    ) -> Result<LogAck, HubClientError> {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let body = serde_json::json!({
            "start": start,
            "leaves": leaves.iter().map(|l| b64.encode(l)).collect::<Vec<_>>(),
            "checkpoint": checkpoint,
            "fences": fences,
        });
        let v = self.call("a batch of the audit log", "POST", "/v1/log", Some(&body))?;
        decode("a batch of the audit log", v)
    }

    /// Leases up to `max` cases (renewing those this device holds).
    pub fn lease(&self, max: u32) -> Result<LeaseAnswer, HubClientError> {
        let v = self.call(
            "a lease",
            "POST",
            "/v1/leases",
            Some(&serde_json::json!({ "max": max })),
        )?;
        serde_json::from_value(v).map_err(|e| HubClientError::BadAnswer {
            what: "a lease".into(),
            why: e.to_string(),
        })
    }
}

fn decode<T: serde::de::DeserializeOwned>(
    what: &str,
    v: serde_json::Value,
) -> Result<T, HubClientError> {
    serde_json::from_value(v).map_err(|e| HubClientError::BadAnswer {
        what: what.into(),
        why: e.to_string(),
    })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}
