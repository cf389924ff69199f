//! Keys in the OS key store: a real Secret Service (gnome-keyring in a private D-Bus session)
//! keeps them between runs; without one, the Linux kernel keyring does; without any key store
//! Signoff refuses and asks for a key file instead of inventing an in-memory key.

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

#[test]
fn the_kernel_keyring_holds_the_keys_where_there_is_no_secret_service() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let f = t.path().join("cases.jsonl");
    std::fs::write(&f, CASES).unwrap();
    let bin = env!("CARGO_BIN_EXE_signoff");
    let script = format!(
        "set -e
         {bin} --workspace {ws} init --reviewer k1 --reviewer-name Kim
         {bin} --workspace {ws} import {f}
         {bin} --workspace {ws} decide K-1 --disposition approve --reviewer k1
         {bin} --workspace {ws} audit verify --json",
        ws = ws.display(),
        f = f.display()
    );
    // A fresh session keyring, as a login without a desktop has; no D-Bus at all.
    let out = Command::new("keyctl")
        .args(["session", "-", "bash", "-c", &script])
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("SIGNOFF_KEY_FILE")
        .env("XDG_RUNTIME_DIR", t.path())
        .env("HOME", t.path())
        .output()
        .expect("keyctl (package keyutils; scripts/setup.sh installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(json["entries"], 3, "reviewer key, import, approval");
    assert_eq!(json["signatures"], 2, "registration and approval");
    assert!(
        !std::fs::read_dir(&ws)
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().contains("key")),
        "no key file was written"
    );
}

#[test]
fn the_secret_service_keeps_the_device_key_between_runs() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let f = t.path().join("cases.jsonl");
    std::fs::write(&f, CASES).unwrap();
    let bin = env!("CARGO_BIN_EXE_signoff");
    let script = format!(
        "echo test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || exit 90
         set -e
         {bin} --workspace {ws} init --reviewer k1 --reviewer-name Kim
         {bin} --workspace {ws} import {f}
         {bin} --workspace {ws} decide K-1 --disposition approve --reviewer k1
         {bin} --workspace {ws} audit verify --json",
        ws = ws.display(),
        f = f.display()
    );
    let out = Command::new("dbus-run-session")
        .args(["--", "bash", "-c", &script])
        .env_remove("SIGNOFF_KEY_FILE")
        .env("HOME", t.path())
        .env("XDG_DATA_HOME", t.path().join("data"))
        .output()
        .expect(
            "dbus-run-session (packages dbus and gnome-keyring; scripts/setup.sh installs them)",
        );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(
        json["entries"], 3,
        "reviewer key, import and approval, sealed by the same key from the key store"
    );
    let files: Vec<_> = std::fs::read_dir(&ws)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert!(
        !files.iter().any(|n| n.to_string_lossy().ends_with(".key")),
        "no key file was written: {files:?}"
    );
}
