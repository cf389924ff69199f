//! Erasures, checked against the log: a case marked erased names the signed `erase` entry
//! about it, every `erase` entry's case is marked erased by it, and an erased case holds no
//! text. The other checks skip the text commitments of erased cases (the text is gone on
//! purpose) and rely on this one for the mark; they read it through [`erased_cases`].

use super::{Finding, Outcome, Unverified};
use crate::erase::ERASE_KIND;
use crate::StoreError;
use rusqlite::Connection;
use std::collections::HashSet;

/// Columns of these tables that carry no audit meaning.
pub(super) const UNVERIFIED: &[Unverified] = &[];

/// The cases marked erased (by `cases.seq`); each mark is checked by [`check`].
pub(crate) fn erased_cases(conn: &Connection) -> Result<HashSet<i64>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT seq FROM cases WHERE erased_idx IS NOT NULL")?;
    let set = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(set)
}

/// Checks every erasure mark against its entry and every `erase` entry against its case.
pub(super) fn check(conn: &Connection, rows: &mut u64) -> Outcome {
    let mut found = None;
    let mut marked = conn.prepare(
        "SELECT id, erased_idx, subject, body, metadata, draft FROM cases
         WHERE erased_idx IS NOT NULL ORDER BY seq",
    )?;
    let mut q = marked.query([])?;
    while let Some(r) = q.next()? {
        *rows += 1;
        let (id, idx): (String, i64) = (r.get(0)?, r.get(1)?);
        let at = |column: &str, why: String| Finding {
            index: Some(idx as u64),
            column: format!("cases.{column}"),
            why,
        };
        let f = match super::leaf(conn, idx)? {
            Some(l) if l.kind() == ERASE_KIND && l.case_id() == Some(id.as_str()) => {
                let text_left = [
                    ("subject", r.get::<_, String>(2)?.is_empty()),
                    ("body", r.get::<_, String>(3)?.is_empty()),
                    ("metadata", r.get::<_, Option<String>>(4)?.is_none()),
                    ("draft", r.get::<_, Option<String>>(5)?.is_none()),
                ]
                .into_iter()
                .find(|(_, empty)| !empty);
                text_left.map(|(col, _)| {
                    at(
                        col,
                        format!("case {id:?} was erased by entry {idx}, yet it holds text"),
                    )
                })
            }
            _ => Some(at(
                "erased_idx",
                format!(
                    "case {id:?} is marked erased by entry {idx}, which is not an erasure of it"
                ),
            )),
        };
        super::keep_earliest(&mut found, f);
    }
    let mut entries = conn.prepare(
        "SELECT k.idx, e.case_id, c.erased_idx FROM log_index k
         JOIN audit_entries e ON e.idx = k.idx
         LEFT JOIN cases c ON c.id = e.case_id
         WHERE k.kind = ?1 ORDER BY k.idx",
    )?;
    let mut q = entries.query([ERASE_KIND])?;
    while let Some(r) = q.next()? {
        let (idx, case, mark): (i64, Option<String>, Option<i64>) =
            (r.get(0)?, r.get(1)?, r.get(2)?);
        if mark != Some(idx) {
            super::keep_earliest(
                &mut found,
                Some(Finding {
                    index: Some(idx as u64),
                    column: "cases.erased_idx".into(),
                    why: format!(
                        "entry {idx} erased case {:?}, but the case is not marked erased by it",
                        case.unwrap_or_default()
                    ),
                }),
            );
        }
    }
    Ok(found)
}
