//! Outbound actions in a real workspace file against a real upstream on 127.0.0.1 that stores
//! replies by idempotency key: the action is queued in the disposition's transaction; a
//! retried send after a 500 or a lost answer posts exactly once; a 4xx fails without retry and
//! can be retried explicitly; undo compensates (DELETE by key) what was sent and cancels what
//! was not; a crash between send and record leaves exactly one reply upstream. The log
//! verifies after every scenario.

#[path = "../../signoff-store/tests/support/mod.rs"]
mod support;
#[path = "../../signoff-sync/tests/support/upstream.rs"]
mod upstream;

use signoff_api::actions::{send, send_due, SendOptions};
use signoff_core::DispositionKind;
use signoff_store::{Decision, Workspace};
use std::sync::Arc;
use std::time::Duration;
use support::{clock, import_rows, keyed, kinds, reviewer};
use upstream::{Fault, Upstream};

const REPLY: &str = "Parking is free on site [1].";

fn fast() -> SendOptions {
    SendOptions {
        timeout: Duration::from_secs(5),
        attempts: 3,
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
    }
}

/// A workspace with reviewer r1 (key loaded), case C1 with a draft, and the upstream set.
fn setup(dir: &std::path::Path, up: Option<&Upstream>) -> (Workspace, i64) {
    let mut w = keyed(dir, 7);
    import_rows(&mut w, dir, "Parking", &[("C1", "Is parking free?", None)]);
    reviewer(&mut w, "r1", "Ada", 5);
    w.put_reason_code("wrong", "Wrong").unwrap();
    let seq = w.case_seq("C1").unwrap();
    w.set_draft(seq, REPLY).unwrap();
    if let Some(up) = up {
        w.set_upstream(Some(&up.base), "r1", &clock()).unwrap();
    }
    (w, seq)
}

fn decide(w: &mut Workspace, case_seq: i64, kind: DispositionKind) -> i64 {
    w.decide(
        "r1",
        &Decision {
            case_seq,
            kind,
            reason_code: (kind != DispositionKind::Approve).then(|| "wrong".into()),
            rationale: None,
            final_text: None,
            recheck: None,
        },
        &clock(),
    )
    .unwrap()
    .seq
}

fn verify(w: &Workspace) {
    w.audit_verify(None, &mut |_, _| {}).unwrap();
}

/// The leaf of entry `idx`, parsed.
fn leaf(w: &Workspace, idx: i64) -> serde_json::Value {
    let bytes: Vec<u8> = w
        .conn()
        .query_row(
            "SELECT leaf FROM audit_entries WHERE idx = ?1",
            [idx],
            |r| r.get(0),
        )
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn last_leaf(w: &Workspace) -> serde_json::Value {
    let n: i64 = w
        .conn()
        .query_row("SELECT max(idx) FROM audit_entries", [], |r| r.get(0))
        .unwrap();
    leaf(w, n)
}

#[test]
fn an_approval_queues_its_action_in_the_same_transaction_with_a_derived_key() {
    let t = tempfile::tempdir().unwrap();
    let up = Upstream::start();
    let (mut w, c) = setup(t.path(), Some(&up));
    let d = decide(&mut w, c, DispositionKind::Approve);
    let a = &w.actions(Some(c)).unwrap()[0];
    assert_eq!((a.state.as_str(), a.disposition_seq), ("queued", d));
    let k = kinds(&w);
    assert_eq!(&k[k.len() - 2..], ["disposition", "action_queued"]);
    let disp_idx = a.audit_idx - 1;
    assert_eq!(leaf(&w, disp_idx)["kind"], "disposition");
    let sealed_between: i64 = w
        .conn()
        .query_row(
            "SELECT count(*) FROM audit_checkpoints WHERE size = ?1",
            [disp_idx + 1],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        sealed_between, 0,
        "one transaction, one checkpoint after both"
    );
    let hash: Vec<u8> = w
        .conn()
        .query_row(
            "SELECT hash FROM audit_entries WHERE idx = ?1",
            [disp_idx],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        a.idempotency_key,
        signoff_store::actions::idempotency_key("C1", &hash)
    );
    assert_eq!(a.url, format!("{}/replies", up.base));
    assert!(up.requests().is_empty(), "queued, not sent, by the store");
    verify(&w);
}

#[test]
fn no_upstream_or_a_rejection_queues_nothing() {
    let t = tempfile::tempdir().unwrap();
    let (mut w, c) = setup(t.path(), None);
    decide(&mut w, c, DispositionKind::Approve);
    assert!(w.actions(None).unwrap().is_empty());
    let t2 = tempfile::tempdir().unwrap();
    let up = Upstream::start();
    let (mut w2, c2) = setup(t2.path(), Some(&up));
    decide(&mut w2, c2, DispositionKind::Reject);
    assert!(w2.actions(None).unwrap().is_empty());
    assert!(!kinds(&w2).contains(&"action_queued".to_string()));
}

#[test]
fn a_500_and_a_lost_answer_are_retried_and_post_exactly_once() {
    let t = tempfile::tempdir().unwrap();
    let up = Upstream::start();
    let (mut w, c) = setup(t.path(), Some(&up));
    decide(&mut w, c, DispositionKind::Approve);
    up.fail_next(&[Fault::Status(500), Fault::DropAfterStore]);
    let done = send_due(&mut w, Some(c), &fast(), &clock()).unwrap();
    assert_eq!(done.len(), 1);
    let a = &done[0];
    assert_eq!(
        (a.state.as_str(), a.attempts, a.last_status),
        ("sent", 3, Some(200))
    );
    assert!(!a.in_flight);
    let replies = up.replies();
    assert_eq!(replies.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&replies[&a.idempotency_key]).unwrap();
    assert_eq!(
        (body["case_id"].as_str(), body["text"].as_str()),
        (Some("C1"), Some(REPLY))
    );
    let e = last_leaf(&w);
    assert_eq!(e["kind"], "action_done");
    assert_eq!(
        (
            e["payload"]["status"].as_i64(),
            e["payload"]["attempts"].as_i64()
        ),
        (Some(200), Some(3))
    );
    assert_eq!(
        e["payload"]["body_sha256"].as_str(),
        Some(a.body_sha256.as_str())
    );
    assert!(
        !e.to_string().contains("Parking"),
        "the reply text stays out of the log"
    );
    assert!(
        send_due(&mut w, None, &fast(), &clock())
            .unwrap()
            .is_empty(),
        "nothing due"
    );
    verify(&w);
}

#[test]
fn a_4xx_fails_without_retry_and_is_retried_only_when_asked() {
    let t = tempfile::tempdir().unwrap();
    let up = Upstream::start();
    let (mut w, c) = setup(t.path(), Some(&up));
    decide(&mut w, c, DispositionKind::Approve);
    up.fail_next(&[Fault::Status(422)]);
    let a = &send_due(&mut w, None, &fast(), &clock()).unwrap()[0];
    assert_eq!(
        (a.state.as_str(), a.attempts, a.last_status),
        ("failed", 1, Some(422))
    );
    assert_eq!(up.requests().len(), 1);
    let e = last_leaf(&w);
    assert_eq!(
        (e["kind"].as_str(), e["payload"]["error"].as_str()),
        (Some("action_failed"), Some("http_status"))
    );
    assert!(
        w.due_actions().unwrap().is_empty(),
        "failed waits for a retry"
    );
    let err = send(&mut w, a.seq, false, &fast(), &clock())
        .unwrap_err()
        .to_string();
    assert!(err.contains("retry it explicitly"), "{err}");
    let a = send(&mut w, a.seq, true, &fast(), &clock()).unwrap();
    assert_eq!(
        (a.state.as_str(), a.attempts, a.last_status),
        ("sent", 2, Some(201))
    );
    assert_eq!(up.replies().len(), 1);
    let err = send(&mut w, a.seq, true, &fast(), &clock())
        .unwrap_err()
        .to_string();
    assert!(err.contains("is sent; there is nothing to send"), "{err}");
    verify(&w);
}

#[test]
fn undo_compensates_a_sent_reply_and_cancels_an_unsent_one() {
    let t = tempfile::tempdir().unwrap();
    let up = Upstream::start();
    let (mut w, c) = setup(t.path(), Some(&up));
    let d = decide(&mut w, c, DispositionKind::Approve);
    let a = send_due(&mut w, None, &fast(), &clock()).unwrap().remove(0);
    assert_eq!(up.replies().len(), 1);
    w.undo("r1", d, 10, &clock()).unwrap();
    let k = kinds(&w);
    assert_eq!(&k[k.len() - 2..], ["undo", "action_compensation_queued"]);
    assert_eq!(w.action(a.seq).unwrap().state, "compensating");
    up.fail_next(&[Fault::Status(503)]);
    let a = send_due(&mut w, None, &fast(), &clock()).unwrap().remove(0);
    assert_eq!(
        (a.state.as_str(), a.last_status),
        ("compensated", Some(204))
    );
    assert!(up.replies().is_empty(), "compensation removed the reply");
    let (method, path, _) = up.requests().pop().unwrap();
    assert_eq!(
        (method.as_str(), path),
        ("DELETE", format!("/v1/replies/{}", a.idempotency_key))
    );
    assert_eq!(last_leaf(&w)["kind"], "action_compensated");
    verify(&w);

    // Decided again and undone before sending: cancelled, nothing goes upstream.
    let d2 = decide(&mut w, c, DispositionKind::Approve);
    let before = up.requests().len();
    w.undo("r1", d2, 10, &clock()).unwrap();
    let a2 = &w.actions(Some(c)).unwrap()[0];
    assert_eq!(a2.state, "cancelled");
    assert_ne!(
        a2.idempotency_key, a.idempotency_key,
        "a new disposition, a new key"
    );
    assert_eq!(kinds(&w).last().unwrap(), "action_cancelled");
    assert!(send_due(&mut w, None, &fast(), &clock())
        .unwrap()
        .is_empty());
    assert_eq!(up.requests().len(), before);
    verify(&w);
}

#[test]
fn explicit_compensation_needs_a_reason_and_is_audited() {
    let t = tempfile::tempdir().unwrap();
    let up = Upstream::start();
    let (mut w, c) = setup(t.path(), Some(&up));
    decide(&mut w, c, DispositionKind::Approve);
    let a = send_due(&mut w, None, &fast(), &clock()).unwrap().remove(0);
    let e = w
        .compensate_action(a.seq, " ", "r1", &clock())
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs a reason"), "{e}");
    let a = w
        .compensate_action(a.seq, "sent to the wrong thread", "r1", &clock())
        .unwrap();
    assert_eq!(a.state, "compensating");
    let e = last_leaf(&w);
    assert_eq!(e["kind"], "action_compensation_queued");
    assert_eq!(e["actor"], "r1");
    assert!(e["payload"]["reason_sha256"]
        .as_str()
        .is_some_and(|h| h.len() == 64));
    let e = w
        .compensate_action(a.seq, "again", "r1", &clock())
        .unwrap_err()
        .to_string();
    assert!(e.contains("already compensating"), "{e}");
    let a = send(&mut w, a.seq, false, &fast(), &clock()).unwrap();
    assert_eq!(a.state, "compensated");
    assert!(up.replies().is_empty());
    verify(&w);
}

#[test]
fn a_crash_between_send_and_record_leaves_exactly_one_reply() {
    let t = tempfile::tempdir().unwrap();
    let up = Upstream::start();
    let (mut w, c) = setup(t.path(), Some(&up));
    decide(&mut w, c, DispositionKind::Approve);
    let seq = w.due_actions().unwrap()[0];
    // The process sends, then dies before recording the outcome.
    let job = w.begin_action(seq, false, &clock()).unwrap();
    assert!(signoff_api::actions::deliver(&job, &fast()).ok);
    drop(w);
    assert_eq!(up.replies().len(), 1);

    let mut w = keyed(t.path(), 7);
    w.attach_reviewer_key(
        "r1",
        Arc::new(signoff_audit::note::Ed25519Key::from_seed([5; 32])),
        &clock(),
    )
    .unwrap();
    let a = w.action(seq).unwrap();
    assert_eq!(
        (a.state.as_str(), a.in_flight),
        ("queued", true),
        "the crash is visible"
    );
    let a = send_due(&mut w, None, &fast(), &clock()).unwrap().remove(0);
    assert_eq!(
        (a.state.as_str(), a.last_status),
        ("sent", Some(200)),
        "a replay"
    );
    assert_eq!(up.replies().len(), 1, "exactly one reply upstream");
    verify(&w);
}

#[test]
fn undoing_after_a_crash_mid_send_compensates_rather_than_cancels() {
    let t = tempfile::tempdir().unwrap();
    let up = Upstream::start();
    let (mut w, c) = setup(t.path(), Some(&up));
    let d = decide(&mut w, c, DispositionKind::Approve);
    let seq = w.due_actions().unwrap()[0];
    let job = w.begin_action(seq, false, &clock()).unwrap();
    assert!(signoff_api::actions::deliver(&job, &fast()).ok);
    w.undo("r1", d, 10, &clock()).unwrap();
    assert_eq!(w.action(seq).unwrap().state, "compensating");
    send_due(&mut w, None, &fast(), &clock()).unwrap();
    assert_eq!(w.action(seq).unwrap().state, "compensated");
    assert!(up.replies().is_empty());
    verify(&w);
}

#[test]
fn a_post_that_lands_after_its_withdrawal_is_withdrawn_again() {
    let t = tempfile::tempdir().unwrap();
    let up = Upstream::start();
    let (mut w, c) = setup(t.path(), Some(&up));
    let d = decide(&mut w, c, DispositionKind::Approve);
    let seq = w.due_actions().unwrap()[0];
    // The post is taken; before it goes out the reviewer undoes, and the DELETE runs first.
    let post = w.begin_action(seq, false, &clock()).unwrap();
    w.undo("r1", d, 10, &clock()).unwrap();
    let del = w.begin_action(seq, false, &clock()).unwrap();
    let gone = signoff_api::actions::deliver(&del, &fast());
    assert_eq!(gone.status, Some(404), "nothing there yet");
    assert_eq!(
        w.finish_action(&del, &gone, &clock()).unwrap().state,
        "compensated"
    );
    // Then the post lands.
    let landed = signoff_api::actions::deliver(&post, &fast());
    assert_eq!(landed.status, Some(201));
    let a = w.finish_action(&post, &landed, &clock()).unwrap();
    assert_eq!(a.state, "compensating", "withdrawn again, not left sent");
    assert_eq!(up.replies().len(), 1);
    let a = send_due(&mut w, None, &fast(), &clock()).unwrap().remove(0);
    assert_eq!(
        (a.state.as_str(), a.last_status),
        ("compensated", Some(204))
    );
    assert!(up.replies().is_empty());
    verify(&w);
}
