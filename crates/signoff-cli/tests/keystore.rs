//! Keys in the OS key store: a real Secret Service (gnome-keyring in a private D-Bus session)
//! keeps them between runs; without one, the Linux kernel keyring does; without any key store
//! Signoff refuses and asks for a key file instead of inventing an in-memory key.

use std::path::Path;
use std::process::Command;

const CASES: &str = r#"{"id":"K-1","subject":"s","body":"b","received_at":"2026-11-20T10:00:00Z"}
"#;

#[test]
fn without_a_key_store_or_key_file_signoff_refuses_and_says_what_to_do() {
    let t = tempfile::tempdir().unwrap();
    // No D-Bus session (no Secret Service), and the kernel keyring's system calls fail.
    let out = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            "trace=add_key,keyctl,request_key",
        ])
        .args(["-e", "inject=add_key,keyctl,request_key:error=ENOSYS"])
        .arg(env!("CARGO_BIN_EXE_signoff"))
        .arg("--workspace")
        .arg(t.path().join("ws"))
        .arg("init")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("SIGNOFF_KEY_FILE")
        .env("XDG_RUNTIME_DIR", t.path())
        .output()
        .expect("strace (scripts/setup.sh installs it)");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no usable OS key store")
            && err.contains("Secret Service")
            && err.contains("kernel keyring")
            && err.contains("--key-file"),
        "{err}"
    );
    assert!(
        !t.path().join("ws").join("workspace.sqlite").exists(),
        "nothing is created without a key"
    );
}

/// Runs a review session (init, import, approve, verify) as separate processes inside
/// `wrapper` (which provides the key store), with no key file anywhere; checks that it
/// verifies with the reviewer key, the import and the signed approval, and that no key file
/// was written.
fn review_session_with_keys_in(wrapper: &str, prelude: &str, env: &[(&str, &Path)]) {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let f = t.path().join("cases.jsonl");
    std::fs::write(&f, CASES).unwrap();
    let bin = env!("CARGO_BIN_EXE_signoff");
    let script = format!(
        "{prelude}
         set -e
         {bin} --workspace {ws} init --reviewer k1 --reviewer-name Kim
         {bin} --workspace {ws} import {f}
         {bin} --workspace {ws} decide K-1 --disposition approve --reviewer k1
         {bin} --workspace {ws} audit verify --json",
        ws = ws.display(),
        f = f.display()
    );
    let mut cmd = Command::new(wrapper);
    match wrapper {
        "keyctl" => cmd.args(["session", "-", "bash", "-c", &script]),
        _ => cmd.args(["--", "bash", "-c", &script]),
    };
    cmd.env_remove("SIGNOFF_KEY_FILE").env("HOME", t.path());
    for (k, v) in env {
        cmd.env(k, t.path().join(v));
    }
    if wrapper == "keyctl" {
        cmd.env_remove("DBUS_SESSION_BUS_ADDRESS");
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("{wrapper}: {e} (packages keyutils, dbus, gnome-keyring; scripts/setup.sh installs them)")
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(json["entries"], 3, "reviewer key, import, approval");
    assert_eq!(json["signatures"], 2, "registration and approval");
    let files: Vec<_> = std::fs::read_dir(&ws)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert!(
        !files.iter().any(|n| n.to_string_lossy().contains("key")),
        "no key file was written: {files:?}"
    );
}

#[test]
fn the_kernel_keyring_holds_the_keys_where_there_is_no_secret_service() {
    // A fresh session keyring, as a login without a desktop has; no D-Bus at all.
    review_session_with_keys_in("keyctl", "", &[("XDG_RUNTIME_DIR", Path::new(""))]);
}

#[test]
fn the_secret_service_keeps_the_keys_between_runs() {
    review_session_with_keys_in(
        "dbus-run-session",
        "echo test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || exit 90",
        &[("XDG_DATA_HOME", Path::new("data"))],
    );
}
