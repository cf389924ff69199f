//! `signoff intake` against a real workspace: import without a model says why cases stay
//! unclassified; `intake train --data` puts a model in force; import then classifies;
//! `intake thresholds --set` saves an audited version; `audit verify` passes throughout.

use std::path::Path;
use std::process::{Command, Output};

fn signoff(ws: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_signoff"))
        .arg("--workspace")
        .arg(ws)
        .arg("--key-file")
        .arg(ws.with_extension("key"))
        .args(args)
        .env("SIGNOFF_MODEL_DIR", ws.with_extension("no-encoder"))
        .env_remove("SIGNOFF_REVIEWER")
        .env_remove("SIGNOFF_KEY_FILE")
        .output()
        .expect("run signoff")
}

fn ok(o: Output) -> (String, serde_json::Value) {
    let out = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let json = String::from_utf8_lossy(&o.stdout)
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_default();
    (out, json)
}

fn training_rows() -> String {
    let topics = [
        ("card_arrival", ["card", "arrive", "delivery", "post"]),
        ("refund", ["refund", "money", "back", "return"]),
        ("pin", ["pin", "code", "forgot", "reset"]),
    ];
    let mut out = String::new();
    for (label, words) in topics {
        for i in 0..20 {
            let text = format!("{} {} please {}", words[i % 4], words[(i + 1) % 4], i);
            out += &format!("{{\"text\":\"{text}\",\"label\":\"{label}\"}}\n");
        }
    }
    out
}

fn cases(prefix: &str) -> String {
    [
        ("my card did not arrive by post", "card_arrival"),
        ("I want my money back, refund please", "refund"),
        ("forgot my pin code", "pin"),
        ("my lawyer will hear about this refund", "refund"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (body, label))| {
        format!(
            "{{\"id\":\"{prefix}-{i}\",\"subject\":\"\",\"body\":\"{body}\",\"received_at\":\"2026-11-20T10:00:00Z\",\"label\":\"{label}\"}}\n"
        )
    })
    .collect()
}

#[test]
fn import_train_classify_and_save_thresholds_through_the_binary() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let file = |name: &str, text: String| {
        let p = t.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let first = file("a.jsonl", cases("A"));
    ok(signoff(&ws, &["init"]));
    let (out, json) = ok(signoff(&ws, &["import", &first, "--json"]));
    assert!(
        out.contains("4 case(s) left unclassified: no intake model"),
        "{out}"
    );
    assert_eq!(json["new"], 4);

    std::fs::write(
        ws.join("intake-rules.toml"),
        "[[rule]]\nid = \"legal-threat\"\nlabel = \"complaint\"\nband = \"high\"\nroute = \"escalate\"\nkeywords = [\"lawyer\"]\n",
    )
    .unwrap();
    let data = file("train.jsonl", training_rows());
    let (out, _) = ok(signoff(
        &ws,
        &["intake", "train", "--data", &data, "--model", "lexical"],
    ));
    assert!(
        out.contains("in force in the workspace with threshold version 1"),
        "{out}"
    );

    let (_, json) = ok(signoff(&ws, &["intake", "classify", "--json"]));
    assert_eq!(
        (json["classified"].as_u64(), json["by_rule"].as_u64()),
        (Some(4), Some(1))
    );
    assert_eq!(json["escalated"], 1);

    // New imports are classified as they land.
    let second = file("b.jsonl", cases("B"));
    let (out, _) = ok(signoff(&ws, &["import", &second]));
    assert!(out.contains("classified 4 case(s)"), "{out}");

    let (out, json) = ok(signoff(
        &ws,
        &[
            "intake",
            "thresholds",
            "--set",
            "high=0.99,medium=0.9",
            "--on",
            "labelled",
            "--json",
        ],
    ));
    assert_eq!(json["saved"]["version"], 2, "{out}");
    assert_eq!(json["rows"], 6, "the model-classified labelled cases");
    let (_, json) = ok(signoff(&ws, &["intake", "thresholds", "--json"]));
    assert_eq!(json["versions"].as_array().unwrap().len(), 2);
    // Decided cases: none yet, so there is nothing to calibrate on and nothing is saved.
    let o = signoff(
        &ws,
        &["intake", "thresholds", "--set", "high=0.9,medium=0.8"],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no labelled rows"));
    let bad = signoff(&ws, &["intake", "thresholds", "--set", "high=x"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--set high"));

    let (_, json) = ok(signoff(
        &ws,
        &["intake", "classify", "--case", "A-0", "--json"],
    ));
    assert_eq!(json["threshold_version"], 2);
    let (out, _) = ok(signoff(&ws, &["audit", "history", "--case", "A-0"]));
    let entries = out
        .lines()
        .filter(|l| l.contains("\"kind\":\"classification\""))
        .count();
    assert_eq!(entries, 2, "{out}");
    ok(signoff(&ws, &["audit", "verify"]));
}
