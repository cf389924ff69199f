//! `signoff eval drafts` on the hand-made tiny BEIR set: every judged query drafted offline
//! from BM25 hits, the citations judged against the qrels, worked by hand (see the fixture's
//! README for the BM25 rankings): q1 cites c1 (relevant), q2 cites c2 (unjudged) and i2 (relevant), q3
//! retrieves nothing and so has no grounding.

mod support;

use support::{fails, json, ok, run_opt};

fn fixture() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../signoff-context/tests/fixtures/tiny"
    )
    .to_string()
}

#[test]
fn citation_precision_and_grounding_match_the_hand_worked_figures() {
    let v = json(run_opt(
        &[
            "eval",
            "drafts",
            "--beir",
            &fixture(),
            "--lexical",
            "--json",
        ],
        None,
    ));
    assert_eq!(v["queries"], 3, "{v}");
    assert_eq!(v["cited"], 3, "{v}");
    let f = |k: &str| v[k].as_f64().unwrap();
    assert!((f("citation_precision") - 2.0 / 3.0).abs() < 1e-9, "{v}");
    assert!((f("no_grounding") - 1.0 / 3.0).abs() < 1e-9, "{v}");
    // Each quoted sentence is one claim, and a verbatim quote of its passage is supported.
    assert_eq!(v["claims"], 3, "{v}");
    assert_eq!(f("claims_supported"), 1.0, "{v}");
    assert!(f("p95_ms") >= f("p50_ms") && f("p50_ms") > 0.0, "{v}");
}

#[test]
fn the_table_names_every_column() {
    let out = ok(run_opt(
        &[
            "eval",
            "drafts",
            "--beir",
            &fixture(),
            "--mode",
            "bm25",
            "--lexical",
        ],
        None,
    ));
    for col in ["cit.prec", "claims", "supported", "no grounding", "p95 ms"] {
        assert!(out.contains(col), "{col} missing from:\n{out}");
    }
    assert!(out.contains("3 judged queries"), "{out}");
}

#[test]
fn a_missing_set_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    fails(
        run_opt(
            &[
                "eval",
                "drafts",
                "--beir",
                missing.to_str().unwrap(),
                "--lexical",
            ],
            None,
        ),
        "nope",
    );
}
