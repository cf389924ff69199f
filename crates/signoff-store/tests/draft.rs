//! Drafts in a real workspace file: stored with frozen passages and a `draft` audit entry in
//! one transaction; flagged claims block approval until each is resolved (each resolution
//! audited); edits and removals change the text that approval sends.

mod support;

use sha2::{Digest, Sha256};
use signoff_core::{DispositionKind, Reviewer};
use signoff_store::draft::{ClaimResolution, FrozenPassage, NewDraft, StoredCitation, StoredClaim};
use signoff_store::{Access, Decision, Workspace};
use support::{approve, clock, keyed, kinds, reviewer};

fn ws(dir: &std::path::Path) -> Workspace {
    let mut w = keyed(dir, 9);
    let text = r#"{"id":"C1","subject":"Parking","body":"Is parking free?","received_at":"2026-11-24T10:00:00Z"}"#;
    let p = dir.join("cases.jsonl");
    std::fs::write(&p, format!("{text}\n")).unwrap();
    w.import_file(&p, &clock(), &mut |_| {}).unwrap();
    reviewer(&mut w, "r1", "Ada", 5);
    w
}

fn seq(w: &Workspace) -> i64 {
    w.conn()
        .query_row("SELECT seq FROM cases WHERE id = 'C1'", [], |r| r.get(0))
        .unwrap()
}

fn passage(text: &str) -> FrozenPassage {
    FrozenPassage {
        sha256: hex::encode(Sha256::digest(text.as_bytes())),
        chunk_id: "faq-1".into(),
        source: "faq".into(),
        version: "v1".into(),
        title: "Acorn Guest House".into(),
        text: text.into(),
    }
}

fn draft(case_seq: i64) -> NewDraft {
    let p = passage("Parking is free on site. Check-in is from 3pm.");
    let text = "Acorn Guest House notes: \"Parking is free on site.\" [1] Breakfast is included.";
    NewDraft {
        case_seq,
        model_id: "signoff-extractive".into(),
        model_version: "1".into(),
        route: "offline ran".into(),
        prompt_id: "draft_reply.v1".into(),
        prompt_fingerprint: "ab".repeat(32),
        corpus_version: "cv1".into(),
        chunk_ids: vec!["faq-1".into(), "faq-2".into()],
        text: text.into(),
        band: "medium".into(),
        grounded: true,
        citations: vec![StoredCitation {
            marker: 1,
            chunk_id: "faq-1".into(),
            passage_sha256: p.sha256.clone(),
            start: 0,
            end: 24,
        }],
        claims: vec![
            StoredClaim {
                start: 0,
                end: 55,
                markers: vec![1],
                score: Some(0.1),
                status: "supported".into(),
            },
            StoredClaim {
                start: 56,
                end: 78,
                markers: vec![],
                score: None,
                status: "uncited".into(),
            },
        ],
        passages: vec![p],
    }
}

#[test]
fn flagged_claim_blocks_approval_until_accepted_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = ws(dir.path());
    let s = seq(&w);
    let rec = w.store_draft(&draft(s), &clock()).unwrap();
    assert_eq!(rec.unresolved, [1]);
    assert_eq!(kinds(&w).last().unwrap(), "draft");
    let e = approve(&mut w, s).unwrap_err().to_string();
    assert!(e.contains("blocked") && e.contains("[1]"), "{e}");
    let e = w
        .resolve_claim(
            s,
            1,
            &ClaimResolution::Accept {
                reason: "  ".into(),
            },
            "r1",
            &clock(),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs a reason"), "{e}");
    let e = w
        .resolve_claim(s, 0, &ClaimResolution::Remove, "r1", &clock())
        .unwrap_err()
        .to_string();
    assert!(e.contains("not flagged"), "{e}");
    let rec = w
        .resolve_claim(
            s,
            1,
            &ClaimResolution::Accept {
                reason: "breakfast is on the rate card".into(),
            },
            "r1",
            &clock(),
        )
        .unwrap();
    assert!(rec.unresolved.is_empty());
    assert_eq!(kinds(&w).last().unwrap(), "claim_accept");
    let d = approve(&mut w, s).unwrap();
    assert_eq!(d.final_text.as_deref(), Some(draft(s).text.as_str()));
    signoff_store::Workspace::open(dir.path(), Access::Read).unwrap();
}

#[test]
fn removed_claim_leaves_the_text_that_approval_sends() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = ws(dir.path());
    let s = seq(&w);
    w.store_draft(&draft(s), &clock()).unwrap();
    let rec = w
        .resolve_claim(s, 1, &ClaimResolution::Remove, "r1", &clock())
        .unwrap();
    assert_eq!(
        rec.effective_text,
        "Acorn Guest House notes: \"Parking is free on site.\" [1]"
    );
    let e = w
        .resolve_claim(s, 1, &ClaimResolution::Remove, "r1", &clock())
        .unwrap_err()
        .to_string();
    assert!(e.contains("already resolved"), "{e}");
    assert_eq!(kinds(&w).last().unwrap(), "claim_remove");
    let d = approve(&mut w, s).unwrap();
    assert_eq!(d.final_text.as_deref(), Some(rec.effective_text.as_str()));
}

#[test]
fn frozen_passage_survives_and_bad_citations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = ws(dir.path());
    let s = seq(&w);
    let mut bad = draft(s);
    bad.citations[0].end = 500;
    let e = w.store_draft(&bad, &clock()).unwrap_err().to_string();
    assert!(e.contains("[1]") && e.contains("not inside"), "{e}");
    let mut bad = draft(s);
    bad.passages[0].text.push('!');
    assert!(w
        .store_draft(&bad, &clock())
        .unwrap_err()
        .to_string()
        .contains("does not match"));
    assert!(
        !kinds(&w).contains(&"draft".to_string()),
        "a refused draft leaves no audit entry"
    );
    let rec = w.store_draft(&draft(s), &clock()).unwrap();
    let again = w.latest_draft(s).unwrap().unwrap();
    assert_eq!(again.draft.passages, draft(s).passages);
    assert_eq!(again.draft.prompt_fingerprint, rec.draft.prompt_fingerprint);
    let n: Result<usize, _> = w.conn().execute("UPDATE draft_passages SET text = 'x'", []);
    assert!(n.is_err(), "frozen passages are never rewritten");
    w.audit_verify(None, &mut |_, _| {}).unwrap();
}

fn edit(
    w: &mut Workspace,
    case_seq: i64,
    text: &str,
) -> Result<signoff_store::DispositionRecord, signoff_store::StoreError> {
    w.decide(
        "r1",
        &Decision {
            case_seq,
            kind: DispositionKind::Edit,
            reason_code: Some("other".into()),
            rationale: None,
            final_text: Some(text.into()),
            recheck: None,
        },
        &clock(),
    )
}

/// The payload of the newest entry.
fn last_payload(w: &Workspace) -> serde_json::Value {
    let leaf: Vec<u8> = w
        .conn()
        .query_row(
            "SELECT leaf FROM audit_entries ORDER BY idx DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&leaf).unwrap()["payload"].clone()
}

#[test]
fn an_edit_is_gated_like_an_approval_and_records_what_was_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = ws(dir.path());
    w.put_reason_code("other", "Other").unwrap();
    let s = seq(&w);
    w.store_draft(&draft(s), &clock()).unwrap();
    let mine = "Acorn Guest House notes: \"Parking is free on site.\" [1] Breakfast costs extra.";
    let e = edit(&mut w, s, mine).unwrap_err().to_string();
    assert!(
        e.contains("an edit of C1 is blocked") && e.contains("[1]"),
        "{e}"
    );
    assert_eq!(kinds(&w).last().unwrap(), "draft", "nothing recorded");
    w.resolve_claim(
        s,
        1,
        &ClaimResolution::Edit {
            replacement: "Breakfast is served.".into(),
        },
        "r1",
        &clock(),
    )
    .unwrap();
    let e = edit(&mut w, s, "Parking is free [7].")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("marker [7]") && e.contains("bound to no passage"),
        "{e}"
    );
    let d = edit(&mut w, s, mine).unwrap();
    assert_eq!(d.final_text.as_deref(), Some(mine));
    let check = &last_payload(&w)["final_check"];
    assert_eq!(check["rechecked"], false);
    assert_eq!(check["markers"], 1);
    assert_eq!(check["kept_sentences"], 1, "{check}");
    assert_eq!(check["new_sentences"], 1, "{check}");
    w.audit_verify(None, &mut |_, _| {}).unwrap();
}

#[test]
fn claim_resolutions_are_signed_by_the_reviewer() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = ws(dir.path());
    let s = seq(&w);
    w.store_draft(&draft(s), &clock()).unwrap();
    w.upsert_reviewer(
        &Reviewer {
            id: "r2".into(),
            name: "Bo".into(),
        },
        &clock(),
    )
    .unwrap();
    let e = w
        .resolve_claim(s, 1, &ClaimResolution::Remove, "r2", &clock())
        .unwrap_err();
    assert!(
        matches!(e, signoff_store::StoreError::NoReviewerKey(ref id) if id == "r2"),
        "{e}"
    );
    w.resolve_claim(s, 1, &ClaimResolution::Remove, "r1", &clock())
        .unwrap();
    let sig = &last_payload(&w)["signature"];
    assert_eq!(sig["name"], "Ada");
    assert_eq!(sig["meaning"], "removed a flagged claim");
    let r = w.audit_verify(None, &mut |_, _| {}).unwrap();
    assert!(r.log.signatures >= 2, "registration and the claim: {r:?}");
}

#[test]
fn a_draft_finishing_after_the_decision_is_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = ws(dir.path());
    let s = seq(&w);
    // The reviewer decides while a model is still writing (no draft stored yet).
    approve(&mut w, s).unwrap();
    let before = kinds(&w).len();
    let e = w.store_draft(&draft(s), &clock()).unwrap_err().to_string();
    assert!(
        e.contains("already approved") && e.contains("open case"),
        "{e}"
    );
    assert_eq!(kinds(&w).len(), before, "no draft entry is appended");
    assert!(w.latest_draft(s).unwrap().is_none());
}
