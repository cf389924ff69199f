//! Routed drafting in a real workspace file against a scripted OpenAI-compatible server on
//! 127.0.0.1: a streamed remote draft is bound, checked, stored with its route and audited; a
//! draft cancelled mid-stream stores nothing (no draft row, no `draft` entry) and the log
//! still verifies.

#[path = "../../signoff-action/tests/remote_server/mod.rs"]
mod remote_server;
#[path = "../../signoff-store/tests/support/mod.rs"]
mod support;

use remote_server::{delta, stream, End, Reply};
use signoff_api::draft::{draft_case_streaming, Cancel};
use signoff_api::ApiError;
use signoff_context::ingest::{ingest_bytes, Format};
use signoff_store::Workspace;
use std::time::{Duration, Instant};
use support::{clock, import_rows, keyed, kinds};

/// A workspace with case C1 and an approved corpus, routing every case to `base_url`.
fn setup(dir: &std::path::Path, base_url: &str) -> Workspace {
    let mut w = keyed(dir, 4);
    import_rows(
        &mut w,
        dir,
        "Parking",
        &[("C1", "Is parking free for guests?", None)],
    );
    let doc = ingest_bytes(
        "parking.md",
        "parking.md",
        b"Parking is free on site for every guest. Check-in is from 3pm.",
        Format::Markdown,
        "policy",
    )
    .unwrap();
    let a = w.corpus_add("policy", &[doc], None, &clock()).unwrap();
    w.corpus_approve(&a.version, "Dana", &clock()).unwrap();
    std::fs::write(
        dir.join("models.toml"),
        format!("[models.r]\nkind = \"openai\"\nbase_url = \"{base_url}\"\nmodel = \"test-model\"\n\n[[routes]]\nmodel = \"r\"\n"),
    )
    .unwrap();
    w
}

#[test]
fn a_streamed_remote_draft_is_bound_checked_and_stored_with_its_route() {
    let srv = remote_server::start(vec![stream(
        &["Parking is free on site ", "for every guest [1]."],
        Duration::from_millis(1),
        End::Done,
    )]);
    let t = tempfile::tempdir().unwrap();
    let mut w = setup(t.path(), &srv.base_url());
    let mut got = String::new();
    let d = draft_case_streaming(
        &mut w,
        "C1",
        None,
        5,
        None,
        &clock(),
        &mut |s: &str| got.push_str(s),
        &Cancel::new(),
    )
    .unwrap();
    assert_eq!(got, "Parking is free on site for every guest [1].");
    assert_eq!((d.model_name.as_str(), d.streamed_chunks), ("r", 2));
    let rec = &d.record.draft;
    assert_eq!(rec.route, "r ran");
    assert_eq!(
        (rec.model_id.as_str(), rec.model_version.as_str()),
        ("test-model", "test-model-2026")
    );
    assert_eq!(rec.citations.len(), 1);
    assert_eq!(rec.passages.len(), 1);
    assert!(
        rec.claims.iter().all(|c| c.status == "supported"),
        "{rec:?}"
    );
    assert_eq!(kinds(&w).iter().filter(|k| *k == "draft").count(), 1);
    w.audit_verify(None, &mut |_, _| {}).unwrap();
}

#[test]
fn a_draft_cancelled_mid_stream_stores_nothing() {
    let srv = remote_server::start(vec![Reply::Stream {
        events: vec![
            (Duration::from_millis(1), delta("Parking is ")),
            (Duration::from_secs(3), delta("free [1].")),
        ],
        end: End::Done,
    }]);
    let t = tempfile::tempdir().unwrap();
    let mut w = setup(t.path(), &srv.base_url());
    let cancel = Cancel::new();
    let c2 = cancel.clone();
    let started = Instant::now();
    let e = draft_case_streaming(
        &mut w,
        "C1",
        None,
        5,
        None,
        &clock(),
        &mut move |_s: &str| c2.cancel(),
        &cancel,
    )
    .unwrap_err();
    assert!(matches!(e, ApiError::Cancelled), "{e}");
    assert_eq!(e.code(), "cancelled");
    assert!(started.elapsed() < Duration::from_secs(2));
    let seq = w.case_seq("C1").unwrap();
    assert!(w.latest_draft(seq).unwrap().is_none());
    assert!(!kinds(&w).iter().any(|k| k == "draft"));
    w.audit_verify(None, &mut |_, _| {}).unwrap();
}
