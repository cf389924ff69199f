//! `signoff bench audit --entries N`: the cost of the audit log, as ratios against baselines
//! measured in the same run (bare SQLite inserts of the same bytes, raw SHA-256 of the leaves).

use crate::output::Out;
use anyhow::Result;
use rusqlite::Connection;
use signoff_audit::log::{self, Entry};
use signoff_audit::note::Ed25519Key;
use signoff_core::FixedClock;
use signoff_store::{Access, DbKey, Workspace};
use std::time::Instant;

fn entry(i: u64, cases: u64) -> Entry {
    let mut payload = serde_json::Map::new();
    payload.insert("decision".into(), "approve".into());
    payload.insert(
        "case_sha256".into(),
        format!("{:064x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).into(),
    );
    payload.insert("final_sha256".into(), format!("{:064x}", i ^ 0xABCD).into());
    Entry {
        // A disposition-sized entry of a kind that writes no workspace row (the bench's log
        // is synthetic: a real disposition entry must have its dispositions row).
        kind: "bench_decision".into(),
        case_id: Some(format!("B-{:08}", i % cases)),
        actor: "bench".into(),
        at_ms: 1_795_000_000_000 + i as i64,
        payload,
    }
}

fn durable(path: &std::path::Path, db_key: Option<&DbKey>) -> Result<Connection> {
    let c = Connection::open(path)?;
    if let Some(k) = db_key {
        signoff_store::cipher::apply_key(&c, k)?;
    }
    c.execute_batch(
        // The workspace's own settings, for the log and its baseline alike.
        "PRAGMA page_size = 8192; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         PRAGMA cache_size = -65536;",
    )?;
    log::tune(&c)?;
    Ok(c)
}

/// Appends `count` entries in transactions of `batch`, one signed checkpoint per transaction.
/// The entries are built before the clock starts, as the bare baseline's leaves are.
/// `deployed`: a real workspace file (every table and index an append touches there);
/// otherwise the log's own tables alone.
fn append_rate(
    dir: &std::path::Path,
    key: &Ed25519Key,
    batch: u64,
    count: u64,
    deployed: bool,
    db_key: Option<&DbKey>,
) -> Result<f64> {
    let ws_dir = dir.join(format!("append-{batch}-{deployed}"));
    let mut c = if deployed {
        drop(Workspace::open_keyed(&ws_dir, Access::Write, db_key)?);
        durable(&ws_dir.join(signoff_store::DB_FILE), db_key)?
    } else {
        std::fs::create_dir_all(&ws_dir)?;
        let c = durable(&ws_dir.join("log.sqlite"), db_key)?;
        c.execute_batch(log::SCHEMA)?;
        c
    };
    let entries: Vec<Entry> = (0..count).map(|i| entry(i, 1000)).collect();
    let t = Instant::now();
    for chunk in entries.chunks(batch as usize) {
        let tx = c.transaction()?;
        let mut app = log::Appender::new(&tx)?;
        for e in chunk {
            app.append(e)?;
        }
        app.checkpoint("bench/log", key, 0)?;
        drop(app);
        tx.commit()?;
    }
    Ok(count as f64 / t.elapsed().as_secs_f64())
}

/// The same leaf bytes into a plain table, 100 per transaction, same durability.
fn bare_rate(dir: &std::path::Path, count: u64, db_key: Option<&DbKey>) -> Result<f64> {
    let mut c = durable(&dir.join("bare.sqlite"), db_key)?;
    c.execute_batch("CREATE TABLE bare (idx INTEGER PRIMARY KEY, leaf BLOB NOT NULL)")?;
    let leaves: Vec<Vec<u8>> = (0..count)
        .map(|i| log::encode_leaf(i, &entry(i, 1000)))
        .collect::<Result<_, _>>()?;
    let t = Instant::now();
    for chunk in leaves.chunks(100).enumerate() {
        let tx = c.transaction()?;
        {
            let mut s = tx.prepare_cached("INSERT INTO bare (idx, leaf) VALUES (?1, ?2)")?;
            for (j, leaf) in chunk.1.iter().enumerate() {
                s.execute(rusqlite::params![(chunk.0 * 100 + j) as i64, leaf])?;
            }
        }
        tx.commit()?;
    }
    Ok(count as f64 / t.elapsed().as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// `signoff bench audit --entries N [--encrypted]`: with `encrypted`, the same measurements
/// on plain and encrypted files in one run (the baselines encrypted alike), and their ratios.
pub fn audit(n: u64, encrypted: bool, out: &Out) -> Result<()> {
    let plain = audit_figures(n, None)?;
    if !encrypted {
        for l in &plain.lines {
            out.line(l);
        }
        out.json(&plain.json);
        return Ok(());
    }
    let enc = audit_figures(n, Some(&crate::bench_encrypted::bench_key()?))?;
    crate::bench_encrypted::compare(
        out,
        &format!("signoff bench audit --encrypted — {n} entries"),
        &plain,
        &enc,
        &[
            ("append, batch 1 (/s)", "/append_per_s/1", true),
            ("append, batch 100 (/s)", "/append_per_s/100", true),
            ("bare insert, batch 100 (/s)", "/bare_insert_per_s", true),
            ("append ratio (batch 100 / bare)", "/append_ratio", true),
            ("full verify (/s)", "/verify_per_s", true),
            ("verify ratio (verify / SHA-256)", "/verify_ratio", true),
            ("inclusion proof, ms", "/proof_ms", false),
            ("history with proofs, ms", "/history_ms", false),
        ],
    );
    Ok(())
}

/// One run of the audit benchmark on plain (`db_key` None) or encrypted files.
fn audit_figures(n: u64, db_key: Option<&DbKey>) -> Result<crate::bench_encrypted::Figures> {
    let mut lines: Vec<String> = Vec::new();
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    let key = Ed25519Key::from_seed([11; 32]);
    let mut append_per_s = serde_json::Map::new();
    let mut rows = Vec::new();
    for batch in [1u64, 10, 1000] {
        let count = (batch * 200).clamp(2000, 20_000).min(n.max(2000));
        eprintln!("append, batch {batch}: {count} entries…");
        let r = append_rate(dir, &key, batch, count, true, db_key)?;
        append_per_s.insert(batch.to_string(), r.into());
        rows.push((format!("append, batch {batch}"), r));
    }
    // The ratio that has a target: batch-100 appends and bare inserts alternate over three
    // rounds on fresh files and the medians are compared, so a burst of disk noise during one
    // of them does not decide the figure.
    let count = 20_000.min(n.max(2000));
    let (mut appends, mut log_only, mut bares) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..3 {
        eprintln!(
            "append, batch 100 (workspace, log alone) and bare insert: {count} entries each (round {})…",
            round + 1
        );
        let sub = dir.join(format!("round-{round}"));
        std::fs::create_dir_all(&sub)?;
        appends.push(append_rate(&sub, &key, 100, count, true, db_key)?);
        log_only.push(append_rate(&sub, &key, 100, count, false, db_key)?);
        bares.push(bare_rate(&sub, count, db_key)?);
    }
    let append100 = median(appends);
    let log_only = median(log_only);
    append_per_s.insert("100".into(), append100.into());
    rows.insert(2, ("append, batch 100 (median of 3)".into(), append100));
    let bare = median(bares);
    let log_only_ratio = log_only / bare;
    let append_ratio = append_per_s["100"].as_f64().unwrap_or(0.0) / bare;

    eprintln!("building a workspace log of {n} entries…");
    let clock = FixedClock::new("2026-12-01T00:00:00Z".parse()?);
    let cases = (n / 10).clamp(1, 100_000);
    let ws_dir = dir.join("ws");
    {
        let mut ws = Workspace::open_keyed(&ws_dir, Access::Write, db_key)?;
        ws.attach_key(std::sync::Arc::new(Ed25519Key::from_seed([12; 32])))?;
        let file = dir.join("cases.jsonl");
        let mut text = String::new();
        for i in 0..cases {
            text.push_str(&format!(
                "{{\"id\":\"B-{i:08}\",\"subject\":\"s\",\"body\":\"b {i}\",\"received_at\":\"2026-11-20T10:00:00Z\"}}\n"
            ));
        }
        std::fs::write(&file, text)?;
        ws.import_file(&file, &clock, &mut |_| {})?;
    }
    let mut conn = durable(&ws_dir.join(signoff_store::DB_FILE), db_key)?;
    let origin: String = conn.query_row(
        "SELECT value FROM settings WHERE key = 'audit_origin'",
        [],
        |r| r.get(0),
    )?;
    let ws_key = Ed25519Key::from_seed([12; 32]);
    let mut i = log::size(&conn)?;
    while i < n {
        let tx = conn.transaction()?;
        let mut app = log::Appender::new(&tx)?;
        for _ in 0..10_000.min(n - i) {
            app.append(&entry(i, cases))?;
            i += 1;
        }
        drop(app);
        tx.commit()?;
    }
    {
        let tx = conn.transaction()?;
        log::checkpoint(&tx, &origin, &ws_key, 0)?;
        tx.commit()?;
    }
    drop(conn);
    eprintln!("audit view catch-up…");
    let catch_up_per_s = {
        let w = Workspace::open_keyed(&ws_dir, Access::Write, db_key)?;
        let t = Instant::now();
        let n = w.audit_catalog_catch_up()?;
        n as f64 / t.elapsed().as_secs_f64()
    };
    let ws = Workspace::open_keyed(&ws_dir, Access::Read, db_key)?;
    let total = log::size(ws.conn())?;

    eprintln!("verify and raw hashing…");
    let leaves: Vec<Vec<u8>> = {
        let mut s = ws
            .conn()
            .prepare("SELECT leaf FROM audit_entries ORDER BY idx")?;
        let rows = s.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    // Raw hashing and the full verify alternate over three rounds and the medians are
    // compared, so a burst of other work on the machine during one of them does not decide
    // the ratio. The full verify: the log, the columns beside each leaf, the audit view's
    // catalog and every table checked against the log.
    let (mut sha_rates, mut verify_rates) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let t = Instant::now();
        let mut acc = 0u8;
        for l in &leaves {
            acc ^= signoff_audit::merkle::leaf_hash(l)[0];
        }
        std::hint::black_box(acc);
        sha_rates.push(total as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        ws.audit_verify(None, &mut |_, _| {})?;
        verify_rates.push(total as f64 / t.elapsed().as_secs_f64());
    }
    let sha256_per_s = median(sha_rates);
    let verify_per_s = median(verify_rates);
    let verify_ratio = verify_per_s / sha256_per_s;

    eprintln!("inclusion proofs and history…");
    let nodes = log::SqlNodes(ws.conn());
    let proof_ms = median(
        (0..200u64)
            .map(|k| {
                let t = Instant::now();
                let _ = signoff_audit::merkle::inclusion_proof(&nodes, (k * 7919) % total, total);
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    );
    let mut hist = Vec::new();
    let mut found = 0;
    for k in 0..50u64 {
        let id = format!("B-{:08}", (k * 7919) % cases);
        let t = Instant::now();
        let h = ws.audit_history(&id, None)?;
        hist.push(t.elapsed().as_secs_f64() * 1e3);
        found += h.entries.len();
    }
    let history_ms = median(hist);

    lines.push(format!("signoff bench audit — {total} entries ({cases} cases; history returned {} entries per case on average)", found / 50));
    lines.push(format!("{:<36} {:>14}", "measure", "value"));
    for (name, r) in &rows {
        lines.push(format!("{name:<36} {:>12.0}/s", r));
    }
    lines.push(format!(
        "{:<36} {:>12.0}/s",
        "bare insert, batch 100 (median of 3)", bare
    ));
    lines.push(format!(
        "{:<36} {:>14.2}  (target ≥ 0.50)",
        "append ratio (batch 100 / bare)", append_ratio
    ));
    lines.push(format!(
        "{:<36} {:>14.2}  (the log's own tables only)",
        "  log alone (batch 100 / bare)", log_only_ratio
    ));
    lines.push(format!(
        "{:<36} {:>12.0}/s  (bulk, after commit, off the append path)",
        "audit view catalog catch-up", catch_up_per_s
    ));
    lines.push(format!(
        "{:<36} {:>12.0}/s",
        "raw SHA-256 of the leaves (median of 3)", sha256_per_s
    ));
    lines.push(format!(
        "{:<36} {:>12.0}/s",
        "full verify (median of 3)", verify_per_s
    ));
    lines.push(format!(
        "{:<36} {:>14.2}  (target ≥ 0.30)",
        "verify ratio (verify / SHA-256)", verify_ratio
    ));
    lines.push(format!(
        "{:<36} {:>11.3} ms",
        "inclusion proof (median)", proof_ms
    ));
    lines.push(format!(
        "{:<36} {:>11.3} ms  (target < 10 ms)",
        "history with proofs (median)", history_ms
    ));
    let json = serde_json::json!({
        "entries": total,
        "append_per_s": append_per_s,
        "bare_insert_per_s": bare,
        "append_ratio": append_ratio,
        "append_ratio_log_only": log_only_ratio,
        "catalog_catch_up_per_s": catch_up_per_s,
        "verify_per_s": verify_per_s,
        "sha256_per_s": sha256_per_s,
        "verify_ratio": verify_ratio,
        "proof_ms": proof_ms,
        "history_ms": history_ms,
    });
    Ok(crate::bench_encrypted::Figures { lines, json })
}
