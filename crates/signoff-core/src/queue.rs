//! The queue's order and filters as data: open cases by SLA due time, then priority
//! (higher first), then received time, then arrival sequence as the tie-breaker.

use crate::{Band, CaseStatus};
use serde::{Deserialize, Serialize};

/// Sort key for a missing SLA: such cases come after every case with a deadline.
pub const NO_SLA_KEY: i64 = i64::MAX;

/// The position of a case in queue order; a page starts strictly after its cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QueueCursor {
    /// SLA due time in ms since the epoch, or `NO_SLA_KEY`.
    pub sla_key: i64,
    /// Priority negated, so that ascending order puts urgent cases first.
    pub neg_priority: i64,
    /// Received time in ms since the epoch.
    pub received_ms: i64,
    /// Internal sequence number.
    pub seq: i64,
}

impl QueueCursor {
    /// The cursor of a case with these fields.
    pub fn of(sla_due_ms: Option<i64>, priority: i64, received_ms: i64, seq: i64) -> Self {
        Self {
            sla_key: sla_due_ms.unwrap_or(NO_SLA_KEY),
            neg_priority: -priority,
            received_ms,
            seq,
        }
    }
}

/// What part of the workspace a queue view shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueFilter {
    /// Only cases with this status (the open queue when `None`).
    pub status: Option<CaseStatus>,
    /// Only cases in this band.
    pub band: Option<Band>,
    /// Only cases with this label.
    pub label: Option<String>,
    /// Full-text query over subject and body (words, all must match).
    pub text: Option<String>,
}

impl QueueFilter {
    /// The status this filter selects, defaulting to the open queue.
    pub fn status_or_open(&self) -> CaseStatus {
        self.status.unwrap_or(CaseStatus::Open)
    }
}

/// Turns free text typed by a reviewer into an FTS5 query that cannot fail to parse:
/// each word becomes a quoted prefix term, all must match. `None` when no word is left.
pub fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(32)
        .map(|w| format!("\"{}\"*", w.to_lowercase()))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urgent_cases_sort_before_older_ones_at_the_same_deadline() {
        let urgent = QueueCursor::of(Some(100), 5, 50, 2);
        let calm = QueueCursor::of(Some(100), 0, 10, 1);
        let no_sla = QueueCursor::of(None, 9, 0, 0);
        let sooner = QueueCursor::of(Some(50), 0, 99, 3);
        let mut v = vec![no_sla, calm, urgent, sooner];
        v.sort();
        assert_eq!(v, vec![sooner, urgent, calm, no_sla]);
    }

    #[test]
    fn fts_query_quotes_every_word_and_drops_operators() {
        assert_eq!(
            fts_query("card NOT \"declined\"").unwrap(),
            "\"card\"* AND \"not\"* AND \"declined\"*"
        );
        assert_eq!(fts_query("  ** "), None);
    }
}
