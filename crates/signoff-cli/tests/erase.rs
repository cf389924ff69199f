//! `signoff erase`: after a case is erased, none of its words is left in any byte of any
//! workspace file (database, write-ahead log, shared memory, full-text index), `audit verify`
//! still passes, history shows the erasure with who and why, and the erasure mark cannot be
//! removed or forged behind Signoff's back.

mod support;

use std::path::Path;
use support::{fails, import_cases, json, ok, run};

/// Words that appear only in the erased case's subject, body, metadata and rationale.
const SECRETS: &[&str] = &[
    "quokkasubject",
    "zanzibarbody",
    "marmosetmeta",
    "wombatrationale",
];

fn workspace(dir: &Path) -> std::path::PathBuf {
    let ws = dir.join("ws");
    ok(run(
        &["--reviewer", "r1", "init", "--reviewer-name", "Ada"],
        &ws,
    ));
    import_cases(
        &ws,
        concat!(
            r#"{"id":"c1","subject":"Refund quokkasubject","body":"My card zanzibarbody was charged twice","received_at":"2026-11-20T10:00:00Z","metadata":{"note":"marmosetmeta"}}"#,
            "\n",
            r#"{"id":"c2","subject":"Other","body":"keep this ocelotkeep text","received_at":"2026-11-20T10:00:00Z"}"#,
            "\n"
        ),
    );
    ok(run(
        &[
            "--reviewer",
            "r1",
            "decide",
            "c1",
            "--disposition",
            "reject",
            "--reason",
            "tone",
            "--rationale",
            "customer said wombatrationale",
        ],
        &ws,
    ));
    ws
}

/// Which of `words` occur, in either case, anywhere in the files under `dir`.
fn found_in_files(dir: &Path, words: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for e in walk(dir) {
        let bytes = std::fs::read(&e).unwrap().to_ascii_lowercase();
        for w in words {
            if bytes.windows(w.len()).any(|x| x == w.as_bytes()) {
                found.push(format!("{w} in {}", e.display()));
            }
        }
    }
    found
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn an_erased_case_leaves_no_text_behind_and_the_log_still_verifies() {
    let t = tempfile::tempdir().unwrap();
    let ws = workspace(t.path());
    // The words are there before (so the search below can fail).
    let before = found_in_files(&ws, SECRETS);
    for w in SECRETS {
        assert!(
            before.iter().any(|f| f.starts_with(w)),
            "{w} not stored before erasure: {before:?}"
        );
    }
    let out = ok(run(
        &[
            "--reviewer",
            "r1",
            "erase",
            "--case",
            "c1",
            "--reason",
            "data subject request DSR-42",
        ],
        &ws,
    ));
    assert!(out.contains("erased by r1"), "{out}");
    let left = found_in_files(&ws, SECRETS);
    assert!(left.is_empty(), "text left after erasure: {left:?}");
    assert!(
        !found_in_files(&ws, &["ocelotkeep"]).is_empty(),
        "the other case's text must stay"
    );
    ok(run(&["audit", "verify"], &ws));
    let h = json(run(&["audit", "history", "--case", "c1", "--json"], &ws));
    assert_eq!(h["complete"], true, "{h}");
    let erase = h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "erase")
        .unwrap_or_else(|| panic!("no erase entry in history: {h}"));
    assert_eq!(erase["actor"], "r1");
    assert!(
        erase.to_string().contains("DSR-42"),
        "the reason is shown: {erase}"
    );
    let text = ok(run(&["audit", "history", "--case", "c1"], &ws));
    assert!(
        text.contains("erased on")
            && text.contains("by r1 for reason: data subject request DSR-42"),
        "{text}"
    );
    let shown = ok(run(&["show", "c1"], &ws));
    assert!(
        shown.contains("erased on") && shown.contains("for reason: data subject request DSR-42"),
        "{shown}"
    );
    let shown = json(run(&["show", "c1", "--json"], &ws));
    assert_eq!(shown["erased"]["by"], "r1", "{shown}");
    assert_eq!(shown["case"]["body"], "", "{shown}");
    // Search no longer finds it; the other case still searchable.
    let q = ok(run(
        &["queue", "--status", "rejected", "--text", "zanzibarbody"],
        &ws,
    ));
    assert!(!q.contains("c1"), "{q}");
    let q = ok(run(&["queue", "--text", "ocelotkeep"], &ws));
    assert!(q.contains("c2"), "{q}");
    fails(
        run(
            &[
                "--reviewer",
                "r1",
                "erase",
                "--case",
                "c1",
                "--reason",
                "again",
            ],
            &ws,
        ),
        "already erased",
    );
    fails(
        run(
            &["--reviewer", "r1", "erase", "--case", "c2", "--reason", " "],
            &ws,
        ),
        "needs a reason",
    );
}

#[test]
fn an_erasure_mark_cannot_be_removed_or_forged() {
    let t = tempfile::tempdir().unwrap();
    let ws = workspace(t.path());
    ok(run(
        &[
            "--reviewer",
            "r1",
            "erase",
            "--case",
            "c1",
            "--reason",
            "request",
        ],
        &ws,
    ));
    let db = ws.join("workspace.sqlite");
    let copy = |name: &str| {
        let d = t.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        for e in std::fs::read_dir(&ws).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                std::fs::copy(&p, d.join(p.file_name().unwrap())).unwrap();
            }
        }
        d
    };
    // Un-erasing (the mark cleared) is named.
    let a = copy("unmarked");
    rusqlite::Connection::open(a.join("workspace.sqlite"))
        .unwrap()
        .execute_batch(
            "DROP TRIGGER cases_erased_once; UPDATE cases SET erased_idx = NULL WHERE id = 'c1'",
        )
        .unwrap();
    // (Named at the earliest entry that disagrees: the import's commitment to the text, which
    // the blank case no longer matches.)
    let msg = fails(run(&["audit", "verify"], &a), "fails verification");
    assert!(msg.contains("case \"c1\""), "{msg}");
    // Marking another case erased, to blank its text unnoticed, is named.
    let b = copy("forged");
    let idx: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT erased_idx FROM cases WHERE id = 'c1'", [], |r| {
            r.get(0)
        })
        .unwrap();
    rusqlite::Connection::open(b.join("workspace.sqlite"))
        .unwrap()
        .execute_batch(&format!(
            "UPDATE cases SET erased_idx = {idx}, subject = '', body = '' WHERE id = 'c2'"
        ))
        .unwrap();
    fails(run(&["audit", "verify"], &b), "cases.erased_idx");
}
