//! Intake, checked against the log: model artefacts against their `intake_model` entries,
//! threshold versions against `threshold_change`, classifications against `classification`,
//! the label, band and escalation each case shows against its latest classification, and the
//! rules in force against their `intake_rules` entries.

use super::{earliest_of, first, leaf_of, Finding, Outcome, Row, Unverified};
use crate::intake::ppm;
use rusqlite::Connection;
use serde_json::Value;

/// A column of `classifications` that one path (rule or model) fills and the other leaves
/// empty: its position in the row, its name, and the leaf field it must equal.
type Col = (usize, &'static str, &'static str);

/// Columns of these tables that carry no audit meaning.
pub(super) const UNVERIFIED: &[Unverified] = &[
    Unverified {
        table: "case_embeddings",
        column: "case_seq",
        reason: "a cache of sentence embeddings for comparable prior cases, recomputed from the case text and the encoder",
    },
    Unverified {
        table: "case_embeddings",
        column: "embedding_version",
        reason: "a cache of sentence embeddings for comparable prior cases, recomputed from the case text and the encoder",
    },
    Unverified {
        table: "case_embeddings",
        column: "vec",
        reason: "a cache of sentence embeddings for comparable prior cases, recomputed from the case text and the encoder",
    },
];

fn opt(v: Option<impl Into<Value>>) -> Value {
    v.map_or(Value::Null, Into::into)
}

/// Checks intake models, thresholds, classifications, case labels and rules.
pub(super) fn check(conn: &Connection, rows: &mut u64) -> Outcome {
    let checks: [fn(&Connection, &mut u64) -> Outcome; 5] =
        [models, thresholds, classifications, case_labels, rules];
    earliest_of(conn, rows, &checks)
}

fn models(conn: &Connection, rows: &mut u64) -> Outcome {
    let mut stmt = conn.prepare(
        "SELECT id, sha256, format, heads, embedding_version, labels, train_rows, bytes, created_ms, audit_idx
         FROM intake_models ORDER BY id",
    )?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        *rows += 1;
        let id: String = r.get(0)?;
        let name = format!("model {id}");
        let l = match leaf_of(conn, "intake_models", "audit_idx", &name, r.get(9)?)? {
            Ok(l) => l,
            Err(f) => return Ok(Some(f)),
        };
        let row = Row {
            table: "intake_models",
            name,
            leaf: Some(&l),
        };
        let sha: String = r.get(1)?;
        let bytes = r.get_ref(7)?.as_blob().map_err(rusqlite::Error::from)?;
        let f = first([
            row.kind_is("audit_idx", &["intake_model"]),
            row.same("id", id.as_str(), "model_id"),
            row.same("sha256", sha.as_str(), "sha256"),
            row.derived(
                "bytes",
                hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes)),
                sha.as_str(),
                "the artefact's recorded SHA-256",
            ),
            row.same("format", r.get::<_, i64>(2)?, "format"),
            row.same("heads", r.get::<_, String>(3)?, "heads"),
            row.same(
                "embedding_version",
                opt(r.get::<_, Option<String>>(4)?),
                "embedding_version",
            ),
            row.same("labels", r.get::<_, i64>(5)?, "labels"),
            row.same("train_rows", r.get::<_, i64>(6)?, "train_rows"),
            row.same_time("created_ms", r.get(8)?),
        ]);
        if f.is_some() {
            return Ok(f);
        }
    }
    Ok(None)
}

fn thresholds(conn: &Connection, rows: &mut u64) -> Outcome {
    let mut stmt = conn.prepare(
        "SELECT version, model_id, target_high, target_medium, high, medium, reject, basis, set_by, at_ms, audit_idx
         FROM threshold_versions ORDER BY version",
    )?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        *rows += 1;
        let version: i64 = r.get(0)?;
        let name = format!("threshold version {version}");
        let l = match leaf_of(conn, "threshold_versions", "audit_idx", &name, r.get(10)?)? {
            Ok(l) => l,
            Err(f) => return Ok(Some(f)),
        };
        let row = Row {
            table: "threshold_versions",
            name,
            leaf: Some(&l),
        };
        let p =
            |i: usize| -> rusqlite::Result<Value> { Ok(opt(r.get::<_, Option<f64>>(i)?.map(ppm))) };
        let f = first([
            row.kind_is("audit_idx", &["threshold_change"]),
            row.same("version", version, "version"),
            row.same("model_id", r.get::<_, String>(1)?, "model_id"),
            row.same("target_high", p(2)?, "target_high_ppm"),
            row.same("target_medium", p(3)?, "target_medium_ppm"),
            row.same("high", p(4)?, "high_ppm"),
            row.same("medium", p(5)?, "medium_ppm"),
            row.same("reject", p(6)?, "reject_ppm"),
            row.same_sha("basis", Some(&r.get::<_, String>(7)?), "basis_sha256"),
            row.same_actor("set_by", &r.get::<_, String>(8)?),
            row.same_time("at_ms", r.get(9)?),
        ]);
        if f.is_some() {
            return Ok(f);
        }
    }
    Ok(None)
}

fn classifications(conn: &Connection, rows: &mut u64) -> Outcome {
    let erased = super::erase::erased_cases(conn)?;
    let mut stmt = conn.prepare(
        "SELECT seq, case_seq, at_ms, path, rule_id, rules_version, model_id, heads, embedding_version,
                threshold_version, label, band, escalate, confidence_ppm, explanation, audit_idx
         FROM classifications ORDER BY seq",
    )?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        *rows += 1;
        let seq: i64 = r.get(0)?;
        let name = format!("classification #{seq}");
        let l = match leaf_of(conn, "classifications", "audit_idx", &name, r.get(15)?)? {
            Ok(l) => l,
            Err(f) => return Ok(Some(f)),
        };
        let row = Row {
            table: "classifications",
            name,
            leaf: Some(&l),
        };
        let path: String = r.get(3)?;
        let s = |i: usize| -> rusqlite::Result<Value> { Ok(opt(r.get::<_, Option<String>>(i)?)) };
        let rule_cols = [
            (4, "rule_id", "rule_id"),
            (5, "rules_version", "rules_sha256"),
        ];
        let model_cols = [
            (6, "model_id", "model_id"),
            (7, "heads", "heads"),
            (8, "embedding_version", "embedding_version"),
        ];
        let (mine, other): (&[Col], &[Col]) = if l.p("path").and_then(Value::as_str) == Some("rule")
        {
            (&rule_cols, &model_cols)
        } else {
            (&model_cols, &rule_cols)
        };
        let mut fs = vec![
            row.kind_is("audit_idx", &["classification"]),
            row.same_case(conn, "case_seq", r.get(1)?)?,
            row.same_time("at_ms", r.get(2)?),
            row.same("path", path.as_str(), "path"),
            row.same("label", r.get::<_, String>(10)?, "label"),
            row.same("band", r.get::<_, String>(11)?, "band"),
            row.same("escalate", r.get::<_, i64>(12)?, "escalate"),
            row.same("confidence_ppm", r.get::<_, i64>(13)?, "confidence_ppm"),
            if erased.contains(&r.get::<_, i64>(1)?) {
                // The explanation quotes the case's words; it went with the text.
                (r.get::<_, String>(14)? != "{}")
                    .then(|| row.finding("explanation", "holds text, but the case was erased"))
            } else {
                row.same_sha(
                    "explanation",
                    Some(&r.get::<_, String>(14)?),
                    "explanation_sha256",
                )
            },
        ];
        for (i, col, key) in mine {
            fs.push(row.same(col, s(*i)?, key));
        }
        for (i, col, _) in other {
            if r.get::<_, Option<String>>(*i)?.is_some() {
                fs.push(Some(row.finding(
                    col,
                    format!("is set, but the entry records a {path} decision"),
                )));
            }
        }
        let tv: Option<i64> = r.get(9)?;
        if l.p("path").and_then(Value::as_str) == Some("rule") {
            if tv.is_some() {
                fs.push(Some(row.finding(
                    "threshold_version",
                    "is set, but the entry records a rule decision",
                )));
            }
        } else {
            fs.push(row.same("threshold_version", opt(tv), "threshold_version"));
        }
        if let Some(f) = first(fs) {
            return Ok(Some(f));
        }
    }
    Ok(None)
}

/// What each case shows (label, band, escalation) is its latest classification, or the label
/// its file gave when none was made.
fn case_labels(conn: &Connection, rows: &mut u64) -> Outcome {
    let mut stmt = conn.prepare(
        "SELECT c.id, c.label, c.band, c.escalate, c.classification_seq, c.given_label,
                k.seq, k.label, k.band, k.escalate, k.audit_idx
         FROM cases c LEFT JOIN classifications k
           ON k.seq = (SELECT max(seq) FROM classifications WHERE case_seq = c.seq)
         ORDER BY c.seq",
    )?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        *rows += 1;
        let id: String = r.get(0)?;
        let idx: Option<i64> = r.get(10)?;
        let at = |column: &str, stored: Value, want: Value| Finding {
            index: idx.map(|i| i as u64),
            column: format!("cases.{column}"),
            why: format!(
                "case {id:?} says {stored} but {} gives {want}",
                idx.map_or(
                    "the label its file gave (no classification)".to_string(),
                    |i| { format!("its latest classification (entry {i})") }
                )
            ),
        };
        let stored: [Value; 4] = [
            opt(r.get::<_, Option<String>>(1)?),
            opt(r.get::<_, Option<String>>(2)?),
            opt(r.get::<_, Option<i64>>(3)?),
            opt(r.get::<_, Option<i64>>(4)?),
        ];
        let want: [Value; 4] = if r.get::<_, Option<i64>>(6)?.is_some() {
            [
                opt(r.get::<_, Option<String>>(7)?),
                opt(r.get::<_, Option<String>>(8)?),
                opt(r.get::<_, Option<i64>>(9)?),
                opt(r.get::<_, Option<i64>>(6)?),
            ]
        } else {
            [
                opt(r.get::<_, Option<String>>(5)?),
                Value::Null,
                Value::Null,
                Value::Null,
            ]
        };
        for (i, col) in ["label", "band", "escalate", "classification_seq"]
            .iter()
            .enumerate()
        {
            if stored[i] != want[i] {
                return Ok(Some(at(col, stored[i].clone(), want[i].clone())));
            }
        }
    }
    Ok(None)
}

/// Each rules file is the text its version (SHA-256) names, recorded by an `intake_rules`
/// entry; the time it was last put in force (which decides the rules in force) is that of its
/// latest entry.
fn rules(conn: &Connection, rows: &mut u64) -> Outcome {
    let mut stmt =
        conn.prepare("SELECT version, text, loaded_ms FROM intake_rules ORDER BY rowid")?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        *rows += 1;
        let (version, text, loaded): (String, String, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let latest: Option<(i64, i64)> = conn
            .prepare_cached(
                "SELECT e.idx, e.at_ms FROM log_index k JOIN audit_entries e ON e.idx = k.idx
                 WHERE k.kind = 'intake_rules'
                   AND json_extract(e.leaf, '$.payload.rules_sha256') = ?1
                 ORDER BY k.idx DESC LIMIT 1",
            )?
            .query_row([&version], |r| Ok((r.get(0)?, r.get(1)?)))
            .ok();
        let Some((idx, at)) = latest else {
            return Ok(Some(Finding {
                index: None,
                column: "intake_rules.version".into(),
                why: format!("rules version {version} has no intake_rules entry"),
            }));
        };
        let row = Row {
            table: "intake_rules",
            name: format!("rules {}", &version[..version.len().min(12)]),
            leaf: None,
        };
        let f = first([
            row.derived(
                "text",
                crate::audit::commit(&text),
                version.as_str(),
                "its version (the SHA-256 of the text)",
            ),
            row.derived(
                "loaded_ms",
                loaded,
                at,
                &format!("its latest intake_rules entry ({idx})"),
            ),
        ])
        .map(|mut f| {
            f.index = Some(idx as u64);
            f
        });
        if f.is_some() {
            return Ok(f);
        }
    }
    Ok(None)
}
