//! The columns stored beside each leaf and the per-case links: a changed kind, case, actor or
//! time column, a changed checkpoint time, a forged or missing link to a case's previous entry
//! — each fails verification naming the entry and the column, in the workspace log and in
//! its exported bundle.

use rusqlite::Connection;
use signoff_audit::bundle;
use signoff_audit::log::{self, Entry, CASE_PREV};
use signoff_audit::note::{Ed25519Key, NoteSigner, NoteVerifier};

const ORIGIN: &str = "signoff.test/links-1";
const T0: i64 = 1_795_000_000_000;

fn entry(i: i64, case: &str) -> Entry {
    Entry {
        kind: if i % 2 == 0 { "disposition" } else { "draft" }.into(),
        case_id: Some(case.into()),
        actor: "r1".into(),
        at_ms: T0 + i,
        payload: serde_json::Map::new(),
    }
}

fn log_of(entries: &[Entry]) -> (Connection, NoteVerifier) {
    let key = Ed25519Key::from_seed([4; 32]);
    let mut c = Connection::open_in_memory().unwrap();
    c.execute_batch(log::SCHEMA).unwrap();
    let tx = c.transaction().unwrap();
    let mut app = log::Appender::new(&tx).unwrap();
    for e in entries {
        app.append(e).unwrap();
    }
    app.checkpoint(ORIGIN, &key, T0 + 99).unwrap();
    drop(app);
    tx.commit().unwrap();
    let v = NoteVerifier::parse(&NoteSigner::new(ORIGIN, &key).unwrap().verifier_key()).unwrap();
    (c, v)
}

fn verify(c: &Connection, v: &NoteVerifier) -> Result<(), String> {
    log::verify(c, v, None, &mut |_, _| {})
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn bundle_verify(c: &Connection, v: &NoteVerifier) -> Result<(), String> {
    let mut out = Vec::new();
    bundle::export(c, v, &mut out, &mut |_, _| {}).unwrap();
    bundle::verify(&out[..], v, &mut |_| {})
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn tamper(c: &Connection, sql: &str) {
    c.execute_batch(
        "DROP TRIGGER audit_entries_append_only; DROP TRIGGER audit_entries_no_delete;",
    )
    .unwrap();
    c.execute_batch(sql).unwrap();
}

#[test]
fn entries_about_a_case_link_to_the_previous_one_and_verify() {
    let (c, v) = log_of(&[entry(0, "c3"), entry(1, "c4"), entry(2, "c3")]);
    verify(&c, &v).unwrap();
    bundle_verify(&c, &v).unwrap();
    let leaf: Vec<u8> = c
        .query_row("SELECT leaf FROM audit_entries WHERE idx = 2", [], |r| {
            r.get(0)
        })
        .unwrap();
    let (idx, _) = log::parse_case_link(&leaf).unwrap().unwrap().unwrap();
    assert_eq!(
        idx, 0,
        "entry 2 links to entry 0, the previous entry about c3"
    );
}

#[test]
fn a_changed_column_beside_the_leaf_is_named() {
    for (col, value, needle) in [
        ("case_id", "'c4'", "audit_entries.case_id says \"c4\""),
        ("kind", "'undo'", "audit_entries.kind"),
        ("actor", "'r2'", "audit_entries.actor"),
        ("at_ms", "at_ms + 86400000", "audit_entries.at_ms"),
    ] {
        let (c, v) = log_of(&[entry(0, "c3"), entry(1, "c4"), entry(2, "c3")]);
        tamper(
            &c,
            &format!("UPDATE audit_entries SET {col} = {value} WHERE idx = 2"),
        );
        let err = verify(&c, &v).unwrap_err();
        assert!(
            err.contains("entry 2") && err.contains(needle),
            "{col}: {err}"
        );
    }
}

#[test]
fn a_changed_checkpoint_time_is_named() {
    let (c, v) = log_of(&[entry(0, "c3")]);
    c.execute_batch("UPDATE audit_checkpoints SET at_ms = at_ms + 1")
        .unwrap();
    let err = verify(&c, &v).unwrap_err();
    assert!(err.contains("audit_checkpoints.at_ms"), "{err}");
}

#[test]
fn a_forged_or_missing_link_is_named_in_the_log_and_the_bundle() {
    // Entry 2 claims to be c3's first entry, hiding entry 0.
    let mut forged = entry(2, "c3");
    forged
        .payload
        .insert(CASE_PREV.into(), serde_json::Value::Null);
    let (c, v) = log_of(&[entry(0, "c3"), entry(1, "c4"), forged]);
    let err = verify(&c, &v).unwrap_err();
    assert!(
        err.contains("entry 2") && err.contains("previous entry about case \"c3\""),
        "{err}"
    );
    let err = bundle_verify(&c, &v).unwrap_err();
    assert!(err.contains("entry 2"), "{err}");

    // A later entry about a case without any link, once the log links.
    let mut bare = entry(2, "c3");
    bare.payload
        .insert(CASE_PREV.into(), serde_json::json!("none"));
    let (c, v) = log_of(&[entry(0, "c3"), bare]);
    let err = verify(&c, &v).unwrap_err();
    assert!(
        err.contains("entry 1") && err.contains("malformed"),
        "{err}"
    );
}
