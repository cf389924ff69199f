//! The team lead's audit view on real SQLite files: filters, keyset pages, an entry's proof
//! against the latest checkpoint, CSV export quoting, and the query plans behind the pages.

use signoff_audit::log::Entry;
use signoff_audit::merkle;
use signoff_core::{Band, Clock, DispositionKind, FixedClock, Reviewer};
use signoff_store::{Access, AuditFilter, AuditRow, Workspace, CSV_HEADER};
use std::path::Path;

const T0: &str = "2026-11-24T09:00:00Z";

fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

/// A workspace with two reviewers and six cases: ada approves three (day 1), bob rejects one
/// and escalates one (day 2); case V-1 is in band high, V-2 in low. The decisions are written
/// as `decide` writes them (a disposition row pointing at its signed log entry) but directly,
/// so these tests do not depend on how dispositions get signed.
fn fixture(dir: &Path) -> Workspace {
    let mut w = Workspace::open(dir, Access::Write).unwrap();
    w.attach_key(std::sync::Arc::new(
        signoff_audit::note::Ed25519Key::from_seed([7; 32]),
    ))
    .unwrap();
    let c = FixedClock::new(T0.parse().unwrap());
    for (id, name) in [("ada", "Ada Lovelace"), ("bob", "Bob Babbage")] {
        w.upsert_reviewer(
            &Reviewer {
                id: id.into(),
                name: name.into(),
            },
            &c,
        )
        .unwrap();
    }
    let mut text = String::new();
    for i in 1..=6 {
        text.push_str(&format!(
            "{{\"id\":\"V-{i}\",\"subject\":\"Secret subject {i}\",\"body\":\"Secret body {i}\",\"received_at\":\"2026-11-20T10:00:00Z\"}}\n"
        ));
    }
    let file = dir.join("cases.jsonl");
    std::fs::write(&file, text).unwrap();
    w.import_file(&file, &c, &mut |_| {}).unwrap();
    w.conn()
        .execute_batch(
            "UPDATE cases SET band = 'high' WHERE id = 'V-1';
             UPDATE cases SET band = 'low' WHERE id = 'V-2';",
        )
        .unwrap();
    let decide = |w: &mut Workspace, who: &str, id: &str, kind: DispositionKind, reason: &str| {
        c.advance_secs(60);
        let at_ms = c.now().timestamp_millis();
        let reason = (!reason.is_empty()).then(|| reason.to_string());
        let mut payload = serde_json::Map::new();
        payload.insert("disposition".into(), kind.as_str().into());
        payload.insert("meaning".into(), kind.meaning().into());
        payload.insert("reason_code".into(), reason.clone().into());
        payload.insert(
            "rationale_sha256".into(),
            signoff_store::audit::commit("free text, never in the log").into(),
        );
        let idx = w
            .record_event(Entry {
                kind: "disposition".into(),
                case_id: Some(id.into()),
                actor: who.into(),
                at_ms,
                payload,
            })
            .unwrap();
        let seq = w.case_seq(id).unwrap();
        w.conn()
            .execute(
                "INSERT INTO dispositions (case_seq, kind, reviewer_id, at_ms, reason_code, rationale, prev_status, audit_idx)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'free text, never in the log', 'open', ?6)",
                rusqlite::params![seq, kind.as_str(), who, at_ms, reason, idx as i64],
            )
            .unwrap();
    };
    decide(&mut w, "ada", "V-1", DispositionKind::Approve, "");
    decide(&mut w, "ada", "V-2", DispositionKind::Approve, "");
    decide(&mut w, "ada", "V-3", DispositionKind::Approve, "");
    c.advance_secs(86_400);
    decide(
        &mut w,
        "bob",
        "V-4",
        DispositionKind::Reject,
        "policy_conflict",
    );
    decide(
        &mut w,
        "bob",
        "V-5",
        DispositionKind::Escalate,
        "customer_risk",
    );
    w
}

fn page(w: &Workspace, f: &AuditFilter) -> Vec<AuditRow> {
    w.audit_page(f, None, 100).unwrap()
}

fn indexes(rows: &[AuditRow]) -> Vec<u64> {
    rows.iter().map(|r| r.index).collect()
}

#[test]
fn filters_narrow_by_reviewer_dates_disposition_band_kind_and_case() {
    let t = tempfile::tempdir().unwrap();
    let w = fixture(t.path());
    let all = page(&w, &AuditFilter::default());
    assert_eq!(indexes(&all), [5, 4, 3, 2, 1, 0], "newest first");
    assert_eq!(all[5].kind, "import");
    assert_eq!(all[5].actor, "device");
    assert_eq!(all[0].disposition.as_deref(), Some("escalate"));
    assert_eq!(all[0].reason_code.as_deref(), Some("customer_risk"));
    assert_eq!(all[0].case_id.as_deref(), Some("V-5"));

    let by = |f: AuditFilter| indexes(&page(&w, &f));
    let ada = || AuditFilter {
        actor: Some("ada".into()),
        ..Default::default()
    };
    assert_eq!(by(ada()), [3, 2, 1]);
    assert_eq!(
        by(AuditFilter {
            actor: Some("bob".into()),
            disposition: Some("reject".into()),
            ..Default::default()
        }),
        [4]
    );
    assert_eq!(
        by(AuditFilter {
            disposition: Some("approve".into()),
            ..Default::default()
        }),
        [3, 2, 1]
    );
    // Day 2 only (from inclusive, to exclusive).
    let day2 = AuditFilter {
        from_ms: Some(ms("2026-11-25T00:00:00Z")),
        to_ms: Some(ms("2026-11-26T00:00:00Z")),
        ..Default::default()
    };
    assert_eq!(by(day2.clone()), [5, 4]);
    assert_eq!(
        by(AuditFilter {
            actor: Some("ada".into()),
            ..day2.clone()
        }),
        Vec::<u64>::new()
    );
    assert_eq!(
        by(AuditFilter {
            disposition: Some("escalate".into()),
            ..day2
        }),
        [5]
    );
    assert_eq!(
        by(AuditFilter {
            band: Some(Band::Low),
            ..Default::default()
        }),
        [2]
    );
    assert_eq!(
        by(AuditFilter {
            band: Some(Band::Medium),
            ..Default::default()
        }),
        Vec::<u64>::new(),
        "a band no case has"
    );
    assert_eq!(
        by(AuditFilter {
            band: Some(Band::High),
            disposition: Some("approve".into()),
            ..Default::default()
        }),
        [1]
    );
    assert_eq!(
        by(AuditFilter {
            kind: Some("import".into()),
            ..Default::default()
        }),
        [0]
    );
    assert_eq!(
        by(AuditFilter {
            case_id: Some("v-4".into()),
            ..Default::default()
        }),
        [4],
        "case ids match in any letter case"
    );
    assert_eq!(
        page(&w, &AuditFilter::default())[4].band.as_deref(),
        Some("high")
    );
    let bad = w
        .audit_page(
            &AuditFilter {
                disposition: Some("bless".into()),
                ..Default::default()
            },
            None,
            10,
        )
        .unwrap_err()
        .to_string();
    assert!(bad.contains("unknown disposition"), "{bad}");
    assert_eq!(w.audit_actors().unwrap(), ["ada", "bob", "device"]);
}

#[test]
fn keyset_pages_cover_every_entry_once_in_order_with_or_without_a_filter() {
    let t = tempfile::tempdir().unwrap();
    let w = fixture(t.path());
    for f in [
        AuditFilter::default(),
        AuditFilter {
            disposition: Some("approve".into()),
            ..Default::default()
        },
    ] {
        let whole = indexes(&page(&w, &f));
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let p = w.audit_page(&f, after, 2).unwrap();
            if p.is_empty() {
                break;
            }
            assert!(p.len() <= 2);
            after = Some(p.last().unwrap().cursor);
            seen.extend(indexes(&p));
        }
        assert_eq!(seen, whole, "{f:?}");
    }
}

#[test]
fn an_entry_comes_with_a_verified_proof_against_the_latest_checkpoint() {
    let t = tempfile::tempdir().unwrap();
    let w = fixture(t.path());
    let e = w.audit_entry(4).unwrap();
    assert_eq!((e.index, e.size), (4, 6));
    assert_eq!(e.kind, "disposition");
    assert_eq!(e.actor, "bob");
    assert!(e.leaf.contains("\"disposition\":\"reject\""), "{}", e.leaf);
    assert!(
        !e.leaf.contains("free text"),
        "rationales are committed, not copied"
    );
    assert!(!e.leaf.contains("Secret"), "no case text in the log");
    assert!(e.checkpoint.contains("\n6\n"), "{}", e.checkpoint);
    // Check it again here from the returned values alone.
    let hash = |s: &str| -> merkle::Hash { hex::decode(s).unwrap().try_into().unwrap() };
    let leaf_hash = merkle::leaf_hash(e.leaf.as_bytes());
    assert_eq!(hex::encode(leaf_hash), e.leaf_hash);
    let proof: Vec<_> = e.proof.iter().map(|p| hash(p)).collect();
    merkle::verify_inclusion(&leaf_hash, 4, 6, &proof, &hash(&e.root)).unwrap();
    let mut tampered = proof.clone();
    tampered[0][0] ^= 1;
    assert!(merkle::verify_inclusion(&leaf_hash, 4, 6, &tampered, &hash(&e.root)).is_err());
    assert!(w
        .audit_entry(99)
        .unwrap_err()
        .to_string()
        .contains("no entry 99"));
}

#[test]
fn proofs_still_open_after_the_device_key_is_rotated() {
    let t = tempfile::tempdir().unwrap();
    let mut w = fixture(t.path());
    let c = FixedClock::new("2026-11-27T09:00:00Z".parse().unwrap());
    let rotation = w
        .rotate_device_key(
            std::sync::Arc::new(signoff_audit::note::Ed25519Key::from_seed([8; 32])),
            &c,
        )
        .unwrap();
    assert_eq!(w.audit_entry(rotation).unwrap().size, rotation + 1);
    w.record_event(Entry {
        kind: "threshold".into(),
        case_id: None,
        actor: "lead".into(),
        at_ms: ms("2026-11-27T10:00:00Z"),
        payload: serde_json::Map::new(),
    })
    .unwrap();
    let e = w.audit_entry(2).unwrap();
    assert_eq!(e.size, rotation + 2, "sealed by the new key");
    let rows = page(&w, &AuditFilter::default());
    assert_eq!(rows[1].kind, "key_rotation");
}

#[test]
fn an_entry_past_the_latest_checkpoint_or_a_tampered_leaf_gets_no_proof() {
    let t = tempfile::tempdir().unwrap();
    let w = fixture(t.path());
    // A leaf rewritten behind the log's back (triggers dropped by an attacker).
    w.conn()
        .execute_batch(
            "DROP TRIGGER audit_entries_append_only;
             UPDATE audit_entries SET leaf = CAST(replace(CAST(leaf AS TEXT), 'reject', 'approve') AS BLOB) WHERE idx = 4;",
        )
        .unwrap();
    let err = w.audit_entry(4).unwrap_err().to_string();
    assert!(
        err.contains("does not verify") || err.contains("does not lead"),
        "{err}"
    );
    assert!(w.audit_entry(3).is_ok(), "other entries' proofs still hold");
}

#[test]
fn csv_export_quotes_commas_quotes_and_newlines_and_holds_no_case_text() {
    let t = tempfile::tempdir().unwrap();
    let mut w = fixture(t.path());
    let awkward = "a,b \"quoted\"\nsecond line";
    let mut payload = serde_json::Map::new();
    payload.insert("reason_code".into(), awkward.into());
    payload.insert("disposition".into(), "escalate".into());
    w.record_event(Entry {
        kind: "threshold".into(),
        case_id: Some("V-6".into()),
        actor: "lead, \"chief\"".into(),
        at_ms: ms("2026-11-26T08:00:00Z"),
        payload,
    })
    .unwrap();
    let mut out = Vec::new();
    let n = w
        .audit_export_csv(&AuditFilter::default(), &mut out)
        .unwrap();
    assert_eq!(n, 7);
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with(
        "index,at,kind,actor,case_id,disposition,reason_code,case_band,leaf_sha256,leaf\r\n"
    ));
    assert!(text.contains("\"lead, \"\"chief\"\"\""), "{text}");
    assert!(
        text.contains("\"a,b \"\"quoted\"\"\nsecond line\""),
        "{text}"
    );
    assert!(!text.contains("Secret"), "no case text in the export");
    assert!(
        !text.contains("free text"),
        "no rationale text in the export"
    );

    // A CSV reader gets every field back exactly, oldest first.
    let mut r = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), CSV_HEADER);
    let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 7);
    assert_eq!(&rows[0][0], "0");
    assert_eq!(&rows[0][2], "import");
    assert_eq!(&rows[1][1], "2026-11-24T09:01:00.000Z");
    assert_eq!(&rows[1][7], "high");
    let last = &rows[6];
    assert_eq!(&last[3], "lead, \"chief\"");
    assert_eq!(&last[6], awkward);
    let leaf = &last[9];
    assert_eq!(hex::encode(merkle::leaf_hash(leaf.as_bytes())), &last[8]);

    // The export takes the same filters as the pages.
    let mut out = Vec::new();
    let n = w
        .audit_export_csv(
            &AuditFilter {
                actor: Some("bob".into()),
                ..Default::default()
            },
            &mut out,
        )
        .unwrap();
    assert_eq!(n, 2);
}

#[test]
fn every_page_query_walks_an_index_in_page_order() {
    let t = tempfile::tempdir().unwrap();
    let w = fixture(t.path());
    let s = |v: &str| Some(v.to_string());
    let filters = [
        AuditFilter::default(),
        AuditFilter {
            actor: s("ada"),
            ..Default::default()
        },
        AuditFilter {
            kind: s("import"),
            ..Default::default()
        },
        AuditFilter {
            from_ms: Some(0),
            to_ms: Some(i64::MAX),
            ..Default::default()
        },
        AuditFilter {
            disposition: s("reject"),
            ..Default::default()
        },
        AuditFilter {
            disposition: s("reject"),
            actor: s("bob"),
            from_ms: Some(0),
            ..Default::default()
        },
        AuditFilter {
            case_id: s("V-1"),
            ..Default::default()
        },
        AuditFilter {
            band: Some(Band::High),
            ..Default::default()
        },
    ];
    for f in filters {
        let plan = w.audit_page_plan(&f).unwrap();
        let text = plan.join(" | ");
        assert!(!text.contains("TEMP B-TREE"), "{f:?} sorts: {text}");
        let driver = &plan[0];
        assert!(
            driver.contains("USING INDEX") || driver.contains("USING COVERING INDEX"),
            "{f:?} does not start from an index: {text}"
        );
    }
}
