//! `signoff audit` end to end through the binary: signed dispositions, key rotation, export
//! and verify-bundle on a machine without the workspace, and the bad-input list — a bundle cut
//! short or reordered, a wrong key, a checkpoint of another log, a leaf from a newer Signoff,
//! an unknown case, an impossible date — each with a specific message and a non-zero exit.

mod support;

use std::path::{Path, PathBuf};
use support::{fails, ok, run_opt as run};

const CASES: &str = r#"{"id":"A-1","subject":"s1","body":"b1","received_at":"2026-11-20T10:00:00Z"}
{"id":"A-2","subject":"s2","body":"b2","received_at":"2026-11-20T10:00:00Z"}
{"id":"A-3","subject":"s3","body":"b3","received_at":"2026-11-20T10:00:00Z"}
"#;

/// A workspace with a reviewer, three cases, an approval, a key rotation and an escalation.
fn reviewed(dir: &Path) -> (PathBuf, String) {
    let ws = dir.join("ws");
    let f = dir.join("cases.jsonl");
    std::fs::write(&f, CASES).unwrap();
    ok(run(
        &[
            "init",
            "--reviewer",
            "rae",
            "--reviewer-name",
            "Rae Reviewer",
        ],
        Some(&ws),
    ));
    ok(run(&["import", f.to_str().unwrap()], Some(&ws)));
    let genesis = ok(run(&["audit", "key", "--genesis"], Some(&ws)))
        .trim()
        .to_string();
    ok(run(
        &[
            "decide",
            "A-1",
            "--disposition",
            "approve",
            "--reviewer",
            "rae",
        ],
        Some(&ws),
    ));
    ok(run(&["audit", "rotate-key"], Some(&ws)));
    ok(run(
        &[
            "decide",
            "A-2",
            "--disposition",
            "escalate",
            "--reason",
            "needs_specialist",
            "--reviewer",
            "rae",
        ],
        Some(&ws),
    ));
    (ws, genesis)
}

#[test]
fn a_reviewed_and_rotated_log_verifies_and_its_bundle_verifies_without_the_workspace() {
    let t = tempfile::tempdir().unwrap();
    let (ws, genesis) = reviewed(t.path());
    let out = ok(run(&["audit", "verify", "--json"], Some(&ws)));
    let v: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(
        v["entries"], 5,
        "reviewer key, import, approve, rotation, escalate"
    );
    assert_eq!(v["device_keys"], 2);
    assert_eq!(v["signatures"], 4, "registration, two decisions, rotation");
    let current = ok(run(&["audit", "key"], Some(&ws))).trim().to_string();
    assert_ne!(current, genesis, "the rotation changed the key in force");

    let bundle = t.path().join("audit.bundle");
    ok(run(
        &["audit", "export", "--out", bundle.to_str().unwrap()],
        Some(&ws),
    ));
    // The auditor's machine: no workspace, no key file, only the bundle and a verifier key.
    std::fs::remove_dir_all(&ws).unwrap();
    let out = ok(run(
        &[
            "audit",
            "verify-bundle",
            bundle.to_str().unwrap(),
            "--vkey",
            &genesis,
            "--json",
        ],
        None,
    ));
    let v: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(
        (v["entries"].as_u64(), v["signatures"].as_u64()),
        (Some(5), Some(4))
    );
    ok(run(
        &[
            "audit",
            "verify-bundle",
            bundle.to_str().unwrap(),
            "--vkey",
            &current,
        ],
        None,
    ));
}

#[test]
fn bad_bundles_and_wrong_keys_get_specific_messages() {
    let t = tempfile::tempdir().unwrap();
    let (ws, genesis) = reviewed(t.path());
    let bundle = t.path().join("audit.bundle");
    ok(run(
        &["audit", "export", "--out", bundle.to_str().unwrap()],
        Some(&ws),
    ));
    let text = std::fs::read_to_string(&bundle).unwrap();
    let verify = |name: &str, content: &str, vkey: &str| {
        let p = t.path().join(name);
        std::fs::write(&p, content).unwrap();
        run(
            &[
                "audit",
                "verify-bundle",
                p.to_str().unwrap(),
                "--vkey",
                vkey,
            ],
            None,
        )
    };
    fails(
        verify("cut.bundle", &text[..text.len() * 2 / 3], &genesis),
        "cut short",
    );
    let mut lines: Vec<&str> = text.lines().collect();
    let a = lines
        .iter()
        .position(|l| l.starts_with("{\"entry\":1,"))
        .unwrap();
    let b = lines
        .iter()
        .position(|l| l.starts_with("{\"entry\":2,"))
        .unwrap();
    lines.swap(a, b);
    fails(
        verify("reordered.bundle", &(lines.join("\n") + "\n"), &genesis),
        "missing or reordered",
    );
    ok(run(&["init"], Some(&t.path().join("other"))));
    let other_key = ok(run(&["audit", "key"], Some(&t.path().join("other"))))
        .trim()
        .to_string();
    fails(verify("b.bundle", &text, &other_key), "bundle is of log");
    fails(
        run(
            &[
                "audit",
                "verify-bundle",
                "/nonexistent/x.bundle",
                "--vkey",
                &genesis,
            ],
            None,
        ),
        "/nonexistent/x.bundle",
    );
    fails(
        run(
            &[
                "audit",
                "verify-bundle",
                bundle.to_str().unwrap(),
                "--vkey",
                "not-a-key",
            ],
            None,
        ),
        "--vkey",
    );
}

#[test]
fn history_and_verify_refuse_bad_questions_and_foreign_or_newer_data_clearly() {
    let t = tempfile::tempdir().unwrap();
    let (ws, _) = reviewed(t.path());
    let h = ok(run(
        &["audit", "history", "--case", "A-1", "--json"],
        Some(&ws),
    ));
    let v: serde_json::Value = serde_json::from_str(h.lines().last().unwrap()).unwrap();
    let kinds: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["import", "disposition"]);
    assert!(v["entries"][1]["leaf"]
        .as_str()
        .unwrap()
        .contains("\"name\":\"Rae Reviewer\""));

    fails(
        run(&["audit", "history", "--case", "NOPE-9"], Some(&ws)),
        "NOPE-9",
    );
    fails(
        run(
            &["audit", "history", "--case", "A-1", "--on", "2026-02-30"],
            Some(&ws),
        ),
        "is not a date",
    );

    // A pinned checkpoint of another log.
    let other = t.path().join("other");
    ok(run(&["init"], Some(&other)));
    let f = t.path().join("cases.jsonl");
    ok(run(&["import", f.to_str().unwrap()], Some(&other)));
    let foreign = t.path().join("foreign.note");
    std::fs::write(&foreign, ok(run(&["audit", "checkpoint"], Some(&other)))).unwrap();
    fails(
        run(
            &["audit", "verify", "--pinned", foreign.to_str().unwrap()],
            Some(&ws),
        ),
        "checkpoint of log",
    );

    // A leaf in a newer encoding (rewritten consistently, hash included).
    let db = ws.join("workspace.sqlite");
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch("DROP TRIGGER audit_entries_append_only")
        .unwrap();
    let leaf: Vec<u8> = c
        .query_row("SELECT leaf FROM audit_entries WHERE idx = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    let newer = String::from_utf8(leaf)
        .unwrap()
        .replace(",\"v\":1}", ",\"v\":2}");
    let mut h = sha2::Sha256::new();
    use sha2::Digest;
    h.update([0u8]);
    h.update(newer.as_bytes());
    c.execute(
        "UPDATE audit_entries SET leaf = ?1, hash = ?2 WHERE idx = 1",
        rusqlite::params![newer.as_bytes(), h.finalize().to_vec()],
    )
    .unwrap();
    drop(c);
    fails(run(&["audit", "verify"], Some(&ws)), "newer Signoff");
}
