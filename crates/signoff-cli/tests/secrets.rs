//! A model API key never leaves the key store except in the `Authorization` header: a route to
//! an OpenAI-compatible server on 127.0.0.1 that fails in each way (connection refused, 401,
//! 500, malformed JSON, no answer within the idle timeout) — every server echoing the key back
//! in its reply — is drafted through the real `signoff` binary, and the key is looked for in
//! every error and fallback reason, the command's stdout and stderr, every file of the
//! workspace (the SQLite database with its WAL, the audit log, indexes) other than the key
//! store's own fallback file, and an exported audit bundle.

#[path = "../../signoff-action/tests/remote_server/mod.rs"]
mod remote_server;
mod support;

use remote_server::{json, Reply};
use signoff_action::remote::{ApiKey, Cancel, Message, RemoteClient, RemoteConfig};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use support::{approved_corpus, import_cases, ok, run};

const KEY: &str = "sk-signoff-leak-canary-8f3a61c0d2";

/// How the server fails.
#[derive(Debug, Clone, Copy)]
enum Failure {
    Refused,
    Unauthorized,
    ServerError,
    BadJson,
    Timeout,
}

const ALL: [Failure; 5] = [
    Failure::Refused,
    Failure::Unauthorized,
    Failure::ServerError,
    Failure::BadJson,
    Failure::Timeout,
];

fn echo(status: u16, body: String) -> Reply {
    let mut r = json(status, &body);
    if let Reply::Body { headers, .. } = &mut r {
        headers.push(("www-authenticate", format!("Bearer error=\"{KEY}\"")));
    }
    r
}

/// The reply for one failure, echoing the key in its body the way careless servers do.
fn reply(f: Failure) -> Option<Reply> {
    let said = format!("Incorrect API key provided: {KEY} (Bearer {KEY})");
    match f {
        Failure::Refused => None,
        Failure::Unauthorized => Some(echo(
            401,
            serde_json::json!({"error": {"message": said, "code": "invalid_api_key"}}).to_string(),
        )),
        Failure::ServerError => Some(echo(
            500,
            serde_json::json!({"error": {"message": format!("backend crashed handling {said}")}})
                .to_string(),
        )),
        Failure::BadJson => Some(echo(200, format!("{{\"choices\": [{said}"))),
        Failure::Timeout => Some(Reply::Body {
            status: 200,
            ctype: "application/json",
            headers: Vec::new(),
            body: said,
            delay: Duration::from_secs(3),
        }),
    }
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server (or a closed port) failing as `f` for `n` requests; its base URL.
fn server(f: Failure, n: usize) -> (Option<remote_server::Server>, String) {
    match reply(f) {
        None => (None, format!("http://127.0.0.1:{}/v1", closed_port())),
        Some(r) => {
            let s = remote_server::start(vec![r; n]);
            let url = s.base_url();
            (Some(s), url)
        }
    }
}

fn leaks(bytes: &[u8]) -> bool {
    bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes())
        // The key's distinctive tail alone (a server or a message that cut the prefix).
        || bytes.windows(18).any(|w| w == &KEY.as_bytes()[KEY.len() - 18..])
}

fn assert_clean(what: &str, bytes: &[u8]) {
    assert!(
        !leaks(bytes),
        "the API key leaked into {what}: {}",
        String::from_utf8_lossy(bytes)
    );
}

fn assert_output_clean(what: &str, o: &Output) {
    assert_clean(&format!("{what} stdout"), &o.stdout);
    assert_clean(&format!("{what} stderr"), &o.stderr);
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// `signoff model key set rk` with the key on stdin and no OS key store (no D-Bus, the kernel
/// keyring's calls failing): the key goes to the workspace's 0600 key file.
fn set_key(ws: &Path) -> Output {
    let mut child = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null"])
        .args(["-e", "trace=add_key,keyctl,request_key"])
        .args(["-e", "inject=add_key,keyctl,request_key:error=ENOSYS"])
        .arg(env!("CARGO_BIN_EXE_signoff"))
        .arg("--workspace")
        .arg(ws)
        .args(["model", "key", "set", "rk"])
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("SIGNOFF_WORKSPACE")
        .env("XDG_RUNTIME_DIR", ws)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strace (scripts/setup.sh installs it)");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{KEY}\n").as_bytes()).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn the_key_stays_out_of_every_error_output_file_and_audit_entry() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    ok(run(&["init"], &ws));
    let doc = t.path().join("parking.txt");
    std::fs::write(&doc, "Parking is free on site for every guest.").unwrap();
    approved_corpus(&ws, &doc, "Dana");
    import_cases(
        &ws,
        r#"{"id":"C-1","subject":"Parking","body":"Is parking free for guests?","received_at":"2026-11-20T10:00:00Z"}
"#,
    );
    let set = set_key(&ws);
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    assert_output_clean("model key set", &set);
    let key_file = ws.join("model-keys/rk");
    assert!(
        leaks(&std::fs::read(&key_file).unwrap()),
        "the key is in the key store's file"
    );

    for f in ALL {
        let (srv, url) = server(f, 1);
        std::fs::write(
            ws.join("models.toml"),
            format!(
                "[models.r]\nkind = \"openai\"\nbase_url = \"{url}\"\nmodel = \"m\"\nkey = \"rk\"\nstream = false\nmax_attempts = 1\nconnect_timeout_ms = 1000\nidle_timeout_ms = 400\ntotal_timeout_ms = 5000\n\n[[routes]]\nmodel = \"r\"\n",
            ),
        )
        .unwrap();
        let out = run(&["draft", "C-1", "--lexical", "--json"], &ws);
        assert_output_clean(&format!("{f:?} draft"), &out);
        let d: serde_json::Value = serde_json::from_str(ok(out).lines().last().unwrap()).unwrap();
        assert_eq!(d["model"], "offline", "{f:?}: {d}");
        let why = d["fallbacks"][0]["reason"].as_str().unwrap_or_default();
        assert!(!why.is_empty(), "{f:?}: the fallback says why: {d}");
        if let Some(s) = &srv {
            let seen = s.requests();
            assert_eq!(seen.len(), 1, "{f:?}");
            assert!(
                seen[0]
                    .head
                    .to_ascii_lowercase()
                    .contains(&format!("bearer {KEY}")),
                "{f:?}: the key went in the header"
            );
        }
    }

    // Everything the workspace holds after five failed calls, the key store's file aside.
    let bundle = t.path().join("bundle.json");
    assert_output_clean("audit verify", &run(&["audit", "verify"], &ws));
    let exp = run(&["audit", "export", "--out", bundle.to_str().unwrap()], &ws);
    assert_output_clean("audit export", &exp);
    ok(exp);
    let hist = run(&["audit", "history", "--case", "C-1", "--json"], &ws);
    assert_output_clean("audit history", &hist);
    let hist = ok(hist);
    assert!(hist.contains("draft"), "the drafts are in the log: {hist}");
    let mut files = Vec::new();
    files_under(&ws, &mut files);
    files.push(bundle);
    let mut checked = 0;
    for f in files.iter().filter(|f| **f != key_file) {
        assert_clean(&f.display().to_string(), &std::fs::read(f).unwrap());
        checked += 1;
    }
    assert!(
        files.iter().any(|f| f.ends_with("workspace.sqlite")) && checked > 3,
        "{files:?}"
    );
}

/// The client's own errors, as a host sees them (Display and Debug), for each failure.
#[test]
fn remote_errors_never_carry_the_key() {
    for f in ALL {
        let (_srv, url) = server(f, 3);
        let mut c = RemoteConfig::new(&url, "m");
        c.api_key = Some(ApiKey::new(KEY));
        c.stream = false;
        c.max_attempts = 2;
        c.connect_timeout = Duration::from_secs(1);
        c.idle_timeout = Duration::from_millis(400);
        c.total_timeout = Duration::from_secs(5);
        c.backoff_base = Duration::from_millis(10);
        c.backoff_max = Duration::from_millis(20);
        assert_clean("the config's Debug", format!("{c:?}").as_bytes());
        let client = RemoteClient::new(c).unwrap();
        let msgs = [Message {
            role: "user".into(),
            content: "Is parking free?".into(),
        }];
        let e = client
            .complete_blocking(&msgs, &mut |_| {}, &Cancel::new())
            .expect_err("every call fails");
        assert_clean(&format!("{f:?} Display"), e.to_string().as_bytes());
        assert_clean(&format!("{f:?} Debug"), format!("{e:?}").as_bytes());
    }
}
