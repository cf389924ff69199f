//! What a reviewer decides about a case, and the pure rules around it.

use crate::CoreError;
use serde::{Deserialize, Serialize};

/// Seconds after a disposition during which the reviewer may undo it, unless configured.
pub const UNDO_GRACE_DEFAULT_SECS: i64 = 10;

/// The reviewer's decision on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DispositionKind {
    /// The draft goes out as it is.
    Approve,
    /// The draft goes out with the reviewer's edits.
    Edit,
    /// The draft is rejected.
    Reject,
    /// The case goes to a supervisor.
    Escalate,
}

impl DispositionKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DispositionKind::Approve => "approve",
            DispositionKind::Edit => "edit",
            DispositionKind::Reject => "reject",
            DispositionKind::Escalate => "escalate",
        }
    }

    /// Parses a typed or stored name.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        match s {
            "approve" => Ok(Self::Approve),
            "edit" => Ok(Self::Edit),
            "reject" => Ok(Self::Reject),
            "escalate" => Ok(Self::Escalate),
            _ => Err(CoreError::Invalid {
                field: "disposition",
                reason: format!("unknown disposition {s:?}; use approve, edit, reject or escalate"),
            }),
        }
    }

    /// Whether this decision must carry a reason code.
    pub fn needs_reason(self) -> bool {
        !matches!(self, DispositionKind::Approve)
    }

    /// The status a case takes after this decision.
    pub fn resulting_status(self) -> crate::CaseStatus {
        use crate::CaseStatus::*;
        match self {
            DispositionKind::Approve => Approved,
            DispositionKind::Edit => Edited,
            DispositionKind::Reject => Rejected,
            DispositionKind::Escalate => Escalated,
        }
    }

    /// The meaning of the reviewer's signature (21 CFR 11.50), in words.
    pub fn meaning(self) -> &'static str {
        match self {
            DispositionKind::Approve => "approved the draft as written",
            DispositionKind::Edit => "approved the draft with edits",
            DispositionKind::Reject => "rejected the draft",
            DispositionKind::Escalate => "escalated the case",
        }
    }
}

/// A person accountable for dispositions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reviewer {
    /// Stable id (e.g. employee number or login).
    pub id: String,
    /// Printed name, as it appears on signatures.
    pub name: String,
}

impl Reviewer {
    /// Checks the id and name are usable.
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.id.trim().is_empty() || self.id.trim() != self.id || self.id.len() > 100 {
            return Err(CoreError::Invalid {
                field: "reviewer id",
                reason: "must be 1–100 characters without surrounding spaces".into(),
            });
        }
        if self.name.trim().is_empty() || self.name.len() > 200 {
            return Err(CoreError::Invalid {
                field: "reviewer name",
                reason: "must be 1–200 characters".into(),
            });
        }
        Ok(())
    }
}

/// A unified diff from the AI draft to the final text; empty when they are equal.
pub fn draft_diff(draft: &str, final_text: &str) -> String {
    if draft == final_text {
        return String::new();
    }
    similar::TextDiff::from_lines(draft, final_text)
        .unified_diff()
        .context_radius(2)
        .header("draft", "final")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_approve_may_go_without_a_reason() {
        assert!(!DispositionKind::Approve.needs_reason());
        for k in [
            DispositionKind::Edit,
            DispositionKind::Reject,
            DispositionKind::Escalate,
        ] {
            assert!(k.needs_reason(), "{k:?}");
        }
    }

    #[test]
    fn diff_shows_removed_and_added_lines() {
        let d = draft_diff("Hello\nWe refund.\n", "Hello\nWe do not refund.\n");
        assert!(d.contains("-We refund."), "{d}");
        assert!(d.contains("+We do not refund."), "{d}");
        assert_eq!(draft_diff("same", "same"), "");
    }
}
