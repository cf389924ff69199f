//! Drafts, checked against the log: each draft against its `draft` entry (fields, text,
//! citations, claims and the frozen passages it cites), each passage against its own hash,
//! each claim resolution against its signed `claim_*` entry, and each case's current draft
//! text against its latest draft with the resolutions applied.

use super::{earliest_of, first, leaf_of, Finding, Outcome, Row, Unverified};
use rusqlite::Connection;
use serde_json::Value;

/// Columns of these tables that carry no audit meaning.
pub(super) const UNVERIFIED: &[Unverified] = &[Unverified {
    table: "claim_resolutions",
    column: "seq",
    reason: "row number; nothing refers to it, and the row is tied to its signed entry by audit_idx and checked against it",
}];

/// Checks drafts, passages, resolutions and cases' current drafts.
pub(super) fn check(conn: &Connection, rows: &mut u64) -> Outcome {
    let checks: [fn(&Connection, &mut u64) -> Outcome; 4] =
        [drafts, passages, resolutions, case_drafts];
    earliest_of(conn, rows, &checks)
}

fn sha(t: &str) -> String {
    crate::audit::commit(t)
}

fn drafts(conn: &Connection, rows: &mut u64) -> Outcome {
    let erased = super::erase::erased_cases(conn)?;
    let mut stmt = conn.prepare(
        "SELECT seq, case_seq, at_ms, model_id, model_version, prompt_id, prompt_fingerprint,
                corpus_version, chunk_ids, text, band, grounded, audit_idx, route
         FROM drafts ORDER BY seq",
    )?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        *rows += 1;
        let seq: i64 = r.get(0)?;
        let name = format!("draft #{seq}");
        let l = match leaf_of(conn, "drafts", "audit_idx", &name, r.get(12)?)? {
            Ok(l) => l,
            Err(f) => return Ok(Some(f)),
        };
        let row = Row {
            table: "drafts",
            name: name.clone(),
            leaf: Some(&l),
        };
        let ids: Vec<String> = serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or_default();
        let passages: Vec<String> = l
            .p("passages_sha256")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let refs: Vec<&str> = passages.iter().map(String::as_str).collect();
        let c = crate::draft::draft_commitments(conn, seq, &refs)?;
        let (claims, flagged): (i64, i64) = conn.query_row(
            "SELECT count(*), count(*) FILTER (WHERE status <> 'supported') FROM draft_claims WHERE draft_seq = ?1",
            [seq],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let cited_elsewhere: Option<String> = conn
            .prepare_cached(
                "SELECT passage_sha256 FROM draft_citations WHERE draft_seq = ?1 ORDER BY marker",
            )?
            .query_map([seq], |r| r.get::<_, String>(0))?
            .filter_map(Result::ok)
            .find(|p| !passages.contains(p));
        let sub = |table: &'static str| Row {
            table,
            name: format!("the rows of {name}"),
            leaf: Some(&l),
        };
        let f = first([
            row.kind_is("audit_idx", &["draft"]),
            row.same_case(conn, "case_seq", r.get(1)?)?,
            row.same_time("at_ms", r.get(2)?),
            row.same("model_id", r.get::<_, String>(3)?, "model_id"),
            row.same("model_version", r.get::<_, String>(4)?, "model_version"),
            row.same("prompt_id", r.get::<_, String>(5)?, "prompt_id"),
            row.same(
                "prompt_fingerprint",
                r.get::<_, String>(6)?,
                "prompt_fingerprint",
            ),
            row.same("corpus_version", r.get::<_, String>(7)?, "corpus_version"),
            row.same_sha("chunk_ids", Some(&ids.join("\n")), "chunk_ids_sha256"),
            if erased.contains(&r.get::<_, i64>(1)?) {
                let text = r.get::<_, String>(9)?;
                (!text.is_empty())
                    .then(|| row.finding("text", "holds text, but the case was erased"))
            } else {
                row.same_sha("text", Some(&r.get::<_, String>(9)?), "draft_sha256")
            },
            row.same("band", r.get::<_, String>(10)?, "band"),
            row.same("grounded", r.get::<_, i64>(11)?, "grounded"),
            row.same_sha("route", Some(&r.get::<_, String>(13)?), "route_sha256"),
            sub("draft_claims").same("status", claims, "claims"),
            sub("draft_claims").same("status", flagged, "flagged"),
            sub("draft_claims").covering(
                sub("draft_claims").same("start_char", c.claims.as_str(), "claims_sha256"),
                &[
                    "idx",
                    "start_char",
                    "end_char",
                    "markers",
                    "score",
                    "status",
                ],
            ),
            sub("draft_citations").covering(
                sub("draft_citations").same(
                    "passage_sha256",
                    c.citations.as_str(),
                    "citations_sha256",
                ),
                &[
                    "marker",
                    "chunk_id",
                    "passage_sha256",
                    "start_char",
                    "end_char",
                ],
            ),
            cited_elsewhere.map(|p| {
                sub("draft_citations").finding(
                    "passage_sha256",
                    format!("cites passage {p}, which entry {} does not", l.index),
                )
            }),
            sub("draft_passages").covering(
                sub("draft_passages").same("title", c.evidence.as_str(), "evidence_sha256"),
                &["sha256", "chunk_id", "source", "version", "title"],
            ),
        ]);
        if f.is_some() {
            return Ok(f);
        }
    }
    // Citations and claims of drafts that do not exist.
    let orphan: Option<(String, i64)> = conn
        .query_row(
            "SELECT 'draft_citations', draft_seq FROM draft_citations WHERE draft_seq NOT IN (SELECT seq FROM drafts)
             UNION ALL
             SELECT 'draft_claims', draft_seq FROM draft_claims WHERE draft_seq NOT IN (SELECT seq FROM drafts)
             LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok();
    Ok(orphan.map(|(t, s)| Finding {
        index: None,
        column: format!("{t}.draft_seq"),
        why: format!("a row names draft #{s}, which does not exist"),
    }))
}

/// Each frozen passage's key is the hash of its text, and some draft cites it.
fn passages(conn: &Connection, rows: &mut u64) -> Outcome {
    let mut stmt = conn.prepare("SELECT sha256, text FROM draft_passages ORDER BY sha256")?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        *rows += 1;
        let (key, text): (String, String) = (r.get(0)?, r.get(1)?);
        if sha(&text) != key {
            let idx: Option<i64> = conn
                .query_row(
                    "SELECT min(d.audit_idx) FROM draft_citations c JOIN drafts d ON d.seq = c.draft_seq WHERE c.passage_sha256 = ?1",
                    [&key],
                    |r| r.get(0),
                )
                .unwrap_or(None);
            return Ok(Some(Finding {
                index: idx.map(|i| i as u64),
                column: "draft_passages.text".into(),
                why: format!("frozen passage {key}: its text no longer hashes to its key (the evidence was changed)"),
            }));
        }
    }
    Ok(None)
}

fn resolutions(conn: &Connection, rows: &mut u64) -> Outcome {
    let erased = super::erase::erased_cases(conn)?;
    let mut stmt = conn.prepare(
        "SELECT r.seq, r.draft_seq, r.claim_idx, r.action, r.reason, r.replacement, r.reviewer_id,
                r.at_ms, r.audit_idx, d.case_seq, c.status
         FROM claim_resolutions r LEFT JOIN drafts d ON d.seq = r.draft_seq
         LEFT JOIN draft_claims c ON c.draft_seq = r.draft_seq AND c.idx = r.claim_idx
         ORDER BY r.seq",
    )?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        *rows += 1;
        let seq: i64 = r.get(0)?;
        let name = format!("claim resolution #{seq}");
        let l = match leaf_of(conn, "claim_resolutions", "audit_idx", &name, r.get(8)?)? {
            Ok(l) => l,
            Err(f) => return Ok(Some(f)),
        };
        let row = Row {
            table: "claim_resolutions",
            name,
            leaf: Some(&l),
        };
        let action: String = r.get(3)?;
        let case_seq: Option<i64> = r.get(9)?;
        let (reason, replacement): (Option<String>, Option<String>) = (r.get(4)?, r.get(5)?);
        let texts = if case_seq.is_some_and(|c| erased.contains(&c)) {
            [
                reason
                    .as_ref()
                    .map(|_| row.finding("reason", "holds text, but the case was erased")),
                replacement
                    .as_ref()
                    .map(|_| row.finding("replacement", "holds text, but the case was erased")),
            ]
        } else {
            [
                row.same_sha("reason", reason.as_deref(), "reason_sha256"),
                row.same_sha("replacement", replacement.as_deref(), "replacement_sha256"),
            ]
        };
        let [reason_f, replacement_f] = texts;
        let f = first([
            row.kind_is("audit_idx", &["claim_accept", "claim_edit", "claim_remove"]),
            row.derived(
                "action",
                format!("claim_{action}"),
                l.kind(),
                &format!("entry {}", l.index),
            ),
            row.same("draft_seq", r.get::<_, i64>(1)?, "draft_seq"),
            row.same("claim_idx", r.get::<_, i64>(2)?, "claim"),
            reason_f,
            replacement_f,
            row.same_actor("reviewer_id", &r.get::<_, String>(6)?),
            row.same_time("at_ms", r.get(7)?),
            match case_seq {
                Some(c) => row.same_case(conn, "draft_seq", c)?,
                None => Some(row.finding("draft_seq", "names a draft that does not exist")),
            },
            row.same(
                "claim_idx",
                r.get::<_, Option<String>>(10)?
                    .map_or(Value::Null, Into::into),
                "status",
            )
            .map(|mut f| {
                f.column = "draft_claims.status".into();
                f
            }),
        ]);
        if f.is_some() {
            return Ok(f);
        }
    }
    Ok(None)
}

/// A case's current draft is its latest draft with resolutions applied, or the text of its
/// latest `draft_set` entry when that came later.
fn case_drafts(conn: &Connection, rows: &mut u64) -> Outcome {
    let mut stmt = conn.prepare(
        "SELECT c.seq, c.id, c.draft, (SELECT max(seq) FROM drafts WHERE case_seq = c.seq)
         FROM cases c WHERE c.draft IS NOT NULL
            OR EXISTS (SELECT 1 FROM drafts WHERE case_seq = c.seq)
         ORDER BY c.seq",
    )?;
    let all: Vec<(i64, String, Option<String>, Option<i64>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let erased = super::erase::erased_cases(conn)?;
    for (seq, id, text, latest) in all {
        *rows += 1;
        if erased.contains(&seq) {
            // Its draft is gone with the case's text (the erasure check holds it empty).
            continue;
        }
        let set: Option<(i64, Vec<u8>)> = conn
            .prepare_cached(
                "SELECT idx, leaf FROM audit_entries WHERE case_id = ?1 AND kind = 'draft_set' ORDER BY idx DESC LIMIT 1",
            )?
            .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))
            .ok();
        let draft = match latest {
            Some(s) => {
                let d = crate::draft::read_draft(conn, s)?;
                // Accepting a claim leaves the text as drafted; an edit or removal rewrites it.
                let rewritten: bool = conn.query_row(
                    "SELECT EXISTS (SELECT 1 FROM claim_resolutions WHERE draft_seq = ?1 AND action <> 'accept')",
                    [s],
                    |r| r.get(0),
                )?;
                let text = if rewritten {
                    d.effective_text.clone()
                } else {
                    d.draft.text.clone()
                };
                // Named at the latest entry that shaped it (a resolution after the draft).
                let last: Option<i64> = conn.query_row(
                    "SELECT max(audit_idx) FROM claim_resolutions WHERE draft_seq = ?1",
                    [s],
                    |r| r.get(0),
                )?;
                Some((last.map_or(d.audit_idx, |l| l.max(d.audit_idx)), text))
            }
            None => None,
        };
        let (want, idx, from) = match (draft, set) {
            (Some((di, t)), Some((i, _))) if di > i => {
                (Some(sha(&t)), Some(di), "its latest draft")
            }
            (Some((di, t)), None) => (Some(sha(&t)), Some(di), "its latest draft"),
            (_, Some((i, leaf))) => {
                let v: Value = serde_json::from_slice(&leaf).unwrap_or_default();
                let h = v
                    .pointer("/payload/draft_sha256")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                (h, Some(i), "its latest draft_set entry")
            }
            (None, None) => (None, None, "no draft entry"),
        };
        if text.as_deref().map(sha) != want {
            return Ok(Some(Finding {
                index: idx.map(|i| i as u64),
                column: "cases.draft".into(),
                why: format!("case {id:?}: the current draft text is not what {from} gives (cases.draft was changed, or one of claim_resolutions.draft_seq, claim_resolutions.claim_idx, claim_resolutions.action, claim_resolutions.replacement of a resolution applied to it)"),
            }));
        }
    }
    Ok(None)
}
