//! Dispositions, the case status they leave, and reviewers, checked against the log: each
//! disposition row against its signed `disposition` or `undo` entry, the status chain replayed
//! case by case, and each reviewer's name against the name they signed with.

use super::{first, keep_earliest, leaf_of, Finding, Outcome, Row, Unverified};
use crate::StoreError;
use rusqlite::Connection;
use signoff_core::DispositionKind;

/// Columns of these tables that carry no audit meaning.
pub(super) const UNVERIFIED: &[Unverified] = &[
    Unverified {
        table: "reviewers",
        column: "created_ms",
        reason: "when the local row was made; enrolment is audited by the reviewer's key registration entry (reviewer_key) and its time",
    },
    Unverified {
        table: "reason_codes",
        column: "label",
        reason: "display text of the decision bar's choices; a disposition's entry records the code itself",
    },
    Unverified {
        table: "reason_codes",
        column: "position",
        reason: "display order of the decision bar's choices",
    },
    Unverified {
        table: "reason_codes",
        column: "code",
        reason: "the catalogue of codes offered; a disposition's entry records the code it used",
    },
];

struct Disp {
    seq: i64,
    case_seq: i64,
    kind: String,
    reviewer_id: String,
    at_ms: i64,
    reason_code: Option<String>,
    rationale: Option<String>,
    draft_text: Option<String>,
    final_text: Option<String>,
    diff: Option<String>,
    prev_status: String,
    undoes: Option<i64>,
    audit_idx: Option<i64>,
}

/// Checks dispositions, case statuses and reviewers.
pub(super) fn check(conn: &Connection, rows: &mut u64) -> Outcome {
    let mut stmt = conn.prepare(
        "SELECT seq, case_seq, kind, reviewer_id, at_ms, reason_code, rationale, draft_text,
                final_text, diff, prev_status, undoes, audit_idx
         FROM dispositions ORDER BY case_seq, seq",
    )?;
    let all: Vec<Disp> = stmt
        .query_map([], |r| {
            Ok(Disp {
                seq: r.get(0)?,
                case_seq: r.get(1)?,
                kind: r.get(2)?,
                reviewer_id: r.get(3)?,
                at_ms: r.get(4)?,
                reason_code: r.get(5)?,
                rationale: r.get(6)?,
                draft_text: r.get(7)?,
                final_text: r.get(8)?,
                diff: r.get(9)?,
                prev_status: r.get(10)?,
                undoes: r.get(11)?,
                audit_idx: r.get(12)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let erased = super::erase::erased_cases(conn)?;
    let mut found: Option<Finding> = None;
    let mut keep = |f: Option<Finding>| keep_earliest(&mut found, f);
    // The status each case has after its dispositions, replayed in order.
    let mut status: Option<(i64, String)> = None;
    let mut restored: std::collections::HashMap<i64, String> = Default::default();
    let mut statuses: Vec<(i64, String)> = Vec::new();
    for d in &all {
        *rows += 1;
        if status.as_ref().is_none_or(|(c, _)| *c != d.case_seq) {
            if let Some(s) = status.take() {
                statuses.push(s);
            }
            status = Some((d.case_seq, "open".into()));
        }
        let name = format!("disposition #{}", d.seq);
        let l = match leaf_of(conn, "dispositions", "audit_idx", &name, d.audit_idx)? {
            Ok(l) => l,
            Err(f) => {
                keep(Some(f));
                continue;
            }
        };
        let row = Row {
            table: "dispositions",
            name: name.clone(),
            leaf: Some(&l),
        };
        let current = status.as_ref().map(|(_, s)| s.clone()).unwrap_or_default();
        keep(first([
            row.kind_is("audit_idx", &["disposition", "undo"]),
            row.same("seq", d.seq, "disposition_seq"),
            row.same_case(conn, "case_seq", d.case_seq)?,
            row.same_actor("reviewer_id", &d.reviewer_id),
            row.same_time("at_ms", d.at_ms),
            row.derived(
                "prev_status",
                d.prev_status.as_str(),
                current.as_str(),
                "replaying the case's earlier dispositions",
            ),
        ]));
        let next = if l.kind() == "undo" {
            let undone_idx: Option<i64> = match d.undoes {
                Some(u) => conn
                    .prepare_cached("SELECT audit_idx FROM dispositions WHERE seq = ?1")?
                    .query_row([u], |r| r.get(0))
                    .unwrap_or(None),
                None => None,
            };
            keep(first([
                row.derived(
                    "kind",
                    d.kind.as_str(),
                    "undo",
                    &format!("entry {} (an undo)", l.index),
                ),
                row.same(
                    "undoes",
                    undone_idx.map_or(serde_json::Value::Null, Into::into),
                    "undoes_index",
                ),
                nulls(
                    &row,
                    &[
                        ("reason_code", &d.reason_code),
                        ("rationale", &d.rationale),
                        ("draft_text", &d.draft_text),
                        ("final_text", &d.final_text),
                        ("diff", &d.diff),
                    ],
                    "is set, but an undo records none",
                ),
            ]));
            l.p("status_restored")
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .or_else(|| d.undoes.and_then(|u| restored.get(&u).cloned()))
                .unwrap_or_else(|| "open".into())
        } else {
            let texts = if erased.contains(&d.case_seq) {
                // The texts were erased: only the decision itself still stands beside its entry.
                vec![nulls(
                    &row,
                    &[
                        ("rationale", &d.rationale),
                        ("draft_text", &d.draft_text),
                        ("final_text", &d.final_text),
                        ("diff", &d.diff),
                    ],
                    "holds text, but the case was erased",
                )]
            } else {
                let draft = d.draft_text.as_deref().unwrap_or("");
                let fin = d.final_text.as_deref().unwrap_or("");
                let rationale_ok = d.rationale.is_none()
                    && l.p("rationale_sha256") == Some(&crate::audit::commit("").into());
                vec![
                    if rationale_ok {
                        None
                    } else {
                        row.same_sha("rationale", d.rationale.as_deref(), "rationale_sha256")
                    },
                    row.same_sha("draft_text", d.draft_text.as_deref(), "draft_sha256"),
                    row.same_sha("final_text", d.final_text.as_deref(), "final_sha256"),
                    row.derived(
                        "diff",
                        d.diff.clone().map_or(serde_json::Value::Null, Into::into),
                        signoff_core::draft_diff(draft, fin),
                        "the draft and final text",
                    ),
                ]
            };
            keep(first(
                [
                    row.same("kind", d.kind.as_str(), "disposition"),
                    row.same(
                        "reason_code",
                        d.reason_code
                            .clone()
                            .map_or(serde_json::Value::Null, Into::into),
                        "reason_code",
                    ),
                ]
                .into_iter()
                .chain(texts)
                .chain([d.undoes.map(|_| {
                    row.finding("undoes", "is set, but only an undo undoes a disposition")
                })]),
            ));
            restored.insert(d.seq, d.prev_status.clone());
            DispositionKind::parse(&d.kind)
                .map(|k| k.resulting_status().as_str().to_string())
                .unwrap_or_default()
        };
        if let Some(s) = status.as_mut() {
            s.1 = next;
        }
    }
    if let Some(s) = status.take() {
        statuses.push(s);
    }
    keep(case_statuses(conn, &statuses, rows)?);
    keep(reviewers(conn, rows)?);
    Ok(found)
}

fn nulls(row: &Row<'_>, cols: &[(&str, &Option<String>)], why: &str) -> Option<Finding> {
    cols.iter()
        .find(|(_, v)| v.is_some())
        .map(|(c, _)| row.finding(c, why))
}

/// Every case's status is what its dispositions leave ('open' without any).
fn case_statuses(
    conn: &Connection,
    decided: &[(i64, String)],
    rows: &mut u64,
) -> Result<Option<Finding>, StoreError> {
    let decided: std::collections::HashMap<i64, &str> =
        decided.iter().map(|(c, s)| (*c, s.as_str())).collect();
    let mut stmt = conn.prepare("SELECT seq, id, status FROM cases ORDER BY seq")?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        *rows += 1;
        let (seq, id, status): (i64, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let want = decided.get(&seq).copied().unwrap_or("open");
        if status != want {
            let last: Option<i64> = conn
                .prepare_cached("SELECT audit_idx FROM dispositions WHERE case_seq = ?1 ORDER BY seq DESC LIMIT 1")?
                .query_row([seq], |r| r.get(0))
                .unwrap_or(None);
            return Ok(Some(Finding {
                index: last.map(|i| i as u64),
                column: "cases.status".into(),
                why: format!("case {id:?} is {status:?} but its dispositions leave it {want:?}"),
            }));
        }
    }
    Ok(None)
}

/// A reviewer's name is the name they last signed with (reviewers with no entry in the log
/// have done nothing the log records).
fn reviewers(conn: &Connection, rows: &mut u64) -> Result<Option<Finding>, StoreError> {
    let mut stmt = conn.prepare("SELECT id, name FROM reviewers ORDER BY id")?;
    let all: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, name) in all {
        *rows += 1;
        let last: Option<(i64, Vec<u8>)> = conn
            .prepare_cached(
                "SELECT idx, leaf FROM audit_entries WHERE actor = ?1
                   AND kind IN ('reviewer_key', 'disposition', 'undo', 'claim_accept', 'claim_edit', 'claim_remove')
                 ORDER BY idx DESC LIMIT 1",
            )?
            .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))
            .ok();
        let Some((idx, leaf)) = last else { continue };
        let v: serde_json::Value = serde_json::from_slice(&leaf).unwrap_or_default();
        let Some(signed) = v
            .pointer("/payload/signature/name")
            .and_then(|n| n.as_str())
        else {
            continue;
        };
        if signed != name {
            return Ok(Some(Finding {
                index: Some(idx as u64),
                column: "reviewers.name".into(),
                why: format!(
                    "reviewer {id:?} is named {name:?} but signed entry {idx} as {signed:?}"
                ),
            }));
        }
    }
    // A reviewer id that is no longer a row: its dispositions name someone unknown.
    let orphan: Option<(i64, String)> = conn
        .query_row(
            "SELECT d.audit_idx, d.reviewer_id FROM dispositions d
             WHERE NOT EXISTS (SELECT 1 FROM reviewers r WHERE r.id = d.reviewer_id)
             ORDER BY d.seq LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok();
    Ok(orphan.map(|(idx, who)| Finding {
        index: Some(idx as u64),
        column: "reviewers.id".into(),
        why: format!(
            "entry {idx} was signed by reviewer {who:?}, who is not a reviewer of this workspace"
        ),
    }))
}
