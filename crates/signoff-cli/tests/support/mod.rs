//! Shared helpers for the tests that drive the real `signoff` binary: run it on a workspace
//! (with a key file beside it and the environment cleared of Signoff's variables) and check
//! its exit, its output and its error messages.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::Path;
use std::process::{Command, Output};

/// Runs `signoff ARGS`, on `ws` (with the key file `ws.key`) when given.
pub fn run_opt(args: &[&str], ws: Option<&Path>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_signoff"));
    if let Some(ws) = ws {
        c.arg("--workspace")
            .arg(ws)
            .arg("--key-file")
            .arg(ws.with_extension("key"));
    }
    c.args(args)
        .env_remove("SIGNOFF_REVIEWER")
        .env_remove("SIGNOFF_KEY_FILE")
        .env_remove("SIGNOFF_WORKSPACE")
        .output()
        .expect("run signoff")
}

/// Runs `signoff ARGS` on the workspace `ws`.
pub fn run(args: &[&str], ws: &Path) -> Output {
    run_opt(args, Some(ws))
}

/// Asserts success and returns stdout.
pub fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Asserts success and parses the JSON on stdout's last line.
pub fn json(o: Output) -> serde_json::Value {
    let out = ok(o);
    serde_json::from_str(out.lines().last().unwrap()).unwrap()
}

/// Asserts a failure whose stderr names `needle` and shows no panic; returns stderr.
pub fn fails(o: Output, needle: &str) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "expected failure; stderr: {err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Adds `doc` to the workspace's corpus and approves the new version in `by`'s name; returns
/// the version id.
pub fn approved_corpus(ws: &Path, doc: &Path, by: &str) -> String {
    let add = json(run(&["corpus", "add", doc.to_str().unwrap(), "--json"], ws));
    let v = add[0]["version"].as_str().unwrap().to_string();
    ok(run(&["corpus", "approve", &v[..10], "--by", by], ws));
    v
}

/// Writes `rows` (JSONL case lines) to `cases.jsonl` beside the workspace and imports them.
pub fn import_cases(ws: &Path, rows: &str) {
    let cases = ws.with_extension("cases.jsonl");
    std::fs::write(&cases, rows).unwrap();
    ok(run(&["import", cases.to_str().unwrap()], ws));
}
