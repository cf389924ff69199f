//! Deciding through the API re-checks the reply that goes out, in a real workspace file with an
//! approved corpus and an offline draft: the draft's own claims pass as they stand, a sentence
//! the reviewer adds that cites nothing or contradicts its passage is refused until the
//! rationale says why it may go out, and the re-check is in the disposition's signed entry.

#[path = "../../signoff-store/tests/support/mod.rs"]
mod support;

use signoff_api::draft::draft_case;
use signoff_api::review::{check_outgoing, decide};
use signoff_context::ingest::{ingest_bytes, Format};
use signoff_core::DispositionKind;
use signoff_store::{Decision, Workspace};
use support::{clock, import_rows, keyed, reviewer};

/// A workspace with reviewer r1, cases C1..C3 drafted offline from one approved passage.
fn setup(dir: &std::path::Path) -> Workspace {
    let mut w = keyed(dir, 4);
    import_rows(
        &mut w,
        dir,
        "Parking",
        &[
            ("C1", "Is parking free for guests?", None),
            ("C2", "Is parking free for guests?", None),
            ("C3", "Is parking free for guests?", None),
        ],
    );
    reviewer(&mut w, "r1", "Ada", 5);
    w.put_reason_code("wrong", "Wrong").unwrap();
    let doc = ingest_bytes(
        "parking.md",
        "parking.md",
        b"Parking is free on site for every guest. Check-in is from 3pm at the front desk.",
        Format::Markdown,
        "policy",
    )
    .unwrap();
    let a = w.corpus_add("policy", &[doc], None, &clock()).unwrap();
    w.corpus_approve(&a.version, "Dana", &clock()).unwrap();
    for id in ["C1", "C2", "C3"] {
        let d = draft_case(&mut w, id, None, 5, None, &clock()).unwrap();
        assert!(!d.record.draft.citations.is_empty(), "{:?}", d.record.draft);
        assert_eq!(d.flagged, 0, "{:?}", d.record.draft.claims);
    }
    w
}

fn decision(w: &Workspace, id: &str, kind: DispositionKind, text: Option<String>) -> Decision {
    Decision {
        case_seq: w.case_seq(id).unwrap(),
        kind,
        reason_code: (kind != DispositionKind::Approve).then(|| "wrong".into()),
        rationale: None,
        final_text: text,
        recheck: None,
    }
}

/// The `final_check` of the newest disposition entry.
fn final_check(w: &Workspace) -> serde_json::Value {
    let bytes: Vec<u8> = w
        .conn()
        .query_row(
            "SELECT leaf FROM audit_entries WHERE kind = 'disposition' ORDER BY idx DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let leaf: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    leaf["payload"]["final_check"].clone()
}

fn draft_of(w: &Workspace, id: &str) -> String {
    w.case(w.case_seq(id).unwrap()).unwrap().draft.unwrap()
}

#[test]
fn approving_the_draft_as_it_stands_rechecks_nothing_new() {
    let t = tempfile::tempdir().unwrap();
    let mut w = setup(t.path());
    let d = decision(&w, "C1", DispositionKind::Approve, None);
    decide(&mut w, "r1", &d, None, &clock()).unwrap();
    let fc = final_check(&w);
    assert_eq!(fc["rechecked"], true, "{fc}");
    assert_eq!(fc["checked"], 0, "{fc}");
    assert!(fc["kept"].as_u64().unwrap() >= 1, "{fc}");
    assert_eq!(fc["flagged"], serde_json::json!([]), "{fc}");
    assert!(
        fc["scorer"].as_str().unwrap().ends_with("(lexical)"),
        "{fc}"
    );
    w.audit_verify(None, &mut |_, _| {}).unwrap();
}

#[test]
fn an_added_uncited_sentence_needs_a_rationale_and_is_recorded() {
    let t = tempfile::tempdir().unwrap();
    let mut w = setup(t.path());
    let text = format!(
        "{} We will also send you a voucher for a free night.",
        draft_of(&w, "C2")
    );
    let seq = w.case_seq("C2").unwrap();
    let check = check_outgoing(&w, seq, &text, None).unwrap();
    assert_eq!(check.recheck.checked, 1, "{check:?}");
    assert_eq!(check.flagged.len(), 1, "{check:?}");
    assert_eq!(check.flagged[0].status, "uncited");
    assert!(check.flagged[0].text.contains("voucher"));

    let mut d = decision(&w, "C2", DispositionKind::Edit, Some(text));
    let before = support::kinds(&w).len();
    let err = decide(&mut w, "r1", &d, None, &clock()).unwrap_err();
    assert_eq!(err.code(), "unsupported_reply");
    let err = err.to_string();
    assert!(
        err.contains("voucher") && err.contains("rationale"),
        "{err}"
    );
    assert_eq!(support::kinds(&w).len(), before, "nothing recorded");
    d.rationale = Some("Goodwill gesture agreed with the duty manager".into());
    decide(&mut w, "r1", &d, None, &clock()).unwrap();
    let fc = final_check(&w);
    assert_eq!(fc["rechecked"], true, "{fc}");
    assert_eq!(fc["checked"], 1, "{fc}");
    assert_eq!(fc["flagged"][0]["status"], "uncited", "{fc}");
    assert_eq!(fc["flagged_accepted_in_rationale"], true, "{fc}");
    // The entry holds positions and statuses, never the reviewer's sentence itself.
    assert!(!fc.to_string().contains("voucher"), "{fc}");
    w.audit_verify(None, &mut |_, _| {}).unwrap();
}

#[test]
fn a_sentence_that_contradicts_its_passage_is_flagged_and_a_faithful_one_is_not() {
    let t = tempfile::tempdir().unwrap();
    let w = setup(t.path());
    let seq = w.case_seq("C3").unwrap();
    let draft = draft_of(&w, "C3");
    let wrong = format!("{draft} Check-in is from 9am at the front desk [1].");
    let check = check_outgoing(&w, seq, &wrong, None).unwrap();
    assert_eq!(check.flagged.len(), 1, "{check:?}");
    assert_eq!(check.flagged[0].status, "unsupported", "{check:?}");
    let right = format!("{draft} Check-in is from 3pm at the front desk [1].");
    let check = check_outgoing(&w, seq, &right, None).unwrap();
    assert_eq!(check.recheck.checked, 1, "{check:?}");
    assert!(check.flagged.is_empty(), "{check:?}");
}

#[test]
fn a_case_intake_judged_out_of_scope_gets_a_low_draft_band_whatever_it_quotes() {
    let t = tempfile::tempdir().unwrap();
    let mut w = setup(t.path());
    import_rows(
        &mut w,
        t.path(),
        "Parking",
        &[("C4", "Is parking free for my horse carriage?", None)],
    );
    // A rule standing in for the model's out-of-scope verdict: label oos, escalated.
    std::fs::write(
        t.path().join(signoff_api::intake::RULES_FILE),
        "[[rule]]\nid = \"carriage\"\nlabel = \"oos\"\nband = \"low\"\nroute = \"escalate\"\nkeywords = [\"carriage\"]\n",
    )
    .unwrap();
    let nowhere = t.path().join("no-encoder");
    signoff_api::intake::classify(
        &mut w,
        &signoff_store::intake::Scope::All,
        &nowhere,
        &clock(),
    )
    .unwrap();
    let k = w.classification("C4").unwrap().unwrap();
    assert!(k.escalate && k.label == "oos", "{k:?}");
    let d = draft_case(&mut w, "C4", None, 5, None, &clock()).unwrap();
    assert!(d.record.draft.grounded, "it quotes the parking passage");
    assert_eq!(d.record.draft.band, "low");
    // The in-scope case beside it keeps its band.
    let d = draft_case(&mut w, "C1", None, 5, None, &clock()).unwrap();
    assert_eq!(d.record.draft.band, "high");
}
