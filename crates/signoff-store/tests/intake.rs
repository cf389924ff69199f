//! Intake in a real workspace file: model artefacts by content hash, threshold versions,
//! classifications appended with their audit entries, comparable decided cases.

mod support;

use sha2::{Digest, Sha256};
use signoff_core::{Band, DispositionKind, Reviewer};
use signoff_store::intake::{
    ClassificationPath, NewClassification, NewModel, NewThresholds, Scope,
};
use signoff_store::{Decision, Workspace};
use std::sync::Arc;
use support::{clock, import_rows, keyed, kinds};

fn ws(dir: &std::path::Path) -> Workspace {
    keyed(dir, 9)
}

fn import(w: &mut Workspace, dir: &std::path::Path, rows: &[(&str, &str, Option<&str>)]) {
    import_rows(w, dir, "s", rows)
}

fn model(bytes: &[u8]) -> String {
    format!("intake-{}", hex::encode(&Sha256::digest(bytes)[..8]))
}

fn thresholds(id: &str) -> NewThresholds {
    NewThresholds {
        model_id: id.into(),
        target_high: None,
        target_medium: None,
        high: 0.9,
        medium: 0.6,
        reject: 0.3,
        basis: "training calibration split".into(),
    }
}

fn by_model(seq: i64, id: &str, label: &str, p: f64, band: Band, e: [f32; 2]) -> NewClassification {
    NewClassification {
        case_seq: seq,
        path: ClassificationPath::Model {
            model_id: id.into(),
            heads: "lexical".into(),
            embedding_version: Some("enc1".into()),
            threshold_version: 1,
        },
        label: label.into(),
        band,
        escalate: band == Band::Low,
        confidence: p,
        explanation: serde_json::json!({ "top_probability": p, "label": label }).to_string(),
        embedding: Some(("enc1".into(), e.to_vec())),
    }
}

#[test]
fn classifications_are_appended_with_audit_entries_and_update_the_case() {
    let t = tempfile::tempdir().unwrap();
    let mut w = ws(t.path());
    let c = clock();
    import(
        &mut w,
        t.path(),
        &[("A", "card lost", Some("lost_card")), ("B", "hello", None)],
    );
    assert_eq!(w.cases_to_classify(&Scope::Unclassified).unwrap().len(), 2);
    assert!(w.active_model().unwrap().is_none());

    let bytes = b"SGNFINT2 pretend artefact".to_vec();
    let id = model(&bytes);
    let m = NewModel {
        bytes: &bytes,
        id: &id,
        format: 2,
        heads: "lexical",
        embedding_version: None,
        labels: 3,
        train_rows: 30,
    };
    // A model id that is not the artefact's hash is refused.
    let mut wrong = m.clone();
    wrong.id = "intake-0000000000000000";
    assert!(w
        .install_model(wrong, thresholds("intake-0000000000000000"), "lead", &c)
        .unwrap_err()
        .to_string()
        .contains("does not match"));
    let v1 = w.install_model(m, thresholds(&id), "lead", &c).unwrap();
    assert_eq!(v1.version, 1);
    assert_eq!(w.active_model().unwrap().unwrap().bytes, bytes);

    let a = w.case_seq("A").unwrap();
    let b = w.case_seq("B").unwrap();
    let n = w
        .record_classifications(
            &[
                by_model(a, &id, "lost_card", 0.95, Band::High, [1.0, 0.0]),
                by_model(b, &id, "oos", 0.8, Band::Low, [0.0, 1.0]),
            ],
            &c,
        )
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(w.cases_to_classify(&Scope::Unclassified).unwrap().len(), 0);
    let k = w.classification("A").unwrap().unwrap();
    assert_eq!(
        (k.label.as_str(), k.band, k.escalate),
        ("lost_card", Band::High, false)
    );
    assert_eq!(k.confidence_ppm, 950_000);
    let kb = w.classification("B").unwrap().unwrap();
    assert!(kb.escalate);
    // The case row carries the current label and band; the file's label is kept.
    let (label, band, given): (String, String, Option<String>) = w
        .conn()
        .query_row(
            "SELECT label, band, given_label FROM cases WHERE id = 'B'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((label.as_str(), band.as_str(), given), ("oos", "low", None));

    // The leaf commits to the explanation and holds integers, not floats or text.
    let leaf: Vec<u8> = w
        .conn()
        .query_row(
            "SELECT leaf FROM audit_entries WHERE idx = ?1",
            [k.audit_idx],
            |r| r.get(0),
        )
        .unwrap();
    let leaf: serde_json::Value = serde_json::from_slice(&leaf).unwrap();
    assert_eq!(leaf["kind"], "classification");
    assert_eq!(leaf["case_id"], "A");
    assert_eq!(leaf["payload"]["confidence_ppm"], 950_000);
    assert_eq!(leaf["payload"]["threshold_version"], 1);
    let explanation = w
        .conn()
        .query_row(
            "SELECT explanation FROM classifications WHERE seq = ?1",
            [k.seq],
            |r| r.get::<_, String>(0),
        )
        .unwrap();
    assert_eq!(
        leaf["payload"]["explanation_sha256"],
        hex::encode(Sha256::digest(explanation.as_bytes()))
    );

    // Reclassifying appends; the old row stays and cannot be changed.
    w.record_classifications(
        &[by_model(
            a,
            &id,
            "card_arrival",
            0.7,
            Band::Medium,
            [1.0, 0.0],
        )],
        &c,
    )
    .unwrap();
    assert_eq!(w.classification_history("A").unwrap().len(), 2);
    assert_eq!(
        w.classification("A").unwrap().unwrap().label,
        "card_arrival"
    );
    assert!(w
        .conn()
        .execute("UPDATE classifications SET label = 'x'", [])
        .is_err());

    // Thresholds: a new version, audited; bad ones refused.
    let mut t2 = thresholds(&id);
    t2.target_high = Some(0.97);
    t2.high = 0.95;
    let v2 = w.save_thresholds(&t2, "lead", &c).unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(w.thresholds_in_force(&id).unwrap().unwrap().version, 2);
    t2.medium = 0.99;
    assert!(w.save_thresholds(&t2, "lead", &c).is_err());
    assert_eq!(w.threshold_versions().unwrap().len(), 2);

    assert_eq!(
        kinds(&w),
        [
            "import",
            "intake_model",
            "threshold_change",
            "classification",
            "classification",
            "classification",
            "threshold_change"
        ]
    );
    let history = w.audit_history("A", None).unwrap();
    assert_eq!(
        history
            .entries
            .iter()
            .filter(|e| e.kind == "classification")
            .count(),
        2
    );
    w.audit_verify(None, &mut |_, _| {}).unwrap();

    // Calibration rows: labelled cases with a model classification.
    let rows = w.labelled_outcomes(false).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].given_label, "lost_card");
    assert!((rows[0].confidence - 0.7).abs() < 1e-9);
    assert!(w.labelled_outcomes(true).unwrap().is_empty());
    assert_eq!(w.open_model_verdicts().unwrap().len(), 2);
}

#[test]
fn comparable_cases_are_the_nearest_decided_ones_with_their_dispositions() {
    let t = tempfile::tempdir().unwrap();
    let mut w = ws(t.path());
    let c = clock();
    import(
        &mut w,
        t.path(),
        &[
            ("Q", "q", None),
            ("N", "near", None),
            ("F", "far", None),
            ("O", "open", None),
        ],
    );
    let bytes = b"artefact".to_vec();
    let id = model(&bytes);
    w.install_model(
        NewModel {
            bytes: &bytes,
            id: &id,
            format: 2,
            heads: "lexical",
            embedding_version: None,
            labels: 2,
            train_rows: 4,
        },
        thresholds(&id),
        "lead",
        &c,
    )
    .unwrap();
    let seq = |w: &Workspace, s: &str| w.case_seq(s).unwrap();
    let batch = [
        by_model(seq(&w, "Q"), &id, "a", 0.9, Band::High, [1.0, 0.0]),
        by_model(seq(&w, "N"), &id, "a", 0.9, Band::High, [0.8, 0.6]),
        by_model(seq(&w, "F"), &id, "b", 0.9, Band::High, [0.0, 1.0]),
        by_model(seq(&w, "O"), &id, "a", 0.9, Band::High, [1.0, 0.0]),
    ];
    w.record_classifications(&batch, &c).unwrap();
    assert!(
        w.comparable_cases("Q", 5).unwrap().is_empty(),
        "nothing decided yet"
    );
    w.upsert_reviewer(
        &Reviewer {
            id: "r1".into(),
            name: "Ada".into(),
        },
        &c,
    )
    .unwrap();
    w.attach_reviewer_key(
        "r1",
        Arc::new(signoff_audit::note::Ed25519Key::from_seed([5; 32])),
        &c,
    )
    .unwrap();
    for (case, kind, reason) in [
        ("N", DispositionKind::Approve, None),
        ("F", DispositionKind::Reject, Some("wrong_label")),
    ] {
        w.decide(
            "r1",
            &Decision {
                case_seq: seq(&w, case),
                kind,
                reason_code: reason.map(str::to_string),
                rationale: None,
                final_text: None,
                recheck: None,
            },
            &c,
        )
        .unwrap();
    }
    let near = w.comparable_cases("Q", 5).unwrap();
    let ids: Vec<&str> = near.iter().map(|x| x.case_id.as_str()).collect();
    assert_eq!(ids, ["N", "F"], "open case O is not a prior decision");
    assert!((near[0].similarity - 0.8).abs() < 1e-6);
    assert_eq!(near[0].disposition.as_deref(), Some("approve"));
    assert_eq!(near[1].reason_code.as_deref(), Some("wrong_label"));
    assert_eq!(w.comparable_cases("Q", 1).unwrap().len(), 1);
}

#[test]
fn rules_versions_are_recorded_once_and_the_newest_is_in_force() {
    let t = tempfile::tempdir().unwrap();
    let mut w = ws(t.path());
    let c = clock();
    // A rules version is the SHA-256 of the rules text (audit verify recomputes it).
    let v = |t: &str| hex::encode(Sha256::digest(t.as_bytes()));
    w.record_rules(&v("[[rule]]"), "[[rule]]", &c).unwrap();
    w.record_rules(&v("[[rule]]"), "[[rule]]", &c).unwrap();
    w.record_rules(&v("# two"), "# two", &c).unwrap();
    assert_eq!(w.rules_in_force().unwrap().unwrap().0, v("# two"));
    assert_eq!(kinds(&w), ["intake_rules", "intake_rules"]);
    w.audit_verify(None, &mut |_, _| {}).unwrap();
}
