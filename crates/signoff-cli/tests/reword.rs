//! `signoff draft --model NAME` with a `kind = "local"` model (SmolLM2 rewording the offline
//! draft) through the binary: without the GGUF the draft falls back to the offline drafter and
//! its route names the missing file and scripts/setup.sh; with it (ignored: runs the model)
//! the reworded draft keeps Signoff's citations, records the model and passes the audit.

mod support;

use std::path::{Path, PathBuf};
use support::{approved_corpus, import_cases, json, ok, run};

/// A workspace with one approved passage, one open case and a `smol` local model whose
/// directory is `model_dir`.
fn workspace(t: &Path, model_dir: &Path) -> PathBuf {
    let ws = t.join("ws");
    ok(run(
        &["--reviewer", "r1", "init", "--reviewer-name", "Ada"],
        &ws,
    ));
    let page = t.join("hotel.html");
    std::fs::write(
        &page,
        "<h1>Acorn Guest House</h1><p>Parking is free on site for every guest. Check-in starts at 3:30pm and breakfast is served until 10am.",
    )
    .unwrap();
    approved_corpus(&ws, &page, "Dana");
    import_cases(
        &ws,
        r#"{"id":"H-1","subject":"Parking","body":"Is parking free at the guest house, and when does check-in start?","received_at":"2026-11-20T10:00:00Z"}"#,
    );
    std::fs::write(
        ws.join("models.toml"),
        format!(
            "[models.smol]\nkind = \"local\"\nmodel = \"smollm2-135m\"\nmodel_dir = {:?}\n\n[[routes]]\nmodel = \"offline\"\n",
            model_dir.display().to_string()
        ),
    )
    .unwrap();
    ws
}

#[test]
fn a_missing_local_model_falls_back_to_offline_and_says_how_to_install_it() {
    let t = tempfile::tempdir().unwrap();
    let empty = t.path().join("no-model");
    let ws = workspace(t.path(), &empty);
    let listed = ok(run(&["model", "list"], &ws));
    assert!(
        listed.contains("smol") && listed.contains("local"),
        "{listed}"
    );
    let d = json(run(
        &["draft", "H-1", "--model", "smol", "--lexical", "--json"],
        &ws,
    ));
    assert_eq!(d["model"], "offline");
    assert_eq!(d["model_id"], "signoff-extractive");
    let route = d["route"].as_str().unwrap();
    assert!(
        route.contains("smol skipped")
            && route.contains(
                &empty
                    .join("SmolLM2-135M-Instruct.Q4_1.gguf")
                    .display()
                    .to_string()
            )
            && route.contains("scripts/setup.sh"),
        "{route}"
    );
    assert!(!d["citations"].as_array().unwrap().is_empty());
    // The default route never touches the local model.
    let d = json(run(&["draft", "H-1", "--lexical", "--json"], &ws));
    assert_eq!(d["route"], "offline ran");
    ok(run(&["audit", "verify"], &ws));
}

#[test]
#[ignore = "runs SmolLM2-135M; needs scripts/setup.sh"]
fn a_reworded_draft_through_the_cli_keeps_signoffs_citations() {
    let root = std::env::var("SIGNOFF_MODEL_DIR")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/var/cache/signoff-models".into());
    let t = tempfile::tempdir().unwrap();
    let ws = workspace(t.path(), &Path::new(&root).join("smollm2-135m"));
    let offline = json(run(&["draft", "H-1", "--lexical", "--json"], &ws));
    let d = json(run(
        &["draft", "H-1", "--model", "smol", "--lexical", "--json"],
        &ws,
    ));
    assert_eq!(d["model"], "smol", "{d}");
    assert_eq!(d["model_id"], "smollm2-135m-instruct+signoff-extractive");
    let version = d["model_version"].as_str().unwrap();
    assert!(
        version.contains("gguf:b179c9523d0e6a0f") && version.contains("prompt:reword_sentence"),
        "{version}"
    );
    assert!(d["route"].as_str().unwrap().contains("reworded"), "{d}");
    // Same citations (chunk, span) as the offline draft: the model never chose them.
    assert_eq!(d["citations"], offline["citations"]);
    assert_eq!(d["prompt_fingerprint"], offline["prompt_fingerprint"]);
    for c in d["claims"].as_array().unwrap() {
        assert!(!c["markers"].as_array().unwrap().is_empty(), "{d}");
    }
    ok(run(&["audit", "verify"], &ws));
}

#[test]
fn the_reword_bench_without_the_model_names_the_path_and_the_setup_script() {
    let t = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_signoff"))
        .args(["bench", "reword"])
        .env("SIGNOFF_MODEL_DIR", t.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains(&t.path().join("smollm2-135m").display().to_string())
            && err.contains("scripts/setup.sh"),
        "{err}"
    );
}
