//! Tampering with any column of any table is caught by `audit verify`, or the column is on the
//! documented list of data without audit meaning. A workspace with decisions of every kind is
//! built once; then, for every table SQLite lists (so a new table cannot be forgotten) and every
//! column of one row, a copy has its triggers dropped and that one value changed to another
//! valid value of the same type, and verification must fail naming the column.

mod support;

use rusqlite::types::Value;
use rusqlite::Connection;
use sha2::{Digest, Sha256};
use signoff_core::{Band, DispositionKind};
use signoff_store::actions::ActionOutcome;
use signoff_store::draft::{ClaimResolution, FrozenPassage, NewDraft, StoredCitation, StoredClaim};
use signoff_store::intake::{ClassificationPath, NewClassification, NewModel, NewThresholds};
use signoff_store::{Access, Decision, Workspace, DB_FILE};
use std::path::Path;
use support::{clock, keyed, reviewer};

fn sha(t: &str) -> String {
    hex::encode(Sha256::digest(t.as_bytes()))
}

fn decide(
    w: &mut Workspace,
    case: &str,
    kind: DispositionKind,
    reason: Option<&str>,
    text: Option<&str>,
) -> i64 {
    let case_seq = w.case_seq(case).unwrap();
    w.decide(
        "r1",
        &Decision {
            case_seq,
            kind,
            reason_code: reason.map(str::to_string),
            rationale: Some(format!("rationale for {case}")),
            final_text: text.map(str::to_string),
            recheck: None,
        },
        &clock(),
    )
    .unwrap()
    .seq
}

/// A workspace with an import (and a conflicting re-import), rules, an intake model with a
/// threshold change, classifications by model and by rule, a corpus version added and
/// approved, a retrieval, a draft with a resolved flagged claim, a set draft, an upstream with
/// a failed action, approve, edit, reject, escalate and undo dispositions, and a team hub with
/// two cases leased from it.
fn build(dir: &Path) -> Workspace {
    let mut w = keyed(dir, 9);
    reviewer(&mut w, "r1", "Ada Reviewer", 5);
    let c = clock();
    let mut text = String::new();
    for (i, body) in [
        "Is parking free?",
        "Where is my refund?",
        "Card lost",
        "Lawyer letter",
        "Wifi?",
    ]
    .iter()
    .enumerate()
    {
        text.push_str(&serde_json::json!({
            "id": format!("C{}", i + 1), "subject": format!("Subject {i}"), "body": body,
            "received_at": "2026-11-24T10:00:00Z", "priority": i, "sla_due_at": "2026-11-26T10:00:00Z",
            "metadata": {"channel": "mail", "n": i}, "label": "refund"
        }).to_string());
        text.push('\n');
    }
    let f = dir.join("cases.jsonl");
    std::fs::write(&f, &text).unwrap();
    w.import_file(&f, &c, &mut |_| {}).unwrap();
    let again = text.replace("Is parking free?", "Is parking free now?");
    let f2 = dir.join("cases2.jsonl");
    std::fs::write(&f2, again).unwrap();
    assert_eq!(w.import_file(&f2, &c, &mut |_| {}).unwrap().conflicts, 1);

    let rules = "[[rule]]\nid = \"legal\"\nlabel = \"complaint\"\nband = \"high\"\nkeywords = [\"lawyer\"]\n";
    w.record_rules(&sha(rules), rules, &c).unwrap();
    let bytes = b"SGNFINT2 pretend artefact".to_vec();
    let id = format!("intake-{}", &sha256_hex(&bytes)[..16]);
    let t = |high: f64| NewThresholds {
        model_id: id.clone(),
        target_high: Some(0.95),
        target_medium: None,
        high,
        medium: 0.6,
        reject: 0.3,
        basis: "calibration split".into(),
    };
    w.install_model(
        NewModel {
            bytes: &bytes,
            id: &id,
            format: 2,
            heads: "lexical",
            embedding_version: Some("enc1"),
            labels: 3,
            train_rows: 30,
        },
        t(0.9),
        "lead",
        &c,
    )
    .unwrap();
    w.save_thresholds(&t(0.85), "lead", &c).unwrap();
    let seq = |w: &Workspace, id: &str| w.case_seq(id).unwrap();
    w.record_classifications(
        &[
            NewClassification {
                case_seq: seq(&w, "C1"),
                path: ClassificationPath::Model {
                    model_id: id.clone(),
                    heads: "lexical".into(),
                    embedding_version: Some("enc1".into()),
                    threshold_version: 2,
                },
                label: "refund".into(),
                band: Band::Medium,
                escalate: false,
                confidence: 0.75,
                explanation: "{\"top\":0.75}".into(),
                embedding: Some(("enc1".into(), vec![1.0, 0.0])),
            },
            NewClassification {
                case_seq: seq(&w, "C4"),
                path: ClassificationPath::Rule {
                    rule_id: "legal".into(),
                    rules_version: sha(rules),
                },
                label: "complaint".into(),
                band: Band::High,
                escalate: true,
                confidence: 1.0,
                explanation: "{\"rule\":\"legal\"}".into(),
                embedding: None,
            },
        ],
        &c,
    )
    .unwrap();

    let doc = signoff_context::ingest::ingest_bytes(
        "p.md",
        "p.md",
        b"# Parking\n\nParking is free on site for guests.\n\n# Refunds\n\nRefunds are paid within 14 days.\n",
        signoff_context::ingest::Format::Markdown,
        "policy",
    )
    .unwrap();
    let added = w.corpus_add("policy", &[doc], Some(30), &c).unwrap();
    w.corpus_approve(&added.version, "Dana Expert", &c).unwrap();
    w.retrieve_for_case("C1", 5, &c).unwrap();

    let p = FrozenPassage {
        sha256: sha("Parking is free on site for guests."),
        chunk_id: "policy:p.md#1".into(),
        source: "policy".into(),
        version: added.version.clone(),
        title: "Parking".into(),
        text: "Parking is free on site for guests.".into(),
    };
    let draft_text = "Policy: \"Parking is free on site.\" [1] Breakfast is included.";
    w.store_draft(
        &NewDraft {
            case_seq: seq(&w, "C1"),
            model_id: "signoff-extractive".into(),
            model_version: "1".into(),
            route: "offline ran".into(),
            prompt_id: "draft_reply.v1".into(),
            prompt_fingerprint: "ab".repeat(32),
            corpus_version: added.version.clone(),
            chunk_ids: vec!["policy:p.md#1".into()],
            text: draft_text.into(),
            band: "medium".into(),
            grounded: true,
            citations: vec![StoredCitation {
                marker: 1,
                chunk_id: "policy:p.md#1".into(),
                passage_sha256: p.sha256.clone(),
                start: 0,
                end: 24,
            }],
            claims: vec![
                StoredClaim {
                    start: 0,
                    end: 40,
                    markers: vec![1],
                    score: Some(0.125),
                    status: "supported".into(),
                },
                StoredClaim {
                    start: 41,
                    end: 61,
                    markers: vec![],
                    score: None,
                    status: "uncited".into(),
                },
            ],
            passages: vec![p],
        },
        &c,
    )
    .unwrap();
    w.resolve_claim(
        seq(&w, "C1"),
        1,
        &ClaimResolution::Edit {
            replacement: "Breakfast is extra.".into(),
        },
        "r1",
        &c,
    )
    .unwrap();
    w.set_draft(seq(&w, "C5"), "We have wifi.").unwrap();

    w.set_upstream(Some("http://127.0.0.1:9/v1"), "r1", &c)
        .unwrap();
    decide(&mut w, "C1", DispositionKind::Approve, None, None);
    let action = w.actions(None).unwrap()[0].seq;
    let job = w.begin_action(action, false, &c).unwrap();
    w.finish_action(
        &job,
        &ActionOutcome {
            ok: false,
            status: Some(503),
            attempts: 2,
            error: Some("upstream busy".into()),
        },
        &c,
    )
    .unwrap();
    decide(
        &mut w,
        "C2",
        DispositionKind::Edit,
        Some("tone"),
        Some("Your refund is on its way."),
    );
    decide(
        &mut w,
        "C3",
        DispositionKind::Reject,
        Some("factual_error"),
        None,
    );
    decide(
        &mut w,
        "C4",
        DispositionKind::Escalate,
        Some("needs_specialist"),
        None,
    );
    let d = decide(&mut w, "C5", DispositionKind::Approve, None, None);
    w.undo("r1", d, 60, &c).unwrap();
    let witness = signoff_audit::Ed25519Key::from_seed([7; 32]);
    let cosigner = signoff_audit::witness::Cosigner::new("hub.example/witness", &witness).unwrap();
    w.set_hub("http://hub.example:8765", &cosigner.verifier_key(), &c)
        .unwrap();
    let note = w.latest_checkpoint().unwrap().unwrap();
    let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
    w.record_cosigned(size, &cosigner.cosign(&note, 1_800_000_000).unwrap(), &c)
        .unwrap();
    let lease = |case: &str, fence| signoff_store::hub::HeldLease {
        case_id: case.into(),
        fence,
        expires_at_ms: 1_800_000_000_000,
    };
    assert!(w
        .record_hub_leases(&[lease("C1", 1), lease("C2", 3)], &c)
        .unwrap());
    assert!(!w
        .record_hub_leases(&[lease("C2", 3), lease("C1", 1)], &c)
        .unwrap());
    w.audit_catalog_catch_up().unwrap();
    w
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Another valid value of the same type as `v` (the candidates are tried in order until the
/// update is accepted by the table's constraints and changes the value).
fn candidates(v: &Value) -> Vec<Value> {
    const WORDS: &[&str] = &[
        "approve",
        "edit",
        "reject",
        "escalate",
        "undo",
        "high",
        "medium",
        "low",
        "rule",
        "model",
        "supported",
        "unsupported",
        "uncited",
        "bad_citation",
        "accept",
        "remove",
        "queued",
        "sent",
        "failed",
        "cancelled",
        "compensating",
        "compensated",
        "open",
        "approved",
        "edited",
        "rejected",
        "escalated",
        "tone",
        "other",
    ];
    match v {
        Value::Null => vec![Value::Integer(1), Value::Text("x".into()), Value::Real(0.5)],
        Value::Integer(i) => vec![
            Value::Integer(i + 1),
            Value::Integer(i - 1),
            Value::Integer(0),
            Value::Integer(1),
        ],
        Value::Real(r) => vec![Value::Real(r + 0.125), Value::Real(r / 2.0)],
        Value::Blob(b) => {
            let mut c = b.clone();
            if c.is_empty() {
                c.push(0);
            } else {
                c[0] ^= 1;
            }
            vec![Value::Blob(c)]
        }
        Value::Text(t) => {
            let mut out = Vec::new();
            if let Ok(mut j) = serde_json::from_str::<serde_json::Value>(t) {
                if (j.is_object() || j.is_array()) && bump(&mut j) {
                    out.push(Value::Text(j.to_string()));
                }
            }
            if t.len() == 64 && t.chars().all(|c| c.is_ascii_hexdigit()) {
                let mut s = t.clone().into_bytes();
                s[63] = if s[63] == b'0' { b'1' } else { b'0' };
                out.push(Value::Text(String::from_utf8(s).unwrap()));
            }
            out.extend(
                WORDS
                    .iter()
                    .filter(|w| **w != t)
                    .map(|w| Value::Text((*w).into())),
            );
            out.push(Value::Text(format!("{t}x")));
            out
        }
    }
}

/// Changes the first number or string inside a JSON value; false when there is none.
fn bump(j: &mut serde_json::Value) -> bool {
    match j {
        serde_json::Value::Number(n) => {
            *j = (n.as_i64().unwrap_or(0) + 1).into();
            true
        }
        serde_json::Value::String(s) => {
            s.push('x');
            true
        }
        serde_json::Value::Bool(b) => {
            *b = !*b;
            true
        }
        serde_json::Value::Array(a) => a.iter_mut().any(bump),
        serde_json::Value::Object(o) => o.values_mut().any(bump),
        serde_json::Value::Null => false,
    }
}

fn copy_ws(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Opens a copy of the workspace file as someone holding it would: foreign keys off and every
/// trigger dropped.
fn open_unguarded(dir: &Path) -> Connection {
    let c = Connection::open(dir.join(DB_FILE)).unwrap();
    c.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    let triggers: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for tr in triggers {
        c.execute_batch(&format!("DROP TRIGGER \"{tr}\"")).unwrap();
    }
    c
}

#[test]
fn every_column_of_every_table_is_checked_or_listed_with_a_reason() {
    let t = tempfile::tempdir().unwrap();
    let base = t.path().join("ws");
    {
        let w = build(&base);
        w.audit_verify(None, &mut |_, _| {})
            .expect("the untouched workspace verifies");
    }
    let listed = signoff_store::integrity::unverified_columns();
    let conn = Connection::open(base.join(DB_FILE)).unwrap();
    let tables: Vec<(String, bool)> = conn
        .prepare("SELECT name, sql LIKE '%WITHOUT ROWID%' OR sql LIKE 'CREATE VIRTUAL%' FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut all_columns = Vec::new();
    let mut missed = Vec::new();
    let mut tried = 0;
    for (table, no_rowid) in &tables {
        let cols: Vec<(String, bool)> = conn
            .prepare(&format!(
                "SELECT name, pk > 0 FROM pragma_table_info('{table}')"
            ))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let all_listed = cols
            .iter()
            .all(|(c, _)| listed.iter().any(|u| u.table == table && u.column == c));
        for (col, _) in &cols {
            all_columns.push((table.clone(), col.clone()));
        }
        if all_listed {
            continue;
        }
        let key = if *no_rowid {
            let pk: Vec<String> = cols.iter().filter(|c| c.1).map(|c| c.0.clone()).collect();
            pk.join(", ")
        } else {
            "rowid".to_string()
        };
        let first: Vec<Value> = conn
            .query_row(
                &format!("SELECT {key} FROM \"{table}\" ORDER BY {key} LIMIT 1"),
                [],
                |r| {
                    (0..key.split(", ").count())
                        .map(|i| r.get::<_, Value>(i))
                        .collect()
                },
            )
            .unwrap_or_else(|_| {
                panic!("table {table} has no row in the fixture: add one to build()")
            });
        let wh = key
            .split(", ")
            .enumerate()
            .map(|(i, k)| format!("{k} = ?{}", i + 2))
            .collect::<Vec<_>>()
            .join(" AND ");
        for (col, is_pk) in &cols {
            if listed.iter().any(|u| u.table == table && u.column == col) {
                continue;
            }
            tried += 1;
            let copy = t.path().join(format!("t-{table}-{col}"));
            copy_ws(&base, &copy);
            let c = open_unguarded(&copy);
            let now: Value = c
                .query_row(
                    &format!(
                        "SELECT \"{col}\" FROM \"{table}\" WHERE {}",
                        wh.replace("?2", "?1").replace("?3", "?2")
                    ),
                    rusqlite::params_from_iter(first.iter()),
                    |r| r.get(0),
                )
                .unwrap();
            let mut changed = None;
            for v in candidates(&now) {
                let mut params = vec![v.clone()];
                params.extend(first.iter().cloned());
                let sql = format!("UPDATE \"{table}\" SET \"{col}\" = ?1 WHERE {wh}");
                if c.execute(&sql, rusqlite::params_from_iter(params.iter()))
                    .is_ok_and(|n| n == 1)
                {
                    changed = Some(v);
                    break;
                }
            }
            let changed = changed
                .unwrap_or_else(|| panic!("no valid other value for {table}.{col} = {now:?}"));
            drop(c);
            let w = Workspace::open(&copy, Access::Read).unwrap();
            let named = format!("{table}.{col}");
            match w.audit_verify(None, &mut |_, _| {}) {
                Ok(_) => missed.push(format!("{named}: {now:?} -> {changed:?} verified")),
                Err(e) => {
                    let msg = e.to_string();
                    let log_table = ["audit_entries", "audit_nodes", "audit_checkpoints"]
                        .contains(&table.as_str());
                    let ok = msg.contains(&named)
                        || (*is_pk && msg.contains("fails verification"))
                        || (log_table && msg.contains("fails verification at"));
                    if !ok {
                        missed.push(format!("{named}: caught but not named: {msg}"));
                    }
                }
            }
            drop(w);
            std::fs::remove_dir_all(&copy).unwrap();
        }
    }
    for u in &listed {
        assert!(
            all_columns
                .iter()
                .any(|(t, c)| t == u.table && c == u.column),
            "{}.{} is listed as unverified but no table has it",
            u.table,
            u.column
        );
        assert!(
            u.reason.len() > 20,
            "{}.{} needs a reason",
            u.table,
            u.column
        );
    }
    assert!(tried > 100, "only {tried} columns were tampered with");
    assert!(
        missed.is_empty(),
        "{} column(s) not caught:\n{}",
        missed.len(),
        missed.join("\n")
    );
}

#[test]
fn a_row_deleted_from_the_audit_catalog_is_caught() {
    let t = tempfile::tempdir().unwrap();
    let base = t.path().join("ws");
    drop(build(&base));
    let c = Connection::open(base.join(DB_FILE)).unwrap();
    let (n, mid): (i64, i64) = c
        .query_row(
            "SELECT count(*), (SELECT idx FROM audit_catalog ORDER BY idx LIMIT 1 OFFSET 3) FROM audit_catalog",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(n > 5, "the fixture's catalog has {n} rows");
    c.execute("DELETE FROM audit_catalog WHERE idx = ?1", [mid])
        .unwrap();
    drop(c);
    let w = Workspace::open(&base, Access::Read).unwrap();
    let err = w
        .audit_verify(None, &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("audit_catalog has no row for entry {mid}")),
        "{err}"
    );
}

#[test]
fn deleting_a_row_of_any_table_is_caught_or_the_table_is_listed() {
    let t = tempfile::tempdir().unwrap();
    let base = t.path().join("ws");
    drop(build(&base));
    let conn = Connection::open(base.join(DB_FILE)).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(conn);
    let mut missed = Vec::new();
    for table in &tables {
        let copy = t.path().join(format!("d-{table}"));
        copy_ws(&base, &copy);
        let c = open_unguarded(&copy);
        let n = c
            .execute(
                &format!(
                    "DELETE FROM \"{table}\" WHERE rowid = (SELECT max(rowid) FROM \"{table}\")"
                ),
                [],
            )
            .or_else(|_| c.execute(&format!("DELETE FROM \"{table}\" LIMIT 1"), []))
            .unwrap_or(0);
        drop(c);
        if n == 0 {
            continue;
        }
        let w = Workspace::open(&copy, Access::Read).unwrap();
        if w.audit_verify(None, &mut |_, _| {}).is_ok() {
            missed.push(table.clone());
        }
        drop(w);
        std::fs::remove_dir_all(&copy).unwrap();
    }
    // Tables whose rows are derived or rebuilt (no answer depends on a row being there), or
    // whose deletion is not yet caught; docs/audit-log.md lists them with the reason.
    let derived = [
        "audit_catalog",
        "audit_checkpoints",
        "case_embeddings",
        "cases_fts_data",
        "cases_fts_docsize",
        "status_counts",
    ];
    let not_yet = [
        "audit_cosigned",
        "corpus_chunks",
        "corpus_sources",
        "corpus_versions",
        "intake_models",
        "intake_rules",
        "reason_codes",
    ];
    let unexpected: Vec<&String> = missed
        .iter()
        .filter(|t| !derived.contains(&t.as_str()) && !not_yet.contains(&t.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "deleted rows not caught in: {unexpected:?}"
    );
    let caught_now: Vec<&&str> = not_yet
        .iter()
        .filter(|t| !missed.iter().any(|m| m == *t))
        .collect();
    assert!(
        caught_now.is_empty(),
        "now caught, take off the list (and the docs): {caught_now:?}"
    );
}
