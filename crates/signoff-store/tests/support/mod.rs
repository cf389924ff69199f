//! Shared set-up for the store's integration tests: a fixed clock, a workspace file with a
//! device key attached, a reviewer with a signing key, case imports from (id, body, label)
//! rows, an approval by reviewer r1, and the log's entry kinds.
#![allow(dead_code)] // each test binary uses its own subset

use signoff_core::FixedClock;
use signoff_store::{Access, Workspace};
use std::path::Path;
use std::sync::Arc;

/// The tests' clock: 2026-11-25 10:00 UTC.
pub fn clock() -> FixedClock {
    FixedClock::new("2026-11-25T10:00:00Z".parse().unwrap())
}

/// Opens (creating) a workspace in `dir` for writing, with a device key from `seed`.
pub fn keyed(dir: &Path, seed: u8) -> Workspace {
    let mut w = Workspace::open(dir, Access::Write).unwrap();
    w.attach_key(Arc::new(signoff_audit::note::Ed25519Key::from_seed(
        [seed; 32],
    )))
    .unwrap();
    w
}

/// Registers reviewer `id` (printed name `name`) and loads their signing key from `seed`, so
/// dispositions and claim resolutions can be signed.
pub fn reviewer(w: &mut Workspace, id: &str, name: &str, seed: u8) {
    w.upsert_reviewer(
        &signoff_core::Reviewer {
            id: id.into(),
            name: name.into(),
        },
        &clock(),
    )
    .unwrap();
    w.attach_reviewer_key(
        id,
        Arc::new(signoff_audit::note::Ed25519Key::from_seed([seed; 32])),
        &clock(),
    )
    .unwrap();
}

/// Imports one case per (id, body, label) row, each with `subject`, as one case file.
pub fn import_rows(
    w: &mut Workspace,
    dir: &Path,
    subject: &str,
    rows: &[(&str, &str, Option<&str>)],
) {
    let mut text = String::new();
    for (id, body, label) in rows {
        let mut v = serde_json::json!({
            "id": id, "subject": subject, "body": body, "received_at": "2026-11-24T10:00:00Z"
        });
        if let Some(l) = label {
            v["label"] = (*l).into();
        }
        text.push_str(&v.to_string());
        text.push('\n');
    }
    let p = dir.join("cases.jsonl");
    std::fs::write(&p, text).unwrap();
    w.import_file(&p, &clock(), &mut |_| {}).unwrap();
}

/// The kinds of the log's entries, in order.
pub fn kinds(w: &Workspace) -> Vec<String> {
    w.conn()
        .prepare("SELECT kind FROM audit_entries ORDER BY idx")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Approves case `case_seq` as reviewer `r1` (no reason, no rationale, the draft as it stands).
pub fn approve(
    w: &mut Workspace,
    case_seq: i64,
) -> Result<signoff_store::DispositionRecord, signoff_store::StoreError> {
    w.decide(
        "r1",
        &signoff_store::Decision {
            case_seq,
            kind: signoff_core::DispositionKind::Approve,
            reason_code: None,
            rationale: None,
            final_text: None,
            recheck: None,
        },
        &clock(),
    )
}
