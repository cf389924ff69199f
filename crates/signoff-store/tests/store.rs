//! Store behaviour on real SQLite files: import errors, idempotent re-import, queue order,
//! keyset pages, dispositions and undo.

use signoff_core::{CaseStatus, DispositionKind, FixedClock, QueueFilter, Reviewer};
use signoff_store::{Access, Decision, StoreError, Workspace};
use std::path::{Path, PathBuf};

fn clock() -> FixedClock {
    FixedClock::new("2026-11-25T10:00:00Z".parse().unwrap())
}

fn ws(dir: &Path) -> Workspace {
    let mut w = Workspace::open(dir, Access::Write).unwrap();
    w.attach_key(std::sync::Arc::new(
        signoff_audit::note::Ed25519Key::from_seed([9; 32]),
    ))
    .unwrap();
    w
}

fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

fn line(id: &str, extra: &str) -> String {
    format!(
        r#"{{"id":"{id}","subject":"S {id}","body":"Body of {id}","received_at":"2026-11-20T10:00:00Z"{extra}}}"#
    )
}

fn import_err(ws: &mut Workspace, p: &Path) -> String {
    match ws.import_file(p, &clock(), &mut |_| {}) {
        Err(e @ StoreError::Import { .. }) => e.to_string(),
        other => panic!("expected an import error, got {other:?}"),
    }
}

fn open_count(ws: &Workspace) -> i64 {
    ws.queue_count(&QueueFilter::default()).unwrap()
}

#[test]
fn reimport_is_idempotent_and_changed_cases_are_conflicts() {
    let t = tempfile::tempdir().unwrap();
    let mut w = ws(t.path());
    let f = write(
        t.path(),
        "a.jsonl",
        format!("{}\n{}\n", line("A-1", ""), line("A-2", "")),
    );
    let r = w.import_file(&f, &clock(), &mut |_| {}).unwrap();
    assert_eq!((r.new, r.unchanged, r.conflicts), (2, 0, 0));
    let r = w.import_file(&f, &clock(), &mut |_| {}).unwrap();
    assert_eq!((r.new, r.unchanged, r.conflicts), (0, 2, 0));
    let g = write(
        t.path(),
        "b.jsonl",
        format!("{}\n{}\n", line("A-1", r#","priority":3"#), line("a-2", "")),
    );
    let r = w.import_file(&g, &clock(), &mut |_| {}).unwrap();
    assert_eq!((r.new, r.unchanged, r.conflicts), (0, 0, 2), "{r:?}");
    let seq = w.case_seq("A-1").unwrap();
    assert_eq!(
        w.case(seq).unwrap().priority,
        0,
        "a conflict never overwrites"
    );
    assert_eq!(open_count(&w), 2);
}

#[test]
fn a_bad_line_rolls_back_the_whole_file_and_names_file_line_field() {
    let t = tempfile::tempdir().unwrap();
    let mut w = ws(t.path());
    let ok = write(t.path(), "ok.jsonl", line("K-1", "") + "\n");
    w.import_file(&ok, &clock(), &mut |_| {}).unwrap();
    let bad = write(
        t.path(),
        "bad.jsonl",
        format!(
            "{}\n{}\n",
            line("N-1", ""),
            line("N-2", r#","priority":-2"#)
        ),
    );
    let msg = import_err(&mut w, &bad);
    assert!(msg.contains("bad.jsonl:2: priority:"), "{msg}");
    assert_eq!(open_count(&w), 1, "nothing from the bad file, nothing lost");
    assert!(w.case_seq("N-1").is_err());
}

#[test]
fn each_kind_of_bad_input_gets_its_own_message() {
    let t = tempfile::tempdir().unwrap();
    let mut w = ws(t.path());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("malformed.jsonl", b"{\"id\": \"X\", \n".to_vec(), "malformed.jsonl:1: malformed JSON"),
        ("missing.jsonl", br#"{"id":"X","body":"b","received_at":"2026-11-20T10:00:00Z"}"#.to_vec(), "missing.jsonl:1: subject: required field is missing"),
        ("zone.jsonl", line("X", "").replace("10:00:00Z", "10:00:00").into_bytes(), "zone.jsonl:1: received_at: \"2026-11-20T10:00:00\" has no time zone"),
        ("badtime.jsonl", line("X", "").replace("2026-11-20T10:00:00Z", "yesterday").into_bytes(), "received_at: \"yesterday\" is not an RFC 3339"),
        ("unknown.jsonl", line("X", r#","colour":"red""#).into_bytes(), "unknown.jsonl:1: colour: unknown field"),
        ("utf8.jsonl", { let mut v = line("X", "").into_bytes(); v.insert(30, 0xff); v }, "utf8.jsonl:1: invalid UTF-8"),
        ("utf16.jsonl", vec![0xff, 0xfe, b'{', 0], "UTF-16"),
        ("dup.jsonl", format!("{}\n{}\n", line("D-1", ""), line("d-1", "")).into_bytes(), "dup.jsonl:2: id: id \"d-1\" already appears on line 1"),
        ("space.jsonl", line(" S-1", "").into_bytes(), "space.jsonl:1: id: has leading or trailing whitespace"),
        ("empty.jsonl", b"\n\n".to_vec(), "holds no cases"),
        ("type.jsonl", line("X", r#","priority":"high""#).into_bytes(), "type.jsonl:1: priority: \"high\" is not an integer"),
        ("huge.jsonl", line("X", "").replace("Body of X", &"x".repeat(50 * 1024 * 1024)).into_bytes(), "huge.jsonl:1: body: 50.0 MiB is over the 1.0 MiB limit"),
        ("missingcol.csv", b"id,subject,received_at\nA,s,2026-11-20T10:00:00Z\n".to_vec(), "missingcol.csv:1: body: required column is missing"),
        ("unknowncol.csv", b"id,subject,body,received_at,colour\nA,s,b,2026-11-20T10:00:00Z,red\n".to_vec(), "unknowncol.csv:1: colour: unknown column"),
        ("quote.csv", b"id,subject,body,received_at\nA,\"s,b,2026-11-20T10:00:00Z\nB,s,b,2026-11-20T10:00:00Z\n".to_vec(), "quote.csv:2: row has 2 fields but the header has 4"),
    ];
    for (name, content, want) in cases {
        let p = write(t.path(), name, content);
        let msg = import_err(&mut w, &p);
        assert!(msg.contains(want), "{name}: wanted {want:?} in:\n{msg}");
    }
    assert_eq!(open_count(&w), 0);
}

#[test]
fn csv_with_bom_crlf_quotes_and_metadata_imports() {
    let t = tempfile::tempdir().unwrap();
    let mut w = ws(t.path());
    let csv = "\u{feff}id,subject,body,received_at,priority,sla_due_at,metadata,label\r\n\
               C-1,\"Hello, world\",\"Line one\r\nline \"\"two\"\"\",2026-11-20T10:00:00+01:00,2,,\"{\"\"tier\"\":\"\"gold\"\"}\",card_arrival\r\n";
    let p = write(t.path(), "c.csv", csv);
    let r = w.import_file(&p, &clock(), &mut |_| {}).unwrap();
    assert_eq!(r.new, 1);
    let c = w.case(w.case_seq("C-1").unwrap()).unwrap();
    assert_eq!(c.subject, "Hello, world");
    assert_eq!(c.body, "Line one\r\nline \"two\"");
    assert_eq!(c.received_at.to_rfc3339(), "2026-11-20T09:00:00+00:00");
    assert_eq!(c.metadata.unwrap()["tier"], "gold");
    assert_eq!(c.label.as_deref(), Some("card_arrival"));
}

#[test]
fn queue_orders_by_sla_then_priority_then_received_and_pages_by_keyset() {
    let t = tempfile::tempdir().unwrap();
    let mut w = ws(t.path());
    let rows = [
        line("late-sla", r#","sla_due_at":"2026-11-30T00:00:00Z""#),
        line("no-sla", r#","priority":9"#),
        line(
            "early-sla-low",
            r#","sla_due_at":"2026-11-21T00:00:00Z","priority":0"#,
        ),
        line(
            "early-sla-high",
            r#","sla_due_at":"2026-11-21T00:00:00Z","priority":5"#,
        ),
        line(
            "early-sla-high-older",
            r#","sla_due_at":"2026-11-21T00:00:00Z","priority":5"#,
        )
        .replace("2026-11-20T10", "2026-11-19T10"),
    ];
    let p = write(t.path(), "q.jsonl", rows.join("\n"));
    w.import_file(&p, &clock(), &mut |_| {}).unwrap();
    let want = [
        "early-sla-high-older",
        "early-sla-high",
        "early-sla-low",
        "late-sla",
        "no-sla",
    ];
    let all: Vec<String> = w
        .queue_page(&QueueFilter::default(), None, 50)
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(all, want);
    let mut paged = vec![];
    let mut after = None;
    loop {
        let page = w.queue_page(&QueueFilter::default(), after, 2).unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.cursor);
        paged.extend(page.into_iter().map(|c| c.id));
    }
    assert_eq!(paged, want);
}

#[test]
fn full_text_and_label_filters_narrow_pages_and_counts() {
    let t = tempfile::tempdir().unwrap();
    let mut w = ws(t.path());
    let rows = [
        line("A", r#","label":"card""#).replace("Body of A", "My card was declined at the shop"),
        line("B", r#","label":"card""#).replace("Body of B", "Where is my new card"),
        line("C", r#","label":"transfer""#).replace("Body of C", "Transfer declined twice"),
    ];
    let p = write(t.path(), "f.jsonl", rows.join("\n"));
    w.import_file(&p, &clock(), &mut |_| {}).unwrap();
    let f = QueueFilter {
        text: Some("declin".into()),
        ..Default::default()
    };
    assert_eq!(w.queue_count(&f).unwrap(), 2);
    let ids: Vec<_> = w
        .queue_page(&f, None, 10)
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids.len(), 2);
    let f = QueueFilter {
        text: Some("declined".into()),
        label: Some("card".into()),
        ..Default::default()
    };
    assert_eq!(w.queue_count(&f).unwrap(), 1);
    let f = QueueFilter {
        text: Some("\" OR NEAR( *".into()),
        ..Default::default()
    };
    assert!(
        w.queue_count(&f).is_ok(),
        "typed operators never break the query"
    );
}

#[test]
fn decide_moves_the_case_out_of_the_queue_and_undo_reopens_it_within_grace() {
    let t = tempfile::tempdir().unwrap();
    let mut w = ws(t.path());
    let c = clock();
    w.upsert_reviewer(
        &Reviewer {
            id: "r1".into(),
            name: "Ada Reviewer".into(),
        },
        &c,
    )
    .unwrap();
    let err = w
        .decide(
            "r1",
            &Decision {
                case_seq: 1,
                kind: DispositionKind::Approve,
                reason_code: None,
                rationale: None,
                final_text: None,
                recheck: None,
            },
            &c,
        )
        .unwrap_err();
    assert!(err.to_string().contains("no signing key"), "{err}");
    w.attach_reviewer_key(
        "r1",
        std::sync::Arc::new(signoff_audit::note::Ed25519Key::from_seed([5; 32])),
        &c,
    )
    .unwrap();
    let p = write(
        t.path(),
        "d.jsonl",
        format!("{}\n{}\n", line("D-1", ""), line("D-2", "")),
    );
    w.import_file(&p, &c, &mut |_| {}).unwrap();
    let seq = w.case_seq("D-1").unwrap();
    w.set_draft(seq, "We will refund you.\n").unwrap();
    let reject_without_reason = Decision {
        case_seq: seq,
        kind: DispositionKind::Reject,
        reason_code: None,
        rationale: None,
        final_text: None,
        recheck: None,
    };
    assert!(w
        .decide("r1", &reject_without_reason, &c)
        .unwrap_err()
        .to_string()
        .contains("reason code is required"));
    let edit = Decision {
        case_seq: seq,
        kind: DispositionKind::Edit,
        reason_code: Some("factual_error".into()),
        rationale: Some("refund not allowed".into()),
        final_text: Some("We cannot refund you.\n".into()),
        recheck: None,
    };
    let d = w.decide("r1", &edit, &c).unwrap();
    assert_eq!(
        d.at.to_rfc3339(),
        "2026-11-25T10:00:00+00:00",
        "time comes from the injected clock"
    );
    assert!(d
        .diff
        .as_deref()
        .unwrap()
        .contains("+We cannot refund you."));
    assert_eq!(w.case(seq).unwrap().status, CaseStatus::Edited);
    assert_eq!(open_count(&w), 1);
    assert!(
        w.decide("r1", &edit, &c).is_err(),
        "a decided case cannot be decided again"
    );
    c.advance_secs(5);
    let u = w.undo("r1", d.seq, 10, &c).unwrap();
    assert_eq!(u.undoes, Some(d.seq));
    assert_eq!(w.case(seq).unwrap().status, CaseStatus::Open);
    assert_eq!(open_count(&w), 2);
    let d2 = w
        .decide(
            "r1",
            &Decision {
                kind: DispositionKind::Approve,
                reason_code: None,
                final_text: None,
                recheck: None,
                ..edit.clone()
            },
            &c,
        )
        .unwrap();
    c.advance_secs(11);
    let late = w.undo("r1", d2.seq, 10, &c).unwrap_err().to_string();
    assert!(late.contains("undo window has passed"), "{late}");
    let history: Vec<_> = w
        .dispositions_of(seq)
        .unwrap()
        .into_iter()
        .map(|d| d.kind)
        .collect();
    assert_eq!(history, ["edit", "undo", "approve"], "nothing is deleted");
    assert!(w.conn().execute("DELETE FROM dispositions", []).is_err());

    // Every change is in the audit log, which verifies and answers the one query with proofs.
    let report = w.audit_verify(None, &mut |_, _| {}).unwrap();
    assert_eq!(
        report.log.entries, 6,
        "reviewer key, import, set draft, edit, undo, approve"
    );
    assert_eq!(
        report.log.signatures, 4,
        "the registration and three signed decisions"
    );
    let h = w.audit_history("D-1", None).unwrap();
    let kinds: Vec<_> = h.entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["import", "draft_set", "disposition", "undo", "disposition"]
    );
    assert!(
        h.complete,
        "every entry about the case links to the one before"
    );
    assert!(h.entries[2].leaf.contains("\"disposition\":\"edit\""));
    assert!(
        !h.entries[2].leaf.contains("refund not allowed"),
        "rationale is committed, not copied"
    );
    let today = w
        .audit_history("d-1", Some("2026-11-25".parse().unwrap()))
        .unwrap();
    assert_eq!(today.entries.len(), 5);
    let other_day = w
        .audit_history("D-1", Some("2026-11-24".parse().unwrap()))
        .unwrap();
    assert!(other_day.entries.is_empty());
}

#[test]
fn without_a_device_key_nothing_is_changed() {
    let t = tempfile::tempdir().unwrap();
    let mut w = Workspace::open(t.path(), Access::Write).unwrap();
    let p = write(t.path(), "k.jsonl", line("K-1", ""));
    let err = w.import_file(&p, &clock(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, StoreError::NoAuditKey), "{err}");
    assert_eq!(open_count(&w), 0);
}

#[test]
fn a_workspace_refuses_a_different_device_key() {
    let t = tempfile::tempdir().unwrap();
    drop(ws(t.path()));
    let mut w = Workspace::open(t.path(), Access::Write).unwrap();
    let other = signoff_audit::note::Ed25519Key::from_seed([1; 32]);
    let err = w.attach_key(std::sync::Arc::new(other)).unwrap_err();
    assert!(matches!(err, StoreError::KeyMismatch { .. }), "{err}");
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_left_alone() {
    let t = tempfile::tempdir().unwrap();
    let db = write(t.path(), signoff_store::DB_FILE, b"hello, this is not a database at all, just some text........................................................................");
    let before = std::fs::read(&db).unwrap();
    let err = Workspace::open(t.path(), Access::Write).unwrap_err();
    assert!(err.to_string().contains("not a Signoff workspace"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn a_workspace_from_a_newer_signoff_is_refused_unchanged() {
    let t = tempfile::tempdir().unwrap();
    drop(ws(t.path()));
    let db = t.path().join(signoff_store::DB_FILE);
    rusqlite_set_version(&db, signoff_store::SCHEMA_VERSION + 1);
    let before = std::fs::read(&db).unwrap();
    let err = Workspace::open(t.path(), Access::Write).unwrap_err();
    assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
    assert!(err.to_string().contains("upgrade Signoff"));
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

fn rusqlite_set_version(db: &Path, v: i64) {
    let c = rusqlite::Connection::open(db).unwrap();
    c.execute_batch(&format!("PRAGMA user_version = {v}"))
        .unwrap();
}

#[test]
fn a_second_writer_is_refused_but_may_read() {
    let t = tempfile::tempdir().unwrap();
    let mut first = ws(t.path());
    let p = write(t.path(), "l.jsonl", line("L-1", ""));
    first.import_file(&p, &clock(), &mut |_| {}).unwrap();
    let err = Workspace::open(t.path(), Access::Write).unwrap_err();
    assert!(matches!(err, StoreError::Locked(_)), "{err}");
    let reader = Workspace::open(t.path(), Access::Read).unwrap();
    assert_eq!(open_count(&reader), 1);
}

#[test]
fn a_full_disk_fails_the_import_and_keeps_what_was_saved() {
    let t = tempfile::tempdir().unwrap();
    let mut w = ws(t.path());
    let p = write(t.path(), "s.jsonl", line("S-1", ""));
    w.import_file(&p, &clock(), &mut |_| {}).unwrap();
    let pages: i64 = w
        .conn()
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    w.conn()
        .execute_batch(&format!("PRAGMA max_page_count = {}", pages + 2))
        .unwrap();
    let big: Vec<String> = (0..2000)
        .map(|i| line(&format!("B-{i}"), "").replace("Body of", &"filler text ".repeat(50)))
        .collect();
    let q = write(t.path(), "big.jsonl", big.join("\n"));
    let err = w.import_file(&q, &clock(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, StoreError::DiskFull(_)), "{err}");
    assert!(err.to_string().contains("disk is full"));
    assert_eq!(open_count(&w), 1);
}

#[test]
fn a_version_2_log_with_every_level_stored_upgrades_and_still_verifies() {
    use signoff_audit::merkle::{MemoryTree, NodeSource};
    let t = tempfile::tempdir().unwrap();
    {
        let mut w = ws(t.path());
        for i in 0..40 {
            let mut payload = serde_json::Map::new();
            payload.insert("n".into(), i.into());
            w.record_event(signoff_audit::log::Entry {
                kind: "stress".into(),
                case_id: None,
                actor: "device".into(),
                at_ms: 1_795_000_000_000 + i,
                payload,
            })
            .unwrap();
        }
    }
    // Rebuild what schema version 2 wrote: interior hashes at every level, none of the
    // version 3–5 additions.
    let db = t.path().join(signoff_store::DB_FILE);
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let mut mem = MemoryTree::default();
        let leaves: Vec<Vec<u8>> = conn
            .prepare("SELECT leaf FROM audit_entries ORDER BY idx")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        leaves.iter().for_each(|l| mem.push(l));
        for level in 1..6u32 {
            for idx in 0..(40u64 >> level) {
                conn.execute(
                    "INSERT OR IGNORE INTO audit_nodes (level, idx, hash) VALUES (?1, ?2, ?3)",
                    rusqlite::params![level, idx as i64, mem.node(level, idx).unwrap().to_vec()],
                )
                .unwrap();
            }
        }
        conn.execute_batch(
            "DROP TRIGGER dispositions_text_erased_only; DROP TRIGGER cases_erased_once;
             DROP TRIGGER drafts_text_erased_only; DROP TRIGGER claim_resolutions_text_erased_only;
             DROP TRIGGER classifications_explanation_erased_only;
             DROP TRIGGER dispositions_no_update;
             ALTER TABLE cases DROP COLUMN erased_idx;
             CREATE TRIGGER dispositions_no_update BEFORE UPDATE ON dispositions BEGIN
                 SELECT RAISE(ABORT, 'dispositions are never changed; record a new one');
             END;
             DROP TABLE audit_catalog; DROP INDEX dispositions_kind;
             DROP TABLE case_embeddings; DROP TABLE classifications;
             DROP TABLE threshold_versions; DROP TABLE intake_models; DROP TABLE intake_rules;
             ALTER TABLE cases DROP COLUMN given_label; ALTER TABLE cases DROP COLUMN escalate;
             ALTER TABLE cases DROP COLUMN classification_seq;
             DROP TABLE retrievals; DROP TABLE corpus_version_chunks; DROP TABLE corpus_versions;
             DROP TABLE corpus_chunks; DROP TABLE corpus_documents; DROP TABLE corpus_sources;
             DROP TABLE claim_resolutions; DROP TABLE draft_claims; DROP TABLE draft_citations;
             DROP TABLE actions;
             DROP TABLE drafts; DROP TABLE draft_passages;
             DROP TABLE hub_leases; DROP TABLE audit_cosigned;
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let w = ws(t.path());
    let levels: Vec<i64> = w
        .conn()
        .prepare("SELECT DISTINCT level FROM audit_nodes ORDER BY level")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(levels, [4], "levels 1–3 and 5 were pruned, level 4 kept");
    let r = w.audit_verify(None, &mut |_, _| {}).unwrap();
    assert_eq!((r.log.entries, r.log.nodes), (40, 2));
    let catalogued: i64 = w
        .conn()
        .query_row("SELECT count(*) FROM audit_catalog", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        catalogued, 40,
        "migration 5 catalogues the entries already there"
    );
}
