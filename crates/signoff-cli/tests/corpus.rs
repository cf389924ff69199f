//! `signoff corpus`, `signoff search` and `signoff evidence` through the binary on a real
//! workspace: add, re-add, diff, approve, list, search, evidence with its audit entry, and
//! the bad inputs (hostile HTML, a wrong JSON shape, binary files, an unapproved version, a
//! 10,000-character query, an empty corpus), each a clear message and no panic.

mod support;

use std::path::Path;
use std::process::Command;
use support::{fails, json, ok, run};

#[test]
fn corpus_lifecycle_through_the_binary() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    ok(run(&["init"], &ws));
    let e = fails(
        run(&["search", "refund"], &ws),
        "no corpus version is approved",
    );
    assert!(e.contains("signoff corpus approve"), "{e}");

    let html = t.path().join("refunds.html");
    std::fs::write(
        &html,
        "<html><script>alert('x')</script><h1>Refunds &amp; returns</h1><p>Refunds are paid within 30&nbsp;days.<p>Gift cards are final",
    )
    .unwrap();
    let add = json(run(
        &["corpus", "add", &s(&html), "--refresh-days", "30", "--json"],
        &ws,
    ));
    let v1 = add[0]["version"].as_str().unwrap().to_string();
    assert_eq!(add[0]["source"], "refunds");
    assert_eq!(add[0]["chunks"], 2);
    fails(
        run(&["search", "refund", "--version", &v1[..8]], &ws),
        "is not approved",
    );

    std::fs::write(
        &html,
        "<h1>Refunds &amp; returns</h1><p>Refunds are paid within 14 days.<p>Gift cards are final",
    )
    .unwrap();
    let add2 = json(run(&["corpus", "add", &s(&html), "--json"], &ws));
    let v2 = add2[0]["version"].as_str().unwrap().to_string();
    assert_ne!(v1, v2);
    let d = json(run(&["corpus", "diff", "--json"], &ws));
    assert_eq!(
        d["changed"],
        serde_json::json!(["refunds:refunds.html#refunds-returns/p1"])
    );
    assert_eq!(d["from"], v1.as_str());

    ok(run(
        &["corpus", "approve", &v2[..10], "--by", "Dana Expert"],
        &ws,
    ));
    let list = json(run(&["corpus", "list", "--json"], &ws));
    assert_eq!(list["versions"][0]["approved_by"], "Dana Expert");
    assert!(list["versions"][1]["approved_by"].is_null());
    assert_eq!(list["sources"][0]["refresh_days"], 30);
    let text = ok(run(&["corpus", "list"], &ws));
    assert!(
        text.contains("NOT APPROVED") && text.contains("approved by Dana Expert"),
        "{text}"
    );

    let hits = json(run(
        &["search", "how many days for a refund", "--k", "1", "--json"],
        &ws,
    ));
    assert_eq!(hits["version"], v2.as_str());
    assert!(hits["hits"][0]["text"]
        .as_str()
        .unwrap()
        .contains("14 days"));
    // Hybrid and rerank through the retrieval pipeline; without the model they say so and
    // run lexically, and dense refuses.
    let no_model = t.path().join("no-model");
    for mode in ["hybrid", "rerank"] {
        let o = Command::new(env!("CARGO_BIN_EXE_signoff"))
            .args([
                "--workspace",
                &s(&ws),
                "--key-file",
                &s(&ws.with_extension("key")),
            ])
            .args([
                "search",
                "how many days for a refund",
                "--mode",
                mode,
                "--json",
            ])
            .env("SIGNOFF_MODEL_DIR", &no_model)
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&o.stderr).contains("no embedding model"));
        let r = json(o);
        assert_eq!(r["mode"], mode);
        assert!(
            r["hits"][0]["text"].as_str().unwrap().contains("14 days"),
            "{r}"
        );
    }
    let o = Command::new(env!("CARGO_BIN_EXE_signoff"))
        .args([
            "--workspace",
            &s(&ws),
            "--key-file",
            &s(&ws.with_extension("key")),
        ])
        .args(["search", "refund", "--mode", "dense"])
        .env("SIGNOFF_MODEL_DIR", &no_model)
        .output()
        .unwrap();
    fails(o, "dense search needs the embedding model");
    let long = "refund ".repeat(1500);
    let o = run(&["search", &long, "--json"], &ws);
    assert!(String::from_utf8_lossy(&o.stderr).contains("cut to its first"));
    ok(o);

    // Each search is in the audit log like a retrieval: the query's hash, never its text.
    let bundle = t.path().join("audit.bundle");
    ok(run(&["audit", "export", "--out", &s(&bundle)], &ws));
    let log = String::from_utf8_lossy(&std::fs::read(&bundle).unwrap()).to_string();
    assert!(
        log.contains("\\\"kind\\\":\\\"search\\\"") || log.contains("\"kind\":\"search\""),
        "no search entry in the exported log"
    );
    assert!(!log.contains("how many days"), "query text in the log");
    // With the model installed, hybrid and dense embed the version once into a dense index
    // on disk, reuse it, and rebuild it (saying so) when it is corrupt.
    let weights = signoff_testkit::model_root().join("all-minilm-l6-v2/model.safetensors");
    if !weights.is_file() {
        signoff_testkit::model_missing(format!("{} is not installed", weights.display()));
    } else {
        let q = "how many days for a refund";
        // `corpus add` indexed the head version already; a missing index is built again.
        let dir = ws.join("index/corpus").join(&v2);
        let vec_file = || {
            std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.extension().is_some_and(|e| e == "vec"))
                .expect("a dense index file")
        };
        std::fs::remove_file(vec_file()).unwrap();
        let o = run(&["search", q, "--mode", "hybrid", "--json"], &ws);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(err.contains("built the dense index"), "{err}");
        let r = json(o);
        assert_eq!(r["mode"], "hybrid");
        assert!(
            r["hits"][0]["text"].as_str().unwrap().contains("14 days"),
            "{r}"
        );
        assert!(r["audit_index"].as_u64().is_some(), "{r}");
        let o = run(&["search", q, "--mode", "dense", "--json"], &ws);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(!err.contains("dense index"), "{err}");
        assert_eq!(json(o)["mode"], "dense");
        let vec = vec_file();
        let mut bytes = std::fs::read(&vec).unwrap();
        let n = bytes.len();
        bytes[n - 40] ^= 0xff;
        std::fs::write(&vec, bytes).unwrap();
        let o = run(&["search", q, "--mode", "rerank", "--json"], &ws);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(
            err.contains("checksum mismatch") && err.contains("rebuilt"),
            "{err}"
        );
        assert!(json(o)["hits"][0]["text"]
            .as_str()
            .unwrap()
            .contains("14 days"));
    }

    let cases = t.path().join("cases.jsonl");
    std::fs::write(&cases, r#"{"id":"C-1","subject":"Refund","body":"Where is my refund? Card 4111 1111 1111 1111, reach me at bo@example.org","received_at":"2026-11-20T10:00:00Z"}"#).unwrap();
    ok(run(&["import", &s(&cases)], &ws));
    let ev = json(run(&["evidence", "C-1", "--json"], &ws));
    assert_eq!(ev["redactions"]["card"], 1);
    assert_eq!(ev["redactions"]["email"], 1);
    let idx = ev["audit_index"].as_u64().unwrap();
    let hist = ok(run(&["audit", "history", "--case", "C-1"], &ws));
    assert!(
        hist.contains(&format!("#{idx}")) && hist.contains("retrieval"),
        "{hist}"
    );
    assert!(
        !hist.contains("4111") && !hist.contains("bo@example.org"),
        "{hist}"
    );
    ok(run(&["audit", "verify"], &ws));
}

#[test]
fn bad_corpus_files_get_clear_errors() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    ok(run(&["init"], &ws));
    let wrong = t.path().join("kb.json");
    std::fs::write(
        &wrong,
        r#"{"Flow": {"subflows": {"S": {"actions": [{"button": "B", "text": 7}]}}}}"#,
    )
    .unwrap();
    fails(
        run(&["corpus", "add", wrong.to_str().unwrap()], &ws),
        "kb.json: Flow.subflows.S.actions[0].text: expected a string, found a number",
    );
    let shape = t.path().join("list.json");
    std::fs::write(&shape, r#"{"a": 1}"#).unwrap();
    fails(
        run(&["corpus", "add", shape.to_str().unwrap()], &ws),
        "unexpected JSON shape",
    );
    let bin = t.path().join("blob.txt");
    std::fs::write(&bin, b"abc\0\x01\x02").unwrap();
    fails(
        run(&["corpus", "add", bin.to_str().unwrap()], &ws),
        "blob.txt:1: binary data",
    );
    let pdf = t.path().join("policy.pdf");
    std::fs::write(&pdf, b"%PDF").unwrap();
    fails(
        run(&["corpus", "add", pdf.to_str().unwrap()], &ws),
        "unsupported file type .pdf",
    );
    fails(
        run(&["corpus", "approve", "head", "--by", "X"], &ws),
        "no corpus version",
    );
    let out = ok(run(&["corpus", "list"], &ws));
    assert!(out.contains("the corpus is empty"), "{out}");
    ok(run(&["audit", "verify"], &ws));
}
