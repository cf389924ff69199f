//! Outbound actions in the store alone (no network): the upstream setting is checked and its
//! change audited by commitment; an action row's identity can never be rewritten or deleted;
//! with the upstream cleared, or an empty reply, nothing is queued.

mod support;

use signoff_store::Workspace;
use support::{clock, import_rows, keyed, kinds, reviewer};

fn ws(dir: &std::path::Path) -> Workspace {
    let mut w = keyed(dir, 3);
    import_rows(
        &mut w,
        dir,
        "S",
        &[("K1", "one", None), ("K2", "two", None)],
    );
    reviewer(&mut w, "r1", "Ada", 4);
    w
}

/// [`ws`] with an upstream set (nothing listens there; nothing is sent in these tests).
fn with_upstream(dir: &std::path::Path) -> Workspace {
    let mut w = ws(dir);
    w.set_upstream(Some("http://127.0.0.1:9/v1"), "r1", &clock())
        .unwrap();
    w
}

/// Approves case `id` with a reply to send.
fn approve(w: &mut Workspace, id: &str) {
    let case_seq = w.case_seq(id).unwrap();
    w.set_draft(case_seq, "Parking is free for guests.")
        .unwrap();
    support::approve(w, case_seq).unwrap();
}

#[test]
fn the_upstream_setting_is_checked_and_audited_by_commitment() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = ws(dir.path());
    let e = w
        .set_upstream(Some("https://u:secret@crm.example/api"), "r1", &clock())
        .unwrap_err()
        .to_string();
    assert!(e.contains("credentials"), "{e}");
    assert_eq!(w.upstream().unwrap(), None, "a refused URL changes nothing");
    let set = w
        .set_upstream(Some("https://crm.example/api/"), "r1", &clock())
        .unwrap();
    assert_eq!(set.as_deref(), Some("https://crm.example/api"));
    let leaf: Vec<u8> = w
        .conn()
        .query_row(
            "SELECT leaf FROM audit_entries ORDER BY idx DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let leaf = String::from_utf8(leaf).unwrap();
    assert!(
        leaf.contains("upstream_set") && !leaf.contains("crm.example"),
        "{leaf}"
    );
    approve(&mut w, "K1");
    assert_eq!(w.actions(None).unwrap().len(), 1);
    w.set_upstream(None, "r1", &clock()).unwrap();
    approve(&mut w, "K2");
    assert_eq!(w.actions(None).unwrap().len(), 1, "no upstream, no action");
    assert_eq!(kinds(&w).iter().filter(|k| *k == "upstream_set").count(), 2);
    w.audit_verify(None, &mut |_, _| {}).unwrap();
}

#[test]
fn an_actions_identity_is_never_rewritten_or_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = with_upstream(dir.path());
    approve(&mut w, "K1");
    let c = w.conn();
    for sql in [
        "UPDATE actions SET idempotency_key = 'x'",
        "UPDATE actions SET body_sha256 = 'x'",
        "UPDATE actions SET url = 'http://elsewhere/replies'",
        "DELETE FROM actions",
    ] {
        let e = c.execute(sql, []).unwrap_err().to_string();
        assert!(e.contains("never"), "{sql}: {e}");
    }
    assert!(
        c.execute("UPDATE actions SET state = 'bogus'", []).is_err(),
        "states are a closed set"
    );
    let e = w
        .compensate_action(99, "why", "r1", &clock())
        .unwrap_err()
        .to_string();
    assert!(e.contains("no action #99"), "{e}");
}

#[test]
fn an_approval_with_nothing_to_say_queues_no_post() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = with_upstream(dir.path());
    let k1 = w.case_seq("K1").unwrap();
    let d = support::approve(&mut w, k1).unwrap();
    assert_eq!(d.final_text.as_deref().unwrap_or(""), "");
    assert!(
        w.actions(None).unwrap().is_empty(),
        "an empty reply is not posted"
    );
    assert!(!kinds(&w).iter().any(|k| k == "action_queued"));
    approve(&mut w, "K2");
    assert_eq!(w.actions(None).unwrap().len(), 1, "a reply with text is");
    w.audit_verify(None, &mut |_, _| {}).unwrap();
}
