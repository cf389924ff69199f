//! What `signoff audit verify`, `history` and `unverified-columns` say about a workspace whose
//! file was edited behind Signoff's back (triggers dropped first, as anyone holding the file
//! can): a reject moved from one case to another is named by verify and by history itself;
//! the list of unchecked columns is exactly the library's.

mod support;

use std::path::Path;
use support::{fails, json, ok, run};

fn workspace(dir: &Path) -> std::path::PathBuf {
    let ws = dir.join("ws");
    ok(run(
        &["--reviewer", "r1", "init", "--reviewer-name", "Ada"],
        &ws,
    ));
    let f = dir.join("cases.jsonl");
    std::fs::write(
        &f,
        concat!(
            r#"{"id":"c3","subject":"s","body":"b3","received_at":"2026-11-20T10:00:00Z"}"#,
            "\n",
            r#"{"id":"c4","subject":"s","body":"b4","received_at":"2026-11-20T10:00:00Z"}"#,
            "\n"
        ),
    )
    .unwrap();
    ok(run(&["import", f.to_str().unwrap()], &ws));
    ok(run(
        &[
            "--reviewer",
            "r1",
            "decide",
            "c3",
            "--disposition",
            "reject",
            "--reason",
            "tone",
        ],
        &ws,
    ));
    ws
}

fn edit(ws: &Path, sql: &str) {
    let c = rusqlite::Connection::open(ws.join("workspace.sqlite")).unwrap();
    c.execute_batch(
        "DROP TRIGGER audit_entries_append_only; DROP TRIGGER audit_entries_no_delete;",
    )
    .unwrap();
    c.execute_batch(sql).unwrap();
}

#[test]
fn a_reject_moved_to_another_case_is_named_by_verify_and_by_history() {
    let t = tempfile::tempdir().unwrap();
    let ws = workspace(t.path());
    let h = json(run(&["audit", "history", "--case", "c3", "--json"], &ws));
    assert_eq!(h["complete"], true);
    let kinds: Vec<&str> = h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["import", "disposition"]);
    let idx = h["entries"][1]["index"].as_u64().unwrap();

    edit(
        &ws,
        &format!("UPDATE audit_entries SET case_id = 'c4' WHERE idx = {idx}"),
    );
    let err = fails(run(&["audit", "verify"], &ws), "audit_entries.case_id");
    assert!(err.contains(&format!("entry {idx}")), "{err}");
    let err = fails(
        run(&["audit", "history", "--case", "c3"], &ws),
        &format!("entry {idx}"),
    );
    assert!(err.contains("c3"), "{err}");
    fails(
        run(&["audit", "history", "--case", "c4"], &ws),
        &format!("entry {idx}"),
    );
}

#[test]
fn the_unverified_columns_printed_are_the_librarys_list() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let printed = json(run(&["audit", "unverified-columns", "--json"], &ws));
    let lib = serde_json::to_value(signoff_store::integrity::unverified_columns()).unwrap();
    assert_eq!(printed, lib);
    for row in printed.as_array().unwrap() {
        let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["column", "reason", "table"]);
    }
}
