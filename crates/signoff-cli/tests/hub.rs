//! The team hub through the real `signoff` binary: a hub on SQLite served by `signoff hub
//! serve`, a workstation that enrols, is approved, syncs leased cases into its queue and keeps
//! working offline when the hub is gone; and two hub processes on one PostgreSQL under 50 concurrent
//! pullers, where no case is ever leased to two devices at once.

#[path = "../../signoff-hub/tests/common/pg.rs"]
mod pg;
mod support;

use signoff_audit::note::{Ed25519Key, Signer};
use signoff_core::{Clock, SystemClock};
use signoff_sync::hub::HubClient;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use support::{fails, json, ok, run};

/// A `signoff hub serve` process, killed when dropped.
struct Served {
    child: Child,
    url: String,
}

impl Served {
    fn start(db: &str) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_signoff"))
            .args([
                "hub",
                "serve",
                "--db",
                db,
                "--listen",
                "127.0.0.1:0",
                "--json",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("signoff hub serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("hub serve printed {line:?}: {e}"));
        Served {
            child,
            url: v["listen"].as_str().unwrap().to_string(),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cases_file(dir: &Path, n: usize) -> std::path::PathBuf {
    let path = dir.join("cases.jsonl");
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "{{\"id\":\"H-{i:04}\",\"subject\":\"Case {i}\",\"body\":\"Body of case {i}\",\"received_at\":\"2026-12-01T09:00:00Z\",\"priority\":{}}}\n",
            i % 3
        ));
    }
    std::fs::write(&path, s).unwrap();
    path
}

fn workspace_key(ws: &Path) -> Ed25519Key {
    signoff_audit::keyfile::load(&ws.with_extension("key")).unwrap()
}

#[test]
fn workstation_enrols_syncs_and_works_offline_on_a_sqlite_hub() {
    let t = tempfile::tempdir().unwrap();
    let (lead_ws, ws) = (t.path().join("lead"), t.path().join("ws"));
    ok(run(&["init"], &lead_ws));
    ok(run(
        &["--reviewer", "r1", "init", "--reviewer-name", "Ada"],
        &ws,
    ));
    let db = format!("sqlite:{}", t.path().join("hub.sqlite").display());
    let admin = json(run(&["hub", "init", "--db", &db, "--json"], &lead_ws));
    assert_eq!(admin["role"], "admin");
    let hub = Served::start(&db);

    // Enrol; the hub remembers the workstation as pending until the lead approves it.
    let enrolled = json(run(
        &["hub", "enrol", &hub.url, "--name", "ws-1", "--json"],
        &ws,
    ));
    let device = enrolled["device"].as_str().unwrap().to_string();
    assert_eq!(enrolled["role"], "pending");
    fails(run(&["sync", "--json"], &ws), "awaiting approval");
    let devices = json(run(
        &["hub", "devices", "--hub", &hub.url, "--json"],
        &lead_ws,
    ));
    assert_eq!(devices.as_array().unwrap().len(), 2);
    fails(
        run(
            &[
                "hub", "approve", &device, "--role", "boss", "--hub", &hub.url,
            ],
            &lead_ws,
        ),
        "--role must be reviewer or lead",
    );
    ok(run(
        &[
            "hub", "approve", &device, "--role", "reviewer", "--hub", &hub.url,
        ],
        &lead_ws,
    ));
    // The reviewer may not list devices.
    fails(run(&["hub", "devices"], &ws), "needs a lead or admin");

    // Cases in: a bad file is refused naming its line and field, a good one is taken.
    let bad = t.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"id\":\"X\",\"subject\":\"s\",\"received_at\":\"2026-12-01T09:00:00Z\"}\n",
    )
    .unwrap();
    let err = fails(
        run(
            &["hub", "import", bad.to_str().unwrap(), "--hub", &hub.url],
            &lead_ws,
        ),
        "body: required field is missing",
    );
    assert!(err.contains("bad.jsonl:1"), "{err}");
    let file = cases_file(t.path(), 5);
    let r = json(run(
        &[
            "hub",
            "import",
            file.to_str().unwrap(),
            "--hub",
            &hub.url,
            "--json",
        ],
        &lead_ws,
    ));
    assert_eq!(r["new"], 5);

    // Sync leases them into the workstation's queue through an audited sync entry.
    let s = json(run(&["sync", "--max", "3", "--json"], &ws));
    assert_eq!(
        (s["leased"].as_u64(), s["new"].as_u64()),
        (Some(3), Some(3))
    );
    assert!(s["pushed"].as_u64().unwrap() > 0, "{s}");
    assert!(s["leases"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["fence"] == 1));
    let q = json(run(&["queue", "--json"], &ws));
    assert_eq!(q.as_array().unwrap().len(), 3);
    let s = json(run(&["sync", "--max", "3", "--json"], &ws));
    assert_eq!(
        (
            s["leased"].as_u64(),
            s["new_leases"].as_u64(),
            s["unchanged"].as_u64()
        ),
        (Some(3), Some(0), Some(3))
    );
    ok(run(&["audit", "verify"], &ws));
    let conn = rusqlite::Connection::open(ws.join("workspace.sqlite")).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM audit_entries WHERE kind = 'sync'"),
        2,
        "one audited sync entry per sync that brought cases"
    );
    assert_eq!(count("SELECT count(*) FROM hub_leases WHERE fence = 1"), 3);
    assert_eq!(
        count("SELECT count(*) FROM audit_entries WHERE kind = 'hub_set'"),
        1
    );
    drop(conn);

    // A leased case changed behind the log's back is caught by audit verify.
    let copy = t.path().join("ws-copy");
    std::fs::create_dir_all(&copy).unwrap();
    for e in std::fs::read_dir(&ws).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
        }
    }
    rusqlite::Connection::open(copy.join("workspace.sqlite"))
        .unwrap()
        .execute("UPDATE hub_leases SET fence = 7 WHERE rowid = 1", [])
        .unwrap();
    fails(run(&["audit", "verify"], &copy), "hub_leases.");

    // Decide a leased case: the next sync pushes the log, the hub applies the disposition and
    // cosigns the checkpoint as witness; the workstation keeps the cosigned checkpoint.
    let first = s["leases"][0]["case"].as_str().unwrap().to_string();
    ok(run(
        &[
            "--reviewer",
            "r1",
            "decide",
            &first,
            "--disposition",
            "approve",
        ],
        &ws,
    ));
    let s = json(run(&["sync", "--max", "3", "--json"], &ws));
    assert_eq!(s["offline"], false, "{s}");
    assert_eq!(s["dispositions_applied"], 1, "{s}");
    assert_eq!(s["disposition_conflicts"], 0, "{s}");
    let size = s["acknowledged_index"].as_u64().unwrap() + 1;
    assert_eq!(
        s["cosigned_size"], size,
        "every pushed entry is witnessed: {s}"
    );
    assert_eq!(
        s["leased"], 3,
        "the decided case left the lease and a new one came: {s}"
    );
    let again = json(run(&["sync", "--max", "3", "--json"], &ws));
    assert_eq!(again["leased"], 3, "{again}");
    let vkey = ok(run(&["hub", "key", "--hub", &hub.url], &lead_ws));
    let vkey = vkey.lines().last().unwrap().trim().to_string();
    let v = json(run(&["audit", "verify", "--witness", &vkey, "--json"], &ws));
    assert!(v["witness"]["cosigned"].as_u64().unwrap() >= 2, "{v}");
    assert!(
        v["witness"]["witnessed_size"].as_u64().unwrap() >= size,
        "{v}"
    );
    let other =
        signoff_audit::witness::Cosigner::new("someone-else", &Ed25519Key::from_seed([9; 32]))
            .unwrap()
            .verifier_key();
    fails(
        run(&["audit", "verify", "--witness", &other], &ws),
        "no cosignature by witness someone-else",
    );

    // A second workstation decides a case the hub leased to the first: the hub keeps the
    // disposition in its conflict queue, and a lead sees it.
    let ws2 = t.path().join("ws2");
    ok(run(
        &["--reviewer", "r2", "init", "--reviewer-name", "Bo"],
        &ws2,
    ));
    let d2 = json(run(&["hub", "enrol", &hub.url, "--json"], &ws2));
    ok(run(
        &[
            "hub",
            "approve",
            d2["device"].as_str().unwrap(),
            "--role",
            "reviewer",
            "--hub",
            &hub.url,
        ],
        &lead_ws,
    ));
    let held = s["leases"][0]["case"].as_str().unwrap().to_string();
    let local = t.path().join("local.jsonl");
    std::fs::write(
        &local,
        format!("{{\"id\":\"{held}\",\"subject\":\"s\",\"body\":\"b\",\"received_at\":\"2026-12-01T09:00:00Z\"}}\n"),
    )
    .unwrap();
    ok(run(&["import", local.to_str().unwrap()], &ws2));
    ok(run(
        &[
            "--reviewer",
            "r2",
            "decide",
            &held,
            "--disposition",
            "reject",
            "--reason",
            "policy_conflict",
        ],
        &ws2,
    ));
    let s2 = json(run(&["sync", "--max", "1", "--json"], &ws2));
    assert_eq!(s2["disposition_conflicts"], 1, "{s2}");
    let conflicts = json(run(
        &["hub", "conflicts", "--hub", &hub.url, "--json"],
        &lead_ws,
    ));
    let list = conflicts.as_array().unwrap();
    assert_eq!(list.len(), 1, "{conflicts}");
    assert_eq!(list[0]["case_id"], held.as_str());
    assert!(
        list[0]["reason"]
            .as_str()
            .unwrap()
            .contains("is leased to device"),
        "{conflicts}"
    );
    fails(run(&["hub", "conflicts"], &ws), "needs a lead or admin");
    let index = list[0]["index"].to_string();
    let conflicted = list[0]["device"].as_str().unwrap().to_string();
    fails(
        run(
            &[
                "hub",
                "resolve",
                &conflicted,
                &index,
                "--keep",
                "mine",
                "--hub",
                &hub.url,
            ],
            &lead_ws,
        ),
        "--keep must be device or hub",
    );
    let r = json(run(
        &[
            "hub",
            "resolve",
            &conflicted,
            &index,
            "--keep",
            "hub",
            "--hub",
            &hub.url,
            "--json",
        ],
        &lead_ws,
    ));
    assert_eq!(r["kept"], "hub", "{r}");
    let conflicts = json(run(
        &["hub", "conflicts", "--hub", &hub.url, "--json"],
        &lead_ws,
    ));
    assert_eq!(conflicts.as_array().unwrap().len(), 0, "{conflicts}");

    // The team record: the decided case on every device, and every device log re-verified.
    let h = json(run(
        &[
            "hub", "history", "--case", &first, "--hub", &hub.url, "--json",
        ],
        &lead_ws,
    ));
    assert_eq!(h["state"], "decided", "{h}");
    let entries = h["devices"][0]["entries"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["kind"] == "disposition"), "{h}");
    let v = json(run(
        &["hub", "verify", "--hub", &hub.url, "--json"],
        &lead_ws,
    ));
    assert_eq!(
        (v["ok"].as_bool(), v["devices"].as_u64()),
        (Some(true), Some(2)),
        "{v}"
    );
    fails(run(&["hub", "verify"], &ws), "needs a lead or admin");

    // The hub goes away: sync says it works offline (exit 0), the workspace keeps working.
    drop(hub);
    let s = json(run(&["sync", "--json"], &ws));
    assert_eq!(s["offline"], true, "{s}");
    assert_eq!(s["leased"], 3, "the leases held are still counted: {s}");
    assert_eq!(s["pushed"], 0, "{s}");
    assert!(s["error"].as_str().unwrap().contains("unreachable"), "{s}");
    let q = json(run(&["queue", "--json"], &ws));
    assert_eq!(q.as_array().unwrap().len(), 3);
    ok(run(&["audit", "verify"], &ws));
}

#[test]
fn fifty_pullers_on_two_hub_processes_never_share_a_lease() {
    let cluster = pg::start();
    let db = cluster.database();
    let t = tempfile::tempdir().unwrap();
    let lead_ws = t.path().join("lead");
    ok(run(&["init"], &lead_ws));
    ok(run(&["hub", "init", "--db", &db], &lead_ws));
    let hubs = [Served::start(&db), Served::start(&db)];
    const CASES: usize = 300;
    let file = cases_file(t.path(), CASES);
    let r = json(run(
        &[
            "hub",
            "import",
            file.to_str().unwrap(),
            "--hub",
            &hubs[0].url,
            "--json",
        ],
        &lead_ws,
    ));
    assert_eq!(r["new"], CASES);

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let admin = HubClient::new(
        &hubs[1].url,
        Arc::new(workspace_key(&lead_ws)),
        clock.clone(),
    )
    .unwrap();
    let keys: Vec<[u8; 32]> = (0..50u8).map(|i| [i + 100; 32]).collect();
    for (i, seed) in keys.iter().enumerate() {
        let c = HubClient::new(
            &hubs[i % 2].url,
            Arc::new(Ed25519Key::from_seed(*seed)),
            clock.clone(),
        )
        .unwrap();
        let d = c.enrol(&format!("puller-{i}")).unwrap();
        admin
            .call(
                "approve",
                "POST",
                &format!("/v1/devices/{}/role", d["device"].as_str().unwrap()),
                Some(&serde_json::json!({"role": "reviewer"})),
            )
            .unwrap();
    }
    // 50 pullers at once, each alternating between the two hub processes, each growing its
    // holding 2, 4, … 10 cases (room for 500; 300 exist).
    let start = std::sync::Arc::new(std::sync::Barrier::new(keys.len()));
    let handles: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, seed)| {
            let urls = [hubs[0].url.clone(), hubs[1].url.clone()];
            let (seed, clock, start) = (*seed, clock.clone(), start.clone());
            std::thread::spawn(move || {
                let key: Arc<dyn Signer> = Arc::new(Ed25519Key::from_seed(seed));
                let device = signoff_sync::httpsig::device_id(&key.public_key());
                let clients: Vec<HubClient> = urls
                    .iter()
                    .map(|u| HubClient::new(u, key.clone(), clock.clone()).unwrap())
                    .collect();
                start.wait();
                let mut held: HashMap<String, i64> = HashMap::new();
                for (round, max) in [2u32, 4, 6, 8, 10].into_iter().enumerate() {
                    let a = clients[(i + round) % 2].lease(max).unwrap();
                    for l in a.leases {
                        if let Some(f) = held.insert(l.case.id.clone(), l.fence) {
                            assert_eq!(f, l.fence, "a renewal kept the fence");
                        }
                    }
                }
                (device, held)
            })
        })
        .collect();
    let mut owner: HashMap<String, String> = HashMap::new();
    for h in handles {
        let (device, held) = h.join().expect("puller");
        for (case, fence) in held {
            assert_eq!(fence, 1, "{case} was leased before");
            if let Some(other) = owner.insert(case.clone(), device.clone()) {
                panic!("{case} is leased to both {other} and {device}");
            }
        }
    }
    assert_eq!(owner.len(), CASES, "every case was leased exactly once");
    drop(hubs);
    cluster.stop();
}

#[test]
fn bench_hub_reports_its_figures_on_sqlite() {
    let t = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", t.path().join("bench.sqlite").display());
    let v = json(run(
        &[
            "bench",
            "hub",
            "--db",
            &db,
            "--entries",
            "4000",
            "--cases",
            "200",
            "--json",
        ],
        &t.path().join("ws"),
    ));
    assert_eq!(v["backend"], "sqlite");
    assert_eq!(
        (v["entries"].as_u64(), v["leased"].as_u64()),
        (Some(4000), Some(200)),
        "{v}"
    );
    assert_eq!(
        v["requests"],
        50 * 40,
        "20 leases and 20 pushes per workstation: {v}"
    );
    for k in [
        "push_100k_s",
        "lease_10k_s",
        "p50_ms",
        "p99_ms",
        "requests_per_s",
        "hub_rss_mb",
    ] {
        assert!(v[k].as_f64().unwrap() > 0.0, "{k}: {v}");
    }
}
