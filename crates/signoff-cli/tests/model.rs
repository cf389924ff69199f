//! `signoff model` and routed drafting through the binary on a real workspace: models.toml is
//! seeded routing everything offline; a route to an OpenAI-compatible server on 127.0.0.1
//! drafts remotely (redacted case text only, the key from `model key set` in the header,
//! markers bound by Signoff); a server that is down falls back to the offline drafter and the
//! draft records why; `--model` overrides the route; errors in models.toml name file:line.

#[path = "../../signoff-action/tests/remote_server/mod.rs"]
mod remote_server;
mod support;

use remote_server::{stream, End};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{approved_corpus, fails, import_cases, json, ok, run};

/// A workspace with an approved corpus and one case whose body holds an e-mail address.
fn workspace(t: &Path) -> std::path::PathBuf {
    let ws = t.join("ws");
    ok(run(&["init"], &ws));
    let doc = t.join("parking.txt");
    std::fs::write(
        &doc,
        "Parking is free on site for every guest. Check-in is from 3pm.",
    )
    .unwrap();
    approved_corpus(&ws, &doc, "Dana");
    import_cases(
        &ws,
        r#"{"id":"C-1","subject":"Parking","body":"Is parking free for guests? Write to ada.lovelace@example.com","received_at":"2026-11-20T10:00:00Z"}
"#,
    );
    ws
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `signoff model key set NAME` with `key` on stdin; the kernel keyring's calls fail and
/// there is no D-Bus, so the key must go to the workspace's 0600 file (and say so).
fn set_key_without_key_store(ws: &Path, name: &str, key: &str) -> std::process::Output {
    let mut child = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null"])
        .args(["-e", "trace=add_key,keyctl,request_key"])
        .args(["-e", "inject=add_key,keyctl,request_key:error=ENOSYS"])
        .arg(env!("CARGO_BIN_EXE_signoff"))
        .arg("--workspace")
        .arg(ws)
        .args(["model", "key", "set", name])
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("SIGNOFF_WORKSPACE")
        .env("XDG_RUNTIME_DIR", ws)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strace (scripts/setup.sh installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(key.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn the_default_routes_everything_offline_and_list_shows_it() {
    let t = tempfile::tempdir().unwrap();
    let ws = workspace(t.path());
    let l = json(run(&["model", "list", "--json"], &ws));
    assert!(ws.join("models.toml").exists());
    assert_eq!(l["routes"][0]["models"], serde_json::json!(["offline"]));
    assert_eq!(l["models"][0]["name"], "offline");
    let d = json(run(&["draft", "C-1", "--lexical", "--json"], &ws));
    assert_eq!(d["model"], "offline");
    assert_eq!(d["model_id"], "signoff-extractive");
    assert_eq!(d["route"], "offline ran");
    fails(
        run(&["draft", "C-1", "--lexical", "--model", "gpt9"], &ws),
        "model \"gpt9\" is not defined",
    );
}

#[test]
fn a_routed_remote_model_drafts_with_the_key_and_redacted_text_only() {
    let t = tempfile::tempdir().unwrap();
    let ws = workspace(t.path());
    let srv = remote_server::start(vec![stream(
        &[
            "Parking is free ",
            "on site for every guest [1]. ",
            "Valet costs 5 dollars [4].",
        ],
        Duration::from_millis(1),
        End::Done,
    )]);
    std::fs::write(
        ws.join("models.toml"),
        format!(
            "[models.r]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"test-model\"\nkey = \"rk\"\n\n[[routes]]\nmodel = \"r\"\n",
            srv.base_url()
        ),
    )
    .unwrap();
    let set = set_key_without_key_store(&ws, "rk", "sk-cli-test-7\n");
    let err = String::from_utf8_lossy(&set.stderr);
    assert!(set.status.success(), "{err}");
    assert!(
        err.contains("no usable OS key store") && err.contains("mode 0600"),
        "{err}"
    );
    let file = ws.join("model-keys/rk");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let l = ok(run(&["model", "list"], &ws));
    assert!(l.contains("key \"rk\" set") && !l.contains("sk-cli"), "{l}");

    let d = json(run(&["draft", "C-1", "--lexical", "--json"], &ws));
    assert_eq!(d["model"], "r");
    assert_eq!(d["model_id"], "test-model");
    assert_eq!(d["model_version"], "test-model-2026");
    assert_eq!(d["route"], "r ran");
    assert_eq!(d["unknown_passages"], serde_json::json!([4]));
    let status: Vec<&str> = d["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["supported", "bad_citation"], "{d}");
    assert_eq!(d["citations"].as_array().unwrap().len(), 1);
    let seen = srv.requests();
    assert_eq!(seen.len(), 1);
    assert!(seen[0]
        .head
        .to_ascii_lowercase()
        .contains("authorization: bearer sk-cli-test-7"));
    assert!(
        seen[0].body.contains("Is parking free for guests?"),
        "{}",
        seen[0].body
    );
    assert!(!seen[0].body.contains("ada.lovelace"), "{}", seen[0].body);
    // Nothing of the key in the workspace's database or audit log.
    let db = std::fs::read(ws.join("workspace.sqlite")).unwrap();
    assert!(!db.windows(13).any(|w| w == b"sk-cli-test-7"));
}

#[test]
fn a_server_that_is_down_falls_back_offline_and_says_why() {
    let t = tempfile::tempdir().unwrap();
    let ws = workspace(t.path());
    std::fs::write(
        ws.join("models.toml"),
        format!(
            "[models.down]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{}/v1\"\nmodel = \"m\"\nmax_attempts = 2\n\n[[routes]]\nmodel = \"down\"\n",
            closed_port()
        ),
    )
    .unwrap();
    let d = json(run(&["draft", "C-1", "--lexical", "--json"], &ws));
    assert_eq!(d["model"], "offline");
    assert_eq!(d["fallbacks"][0]["model"], "down");
    let why = d["fallbacks"][0]["reason"].as_str().unwrap();
    assert!(
        why.contains("cannot reach") && why.contains("2 attempt(s)"),
        "{why}"
    );
    assert!(d["route"]
        .as_str()
        .unwrap()
        .starts_with("offline ran; down skipped: "));
    let text = ok(run(&["draft", "C-1", "--lexical"], &ws));
    assert!(text.contains("fallback: down skipped: "), "{text}");
    // --model overrides the route.
    let d = json(run(
        &["draft", "C-1", "--lexical", "--model", "offline", "--json"],
        &ws,
    ));
    assert_eq!(
        (d["model"].as_str(), d["route"].as_str()),
        (Some("offline"), Some("offline ran"))
    );
}

#[test]
fn errors_in_models_toml_name_the_line() {
    let t = tempfile::tempdir().unwrap();
    let ws = workspace(t.path());
    std::fs::write(
        ws.join("models.toml"),
        "[models.a]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\nmodel = \"m\"\n\n[[routes]]\nmodel = \"b\"\n",
    )
    .unwrap();
    let e = fails(run(&["draft", "C-1", "--lexical"], &ws), "models.toml:6:");
    assert!(e.contains("\"b\", which is not defined"), "{e}");
    fails(run(&["model", "list"], &ws), "models.toml:6:");
}

#[test]
fn with_a_kernel_keyring_the_key_goes_to_the_os_key_store_not_a_file() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    ok(run(&["init"], &ws));
    std::fs::write(
        ws.join("models.toml"),
        "[models.r]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\nmodel = \"m\"\nkey = \"rk\"\n",
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_signoff");
    // A fresh session keyring and no D-Bus: the kernel keyring is the key store.
    let script = format!(
        "set -e
         echo sk-keyring-9 | {bin} --workspace {ws} model key set rk
         {bin} --workspace {ws} model list --json",
        ws = ws.display()
    );
    let out = Command::new("keyctl")
        .args(["session", "-", "bash", "-c", &script])
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("SIGNOFF_WORKSPACE")
        .env("XDG_RUNTIME_DIR", t.path())
        .output()
        .expect("keyctl (package keyutils; scripts/setup.sh installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("stored in the OS key store"), "{stdout}");
    let list: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let r = &list["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "r")
        .unwrap()
        .clone();
    assert_eq!(r["key_set"], true, "{list}");
    assert!(!ws.join("model-keys").exists(), "no key file was written");
    assert!(!stdout.contains("sk-keyring-9"));
}
