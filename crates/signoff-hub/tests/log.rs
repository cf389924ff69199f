//! Pushing a workstation's signed log to the hub, on both backends: resumable and idempotent
//! batches, a gap or a fork refused with 409 and the first bad index (and recorded), a
//! checkpoint not signed by the device or not matching the leaves refused, dispositions
//! applied under a live lease with the right fencing token and queued as conflicts otherwise,
//! and every accepted checkpoint cosigned by the hub's witness key (C2SP `cosignature/v1`).

mod common;

use common::{enrolled, key, start_time, Backend, TestHub};
use signoff_core::{Clock, DispositionKind, FixedClock, Reviewer};
use signoff_store::{Access, Decision, Workspace};
use signoff_sync::hub::{HubClient, HubClientError};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::Backend::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name(super::Backend::Postgres) } )*
        }
    };
}

both!(
    a_log_is_pushed_in_resumable_idempotent_batches_and_witnessed,
    a_fork_or_a_gap_is_refused_with_the_first_bad_index,
    a_checkpoint_by_another_key_or_over_other_leaves_is_refused,
    dispositions_apply_under_the_lease_or_go_to_the_conflict_queue,
    history_proves_each_entry_and_verify_catches_a_changed_leaf,
);

/// A workstation's workspace whose log is sealed by device key `seed`, with reviewer r1.
fn workstation(dir: &Path, seed: u8, clock: &FixedClock) -> Workspace {
    let mut w = Workspace::open(dir, Access::Write).unwrap();
    w.attach_key(Arc::new(key(seed))).unwrap();
    w.upsert_reviewer(
        &Reviewer {
            id: "r1".into(),
            name: "Ada".into(),
        },
        clock,
    )
    .unwrap();
    w.attach_reviewer_key("r1", Arc::new(key(seed.wrapping_add(100))), clock)
        .unwrap();
    w
}

/// Imports cases `ids` into the workspace.
fn import(w: &mut Workspace, dir: &Path, ids: &[&str], clock: &FixedClock) {
    let text: String = ids
        .iter()
        .map(|id| {
            format!("{{\"id\":\"{id}\",\"subject\":\"s\",\"body\":\"body of {id}\",\"received_at\":\"2026-12-01T09:00:00Z\"}}\n")
        })
        .collect();
    let p = dir.join(format!("cases-{}.jsonl", ids.join("-")));
    std::fs::write(&p, text).unwrap();
    w.import_file(&p, clock, &mut |_| {}).unwrap();
}

fn decide(w: &mut Workspace, case: &str, clock: &FixedClock) {
    let case_seq = w.case_seq(case).unwrap();
    w.decide(
        "r1",
        &Decision {
            case_seq,
            kind: DispositionKind::Approve,
            reason_code: None,
            rationale: None,
            final_text: None,
            recheck: None,
        },
        clock,
    )
    .unwrap();
}

fn size_of(w: &Workspace) -> u64 {
    let note = w.latest_checkpoint().unwrap().unwrap();
    note.lines().nth(1).unwrap().parse().unwrap()
}

/// Pushes `start..end` with the checkpoint at `end`.
fn push(
    c: &HubClient,
    w: &Workspace,
    start: u64,
    end: u64,
    fences: &BTreeMap<String, i64>,
) -> Result<signoff_sync::hub::LogAck, HubClientError> {
    let leaves = w.audit_leaves(start, end).unwrap();
    let cp = w.checkpoint_at(end).unwrap().unwrap();
    c.push_log(start, &leaves, &cp, fences)
}

fn refusal<T: std::fmt::Debug>(r: Result<T, HubClientError>) -> (u16, String, String) {
    match r {
        Err(HubClientError::Refused {
            status,
            code,
            message,
            ..
        }) => (status, code, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn witness(c: &HubClient) -> signoff_audit::witness::CosignatureVerifier {
    signoff_audit::witness::CosignatureVerifier::parse(&c.witness_key().unwrap()).unwrap()
}

fn a_log_is_pushed_in_resumable_idempotent_batches_and_witnessed(b: Backend) {
    let hub = TestHub::start(b, &key(1));
    let admin = hub.client(&key(1));
    enrolled(&hub, &admin, &key(2), "reviewer");
    let dev = hub.client(&key(2));
    let t = tempfile::tempdir().unwrap();
    let clock = FixedClock::new(start_time());
    let mut w = workstation(t.path(), 2, &clock);
    import(&mut w, t.path(), &["A-1", "A-2"], &clock);
    let mid = size_of(&w);
    import(&mut w, t.path(), &["A-3"], &clock);
    let end = size_of(&w);
    let none = BTreeMap::new();

    assert_eq!(dev.log_head().unwrap().size, 0);
    let a = push(&dev, &w, 0, mid, &none).unwrap();
    assert_eq!(
        (a.size, a.accepted, a.acknowledged_index),
        (mid, mid, Some(mid - 1))
    );
    let w_key = witness(&dev);
    let cosigned = a.cosigned_checkpoint.clone().unwrap();
    assert!(cosigned.starts_with(&w.checkpoint_at(mid).unwrap().unwrap()));
    let time = w_key.verify(&cosigned).unwrap().expect("a cosignature");
    assert_eq!(time as i64, hub.clock.now().timestamp());
    // The same batch again changes nothing; an overlapping batch adds only what is new.
    let again = push(&dev, &w, 0, mid, &none).unwrap();
    assert_eq!((again.size, again.accepted), (mid, 0));
    let b2 = push(&dev, &w, 1, end, &none).unwrap();
    assert_eq!(
        (b2.size, b2.accepted, b2.cosigned_size),
        (end, end - mid, end)
    );
    assert!(w_key
        .verify(&b2.cosigned_checkpoint.unwrap())
        .unwrap()
        .is_some());
    // The head says where to resume; a lead may read it, another reviewer may not.
    assert_eq!(dev.log_head().unwrap().size, end);
    enrolled(&hub, &admin, &key(3), "reviewer");
    let other = hub.client(&key(3));
    let (status, code, _) = refusal(other.call(
        "log",
        "GET",
        &format!("/v1/devices/{}/log", dev.device_id()),
        None,
    ));
    assert_eq!((status, code.as_str()), (403, "forbidden"));
    let seen = admin
        .call(
            "log",
            "GET",
            &format!("/v1/devices/{}/log", dev.device_id()),
            None,
        )
        .unwrap();
    assert_eq!(seen["size"], end);
}

fn a_fork_or_a_gap_is_refused_with_the_first_bad_index(b: Backend) {
    let hub = TestHub::start(b, &key(1));
    let admin = hub.client(&key(1));
    enrolled(&hub, &admin, &key(2), "reviewer");
    let dev = hub.client(&key(2));
    let t = tempfile::tempdir().unwrap();
    let clock = FixedClock::new(start_time());
    let mut w = workstation(&t.path().join("a"), 2, &clock);
    import(&mut w, t.path(), &["A-1"], &clock);
    let first = size_of(&w);
    import(&mut w, t.path(), &["A-2"], &clock);
    let end = size_of(&w);
    let none = BTreeMap::new();
    push(&dev, &w, 0, first, &none).unwrap();

    // A gap: starting past what the hub holds.
    let (status, code, msg) = refusal(push(&dev, &w, first + 1, end, &none));
    assert_eq!((status, code.as_str()), (409, "log_gap"), "{msg}");
    assert!(msg.contains(&format!("send from {first}")), "{msg}");

    // A fork: the same device key, another history of the same length.
    let mut forked = workstation(&t.path().join("b"), 2, &clock);
    import(&mut forked, t.path(), &["B-1", "B-2", "B-3"], &clock);
    let fsize = size_of(&forked);
    let (status, code, msg) = refusal(push(&dev, &forked, 0, fsize, &none));
    assert_eq!((status, code.as_str()), (409, "log_fork"), "{msg}");
    let leaves = w.audit_leaves(0, first).unwrap();
    let fl = forked.audit_leaves(0, first).unwrap();
    let bad = (0..first as usize).find(|&i| leaves[i] != fl[i]).unwrap();
    assert!(msg.contains(&format!("first bad index {bad}")), "{msg}");
    // Nothing of the refused batches was kept; the honest log still goes on.
    assert_eq!(dev.log_head().unwrap().size, first);
    assert_eq!(push(&dev, &w, first, end, &none).unwrap().size, end);
}

fn a_checkpoint_by_another_key_or_over_other_leaves_is_refused(b: Backend) {
    let hub = TestHub::start(b, &key(1));
    let admin = hub.client(&key(1));
    enrolled(&hub, &admin, &key(2), "reviewer");
    let dev = hub.client(&key(2));
    let t = tempfile::tempdir().unwrap();
    let clock = FixedClock::new(start_time());
    // A log sealed by key 4, pushed by device 2: its checkpoint is not this device's.
    let mut stranger = workstation(&t.path().join("s"), 4, &clock);
    import(&mut stranger, t.path(), &["S-1"], &clock);
    let n = size_of(&stranger);
    let none = BTreeMap::new();
    let (status, code, msg) = refusal(push(&dev, &stranger, 0, n, &none));
    assert_eq!((status, code.as_str()), (409, "bad_checkpoint"), "{msg}");
    // The device's own log, with a checkpoint of fewer entries than the batch carries.
    let mut w = workstation(&t.path().join("w"), 2, &clock);
    import(&mut w, t.path(), &["W-1"], &clock);
    let first = size_of(&w);
    import(&mut w, t.path(), &["W-2"], &clock);
    let end = size_of(&w);
    let leaves = w.audit_leaves(0, end).unwrap();
    let early = w.checkpoint_at(first).unwrap().unwrap();
    let (status, code, msg) = refusal(dev.push_log(0, &leaves, &early, &none));
    assert_eq!((status, code.as_str()), (409, "bad_checkpoint"), "{msg}");
    // A leaf changed under a valid checkpoint: the root does not match.
    let mut bent = leaves.clone();
    let last = bent.len() - 1;
    let at = bent[last].len() - 20;
    bent[last][at] ^= 0x01;
    let cp = w.checkpoint_at(end).unwrap().unwrap();
    let (status, code, _) = refusal(dev.push_log(0, &bent, &cp, &none));
    assert_eq!(status, 409);
    assert!(matches!(code.as_str(), "log_fork" | "bad_entry"), "{code}");
    assert_eq!(dev.log_head().unwrap().size, 0, "nothing was kept");
}

fn dispositions_apply_under_the_lease_or_go_to_the_conflict_queue(b: Backend) {
    let hub = TestHub::start(b, &key(1));
    let admin = hub.client(&key(1));
    enrolled(&hub, &admin, &key(2), "reviewer");
    let dev = hub.client(&key(2));
    let cases: String = ["L-1", "L-2", "L-3"]
        .iter()
        .map(|id| format!("{{\"id\":\"{id}\",\"subject\":\"s\",\"body\":\"body of {id}\",\"received_at\":\"2026-12-01T09:00:00Z\"}}\n"))
        .collect();
    admin
        .call_bytes(
            "cases",
            "POST",
            "/v1/cases",
            cases.as_bytes(),
            "application/x-ndjson",
        )
        .unwrap();
    let leased = dev.lease(2).unwrap();
    let fences: BTreeMap<String, i64> = leased
        .leases
        .iter()
        .map(|l| (l.case.id.clone(), l.fence))
        .collect();
    let held: Vec<String> = fences.keys().cloned().collect();
    let t = tempfile::tempdir().unwrap();
    let clock = FixedClock::new(start_time());
    let mut w = workstation(t.path(), 2, &clock);
    import(&mut w, t.path(), &["L-1", "L-2", "L-3"], &clock);
    // Decided under the lease with its token: applied.
    decide(&mut w, &held[0], &clock);
    // Decided with a stale token: a conflict.
    decide(&mut w, &held[1], &clock);
    // Decided without ever being leased to this device: a conflict.
    let never = ["L-1", "L-2", "L-3"]
        .into_iter()
        .find(|c| !held.iter().any(|h| h == c))
        .unwrap();
    decide(&mut w, never, &clock);
    let mut claimed = fences.clone();
    *claimed.get_mut(&held[1]).unwrap() -= 1;
    let end = size_of(&w);
    let ack = push(&dev, &w, 0, end, &claimed).unwrap();
    assert_eq!((ack.applied, ack.conflicts), (1, 2), "{ack:?}");
    let list = admin
        .call("conflicts", "GET", "/v1/conflicts", None)
        .unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert!(
        list[0]["reason"]
            .as_str()
            .unwrap()
            .contains("stale fencing token"),
        "{list:?}"
    );
    assert_eq!(list[0]["decision"], "approve");
    assert!(
        list[1]["reason"].as_str().unwrap().contains("never leased"),
        "{list:?}"
    );
    // The decided case leaves the device's leases; the conflicting one is still held.
    let after = dev.lease(2).unwrap();
    let ids: Vec<&str> = after.leases.iter().map(|l| l.case.id.as_str()).collect();
    assert!(!ids.contains(&held[0].as_str()), "{ids:?}");
    assert!(ids.contains(&held[1].as_str()), "{ids:?}");
    // A reviewer may not read the conflict queue; pushing the batch again applies nothing twice.
    let (status, _, _) = refusal(dev.call("conflicts", "GET", "/v1/conflicts", None));
    assert_eq!(status, 403);
    let again = push(&dev, &w, 0, end, &claimed).unwrap();
    assert_eq!((again.accepted, again.applied, again.conflicts), (0, 0, 0));

    // A lead resolves the stale one for the device: its disposition now stands at the hub, and
    // the conflict leaves the queue; a second resolution of it is refused.
    let stale = &list[0];
    let body =
        serde_json::json!({"device": stale["device"], "index": stale["index"], "keep": "device"});
    let r = admin
        .call("resolve", "POST", "/v1/conflicts/resolve", Some(&body))
        .unwrap();
    assert_eq!(
        (r["case_id"].as_str(), r["state"].as_str()),
        (Some(held[1].as_str()), Some("decided")),
        "{r}"
    );
    let (status, _, _) =
        refusal(admin.call("resolve", "POST", "/v1/conflicts/resolve", Some(&body)));
    assert_eq!(status, 404);
    let (status, _, _) = refusal(dev.call("resolve", "POST", "/v1/conflicts/resolve", Some(&body)));
    assert_eq!(status, 403, "a reviewer cannot resolve conflicts");
    let left = admin
        .call("conflicts", "GET", "/v1/conflicts", None)
        .unwrap();
    assert_eq!(left.as_array().unwrap().len(), 1, "{left}");
    // Keeping the hub's version changes no case.
    let never_c = &left[0];
    let r = admin
        .call(
            "resolve",
            "POST",
            "/v1/conflicts/resolve",
            Some(&serde_json::json!({"device": never_c["device"], "index": never_c["index"], "keep": "hub"})),
        )
        .unwrap();
    assert_eq!(r["state"], "open", "{r}");
}

/// Runs SQL on the hub's database behind the hub's back (`sqlite` or `pg` by backend).
fn tamper(db: &str, sqlite: &str, pg: &str) {
    if let Some(path) = db.strip_prefix("sqlite:") {
        let sql = sqlite;
        rusqlite::Connection::open(path)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    } else {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sql = pg;
        rt.block_on(async {
            let (c, conn) = tokio_postgres::connect(db, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            c.batch_execute(sql).await.unwrap();
        });
    }
}

fn history_proves_each_entry_and_verify_catches_a_changed_leaf(b: Backend) {
    let hub = TestHub::start(b, &key(1));
    let admin = hub.client(&key(1));
    let clock = FixedClock::new(start_time());
    let t = tempfile::tempdir().unwrap();
    let cases = "{\"id\":\"H-1\",\"subject\":\"s\",\"body\":\"b\",\"received_at\":\"2026-12-01T09:00:00Z\"}\n";
    admin
        .call_bytes(
            "cases",
            "POST",
            "/v1/cases",
            cases.as_bytes(),
            "application/x-ndjson",
        )
        .unwrap();
    // Two workstations handle H-1: the first holds the lease and decides it, the second
    // decides it too (a conflict); both push.
    let mut acks = Vec::new();
    for (n, seed) in [(0, 2u8), (1, 3u8)] {
        enrolled(&hub, &admin, &key(seed), "reviewer");
        let dev = hub.client(&key(seed));
        let mut fences = BTreeMap::new();
        if n == 0 {
            let l = dev.lease(1).unwrap();
            fences.insert("H-1".to_string(), l.leases[0].fence);
        }
        let dir = t.path().join(format!("w{seed}"));
        let mut w = workstation(&dir, seed, &clock);
        import(&mut w, &dir, &["H-1", "X-1"], &clock);
        decide(&mut w, "H-1", &clock);
        let end = size_of(&w);
        acks.push((dev.device_id(), push(&dev, &w, 0, end, &fences).unwrap()));
    }
    let h = admin
        .call("history", "GET", "/v1/history?case=h-1", None)
        .unwrap();
    assert_eq!(h["state"], "decided", "{h}");
    let devices = h["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2, "{h}");
    assert_eq!(h["conflicts"].as_array().unwrap().len(), 1, "{h}");
    let w_key = witness(&admin);
    for d in devices {
        let cosigned = d["cosigned_checkpoint"].as_str().unwrap();
        assert!(w_key.verify(cosigned).unwrap().is_some());
        let body = &cosigned[..cosigned.find("\n\n").unwrap() + 1];
        let cp = signoff_audit::note::Checkpoint::parse(body).unwrap();
        let kinds: Vec<&str> = d["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert!(kinds.contains(&"disposition"), "{kinds:?}");
        for e in d["entries"].as_array().unwrap() {
            let leaf = e["leaf"].as_str().unwrap().as_bytes();
            assert!(e["leaf"].as_str().unwrap().contains("\"case_id\":\"H-1\""));
            let proof: Vec<[u8; 32]> = e["proof"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    hex::decode(p.as_str().unwrap())
                        .unwrap()
                        .try_into()
                        .unwrap()
                })
                .collect();
            signoff_audit::merkle::verify_inclusion(
                &signoff_audit::merkle::leaf_hash(leaf),
                e["index"].as_u64().unwrap(),
                cp.size,
                &proof,
                &cp.root,
            )
            .expect("the proof leads to the cosigned root");
        }
    }
    let other_day = admin
        .call("history", "GET", "/v1/history?case=H-1&on=2026-12-08", None)
        .unwrap();
    assert_eq!(other_day["devices"].as_array().unwrap().len(), 0);
    let (status, _, _) =
        refusal(
            hub.client(&key(2))
                .call("history", "GET", "/v1/history?case=H-1", None),
        );
    assert_eq!(status, 403, "a reviewer cannot read other devices' logs");

    let ok = admin.call("verify", "GET", "/v1/verify", None).unwrap();
    assert_eq!(
        (ok["ok"].as_bool(), ok["devices"].as_u64()),
        (Some(true), Some(2)),
        "{ok}"
    );
    assert!(ok["entries"].as_u64().unwrap() > 4);
    // A stored leaf changed behind the hub's back is found, naming the device and entry.
    let victim = &acks[1].0;
    tamper(
        &hub.db,
        &format!("UPDATE log_entries SET leaf = CAST(leaf || ' ' AS BLOB) WHERE device = '{victim}' AND idx = 1"),
        &format!("UPDATE log_entries SET leaf = leaf || '\\x20'::bytea WHERE device = '{victim}' AND idx = 1"),
    );
    let bad = admin.call("verify", "GET", "/v1/verify", None).unwrap();
    assert_eq!(bad["ok"], false, "{bad}");
    let f = &bad["failures"][0];
    assert_eq!(
        (f["device"].as_str(), f["index"].as_u64()),
        (Some(victim.as_str()), Some(1)),
        "{bad}"
    );
}
