//! `signoff eval citations` on a small hand-written pair file: the checked-in support model's
//! hard checks catch a changed time, a changed price, a changed count's grammar, an answering
//! "No" before a plain statement, a flipped polarity word, a time's minutes cut to one digit
//! and a review count the passage's lines cannot back, whatever the weights say, and
//! leave the verbatim answers alone; `--train` writes the hard checks it was given into the
//! model file and refuses one that is not a lexical feature.

mod support;

use support::{fails, json, ok, run_opt};

/// FAQ-style passages, each with its verbatim (supported) answer and a changed copy.
const ROWS: &[(&str, &str, &str)] = &[
    (
        "Acorn Guest House: What time is check-in? Check-in is from 3:00 pm.",
        "Check-in is from 3:00 pm.",
        "Check-in is from 17:00.",
    ),
    (
        "Allenbell: How much is breakfast? Breakfast costs £11 per guest.",
        "Breakfast costs £11 per guest.",
        "Breakfast costs 14 pounds per guest.",
    ),
    (
        "Avalon: Are pets allowed? Pets are allowed in all rooms at Avalon.",
        "Pets are allowed in all rooms at Avalon.",
        "Pets are prohibited in all rooms at Avalon.",
    ),
    (
        "Hobsons House: Is it quiet? Yes, Hobsons House is very quiet at night.",
        "Yes, Hobsons House is very quiet at night.",
        "No, Hobsons House is very quiet at night.",
    ),
    (
        "Cityroomz: Can I expect a view? One should expect a lovely view at Cityroomz.",
        "One should expect a lovely view at Cityroomz.",
        "Five should expect a lovely view at Cityroomz.",
    ),
    (
        "Lovell Lodge: When is check-in? Check-in is from 15:00 to 22:00.",
        "Check-in is from 15:00 to 22:00.",
        "Check-in is from 15:00 to 22:1.",
    ),
    (
        "Gonville Hotel: The view was great.\nGonville Hotel: We loved the view.\nGonville Hotel: The view was stunning.",
        "Out of three reviews, all liked the view at the Gonville.",
        "Out of two reviews, all liked the view at the Gonville.",
    ),
];

fn pairs_file(dir: &std::path::Path) -> std::path::PathBuf {
    let mut text = String::new();
    for (passage, ok, changed) in ROWS {
        for (claim, supported, kind) in [(ok, true, "supported_faq"), (changed, false, "changed")] {
            let row = serde_json::json!({
                "claim": claim, "passage": passage, "supported": supported, "kind": kind,
                "entity": passage.split(':').next().unwrap(),
            });
            text += &format!("{row}\n");
        }
    }
    let p = dir.join("pairs.jsonl");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn hard_checks_catch_changed_numbers_and_flips_and_spare_verbatim_answers() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = pairs_file(dir.path());
    let v = json(run_opt(
        &[
            "eval",
            "citations",
            "--pairs",
            pairs.to_str().unwrap(),
            "--lexical",
            "--json",
        ],
        None,
    ));
    assert_eq!(v["n"], 14, "{v}");
    assert_eq!(v["flag_rate_by_kind"]["changed"], 1.0, "{v}");
    assert_eq!(v["flag_rate_by_kind"]["supported_faq"], 0.0, "{v}");
    assert_eq!(v["f1"], 1.0, "{v}");
}

#[test]
fn training_writes_the_hard_checks_and_refuses_an_unknown_one() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = pairs_file(dir.path());
    let model = dir.path().join("model.json");
    let p = pairs.to_str().unwrap();
    // Trains a lexical linear model on the pairs with these hard checks (and any more flags).
    let train = |hard: &str, more: &[&str]| {
        let mut args = vec![
            "eval",
            "citations",
            "--pairs",
            p,
            "--train",
            p,
            "--lexical",
            "--linear",
            "--hard",
            hard,
        ];
        args.extend_from_slice(more);
        run_opt(&args, None)
    };
    ok(train(
        "number_conflict,stance_mismatch_close",
        &["--save-model", model.to_str().unwrap()],
    ));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(m["version"], 5);
    assert_eq!(
        m["hard"],
        serde_json::json!(["number_conflict", "stance_mismatch_close"])
    );
    fails(train("cosine_passage", &[]), "hard[0]");
}
