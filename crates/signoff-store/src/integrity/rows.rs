//! The other direction: every entry that records a row has its row. The per-table checks hold
//! each row to its entry; here each entry of a kind that writes one row is matched to a row
//! naming it, so a row deleted behind Signoff's back (a decision, an import, a draft …) is
//! reported at its entry.

use super::{Finding, Outcome, Unverified};
use rusqlite::Connection;

/// Columns of these tables that carry no audit meaning.
pub(super) const UNVERIFIED: &[Unverified] = &[];

/// (table, column naming the entry, the entry kinds that each write exactly one such row).
const ONE_ROW_PER_ENTRY: &[(&str, &str, &[&str])] = &[
    ("imports", "audit_idx", &["import", "sync"]),
    ("dispositions", "audit_idx", &["disposition", "undo"]),
    ("classifications", "audit_idx", &["classification"]),
    ("threshold_versions", "audit_idx", &["threshold_change"]),
    ("retrievals", "audit_idx", &["retrieval"]),
    ("drafts", "audit_idx", &["draft"]),
    (
        "claim_resolutions",
        "audit_idx",
        &["claim_accept", "claim_edit", "claim_remove"],
    ),
    ("actions", "audit_idx", &["action_queued"]),
];

/// Finds the first entry whose row is missing, over every table above.
pub(super) fn check(conn: &Connection, rows: &mut u64) -> Outcome {
    let mut found = None;
    for (table, column, kinds) in ONE_ROW_PER_ENTRY {
        let list = kinds
            .iter()
            .map(|k| format!("'{k}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let missing: Option<i64> = conn.query_row(
            &format!(
                "SELECT min(idx) FROM (SELECT idx FROM log_index WHERE kind IN ({list})
                 EXCEPT SELECT \"{column}\" FROM \"{table}\")"
            ),
            [],
            |r| r.get(0),
        )?;
        *rows += 1;
        if let Some(idx) = missing {
            super::keep_earliest(
                &mut found,
                Some(Finding {
                    index: Some(idx as u64),
                    column: format!("{table}.{column}"),
                    why: format!(
                        "entry {idx} records a row of {table}, and no row of {table} names it (the row was deleted)"
                    ),
                }),
            );
        }
    }
    Ok(found)
}
