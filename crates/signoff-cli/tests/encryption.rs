//! `signoff init --encrypt` through the binary: the database key beside the key file or in
//! the kernel keyring, every command opening the workspace transparently, a missing or wrong
//! key refused by name with the file untouched, plain workspaces as before, and no case or
//! corpus text in any file the workspace writes after a whole review.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::{approved_corpus, fails, import_cases, json, ok, run};

const SECRET_BODY: &str = "Quillfeather-Odunsi says parcel 4471-ZED never arrived at Brackenmoor";
const CASES: &str = r#"{"id":"E-1","subject":"Parcel Brackenmoor","body":"Quillfeather-Odunsi says parcel 4471-ZED never arrived at Brackenmoor. How many days until my refund is paid?","received_at":"2026-11-20T10:00:00Z"}
{"id":"E-2","subject":"Zebra","body":"Xylophone quartz Vendelmoss?","received_at":"2026-11-20T10:00:00Z"}
"#;

fn key_db(ws: &Path) -> PathBuf {
    ws.with_extension("key.db")
}

fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            let bytes = std::fs::read(&p).unwrap();
            out.push((p, bytes));
        }
    }
    out.sort();
    out
}

fn holds(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn encrypted_workspace(t: &Path) -> PathBuf {
    let ws = t.join("ws");
    let j = json(run(
        &[
            "--reviewer",
            "r1",
            "init",
            "--encrypt",
            "--reviewer-name",
            "Ada",
            "--json",
        ],
        &ws,
    ));
    assert_eq!(j["encrypted"], true, "{j}");
    assert!(
        j["db_key"].as_str().unwrap().contains("key.db"),
        "the key sits beside the key file: {j}"
    );
    ws
}

#[test]
fn init_encrypt_keys_the_file_and_every_command_opens_it() {
    let t = tempfile::tempdir().unwrap();
    let ws = encrypted_workspace(t.path());
    let key = std::fs::read_to_string(key_db(&ws)).unwrap();
    assert!(key.starts_with("signoff-sqlcipher-key-v1 "), "{key}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(key_db(&ws)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    import_cases(&ws, CASES);
    let q = json(run(&["queue", "--json"], &ws));
    assert_eq!(q.as_array().unwrap().len(), 2, "{q}");
    let shown = ok(run(&["show", "E-1"], &ws));
    assert!(shown.contains(SECRET_BODY), "{shown}");
    ok(run(
        &[
            "--reviewer",
            "r1",
            "decide",
            "E-2",
            "--disposition",
            "approve",
        ],
        &ws,
    ));
    let v = json(run(&["audit", "verify", "--json"], &ws));
    assert!(v["entries"].as_u64().unwrap() >= 3, "{v}");
    let db = std::fs::read(ws.join("workspace.sqlite")).unwrap();
    assert!(!db.starts_with(b"SQLite format 3"));
    // A second init is idempotent and says the workspace is encrypted.
    let again = json(run(&["init", "--json"], &ws));
    assert_eq!(again["encrypted"], true);
}

#[test]
fn without_its_key_the_workspace_is_refused_naming_it_and_where_the_key_was_looked_for() {
    let t = tempfile::tempdir().unwrap();
    let ws = encrypted_workspace(t.path());
    import_cases(&ws, CASES);
    let moved = t.path().join("elsewhere.db");
    std::fs::rename(key_db(&ws), &moved).unwrap();
    let before = all_files(&ws);
    for args in [&["queue"][..], &["audit", "verify"][..], &["counts"][..]] {
        let err = fails(
            run(args, &ws),
            "is encrypted and its database key was not found",
        );
        assert!(err.contains(&ws.display().to_string()), "{err}");
        assert!(err.contains(&key_db(&ws).display().to_string()), "{err}");
    }
    let e = fails(
        run(
            &[
                "--reviewer",
                "r1",
                "decide",
                "E-1",
                "--disposition",
                "approve",
            ],
            &ws,
        ),
        "database key was not found",
    );
    assert!(e.contains("nothing was opened or changed"), "{e}");
    let after: Vec<_> = all_files(&ws)
        .into_iter()
        .filter(|(p, _)| !p.ends_with("workspace.lock"))
        .collect();
    let before: Vec<_> = before
        .into_iter()
        .filter(|(p, _)| !p.ends_with("workspace.lock"))
        .collect();
    assert_eq!(before, after);
    std::fs::rename(&moved, key_db(&ws)).unwrap();
    assert_eq!(
        json(run(&["queue", "--json"], &ws))
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn a_wrong_key_is_refused_and_leaves_the_workspace_byte_for_byte() {
    let t = tempfile::tempdir().unwrap();
    let ws = encrypted_workspace(t.path());
    import_cases(&ws, CASES);
    let other = tempfile::tempdir().unwrap();
    let other_ws = encrypted_workspace(other.path());
    let right = std::fs::read(key_db(&ws)).unwrap();
    std::fs::copy(key_db(&other_ws), key_db(&ws)).unwrap();
    let before = all_files(&ws);
    fails(
        run(&["queue"], &ws),
        "does not open the encrypted workspace",
    );
    fails(
        run(
            &[
                "--reviewer",
                "r1",
                "decide",
                "E-1",
                "--disposition",
                "approve",
            ],
            &ws,
        ),
        "the file was not changed",
    );
    let strip = |v: Vec<(PathBuf, Vec<u8>)>| -> Vec<_> {
        v.into_iter()
            .filter(|(p, _)| !p.ends_with("workspace.lock"))
            .collect()
    };
    assert_eq!(strip(before), strip(all_files(&ws)));
    std::fs::write(key_db(&ws), right).unwrap();
    ok(run(&["audit", "verify"], &ws));
}

#[test]
fn a_key_file_others_can_read_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let ws = encrypted_workspace(t.path());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(key_db(&ws), std::fs::Permissions::from_mode(0o644)).unwrap();
    fails(run(&["queue"], &ws), "readable by group or others");
}

#[test]
fn plain_workspaces_stay_plain_and_are_not_encrypted_in_place() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let j = json(run(&["init", "--json"], &ws));
    assert_eq!(j["encrypted"], false);
    import_cases(&ws, CASES);
    let db = std::fs::read(ws.join("workspace.sqlite")).unwrap();
    assert!(db.starts_with(b"SQLite format 3\0"));
    assert!(!key_db(&ws).exists());
    fails(
        run(&["init", "--encrypt"], &ws),
        "cannot be encrypted in place",
    );
    assert_eq!(
        json(run(&["queue", "--json"], &ws))
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn the_kernel_keyring_holds_the_database_key_when_there_is_no_key_file() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let f = t.path().join("cases.jsonl");
    std::fs::write(&f, CASES).unwrap();
    let bin = env!("CARGO_BIN_EXE_signoff");
    let script = format!(
        "set -e
         {bin} --workspace {ws} init --encrypt --json
         {bin} --workspace {ws} import {f}
         {bin} --workspace {ws} queue --json",
        ws = ws.display(),
        f = f.display()
    );
    let out = Command::new("keyctl")
        .args(["session", "-", "bash", "-c", &script])
        .env_remove("SIGNOFF_KEY_FILE")
        .env_remove("SIGNOFF_WORKSPACE")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("HOME", t.path())
        .env("XDG_RUNTIME_DIR", t.path())
        .output()
        .expect("keyctl (package keyutils; scripts/setup.sh installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let init: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert!(
        init["db_key"]
            .as_str()
            .unwrap()
            .contains("OS key store entry signoff/db-key:"),
        "{init}"
    );
    let queue: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(queue.as_array().unwrap().len(), 2);
    let db = std::fs::read(ws.join("workspace.sqlite")).unwrap();
    assert!(!db.starts_with(b"SQLite format 3"));
    for (p, bytes) in all_files(&ws) {
        assert!(
            !holds(&bytes, "Brackenmoor"),
            "{} holds case text",
            p.display()
        );
        assert!(
            !p.file_name().unwrap().to_string_lossy().contains("key"),
            "no key file in the workspace: {}",
            p.display()
        );
    }
}

#[test]
fn after_a_whole_review_no_file_of_an_encrypted_workspace_holds_case_or_corpus_text() {
    let t = tempfile::tempdir().unwrap();
    let ws = encrypted_workspace(t.path());
    let html = t.path().join("refunds.html");
    std::fs::write(
        &html,
        "<h1>Refunds</h1><p>Refunds are paid within 14 days of the return to Fernwhistle Depot.<p>Gift cards are final and cannot be refunded.",
    )
    .unwrap();
    approved_corpus(&ws, &html, "Dana Expert");
    import_cases(&ws, CASES);
    std::fs::remove_file(ws.with_extension("cases.jsonl")).unwrap();
    ok(run(&["intake", "classify"], &ws));
    let d = json(run(&["draft", "E-1", "--lexical", "--json"], &ws));
    assert!(d["text"].as_str().unwrap().contains("14 days"), "{d}");
    for mode in ["bm25", "hybrid"] {
        let s = ok(run(
            &["search", "refund paid days Fernwhistle", "--mode", mode],
            &ws,
        ));
        assert!(s.contains("Fernwhistle"), "{s}");
    }
    ok(run(
        &[
            "--reviewer",
            "r1",
            "decide",
            "E-2",
            "--disposition",
            "reject",
            "--reason",
            "other",
            "--rationale",
            "Vendelmoss rationale text",
        ],
        &ws,
    ));
    ok(run(&["audit", "verify"], &ws));
    let files = all_files(&ws);
    assert!(
        files
            .iter()
            .any(|(p, _)| p.ends_with("workspace.sqlite-wal")),
        "the WAL is checked too: {:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert!(
        !ws.join("index").exists(),
        "an encrypted workspace keeps its search indexes in memory"
    );
    for needle in [
        "Quillfeather",
        "4471-ZED",
        "Brackenmoor",
        "Vendelmoss",
        "Fernwhistle",
        "paid within 14 days",
        "Gift cards are final",
    ] {
        for (p, bytes) in &files {
            assert!(!holds(bytes, needle), "{} holds {needle:?}", p.display());
        }
    }
}
