//! `signoff draft` and `signoff eval citations` through the binary on a real workspace: a
//! grounded draft cites retrieved passages by exact spans and is audited; a case nothing
//! matches gets an ungrounded draft in the low band; approval is blocked while a flagged
//! claim is unresolved; the eval prints the contract's keys and catches a changed number.

mod support;

use support::{approved_corpus, import_cases, json, ok, run};

#[test]
fn draft_cites_exact_spans_and_an_unmatched_case_is_ungrounded() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    // A claim resolution is signed, so the reviewer is registered with a key.
    ok(run(
        &["--reviewer", "r1", "init", "--reviewer-name", "Ada"],
        &ws,
    ));
    let html = t.path().join("refunds.html");
    std::fs::write(
        &html,
        "<h1>Refunds</h1><p>Refunds are paid within 14 days of the return.<p>Gift cards are final and cannot be refunded.",
    )
    .unwrap();
    approved_corpus(&ws, &html, "Dana Expert");
    import_cases(
        &ws,
        concat!(
            r#"{"id":"C-1","subject":"Refund","body":"How many days until my refund is paid?","received_at":"2026-11-20T10:00:00Z"}"#,
            "\n",
            r#"{"id":"C-2","subject":"Zebra","body":"Xylophone quartz?","received_at":"2026-11-20T10:00:00Z"}"#,
            "\n"
        ),
    );

    let d = json(run(&["draft", "C-1", "--lexical", "--json"], &ws));
    assert_eq!(d["grounded"], true);
    assert_eq!(d["prompt_id"], "draft_reply.v1");
    assert_eq!(d["prompt_fingerprint"].as_str().unwrap().len(), 64);
    let text = d["text"].as_str().unwrap();
    assert!(text.contains("14 days") && text.contains("[1]"), "{text}");
    let claims = d["claims"].as_array().unwrap();
    assert!(!claims.is_empty());
    assert!(claims
        .iter()
        .all(|c| !c["markers"].as_array().unwrap().is_empty()));
    assert!(
        ws.join("prompts/draft_reply.v1.txt").exists(),
        "default prompt seeded"
    );
    let again = json(run(&["draft", "C-1", "--lexical", "--json"], &ws));
    assert_eq!(
        again["prompt_fingerprint"], d["prompt_fingerprint"],
        "the same case, corpus version and template render the same prompt"
    );
    assert_eq!(again["citations"], d["citations"]);
    assert_eq!(again["claims"][0]["status"], "supported", "{again}");
    let o = run(
        &["--reviewer", "r1", "claim", "C-1", "0", "--accept", "fine"],
        &ws,
    );
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("is not flagged"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run(&["--reviewer", "r1", "claim", "C-1", "0"], &ws);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--accept REASON"));
    let hist = ok(run(&["audit", "history", "--case", "C-1"], &ws));
    assert!(
        hist.contains("draft") && hist.contains("retrieval"),
        "{hist}"
    );

    let d2 = json(run(&["draft", "C-2", "--lexical", "--json"], &ws));
    assert_eq!(d2["grounded"], false);
    assert_eq!(d2["band"], "low");
    assert!(d2["text"].as_str().unwrap().starts_with("No grounding"));
    let o = run(&["draft", "C-1", "--model", "gpt-x"], &ws);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("model \"gpt-x\" is not defined"));
    ok(run(&["audit", "verify"], &ws));
}

#[test]
fn eval_citations_prints_contract_keys_and_flags_a_changed_number() {
    let t = tempfile::tempdir().unwrap();
    let pairs = t.path().join("pairs.jsonl");
    let row = |claim: &str, ok: bool, kind: &str| {
        serde_json::json!({
            "claim": claim,
            "passage": "Acorn Guest House: What time is check-in? Check-in is from 3:30pm to 9:00pm.",
            "supported": ok, "kind": kind
        })
        .to_string()
    };
    let text = [
        row("Check-in is from 3:30pm to 9:00pm.", true, "supported_faq"),
        row("Check-in is from 5:30pm to 9:00pm.", false, "number_change"),
        row(
            "Check-in at Acorn Guest House is from 3:30pm.",
            true,
            "supported_faq",
        ),
        row(
            "Check-in is from 3:30pm to 11:00pm.",
            false,
            "number_change",
        ),
    ]
    .join("\n");
    std::fs::write(&pairs, text).unwrap();
    let ws = t.path().join("unused");
    let r = json(run(
        &[
            "eval",
            "citations",
            "--pairs",
            pairs.to_str().unwrap(),
            "--lexical",
            "--json",
        ],
        &ws,
    ));
    for k in ["precision", "recall", "f1", "auroc", "flag_rate_by_kind"] {
        assert!(r.get(k).is_some(), "missing {k}: {r}");
    }
    assert_eq!(r["flag_rate_by_kind"]["number_change"], 1.0);
    assert_eq!(r["flag_rate_by_kind"]["supported_faq"], 0.0);
    std::fs::write(&pairs, "{\"claim\": \"x\"}\n").unwrap();
    let o = run(
        &["eval", "citations", "--pairs", pairs.to_str().unwrap()],
        &ws,
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("pairs.jsonl:1:") && err.contains("passage"),
        "{err}"
    );
}
