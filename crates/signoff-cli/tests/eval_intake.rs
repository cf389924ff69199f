//! `signoff eval intake` as scripts use it: the JSON contract (last line), the seeded split,
//! `--compare`, the reliability SVG, and the clear fallback to the lexical model when the
//! embedding model is absent. Uses a small synthetic set so it runs in seconds.

use std::process::Command;

fn rows() -> String {
    let topics = [
        ("card_arrival", ["card", "arrive", "delivery", "post"]),
        ("refund", ["refund", "money", "back", "return"]),
        ("pin", ["pin", "code", "forgot", "reset"]),
    ];
    let mut out = String::new();
    for (label, words) in topics {
        for i in 0..20 {
            let text = format!(
                "{} {} please {} {}",
                words[i % 4],
                words[(i + 1) % 4],
                words[(i + 2) % 4],
                i
            );
            out += &format!("{{\"text\":\"{text}\",\"label\":\"{label}\"}}\n");
        }
    }
    for i in 0..10 {
        out += &format!("{{\"text\":\"weather tomorrow sunny {i}\",\"label\":\"oos\"}}\n");
    }
    out
}

#[test]
fn eval_intake_falls_back_to_lexical_and_prints_the_contract_keys() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("rows.jsonl");
    std::fs::write(&data, rows()).unwrap();
    let svg = t.path().join("rel.svg");
    let o = Command::new(env!("CARGO_BIN_EXE_signoff"))
        .args(["eval", "intake", "--train"])
        .arg(&data)
        .args(["--split", "0.3", "--seed", "7", "--json", "--svg"])
        .arg(&svg)
        .env("SIGNOFF_MODEL_DIR", t.path().join("no-model"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("embedding model is missing") && stderr.contains("scripts/setup.sh"),
        "{stderr}"
    );
    assert!(
        stderr.contains("falling back to the lexical model"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    for k in [
        "n",
        "accuracy_in_scope",
        "oos_recall",
        "oos_precision",
        "auroc",
        "ece",
        "bands",
    ] {
        assert!(v.get(k).is_some(), "missing {k}: {v}");
    }
    assert_eq!(v["n"], 21, "30% of 20 per label and of 10 oos");
    assert_eq!(v["model"]["heads"], "lexical");
    let acc = v["accuracy_in_scope"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc));
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
}

#[test]
fn eval_intake_compare_reports_each_configuration_and_rejects_unknown_ones() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("rows.jsonl");
    std::fs::write(&data, rows()).unwrap();
    let run = |spec: &str| {
        Command::new(env!("CARGO_BIN_EXE_signoff"))
            .args(["eval", "intake", "--train"])
            .arg(&data)
            .args(["--split", "0.3", "--json", "--compare", spec])
            .env("SIGNOFF_MODEL_DIR", t.path().join("no-model"))
            .output()
            .unwrap()
    };
    let o = run("lexical,lexical:c_lexical=1");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(v["lexical"]["ece"].is_number() && v["lexical:c_lexical=1"]["ece"].is_number());
    let o = run("lexical,bogus");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown model configuration"));
}

#[test]
fn intake_train_writes_a_hashed_artefact_and_classify_explains_rule_or_model() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("rows.jsonl");
    std::fs::write(&data, rows()).unwrap();
    let model = t.path().join("m.sgi");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_signoff"))
            .args(args)
            .arg("--json")
            .env("SIGNOFF_MODEL_DIR", t.path().join("no-model"))
            .output()
            .unwrap()
    };
    let m = model.to_str().unwrap();
    let o = run(&[
        "intake",
        "train",
        "--train",
        data.to_str().unwrap(),
        "--out",
        m,
        "--model",
        "lexical",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_slice(o.stdout.split(|b| *b == b'\n').rev().nth(1).unwrap()).unwrap();
    let id = v["model_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("intake-"));

    let o = run(&[
        "intake",
        "classify",
        "--model-file",
        m,
        "--text",
        "refund money back please",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_slice(o.stdout.split(|b| *b == b'\n').rev().nth(1).unwrap()).unwrap();
    assert_eq!(v["path"]["kind"], "model");
    assert_eq!(v["path"]["model_id"], id.as_str());
    assert_eq!(v["path"]["heads"], "lexical");
    assert_eq!(v["label"], "refund");

    let rules = t.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nid = \"legal\"\nlabel = \"complaint\"\nband = \"high\"\nroute = \"escalate\"\nkeywords = [\"lawyer\"]\n",
    )
    .unwrap();
    let r = rules.to_str().unwrap();
    let o = run(&[
        "intake",
        "classify",
        "--model-file",
        m,
        "--rules",
        r,
        "--text",
        "my lawyer wants a refund",
    ]);
    let v: serde_json::Value =
        serde_json::from_slice(o.stdout.split(|b| *b == b'\n').rev().nth(1).unwrap()).unwrap();
    assert_eq!(v["path"]["rule_id"], "legal");
    assert_eq!(v["band"], "escalate");
}

#[test]
fn bench_intake_reports_throughput_split_into_encoder_and_heads() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("rows.jsonl");
    std::fs::write(&data, rows()).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_signoff"))
        .args(["bench", "intake", "--data"])
        .arg(&data)
        .args([
            "--rows", "70", "--cases", "30", "--model", "lexical", "--json",
        ])
        .env("SIGNOFF_MODEL_DIR", t.path().join("no-model"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(v["rows"], 70);
    assert_eq!(v["cases"], 30);
    assert_eq!(v["heads"], "lexical");
    // The lexical model runs no encoder: all of the per-case time is the heads'.
    assert_eq!(v["encoder_ms_per_case"], 0.0);
    assert!(v["heads_ms_per_case"].as_f64().unwrap() > 0.0, "{v}");
    assert!(v["cases_per_s"].as_f64().unwrap() > 0.0, "{v}");
    // More rows than the file has is refused, naming the file.
    let o = Command::new(env!("CARGO_BIN_EXE_signoff"))
        .args(["bench", "intake", "--data"])
        .arg(&data)
        .args(["--rows", "999", "--model", "lexical"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && stderr.contains("rows.jsonl has 70 rows"),
        "{stderr}"
    );
}
