//! `signoff eval retrieval` as scripts use it: the contract's JSON (last line, one object per
//! mode) on the hand-made tiny BEIR set, and the BM25 fallback of the other modes when the
//! embedding model is absent.

use std::process::Command;

fn fixture() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../signoff-context/tests/fixtures/tiny"
    )
    .to_string()
}

#[test]
fn bm25_prints_the_contract_keys_with_the_hand_computed_figures() {
    let o = Command::new(env!("CARGO_BIN_EXE_signoff"))
        .args([
            "eval",
            "retrieval",
            "--beir",
            &fixture(),
            "--mode",
            "bm25",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let bm25 = v["bm25"].as_object().expect("an object for mode bm25");
    let mut keys: Vec<&str> = bm25.keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "mrr@10",
            "ndcg@10",
            "p50_ms",
            "p95_ms",
            "recall@100",
            "recall@5"
        ]
    );
    let f = |k: &str| bm25[k].as_f64().unwrap();
    assert!((f("ndcg@10") - 0.493_208).abs() < 1e-5, "{v}");
    assert!((f("recall@5") - 0.5).abs() < 1e-9, "{v}");
    assert!((f("recall@100") - 0.5).abs() < 1e-9, "{v}");
    assert!((f("mrr@10") - 0.5).abs() < 1e-9, "{v}");
    assert!(f("p95_ms") >= f("p50_ms"));
}

#[test]
fn the_table_names_every_column() {
    let o = Command::new(env!("CARGO_BIN_EXE_signoff"))
        .args(["eval", "retrieval", "--beir", &fixture()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    for col in [
        "mode", "nDCG@10", "R@5", "R@100", "MRR@10", "p50 ms", "p95 ms", "bm25",
    ] {
        assert!(stdout.contains(col), "{stdout}");
    }
}

#[test]
fn without_the_model_every_mode_but_dense_runs_on_bm25_and_says_so() {
    let empty = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_signoff"))
        .env("SIGNOFF_MODEL_DIR", empty.path())
        .args([
            "eval",
            "retrieval",
            "--beir",
            &fixture(),
            "--mode",
            "all",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("embedding model is missing") && stderr.contains("fallback: bm25"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    for mode in ["bm25", "hybrid", "rerank"] {
        let r = &v[mode];
        assert!(r["ndcg@10"].as_f64().is_some(), "{mode}: {v}");
        assert!(r["recall@100"].as_f64().unwrap() <= 1.0, "{mode}: {v}");
    }
    assert!(v.get("dense").is_none(), "{v}");
    // The fixture's queries name no entity in the corpus: hybrid is BM25 over the whole text
    // and its last turn, which for one-line queries ranks as BM25 does.
    assert!(
        (v["hybrid"]["ndcg@10"].as_f64().unwrap() - v["bm25"]["ndcg@10"].as_f64().unwrap()).abs()
            < 1e-9,
        "{v}"
    );

    let o = Command::new(env!("CARGO_BIN_EXE_signoff"))
        .env("SIGNOFF_MODEL_DIR", empty.path())
        .args(["eval", "retrieval", "--beir", &fixture(), "--mode", "dense"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("--mode dense") && stderr.contains("embedding model is missing"),
        "{stderr}"
    );
}

#[test]
fn a_broken_set_names_the_file_and_line() {
    let t = tempfile::tempdir().unwrap();
    for f in ["corpus.jsonl", "queries.jsonl"] {
        std::fs::copy(format!("{}/{f}", fixture()), t.path().join(f)).unwrap();
    }
    std::fs::create_dir(t.path().join("qrels")).unwrap();
    std::fs::write(
        t.path().join("qrels/test.tsv"),
        "query-id\tcorpus-id\tscore\nq1\tc1\ttwo\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_signoff"))
        .args(["eval", "retrieval", "--beir"])
        .arg(t.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("test.tsv:2:"), "{stderr}");
}
