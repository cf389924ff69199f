//! The `signoff` binary as scripts use it: real processes on temporary workspaces, checking
//! exit codes, messages and the `--json` contract (JSON is the last line).

use std::path::Path;
use std::process::{Command, Output};

fn signoff(ws: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_signoff"))
        .arg("--workspace")
        .arg(ws)
        .arg("--key-file")
        .arg(ws.with_extension("key"))
        .args(args)
        .env_remove("SIGNOFF_REVIEWER")
        .env_remove("SIGNOFF_KEY_FILE")
        .output()
        .expect("run signoff")
}

fn last_json(o: &Output) -> serde_json::Value {
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no output; stderr: {}", String::from_utf8_lossy(&o.stderr)));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {line}"))
}

const CASES: &str = r#"{"id":"T-1","subject":"Late card","body":"Card not arrived","received_at":"2026-11-20T10:00:00Z","sla_due_at":"2026-11-21T10:00:00Z"}
{"id":"T-2","subject":"Refund","body":"Where is my refund","received_at":"2026-11-20T09:00:00Z"}
"#;

#[test]
fn import_queue_decide_and_undo_through_the_binary() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let f = t.path().join("cases.jsonl");
    std::fs::write(&f, CASES).unwrap();
    let o = signoff(
        &ws,
        &["init", "--reviewer", "r1", "--reviewer-name", "Rae One"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = signoff(&ws, &["import", f.to_str().unwrap(), "--json"]);
    assert!(o.status.success());
    assert_eq!(
        last_json(&o),
        serde_json::json!({"new": 2, "unchanged": 0, "conflicts": 0})
    );
    let o = signoff(&ws, &["import", f.to_str().unwrap(), "--json"]);
    assert_eq!(last_json(&o)["unchanged"], 2);
    let o = signoff(&ws, &["queue", "--json"]);
    let ids: Vec<String> = last_json(&o)
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["T-1", "T-2"], "the case with an SLA comes first");
    let o = signoff(
        &ws,
        &[
            "decide",
            "T-1",
            "--disposition",
            "reject",
            "--reviewer",
            "r1",
        ],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("reason code is required"));
    let o = signoff(
        &ws,
        &[
            "decide",
            "T-1",
            "--disposition",
            "reject",
            "--reason",
            "policy_conflict",
            "--rationale",
            "not eligible",
            "--reviewer",
            "r1",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(last_json(&o)["kind"], "reject");
    let o = signoff(&ws, &["counts", "--json"]);
    assert_eq!(last_json(&o)["open"], 1);
    assert_eq!(last_json(&o)["rejected"], 1);
    let o = signoff(&ws, &["undo", "T-1", "--reviewer", "r1", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(last_json(&o)["kind"], "undo");
    let o = signoff(&ws, &["counts", "--json"]);
    assert_eq!(last_json(&o)["open"], 2);

    let o = signoff(&ws, &["audit", "verify", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        last_json(&o)["entries"],
        5,
        "reviewer key, two imports, reject, undo"
    );
    assert_eq!(last_json(&o)["signatures"], 3, "registration, reject, undo");
    let o = signoff(&ws, &["audit", "history", "--case", "T-1", "--json"]);
    let kinds: Vec<String> = last_json(&o)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["import", "disposition", "undo"]);
    let key = signoff(&ws, &["audit", "key"]);
    assert!(String::from_utf8_lossy(&key.stdout).starts_with("signoff.local/"));
}

#[test]
fn a_tampered_log_fails_verify_naming_the_entry() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let f = t.path().join("cases.jsonl");
    std::fs::write(&f, CASES).unwrap();
    assert!(signoff(
        &ws,
        &["init", "--reviewer", "r1", "--reviewer-name", "Rae One"]
    )
    .status
    .success());
    assert!(signoff(&ws, &["import", f.to_str().unwrap()])
        .status
        .success());
    assert!(signoff(
        &ws,
        &[
            "decide",
            "T-2",
            "--disposition",
            "approve",
            "--reviewer",
            "r1"
        ]
    )
    .status
    .success());
    let db = ws.join("workspace.sqlite");
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch("DROP TRIGGER audit_entries_append_only")
        .unwrap();
    c.execute("UPDATE audit_entries SET leaf = CAST(replace(CAST(leaf AS TEXT), 'approve', 'reject!') AS BLOB) WHERE idx = 2", []).unwrap();
    drop(c);
    let o = signoff(&ws, &["audit", "verify"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("at entry 2:"), "{err}");
}

#[test]
fn a_bad_file_fails_with_file_line_and_field_and_a_non_zero_exit() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let good = t.path().join("good.jsonl");
    std::fs::write(&good, CASES).unwrap();
    let bad = t.path().join("bad.csv");
    std::fs::write(
        &bad,
        "id,subject,body,received_at\nX-1,s,b,2026-11-20 10:00:00\n",
    )
    .unwrap();
    let o = signoff(
        &ws,
        &["import", good.to_str().unwrap(), bad.to_str().unwrap()],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.csv:2: received_at:") && err.contains("no time zone"),
        "{err}"
    );
    let o = signoff(&ws, &["counts", "--json"]);
    assert_eq!(
        last_json(&o)["open"],
        2,
        "the good file was imported, the bad one not at all"
    );
}

#[test]
fn the_bench_prints_a_table_and_json_with_the_contract_keys() {
    let o = Command::new(env!("CARGO_BIN_EXE_signoff"))
        .args(["bench", "queue", "--cases", "2000", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = last_json(&o);
    for key in [
        "cases",
        "import_per_s",
        "first_page_ms",
        "next_item_ms",
        "filtered_count_ms",
        "deep_page_ms",
        "decide_ms",
    ] {
        assert!(v[key].is_number(), "missing {key} in {v}");
    }
    assert_eq!(v["cases"], 2000);
}

#[test]
fn pull_imports_a_case_file_served_over_http() {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/exports/today.jsonl",
        listener.local_addr().unwrap()
    );
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut line = String::new();
        while r.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
            line.clear();
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            CASES.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(CASES.as_bytes()).unwrap();
    });
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let o = signoff(&ws, &["pull", &url, "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(last_json(&o)["new"], 2);
    let o = signoff(&ws, &["audit", "verify", "--json"]);
    assert_eq!(
        last_json(&o)["entries"],
        1,
        "the pull's import is in the audit log"
    );
    let o = signoff(&ws, &["audit", "history", "--case", "T-1", "--json"]);
    let entry = &last_json(&o)["entries"][0];
    assert_eq!(entry["kind"], "sync", "{entry}");
    let leaf = entry["leaf"].as_str().unwrap();
    assert!(
        leaf.contains("\"source_host\":\"127.0.0.1:") && leaf.contains("\"source_sha256\":"),
        "{leaf}"
    );
}

#[test]
fn a_reader_that_stops_early_ends_the_listing_quietly() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let f = t.path().join("many.jsonl");
    // Long subjects: the listing (1,000 rows, about 108 KB) must not fit in the pipe (64 KiB)
    // plus what the reader takes, or the child could finish writing before the hang-up.
    let rows: String = (0..3000)
        .map(|i| format!("{{\"id\":\"P-{i}\",\"subject\":\"Parcel {i} where is it, it was due last week and nobody answers\",\"body\":\"Where is parcel {i}?\",\"received_at\":\"2026-11-20T10:00:00Z\"}}\n"))
        .collect();
    std::fs::write(&f, rows).unwrap();
    assert!(signoff(&ws, &["import", f.to_str().unwrap()])
        .status
        .success());
    let mut child = Command::new(env!("CARGO_BIN_EXE_signoff"))
        .arg("--workspace")
        .arg(&ws)
        .args(["queue", "--limit", "3000"])
        .env_remove("SIGNOFF_WORKSPACE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then hang up, as `| head -1` does.
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    assert!(first.contains("P-"), "{first}");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(141), "{err}");
}
