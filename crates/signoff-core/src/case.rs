//! Cases as they arrive (`NewCase`) and as the queue holds them (`Case`).

use crate::CoreError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The largest accepted size of one text field, in bytes.
pub const MAX_FIELD_BYTES: usize = 1024 * 1024;
/// The largest accepted case id, in bytes.
pub const MAX_ID_BYTES: usize = 200;
/// The largest accepted priority.
pub const MAX_PRIORITY: i64 = 1000;

/// A case as read from an import file or pulled from a hub, before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCase {
    /// The upstream id, unique per workspace (compared without regard to case).
    pub id: String,
    /// One-line summary.
    pub subject: String,
    /// The customer's message, as plain text.
    pub body: String,
    /// When the case arrived upstream.
    pub received_at: DateTime<Utc>,
    /// Urgency; higher is more urgent, 0 by default.
    pub priority: i64,
    /// When the case must be decided by, if there is an SLA.
    pub sla_due_at: Option<DateTime<Utc>>,
    /// Free-form upstream metadata (a JSON object), kept verbatim.
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// A known label (for labelled training cases or upstream routing).
    pub label: Option<String>,
}

/// The content hash over a case's fields as text, in order: id, subject, body, received (ms),
/// priority, SLA due (ms, or empty), metadata (its JSON text, or empty), given label (or
/// empty); each field is prefixed by its length. What [`NewCase::content_hash`] computes, and
/// what `audit verify` recomputes from a stored case.
pub fn content_hash_of(parts: [&str; 8]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

impl NewCase {
    /// The SHA-256 of the case's canonical content: what "unchanged on re-import" compares.
    pub fn content_hash(&self) -> String {
        let meta = self
            .metadata
            .as_ref()
            .map(|m| serde_json::to_string(m).unwrap_or_default())
            .unwrap_or_default();
        content_hash_of([
            self.id.as_str(),
            &self.subject,
            &self.body,
            &self.received_at.timestamp_millis().to_string(),
            &self.priority.to_string(),
            &self
                .sla_due_at
                .map(|t| t.timestamp_millis().to_string())
                .unwrap_or_default(),
            &meta,
            self.label.as_deref().unwrap_or(""),
        ])
    }

    /// Checks the limits every case must meet, naming the first field that fails.
    pub fn validate(&self) -> Result<(), CoreError> {
        validate_id(&self.id)?;
        for (field, value) in [("subject", &self.subject), ("body", &self.body)] {
            check_size(field, value.len())?;
        }
        if self.body.trim().is_empty() && self.subject.trim().is_empty() {
            return Err(CoreError::Invalid {
                field: "body",
                reason: "subject and body are both empty".into(),
            });
        }
        if self.priority < 0 || self.priority > MAX_PRIORITY {
            return Err(CoreError::Invalid {
                field: "priority",
                reason: format!(
                    "{} is out of range; use an integer from 0 to {MAX_PRIORITY} (higher is more urgent)",
                    self.priority
                ),
            });
        }
        if let Some(label) = &self.label {
            check_size("label", label.len())?;
        }
        Ok(())
    }
}

fn check_size(field: &'static str, len: usize) -> Result<(), CoreError> {
    if len > MAX_FIELD_BYTES {
        return Err(CoreError::Invalid {
            field,
            reason: format!(
                "{} is over the {} limit",
                human_bytes(len),
                human_bytes(MAX_FIELD_BYTES)
            ),
        });
    }
    Ok(())
}

/// Formats a byte count for messages (`1.0 MiB`, `512 B`).
pub fn human_bytes(n: usize) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if n >= 1024 * 1024 {
        format!("{:.1} MiB", n as f64 / MIB)
    } else if n >= 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

/// Checks a case id: non-empty, no surrounding or control whitespace, at most 200 bytes.
pub fn validate_id(id: &str) -> Result<(), CoreError> {
    let bad = |reason: &str| {
        Err(CoreError::Invalid {
            field: "id",
            reason: reason.to_string(),
        })
    };
    if id.is_empty() {
        return bad("is empty");
    }
    if id.trim() != id {
        return bad("has leading or trailing whitespace; ids are compared exactly, so remove it");
    }
    if id.chars().any(char::is_control) {
        return bad("contains a control character");
    }
    if id.len() > MAX_ID_BYTES {
        return bad(&format!("is longer than {MAX_ID_BYTES} bytes"));
    }
    Ok(())
}

/// The key under which ids are unique: ids that differ only in letter case are the same case.
pub fn id_key(id: &str) -> String {
    id.trim().to_lowercase()
}

/// Where a case stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseStatus {
    /// Waiting for a reviewer.
    Open,
    /// Approved as drafted.
    Approved,
    /// Approved with the reviewer's edits.
    Edited,
    /// Rejected.
    Rejected,
    /// Handed to a supervisor.
    Escalated,
}

impl CaseStatus {
    /// Every status, in display order.
    pub const ALL: [CaseStatus; 5] = [
        CaseStatus::Open,
        CaseStatus::Approved,
        CaseStatus::Edited,
        CaseStatus::Rejected,
        CaseStatus::Escalated,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Approved => "approved",
            CaseStatus::Edited => "edited",
            CaseStatus::Rejected => "rejected",
            CaseStatus::Escalated => "escalated",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| CoreError::Invalid {
                field: "status",
                reason: format!(
                    "unknown status {s:?}; use one of open, approved, edited, rejected, escalated"
                ),
            })
    }
}

/// How sure intake is of a case's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    /// Confident.
    High,
    /// Somewhat confident.
    Medium,
    /// Not confident; needs a careful look.
    Low,
}

impl Band {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Band::High => "high",
            Band::Medium => "medium",
            Band::Low => "low",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        match s {
            "high" => Ok(Band::High),
            "medium" => Ok(Band::Medium),
            "low" => Ok(Band::Low),
            _ => Err(CoreError::Invalid {
                field: "band",
                reason: format!("unknown band {s:?}; use high, medium or low"),
            }),
        }
    }
}

/// A case as the workspace holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Internal sequence number (stable within a workspace).
    pub seq: i64,
    /// Upstream id.
    pub id: String,
    /// One-line summary.
    pub subject: String,
    /// The customer's message.
    pub body: String,
    /// When the case arrived upstream.
    pub received_at: DateTime<Utc>,
    /// Urgency, higher is more urgent.
    pub priority: i64,
    /// SLA deadline, if any.
    pub sla_due_at: Option<DateTime<Utc>>,
    /// Upstream metadata.
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Label, if known or classified.
    pub label: Option<String>,
    /// Confidence band, once classified.
    pub band: Option<Band>,
    /// Review status.
    pub status: CaseStatus,
    /// The AI draft the reviewer judges, if one has been made.
    pub draft: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> NewCase {
        NewCase {
            id: "C-1".into(),
            subject: "Card".into(),
            body: "My card was declined".into(),
            received_at: "2026-01-01T00:00:00Z".parse().unwrap(),
            priority: 1,
            sla_due_at: None,
            metadata: None,
            label: None,
        }
    }

    #[test]
    fn content_hash_changes_with_any_field() {
        let a = sample();
        let mut b = sample();
        b.body.push('!');
        let mut c = sample();
        c.priority = 2;
        assert_ne!(a.content_hash(), b.content_hash());
        assert_ne!(a.content_hash(), c.content_hash());
        assert_eq!(a.content_hash(), sample().content_hash());
    }

    #[test]
    fn negative_priority_is_refused_with_the_field_named() {
        let mut a = sample();
        a.priority = -1;
        let err = a.validate().unwrap_err();
        assert!(err.to_string().starts_with("priority:"), "{err}");
    }

    #[test]
    fn ids_with_surrounding_whitespace_are_refused() {
        assert!(validate_id(" C-1").is_err());
        assert!(validate_id("C-1").is_ok());
        assert_eq!(id_key("AbC"), id_key("abc"));
    }

    #[test]
    fn oversized_body_names_its_size() {
        let mut a = sample();
        a.body = "x".repeat(MAX_FIELD_BYTES + 1);
        let err = a.validate().unwrap_err().to_string();
        assert!(err.contains("body") && err.contains("1.0 MiB"), "{err}");
    }
}
