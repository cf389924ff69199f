//! The corpus, checked against the log: each version against the `corpus_add` entry that made
//! it (its id is recomputed from its chunk set, where each chunk sits against the entry's
//! commitment) and the `corpus_approve` entry that approved it; each chunk against its own
//! content hash; each document and source against the `corpus_add` entries that added them;
//! each retrieval against its `retrieval` entry.

use super::{earliest_of, first, leaf_of, Finding, Outcome, Row, Unverified};
use crate::StoreError;
use rusqlite::Connection;
use serde_json::Value;

/// Columns of these tables that carry no audit meaning.
pub(super) const UNVERIFIED: &[Unverified] = &[Unverified {
    table: "retrievals",
    column: "seq",
    reason: "row number; nothing refers to it, and the row is tied to its entry by audit_idx and checked against it",
}];

fn opt(v: Option<impl Into<Value>>) -> Value {
    v.map_or(Value::Null, Into::into)
}

/// Checks corpus versions, chunks, documents, sources and retrievals.
pub(super) fn check(conn: &Connection, rows: &mut u64) -> Outcome {
    let checks: [fn(&Connection, &mut u64) -> Outcome; 6] =
        [versions, chunks, documents, sources, retrievals, |c, _| {
            orphan_positions(c)
        }];
    earliest_of(conn, rows, &checks)
}

fn versions(conn: &Connection, rows: &mut u64) -> Outcome {
    let mut stmt = conn.prepare(
        "SELECT seq, id, parent, at_ms, chunks, audit_idx, approved_by, approved_ms, approve_idx
         FROM corpus_versions ORDER BY seq",
    )?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        *rows += 1;
        let seq: i64 = r.get(0)?;
        let id: String = r.get(1)?;
        let name = format!("corpus version {}", &id[..id.len().min(12)]);
        let l = match leaf_of(conn, "corpus_versions", "audit_idx", &name, r.get(5)?)? {
            Ok(l) => l,
            Err(f) => return Ok(Some(f)),
        };
        let row = Row {
            table: "corpus_versions",
            name: name.clone(),
            leaf: Some(&l),
        };
        let members: Vec<(String, i64, i64, i64)> = conn
            .prepare_cached(
                "SELECT chunk_sha256, doc_seq, start_char, end_char FROM corpus_version_chunks
                 WHERE version_seq = ?1 ORDER BY chunk_sha256",
            )?
            .query_map([seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        let set_id = signoff_context::corpus::version_id(members.iter().map(|m| m.0.as_str()));
        let positions = crate::corpus::positions_sha256(
            members.iter().map(|(c, d, s, e)| (c.as_str(), *d, *s, *e)),
        );
        let chunk_rows = Row {
            table: "corpus_version_chunks",
            name: format!("the chunks of {name}"),
            leaf: Some(&l),
        };
        let mut fs = vec![
            row.kind_is("audit_idx", &["corpus_add"]),
            row.same("id", id.as_str(), "version"),
            row.same("parent", opt(r.get::<_, Option<String>>(2)?), "parent"),
            row.same_time("at_ms", r.get(3)?),
            row.same("chunks", r.get::<_, i64>(4)?, "chunks"),
            chunk_rows.derived(
                "chunk_sha256",
                set_id.as_str(),
                id.as_str(),
                "the version id",
            ),
            chunk_rows.covering(
                chunk_rows.same("start_char", positions.as_str(), "positions_sha256"),
                &["chunk_sha256", "doc_seq", "start_char", "end_char"],
            ),
        ];
        let (by, at, aidx): (Option<String>, Option<i64>, Option<i64>) =
            (r.get(6)?, r.get(7)?, r.get(8)?);
        match aidx {
            Some(a) => match super::leaf(conn, a)? {
                Some(al) => {
                    let ar = Row {
                        table: "corpus_versions",
                        name: name.clone(),
                        leaf: Some(&al),
                    };
                    fs.extend([
                        ar.kind_is("approve_idx", &["corpus_approve"]),
                        ar.same("id", id.as_str(), "version"),
                        ar.same("approved_by", opt(by), "approved_by"),
                        match at {
                            Some(at) => ar.same_time("approved_ms", at),
                            None => Some(
                                ar.finding("approved_ms", "is empty but the version was approved"),
                            ),
                        },
                    ]);
                }
                None => fs.push(Some(row.finding(
                    "approve_idx",
                    format!("points at entry {a}, which the log does not have"),
                ))),
            },
            None => {
                if by.is_some() || at.is_some() {
                    fs.push(Some(row.finding(
                        "approved_by",
                        "names an approval that no corpus_approve entry records",
                    )));
                }
                let approval: Option<i64> = conn
                    .prepare_cached(
                        "SELECT e.idx FROM log_index k JOIN audit_entries e ON e.idx = k.idx
                         WHERE k.kind = 'corpus_approve'
                           AND json_extract(e.leaf, '$.payload.version') = ?1 LIMIT 1",
                    )?
                    .query_row([&id], |r| r.get(0))
                    .ok();
                if let Some(a) = approval {
                    fs.push(Some(Finding {
                        index: Some(a as u64),
                        column: "corpus_versions.approve_idx".into(),
                        why: format!("{name} is stored as unapproved but entry {a} approved it"),
                    }));
                }
            }
        }
        if let Some(f) = first(fs) {
            return Ok(Some(f));
        }
    }
    Ok(None)
}

/// Every chunk position names a stored document.
fn orphan_positions(conn: &Connection) -> Outcome {
    let bad: Option<(i64, i64)> = conn
        .query_row(
            "SELECT m.doc_seq, v.audit_idx FROM corpus_version_chunks m
             JOIN corpus_versions v ON v.seq = m.version_seq
             WHERE m.doc_seq NOT IN (SELECT seq FROM corpus_documents)
             ORDER BY v.audit_idx LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok();
    Ok(bad.map(|(d, i)| Finding {
        index: Some(i as u64),
        column: "corpus_version_chunks.doc_seq".into(),
        why: format!(
            "a chunk of the version entry {i} made sits in document #{d}, which does not exist"
        ),
    }))
}

fn chunks(conn: &Connection, rows: &mut u64) -> Outcome {
    let mut stmt = conn.prepare(
        "SELECT sha256, id, source, title, text, flags FROM corpus_chunks ORDER BY sha256",
    )?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        *rows += 1;
        let (sha, id, source, title, text, flags): (
            String,
            String,
            String,
            String,
            String,
            String,
        ) = (
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        );
        let parsed: Option<signoff_context::ingest::ChunkFlags> = serde_json::from_str(&flags).ok();
        let row = Row {
            table: "corpus_chunks",
            name: format!("chunk {id:?}"),
            leaf: None,
        };
        let want = parsed.map(|f| signoff_context::ingest::chunk_sha256(&id, &title, &text, &f));
        let f = first([
            (want.as_deref() != Some(sha.as_str())).then(|| {
                row.finding("sha256", "does not match the chunk's content: one of corpus_chunks.id, corpus_chunks.title, corpus_chunks.text, corpus_chunks.flags, corpus_chunks.sha256 was changed")
            }),
            (!id.starts_with(&format!("{source}:"))).then(|| {
                row.finding("source", format!("says {source:?} but the chunk's id names another source"))
            }),
        ]);
        if let Some(mut f) = f {
            // Name the entry that put the chunk in a version, if one did.
            f.index = conn
                .prepare_cached(
                    "SELECT min(v.audit_idx) FROM corpus_version_chunks m JOIN corpus_versions v ON v.seq = m.version_seq
                     WHERE m.chunk_sha256 = ?1",
                )?
                .query_row([&sha], |r| r.get::<_, Option<i64>>(0))?
                .map(|i| i as u64);
            return Ok(Some(f));
        }
    }
    Ok(None)
}

/// The `corpus_add` entry made when `source` was added at `at_ms`.
fn add_entry(
    conn: &Connection,
    source: &str,
    at_ms: Option<i64>,
) -> Result<Option<super::Leaf>, StoreError> {
    let idx: Option<i64> = conn
        .prepare_cached(
            "SELECT e.idx FROM log_index k JOIN audit_entries e ON e.idx = k.idx
             WHERE k.kind = 'corpus_add'
               AND json_extract(e.leaf, '$.payload.source') = ?1 AND (?2 IS NULL OR e.at_ms = ?2)
             ORDER BY k.idx DESC LIMIT 1",
        )?
        .query_row(rusqlite::params![source, at_ms], |r| r.get(0))
        .ok();
    match idx {
        Some(i) => super::leaf(conn, i),
        None => Ok(None),
    }
}

fn documents(conn: &Connection, rows: &mut u64) -> Outcome {
    let mut stmt = conn.prepare(
        "SELECT seq, source, file, format, file_sha256, text, at_ms FROM corpus_documents ORDER BY seq",
    )?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        *rows += 1;
        let seq: i64 = r.get(0)?;
        let (source, file, format, file_sha, text, at): (
            String,
            String,
            String,
            String,
            String,
            i64,
        ) = (
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        );
        let name = format!("document #{seq}");
        // The corpus_add entries of this source at this time; the one that added the file.
        let idxs: Vec<i64> = conn
            .prepare_cached(
                "SELECT e.idx FROM log_index k JOIN audit_entries e ON e.idx = k.idx
                 WHERE k.kind = 'corpus_add'
                   AND json_extract(e.leaf, '$.payload.source') = ?1 AND e.at_ms = ?2 ORDER BY k.idx",
            )?
            .query_map(rusqlite::params![source, at], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut chosen = None;
        for i in &idxs {
            if let Some(l) = super::leaf(conn, *i)? {
                let has = l.p("files").and_then(Value::as_array).is_some_and(|fs| {
                    fs.iter().any(|f| {
                        f.get("file_sha256").and_then(Value::as_str) == Some(file_sha.as_str())
                    })
                });
                let last = chosen.is_none() || has;
                if last {
                    chosen = Some(l);
                }
                if has {
                    break;
                }
            }
        }
        let Some(l) = chosen else {
            return Ok(Some(Finding {
                index: None,
                column: "corpus_documents.source".into(),
                why: format!("{name}: no corpus_add entry of source {source:?} was made at its time (corpus_documents.source or corpus_documents.at_ms was changed)"),
            }));
        };
        let files = l
            .p("files")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let hit = files
            .iter()
            .find(|f| f.get("file_sha256").and_then(Value::as_str) == Some(file_sha.as_str()));
        let row = Row {
            table: "corpus_documents",
            name: name.clone(),
            leaf: Some(&l),
        };
        let f = match hit {
            None => Some(row.finding(
                "file_sha256",
                format!("is not among the files entry {} added", l.index),
            )),
            Some(h) => {
                let sub = |k: &str| h.get(k).cloned();
                let check = |col: &str, stored: Value, key: &str| -> Option<Finding> {
                    let said = sub(key)?;
                    (said != stored).then(|| {
                        row.finding(col, format!("does not match {key} in entry {}", l.index))
                    })
                };
                first([
                    check("format", format.clone().into(), "format"),
                    check(
                        "file",
                        crate::audit::commit(&file).into(),
                        "file_name_sha256",
                    ),
                    check("text", crate::audit::commit(&text).into(), "text_sha256"),
                ])
            }
        };
        if f.is_some() {
            return Ok(f);
        }
    }
    Ok(None)
}

fn sources(conn: &Connection, rows: &mut u64) -> Outcome {
    let mut stmt =
        conn.prepare("SELECT name, refresh_days, checked_ms FROM corpus_sources ORDER BY name")?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        *rows += 1;
        let (name, days, checked): (String, Option<i64>, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let Some(l) = add_entry(conn, &name, None)? else {
            return Ok(Some(Finding {
                index: None,
                column: "corpus_sources.name".into(),
                why: format!("source {name:?} was never added by a corpus_add entry"),
            }));
        };
        let row = Row {
            table: "corpus_sources",
            name: format!("source {name:?}"),
            leaf: Some(&l),
        };
        // The cadence is the latest one given (an add without one keeps the previous).
        let given: Option<Option<i64>> = {
            let mut s = conn.prepare_cached(
                "SELECT json_extract(e.leaf, '$.payload.refresh_days'), json_type(e.leaf, '$.payload.refresh_days')
                 FROM log_index k JOIN audit_entries e ON e.idx = k.idx
                 WHERE k.kind = 'corpus_add' AND json_extract(e.leaf, '$.payload.source') = ?1
                 ORDER BY k.idx DESC",
            )?;
            let mut q = s.query([&name])?;
            let mut out = None;
            let mut old_format = false;
            while let Some(r) = q.next()? {
                match r.get::<_, Option<String>>(1)?.as_deref() {
                    None => old_format = true,
                    Some("null") => {}
                    Some(_) => {
                        out = Some(r.get::<_, Option<i64>>(0)?);
                        break;
                    }
                }
                if old_format {
                    break;
                }
            }
            if out.is_none() && !old_format {
                out = Some(None);
            }
            out
        };
        let f = first([
            row.same_time("checked_ms", checked),
            given.and_then(|g| {
                row.derived(
                    "refresh_days",
                    opt(days),
                    opt(g),
                    "the cadence its corpus_add entries give",
                )
            }),
        ]);
        if f.is_some() {
            return Ok(f);
        }
    }
    Ok(None)
}

fn retrievals(conn: &Connection, rows: &mut u64) -> Outcome {
    let mut stmt = conn.prepare(
        "SELECT seq, case_seq, query_sha256, version_id, mode, hits, redactions, at_ms, audit_idx
         FROM retrievals ORDER BY seq",
    )?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        *rows += 1;
        let seq: i64 = r.get(0)?;
        let name = format!("retrieval #{seq}");
        let l = match leaf_of(conn, "retrievals", "audit_idx", &name, r.get(8)?)? {
            Ok(l) => l,
            Err(f) => return Ok(Some(f)),
        };
        let row = Row {
            table: "retrievals",
            name,
            leaf: Some(&l),
        };
        let json = |i: usize| -> rusqlite::Result<Value> {
            Ok(serde_json::from_str(&r.get::<_, String>(i)?).unwrap_or(Value::Null))
        };
        let f = first([
            row.kind_is("audit_idx", &["retrieval"]),
            row.same_case(conn, "case_seq", r.get(1)?)?,
            row.same("query_sha256", r.get::<_, String>(2)?, "query_sha256"),
            row.same("version_id", r.get::<_, String>(3)?, "version"),
            row.same("mode", r.get::<_, String>(4)?, "mode"),
            row.same("hits", json(5)?, "hits"),
            row.same("redactions", json(6)?, "redactions"),
            row.same_time("at_ms", r.get(7)?),
        ]);
        if f.is_some() {
            return Ok(f);
        }
    }
    Ok(None)
}
