//! `signoff bench hub --db URL`: a team hub served in this process on 127.0.0.1 over the given
//! database, driven through the workstation's signed client: one device pushes a log of N
//! entries (batches of 2,000, each ending on a signed checkpoint), ten devices lease 10,000
//! cases, then 50 devices lease and push concurrently (request latency percentiles and
//! throughput), and the process's peak RSS.

use crate::output::Out;
use anyhow::{Context, Result};
use signoff_audit::log::{self, Entry};
use signoff_audit::note::{Ed25519Key, Signer};
use signoff_core::{Clock, SystemClock};
use signoff_sync::hub::HubClient;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// Entries per pushed batch.
const BATCH: u64 = 2000;

/// A device log: its leaves, and its signed checkpoints by size.
type DeviceLog = (Vec<Vec<u8>>, BTreeMap<u64, String>);

/// A device log of `n` entries with a signed checkpoint every `batch`.
fn device_log(key: &Ed25519Key, n: u64, batch: u64) -> Result<DeviceLog> {
    let c = rusqlite::Connection::open_in_memory()?;
    c.execute_batch(log::SCHEMA)?;
    let mut done = 0u64;
    while done < n {
        let tx = c.unchecked_transaction()?;
        let mut app = log::Appender::new(&tx)?;
        for i in done..(done + batch).min(n) {
            let mut payload = serde_json::Map::new();
            payload.insert("n".into(), i.into());
            app.append(&Entry {
                kind: "bench".into(),
                case_id: Some(format!("BH-{:06}", i % 5000)),
                actor: "bench".into(),
                at_ms: 1_795_000_000_000 + i as i64,
                payload,
            })?;
        }
        app.checkpoint("bench.signoff/hub", key, 1_795_000_000_000)?;
        drop(app);
        tx.commit()?;
        done = (done + batch).min(n);
    }
    let leaves = c
        .prepare("SELECT leaf FROM audit_entries ORDER BY idx")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<Vec<Vec<u8>>, _>>()?;
    let cps = c
        .prepare("SELECT size, note FROM audit_checkpoints")?
        .query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?
        .collect::<Result<BTreeMap<u64, String>, _>>()?;
    Ok((leaves, cps))
}

fn random_key() -> Result<Ed25519Key> {
    Ok(Ed25519Key::from_seed(
        signoff_audit::keyfile::os_seed().context("no randomness for a bench key")?,
    ))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Peak resident set of this process (hub and clients together), MiB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Runs the benchmark against a hub on `db`.
pub fn hub(db: &str, entries: u64, cases: u64, out: &Out) -> Result<()> {
    let admin = random_key()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let url = rt.block_on(async {
        signoff_hub::init(db, &admin, "bench-admin", clock.now().timestamp_millis()).await?;
        let store = signoff_hub::store::open(db).await?;
        let state = signoff_hub::HubState::open(
            store,
            clock.clone(),
            signoff_hub::HubConfig {
                max_body: 256 * 1024 * 1024,
                ..Default::default()
            },
        )
        .await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(signoff_hub::serve(listener, state, std::future::pending()));
        anyhow::Ok(url)
    })?;
    let client = |k: &Ed25519Key| -> Result<HubClient> {
        Ok(HubClient::new(
            &url,
            Arc::new(Ed25519Key::from_seed(k.seed())),
            clock.clone(),
        )?)
    };
    let lead = client(&admin)?;
    let enrol = |k: &Ed25519Key, name: &str| -> Result<()> {
        let c = client(k)?;
        let d = c.enrol(name)?;
        lead.call(
            "approve",
            "POST",
            &format!("/v1/devices/{}/role", d["device"].as_str().unwrap_or("")),
            Some(&serde_json::json!({"role": "reviewer"})),
        )?;
        Ok(())
    };

    // 1. Push the log.
    let (leaves, cps) = device_log(&admin, entries, BATCH)?;
    let none = BTreeMap::new();
    let t = Instant::now();
    let mut from = 0u64;
    for (&size, note) in &cps {
        let ack = lead.push_log(from, &leaves[from as usize..size as usize], note, &none)?;
        from = ack.size;
    }
    let push_s = t.elapsed().as_secs_f64();

    // 2. Lease `cases` cases: post them, then ten devices each lease a tenth.
    let run = &admin.public_key()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let body: String = (0..cases)
        .map(|i| format!("{{\"id\":\"L-{run}-{i:06}\",\"subject\":\"s\",\"body\":\"case {i}\",\"received_at\":\"2026-12-01T09:00:00Z\"}}\n"))
        .collect();
    lead.call_bytes(
        "cases",
        "POST",
        "/v1/cases",
        body.as_bytes(),
        "application/x-ndjson",
    )?;
    let lessees: Vec<Ed25519Key> = (0..10).map(|_| random_key()).collect::<Result<_>>()?;
    for (i, k) in lessees.iter().enumerate() {
        enrol(k, &format!("lessee-{i}"))?;
    }
    let per = cases.div_ceil(10).clamp(1, 1000) as u32;
    let t = Instant::now();
    let mut leased = 0usize;
    for k in &lessees {
        leased += client(k)?.lease(per)?.leases.len();
    }
    let lease_s = t.elapsed().as_secs_f64();

    // 3. 50 workstations at once: each leases (renewing) and pushes a small log, 20 rounds.
    let workers: Vec<Ed25519Key> = (0..50).map(|_| random_key()).collect::<Result<_>>()?;
    for (i, k) in workers.iter().enumerate() {
        enrol(k, &format!("station-{i}"))?;
    }
    let t = Instant::now();
    let handles: Vec<_> = workers
        .into_iter()
        .map(|k| {
            let (url, clock) = (url.clone(), clock.clone());
            std::thread::spawn(move || -> Result<Vec<f64>> {
                let (leaves, cps) = device_log(&k, 200, 10)?;
                let c = HubClient::new(&url, Arc::new(k), clock)?;
                let mut lat = Vec::new();
                let mut from = 0u64;
                let sizes: Vec<u64> = (1..=20u64).map(|r| r * 10).collect();
                for size in sizes {
                    let t = Instant::now();
                    c.lease(5)?;
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    if let Some(note) = cps.get(&size) {
                        let t = Instant::now();
                        from = c
                            .push_log(
                                from,
                                &leaves[from as usize..size as usize],
                                note,
                                &BTreeMap::new(),
                            )?
                            .size;
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                }
                Ok(lat)
            })
        })
        .collect();
    let mut lat = Vec::new();
    for h in handles {
        lat.extend(
            h.join()
                .map_err(|_| anyhow::anyhow!("a bench workstation panicked"))??,
        );
    }
    let conc_s = t.elapsed().as_secs_f64();
    lat.sort_by(|a, b| a.total_cmp(b));
    let (p50, p99) = (percentile(&lat, 0.5), percentile(&lat, 0.99));
    let rps = lat.len() as f64 / conc_s;
    let rss = peak_rss_mb();
    let backend = if db.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    let scale = |s: f64, done: u64, target: u64| {
        if done == 0 {
            0.0
        } else {
            s * target as f64 / done as f64
        }
    };
    out.line(&format!(
        "hub on {backend}, served in this process on 127.0.0.1"
    ));
    out.line(&format!("push {entries} entries           {push_s:>8.2} s  ({:.0} entries/s; 100k would take {:.1} s, target < 10 s)", entries as f64 / push_s, scale(push_s, entries, 100_000)));
    out.line(&format!(
        "lease {leased} cases            {lease_s:>8.2} s  (10k would take {:.2} s, target < 2 s)",
        scale(lease_s, leased as u64, 10_000)
    ));
    out.line(&format!("50 workstations, {} requests  p50 {p50:.1} ms  p99 {p99:.1} ms  {rps:.0} requests/s (target p99 < 100 ms)", lat.len()));
    out.line(&format!(
        "peak RSS (hub and clients in one process) {rss:.0} MiB"
    ));
    out.json(&serde_json::json!({
        "backend": backend,
        "entries": entries,
        "push_s": push_s,
        "push_100k_s": scale(push_s, entries, 100_000),
        "leased": leased,
        "lease_s": lease_s,
        "lease_10k_s": scale(lease_s, leased as u64, 10_000),
        "requests": lat.len(),
        "p50_ms": p50,
        "p99_ms": p99,
        "requests_per_s": rps,
        "hub_rss_mb": rss,
    }));
    Ok(())
}
