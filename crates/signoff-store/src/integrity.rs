//! Everything stored beside the audit log, checked against it: `audit verify` re-derives each
//! column of each table that carries audit meaning from the signed leaves (or from rows
//! already checked against them) and fails naming the first entry and the `table.column`
//! that disagree. Columns that carry no audit meaning (caches, indexes rebuilt from the log,
//! configuration) are listed with the reason in [`unverified_columns`]; a test holds every
//! column of every table to one or the other.
//!
//! One file per subject under `integrity/`; this file holds what they share.

mod actions;
mod corpus;
mod draft;
pub(crate) mod erase;
mod hub;
mod import;
mod intake;
pub(crate) mod log_tables;
mod review;
mod rows;

use crate::StoreError;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value;
use signoff_audit::log::LogError;

/// A column that `audit verify` does not check, and why that loses nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Unverified {
    /// The table.
    pub table: &'static str,
    /// The column.
    pub column: &'static str,
    /// Why it carries no audit meaning.
    pub reason: &'static str,
}

/// Every column of the workspace that `audit verify` does not check, with the reason.
pub fn unverified_columns() -> Vec<Unverified> {
    [
        log_tables::UNVERIFIED,
        review::UNVERIFIED,
        import::UNVERIFIED,
        intake::UNVERIFIED,
        corpus::UNVERIFIED,
        draft::UNVERIFIED,
        actions::UNVERIFIED,
        erase::UNVERIFIED,
        hub::UNVERIFIED,
        hub::COSIGNED_UNVERIFIED,
        rows::UNVERIFIED,
    ]
    .concat()
}

/// A disagreement between a stored row and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// The entry the row is checked against, when there is one.
    pub index: Option<u64>,
    /// `table.column`.
    pub column: String,
    /// Which row, and what disagrees.
    pub why: String,
}

impl Finding {
    fn into_error(self) -> StoreError {
        let at = match self.index {
            Some(i) => format!("entry {i} ({})", self.column),
            None => self.column.clone(),
        };
        StoreError::Audit(LogError::Tampered {
            at,
            why: format!("{}: {}", self.column, self.why),
            index: self.index,
        })
    }
}

/// What a check returns: the first disagreement it found, if any.
pub(crate) type Outcome = Result<Option<Finding>, StoreError>;

/// Checks every table against the log (whose entries, with their columns, verified first);
/// returns the number of rows checked, or the disagreement with the lowest entry index.
pub(crate) fn check(conn: &Connection) -> Result<u64, StoreError> {
    let mut rows = 0u64;
    conn.execute_batch(LOG_INDEX)?;
    let checks: [fn(&Connection, &mut u64) -> Outcome; 11] = [
        log_tables::check,
        review::check,
        import::check,
        intake::check,
        corpus::check,
        draft::check,
        actions::check,
        erase::check,
        hub::check,
        hub::check_cosigned,
        rows::check,
    ];
    match earliest_of(conn, &mut rows, &checks)? {
        Some(f) => Err(f.into_error()),
        None => Ok(rows),
    }
}

/// `temp.log_index (idx, kind, actor)`: every entry's kind and actor, read through the audit
/// view's catalog and its indexes (kind, actor), then the entries the catalog has not caught
/// up with. The checks look entries up by kind here instead of scanning the whole log for each
/// question. It is sound only after the log's own pass proved each catalog row equal to its
/// entry's columns, with no row missing below the catalog's last one — which is the order
/// `audit verify` runs in.
const LOG_INDEX: &str = "CREATE TEMP VIEW IF NOT EXISTS log_index AS
     SELECT idx, kind, actor FROM main.audit_catalog
     UNION ALL
     SELECT idx, kind, actor FROM main.audit_entries
      WHERE idx > (SELECT coalesce(max(idx), -1) FROM main.audit_catalog);";

/// Keeps in `found` whichever finding is tied to the lower entry index (one tied to no entry
/// counts as last), so every check reports the disagreement a reader meets first.
pub(crate) fn keep_earliest(found: &mut Option<Finding>, f: Option<Finding>) {
    if let Some(f) = f {
        let key = |x: &Finding| x.index.unwrap_or(u64::MAX);
        if found.as_ref().is_none_or(|g| key(&f) < key(g)) {
            *found = Some(f);
        }
    }
}

/// Runs `checks` in order and returns the earliest finding among them.
pub(crate) fn earliest_of(
    conn: &Connection,
    rows: &mut u64,
    checks: &[fn(&Connection, &mut u64) -> Outcome],
) -> Outcome {
    let mut found = None;
    for c in checks {
        keep_earliest(&mut found, c(conn, rows)?);
    }
    Ok(found)
}

/// A leaf, parsed, with the index it sits at.
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    /// Leaf index.
    pub index: u64,
    /// The canonical leaf.
    pub v: Value,
}

impl Leaf {
    /// The entry kind.
    pub fn kind(&self) -> &str {
        self.v.get("kind").and_then(Value::as_str).unwrap_or("")
    }
    /// Who acted.
    pub fn actor(&self) -> &str {
        self.v.get("actor").and_then(Value::as_str).unwrap_or("")
    }
    /// The case, if the entry is about one.
    pub fn case_id(&self) -> Option<&str> {
        self.v.get("case_id").and_then(Value::as_str)
    }
    /// A payload field (`None`: the entry does not commit to it).
    pub fn p(&self, key: &str) -> Option<&Value> {
        self.v.get("payload").and_then(|p| p.get(key))
    }
    /// The entry's time as written in the leaf.
    pub fn at(&self) -> &str {
        self.v.get("at").and_then(Value::as_str).unwrap_or("")
    }
}

/// Reads the leaf at `idx`; a row pointing at a missing entry is a finding.
pub(crate) fn leaf(conn: &Connection, idx: i64) -> Result<Option<Leaf>, StoreError> {
    let bytes: Option<Vec<u8>> = conn
        .prepare_cached("SELECT leaf FROM audit_entries WHERE idx = ?1")?
        .query_row([idx], |r| r.get(0))
        .optional()?;
    Ok(bytes.map(|b| Leaf {
        index: idx as u64,
        v: serde_json::from_slice(&b).unwrap_or(Value::Null),
    }))
}

/// Builds findings for one row of one table.
pub(crate) struct Row<'a> {
    /// The table.
    pub table: &'static str,
    /// How the row is named in messages (`disposition #3`).
    pub name: String,
    /// The leaf it is checked against.
    pub leaf: Option<&'a Leaf>,
}

impl Row<'_> {
    /// A finding about `column` of this row.
    pub fn finding(&self, column: &str, why: impl Into<String>) -> Finding {
        let or = match self.leaf {
            Some(_) => format!(" (or {}.audit_idx names another entry)", self.table),
            None => String::new(),
        };
        Finding {
            index: self.leaf.map(|l| l.index),
            column: format!("{}.{column}", self.table),
            why: format!("{} {}{or}", self.name, why.into()),
        }
    }

    /// A finding about a commitment over several columns: names them all.
    pub fn covering(&self, f: Option<Finding>, columns: &[&str]) -> Option<Finding> {
        f.map(|mut f| {
            let list: Vec<String> = columns
                .iter()
                .map(|c| format!("{}.{c}", self.table))
                .collect();
            f.why = format!("{}; one of {} was changed", f.why, list.join(", "));
            f
        })
    }

    /// `column` holds `stored`; the leaf's payload field `key` must say the same (skipped when
    /// the entry predates that commitment).
    pub fn same(&self, column: &str, stored: impl Into<Value>, key: &str) -> Option<Finding> {
        let l = self.leaf?;
        let said = l.p(key)?;
        let stored = stored.into();
        (!same_value(&stored, said)).then(|| {
            self.finding(
                column,
                format!("says {stored} but entry {} records {key} = {said}", l.index),
            )
        })
    }

    /// `column` holds `text`; the leaf's payload field `key` must be its SHA-256 (hex), or
    /// null when the column is null.
    pub fn same_sha(&self, column: &str, text: Option<&str>, key: &str) -> Option<Finding> {
        let l = self.leaf?;
        let said = l.p(key)?;
        let want = text.map_or(Value::Null, |t| crate::audit::commit(t).into());
        (!same_value(&want, said)).then(|| {
            self.finding(
                column,
                format!(
                    "does not match the commitment {key} in entry {} (the text was changed)",
                    l.index
                ),
            )
        })
    }

    /// `column` holds `stored`, which must equal `want` (re-derived from checked data).
    pub fn derived(
        &self,
        column: &str,
        stored: impl Into<Value>,
        want: impl Into<Value>,
        from: &str,
    ) -> Option<Finding> {
        let (s, w) = (stored.into(), want.into());
        (!same_value(&s, &w))
            .then(|| self.finding(column, format!("says {s} but {from} gives {w}")))
    }

    /// The row's time column must be the entry's time.
    pub fn same_time(&self, column: &str, ms: i64) -> Option<Finding> {
        let l = self.leaf?;
        let stored = signoff_audit::log::rfc3339_ms(ms).unwrap_or_default();
        (stored != l.at()).then(|| {
            self.finding(
                column,
                format!("says {stored} but entry {} was made at {}", l.index, l.at()),
            )
        })
    }

    /// The row's actor column must be the entry's actor.
    pub fn same_actor(&self, column: &str, actor: &str) -> Option<Finding> {
        let l = self.leaf?;
        (actor != l.actor()).then(|| {
            self.finding(
                column,
                format!(
                    "says {actor:?} but entry {} was made by {:?}",
                    l.index,
                    l.actor()
                ),
            )
        })
    }

    /// The row's case (by seq) must be the entry's case.
    pub fn same_case(
        &self,
        conn: &Connection,
        column: &str,
        case_seq: i64,
    ) -> Result<Option<Finding>, StoreError> {
        let Some(l) = self.leaf else { return Ok(None) };
        let id = case_id(conn, case_seq)?;
        Ok((id.as_deref() != l.case_id()).then(|| {
            self.finding(
                column,
                format!(
                    "names case {} but entry {} is about {:?}",
                    id.map_or(format!("#{case_seq} (no such case)"), |i| format!("{i:?}")),
                    l.index,
                    l.case_id().unwrap_or("no case")
                ),
            )
        }))
    }

    /// The entry must be of one of `kinds`.
    pub fn kind_is(&self, column: &str, kinds: &[&str]) -> Option<Finding> {
        let l = self.leaf?;
        (!kinds.contains(&l.kind())).then(|| {
            self.finding(
                column,
                format!(
                    "points at entry {}, a {:?} entry, not {}",
                    l.index,
                    l.kind(),
                    kinds.join("/")
                ),
            )
        })
    }
}

/// The row's leaf, or a finding that `column` points at no entry.
pub(crate) fn leaf_of(
    conn: &Connection,
    table: &'static str,
    column: &str,
    name: &str,
    idx: Option<i64>,
) -> Result<Result<Leaf, Finding>, StoreError> {
    let missing = |why: String| Finding {
        index: None,
        column: format!("{table}.{column}"),
        why: format!("{name} {why}"),
    };
    let Some(idx) = idx else {
        return Ok(Err(missing("has no audit entry".into())));
    };
    Ok(match leaf(conn, idx)? {
        Some(l) => Ok(l),
        None => Err(missing(format!(
            "points at entry {idx}, which the log does not have"
        ))),
    })
}

/// JSON equality that reads integers and their decimal strings alike only where both are
/// numbers (booleans stored as SQLite integers compare with JSON booleans).
pub(crate) fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Bool(y)) | (Value::Bool(y), Value::Number(x)) => {
            x.as_i64() == Some(i64::from(*y))
        }
        _ => a == b,
    }
}

/// A case's id by its sequence number.
pub(crate) fn case_id(conn: &Connection, seq: i64) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id FROM cases WHERE seq = ?1")?
        .query_row([seq], |r| r.get(0))
        .optional()?)
}

/// Returns the first finding of a sequence of optional findings.
pub(crate) fn first(fs: impl IntoIterator<Item = Option<Finding>>) -> Option<Finding> {
    fs.into_iter().flatten().next()
}
