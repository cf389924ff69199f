//! I/O faults injected with strace: when fsync fails, a disposition fails loudly (non-zero
//! exit, a message about the disk) and the workspace and its audit log stay consistent.

use std::process::Command;

const CASES: &str = r#"{"id":"F-1","subject":"s","body":"b","received_at":"2026-11-20T10:00:00Z"}
"#;

fn signoff(ws: &std::path::Path, key: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_signoff"))
        .arg("--workspace")
        .arg(ws)
        .arg("--key-file")
        .arg(key)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_failing_fsync_fails_the_disposition_loudly_and_leaves_the_log_consistent() {
    assert!(
        Command::new("strace")
            .arg("-V")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false),
        "strace is required (scripts/setup.sh installs it)"
    );
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let key = t.path().join("device.key");
    let f = t.path().join("cases.jsonl");
    std::fs::write(&f, CASES).unwrap();
    assert!(signoff(
        &ws,
        &key,
        &["init", "--reviewer", "r1", "--reviewer-name", "Rae"]
    )
    .status
    .success());
    assert!(signoff(&ws, &key, &["import", f.to_str().unwrap()])
        .status
        .success());

    let out = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            "trace=fsync,fdatasync",
            "-e",
            "inject=fsync,fdatasync:error=EIO",
        ])
        .arg(env!("CARGO_BIN_EXE_signoff"))
        .arg("--workspace")
        .arg(&ws)
        .arg("--key-file")
        .arg(&key)
        .args([
            "decide",
            "F-1",
            "--disposition",
            "approve",
            "--reviewer",
            "r1",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the decision must not report success when fsync fails"
    );
    assert!(err.contains("disk"), "the message names the disk: {err}");

    // Whatever reached the disk, the log and the case agree, and the log verifies.
    let v = signoff(&ws, &key, &["audit", "verify", "--json"]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    let entries: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&v.stdout).lines().last().unwrap()).unwrap();
    let counts = signoff(&ws, &key, &["counts", "--json"]);
    let counts: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&counts.stdout)
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    let approved = counts["approved"].as_u64().unwrap();
    assert_eq!(
        entries["entries"].as_u64().unwrap(),
        2 + approved,
        "reviewer key and import, and an approval exactly when its audit entry exists"
    );
}

#[test]
fn a_read_only_workspace_directory_is_refused_clearly_and_left_unchanged() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ws = t.path().join("ws");
    let key = t.path().join("device.key");
    let f = t.path().join("cases.jsonl");
    std::fs::write(&f, CASES).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(signoff(&ws, &key, &["init"]).status.success());
    let db = ws.join("workspace.sqlite");
    let before = std::fs::read(&db).unwrap();
    for p in [&ws, &db, &ws.join("workspace.lock")] {
        let mode = if p.is_dir() { 0o555 } else { 0o444 };
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    // Root ignores permission bits, so as root the import runs as the unprivileged `nobody`.
    let is_root = String::from_utf8_lossy(&Command::new("id").arg("-u").output().unwrap().stdout)
        .trim()
        == "0";
    let nobody_key = t.path().join("nobody.key");
    let mut cmd = if is_root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_signoff"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_signoff"))
    };
    let key_arg = if is_root { &nobody_key } else { &key };
    if is_root {
        std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let out = cmd
        .arg("--workspace")
        .arg(&ws)
        .arg("--key-file")
        .arg(key_arg)
        .arg("import")
        .arg(&f)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("is not writable by you"), "{err}");
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the workspace file is untouched"
    );
    std::fs::set_permissions(&ws, std::fs::Permissions::from_mode(0o755)).unwrap();
}
