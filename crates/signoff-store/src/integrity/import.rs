//! Imports and the cases they brought, checked against the log: each import row against its
//! `import` (or `sync`) entry, each case's content against its content hash, and the cases of
//! each import, in order, against the entry's commitment to their content hashes.

use super::{first, leaf_of, Finding, Outcome, Row, Unverified};
use crate::StoreError;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

/// Columns of these tables that carry no audit meaning.
pub(super) const UNVERIFIED: &[Unverified] = &[
    Unverified {
        table: "cases_fts",
        column: "subject",
        reason: "full-text index of cases.subject and cases.body (SQLite FTS5), rebuilt from the cases table; search results are read back from the cases themselves",
    },
    Unverified {
        table: "cases_fts",
        column: "body",
        reason: "full-text index of cases.subject and cases.body (SQLite FTS5), rebuilt from the cases table; search results are read back from the cases themselves",
    },
    Unverified {
        table: "cases_fts_data",
        column: "id",
        reason: "full-text index of cases.subject and cases.body (SQLite FTS5), rebuilt from the cases table; search results are read back from the cases themselves",
    },
    Unverified {
        table: "cases_fts_data",
        column: "block",
        reason: "full-text index of cases.subject and cases.body (SQLite FTS5), rebuilt from the cases table; search results are read back from the cases themselves",
    },
    Unverified {
        table: "cases_fts_idx",
        column: "segid",
        reason: "full-text index of cases.subject and cases.body (SQLite FTS5), rebuilt from the cases table; search results are read back from the cases themselves",
    },
    Unverified {
        table: "cases_fts_idx",
        column: "term",
        reason: "full-text index of cases.subject and cases.body (SQLite FTS5), rebuilt from the cases table; search results are read back from the cases themselves",
    },
    Unverified {
        table: "cases_fts_idx",
        column: "pgno",
        reason: "full-text index of cases.subject and cases.body (SQLite FTS5), rebuilt from the cases table; search results are read back from the cases themselves",
    },
    Unverified {
        table: "cases_fts_docsize",
        column: "id",
        reason: "full-text index of cases.subject and cases.body (SQLite FTS5), rebuilt from the cases table; search results are read back from the cases themselves",
    },
    Unverified {
        table: "cases_fts_docsize",
        column: "sz",
        reason: "full-text index of cases.subject and cases.body (SQLite FTS5), rebuilt from the cases table; search results are read back from the cases themselves",
    },
    Unverified {
        table: "cases_fts_config",
        column: "k",
        reason: "full-text index of cases.subject and cases.body (SQLite FTS5), rebuilt from the cases table; search results are read back from the cases themselves",
    },
    Unverified {
        table: "cases_fts_config",
        column: "v",
        reason: "full-text index of cases.subject and cases.body (SQLite FTS5), rebuilt from the cases table; search results are read back from the cases themselves",
    },
    Unverified {
        table: "status_counts",
        column: "status",
        reason: "a counter for the queue's header, recomputed from cases.status (which is checked)",
    },
    Unverified {
        table: "status_counts",
        column: "n",
        reason: "a counter for the queue's header, recomputed from cases.status (which is checked)",
    },
];

/// Checks imports, cases' content and import conflicts.
pub(super) fn check(conn: &Connection, rows: &mut u64) -> Outcome {
    let mut stmt = conn.prepare(
        "SELECT seq, file_name, file_sha256, at_ms, new_cases, unchanged, conflicts, audit_idx
         FROM imports ORDER BY seq",
    )?;
    type Imp = (i64, String, String, i64, i64, i64, i64, Option<i64>);
    let imports: Vec<Imp> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut found: Option<Finding> = None;
    for (seq, file_name, file_sha, at_ms, new, unchanged, conflicts, audit_idx) in imports {
        *rows += 1;
        let name = format!("import #{seq}");
        let l = match leaf_of(conn, "imports", "audit_idx", &name, audit_idx)? {
            Ok(l) => l,
            Err(f) => return Ok(Some(f)),
        };
        let row = Row {
            table: "imports",
            name,
            leaf: Some(&l),
        };
        let (cases_sha, n_cases) = new_cases(conn, seq)?;
        let n_conflicts: i64 = conn.query_row(
            "SELECT count(*) FROM import_conflicts WHERE import_seq = ?1",
            [seq],
            |r| r.get(0),
        )?;
        let f = first([
            row.kind_is("audit_idx", &["import", "sync"]),
            row.same("file_sha256", file_sha.as_str(), "file_sha256"),
            row.same_sha("file_name", Some(&file_name), "file_name_sha256"),
            row.same_time("at_ms", at_ms),
            row.same("new_cases", new, "new"),
            row.same("unchanged", unchanged, "unchanged"),
            row.same("conflicts", conflicts, "conflicts"),
            row.same("seq", cases_sha.as_str(), "new_cases_sha256").map(|mut f| {
                f.column = "cases.import_seq".into();
                f.why = format!(
                    "the {n_cases} cases stored as brought by import #{seq} are not the cases entry {} records (a case was moved, added or reordered, or a cases.content_hash changed)",
                    l.index
                );
                f
            }),
            row.derived("conflicts", conflicts, n_conflicts, "its stored conflict rows")
                .map(|mut f| {
                    f.column = "import_conflicts.import_seq".into();
                    f
                }),
            row.same("seq", crate::import::conflicts_sha256(conn, seq)?.as_str(), "conflicts_sha256")
                .map(|mut f| {
                    f.column = "import_conflicts".into();
                    f.why = format!("the conflict rows of import #{seq} are not what entry {} records: one of import_conflicts.line, import_conflicts.incoming_id, import_conflicts.incoming_hash was changed", l.index);
                    f
                }),
        ]);
        if f.is_some() {
            found = f;
            break;
        }
    }
    if found.is_none() {
        found = conflict_cases(conn)?;
    }
    match (found, cases(conn, rows)?) {
        (Some(a), Some(b)) => Ok(Some(if b.index < a.index { b } else { a })),
        (a, b) => Ok(a.or(b)),
    }
}

/// SHA-256 over the content hashes of an import's cases, in insertion order.
fn new_cases(conn: &Connection, import_seq: i64) -> Result<(String, u64), StoreError> {
    let mut h = Sha256::new();
    let mut n = 0;
    let mut stmt =
        conn.prepare_cached("SELECT content_hash FROM cases WHERE import_seq = ?1 ORDER BY seq")?;
    let mut q = stmt.query([import_seq])?;
    while let Some(r) = q.next()? {
        h.update(
            r.get_ref(0)?
                .as_str()
                .map_err(rusqlite::Error::from)?
                .as_bytes(),
        );
        n += 1;
    }
    Ok((hex::encode(h.finalize()), n))
}

/// A conflict row names the stored case with the incoming id.
fn conflict_cases(conn: &Connection) -> Result<Option<Finding>, StoreError> {
    let bad: Option<(i64, i64, String)> = conn
        .query_row(
            "SELECT k.import_seq, k.line, k.incoming_id FROM import_conflicts k
             LEFT JOIN cases c ON c.seq = k.case_seq
             WHERE c.id IS NULL OR c.id <> k.incoming_id COLLATE NOCASE
             ORDER BY k.import_seq, k.line LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .ok();
    let Some((import_seq, line, id)) = bad else {
        return Ok(None);
    };
    let idx: Option<i64> = conn
        .query_row(
            "SELECT audit_idx FROM imports WHERE seq = ?1",
            [import_seq],
            |r| r.get(0),
        )
        .unwrap_or(None);
    Ok(Some(Finding {
        index: idx.map(|i| i as u64),
        column: "import_conflicts.case_seq".into(),
        why: format!(
            "the conflict on line {line} of import #{import_seq} names a case other than {id:?}"
        ),
    }))
}

/// Each case's stored content hash is the hash of its stored content; the queue's sort key
/// is its priority; the case belongs to an import.
fn cases(conn: &Connection, rows: &mut u64) -> Result<Option<Finding>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT c.seq, c.id, c.subject, c.body, c.received_ms, c.priority, c.prio_key, c.sla_key,
                c.metadata, c.given_label, c.content_hash, c.import_seq, i.audit_idx, c.erased_idx
         FROM cases c LEFT JOIN imports i ON i.seq = c.import_seq ORDER BY c.seq",
    )?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        *rows += 1;
        let id: String = r.get(1)?;
        let sla: i64 = r.get(7)?;
        let parts = [
            id.clone(),
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?.to_string(),
            r.get::<_, i64>(5)?.to_string(),
            if sla == signoff_core::queue::NO_SLA_KEY {
                String::new()
            } else {
                sla.to_string()
            },
            r.get::<_, Option<String>>(8)?.unwrap_or_default(),
            r.get::<_, Option<String>>(9)?.unwrap_or_default(),
        ];
        let hash = signoff_core::case::content_hash_of([
            &parts[0], &parts[1], &parts[2], &parts[3], &parts[4], &parts[5], &parts[6], &parts[7],
        ]);
        let stored: String = r.get(10)?;
        let import_idx: Option<i64> = r.get(12)?;
        let at = |column: &str, why: String| Finding {
            index: import_idx.map(|i| i as u64),
            column: format!("cases.{column}"),
            why,
        };
        // An erased case's text is gone on purpose: its mark is checked with the erasures.
        let erased = r.get::<_, Option<i64>>(13)?.is_some();
        if hash != stored && !erased {
            return Ok(Some(at(
                "content_hash",
                format!("case {id:?}: its stored content does not hash to its content hash {stored}: one of cases.id, cases.subject, cases.body, cases.received_ms, cases.priority, cases.sla_key, cases.metadata, cases.given_label, cases.content_hash was changed"),
            )));
        }
        let priority: i64 = r.get(5)?;
        if r.get::<_, i64>(6)? != -priority {
            return Ok(Some(at(
                "prio_key",
                format!("case {id:?}: the queue key is not its priority {priority}"),
            )));
        }
        if import_idx.is_none() {
            return Ok(Some(at(
                "import_seq",
                format!("case {id:?} names no import with an audit entry"),
            )));
        }
    }
    Ok(None)
}
