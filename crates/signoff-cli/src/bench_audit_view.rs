//! `signoff bench audit-view --entries N`: the audit view's pages, proofs, CSV export and
//! actor list over a log of N entries, each filter with its query plan, so a filter that
//! stops walking its index shows up as a slow row and a scan in the plan.

use crate::output::Out;
use anyhow::Result;
use signoff_audit::log::{self, Entry};
use signoff_audit::note::Ed25519Key;
use signoff_core::{Band, FixedClock};
use signoff_store::{Access, AuditFilter, Workspace};
use std::time::Instant;

const DAY0_MS: i64 = 1_795_651_200_000; // 2026-11-26T00:00:00Z
const ACTORS: [&str; 5] = ["ada", "bob", "cy", "dee", "eve"];

/// Builds a workspace of six imported cases (one in band high) and `n` synthetic decisions
/// spread over them and five reviewers, ten milliseconds apart.
fn build(dir: &std::path::Path, n: u64) -> Result<()> {
    let clock = FixedClock::new("2026-11-24T09:00:00Z".parse()?);
    let key = Ed25519Key::from_seed([7; 32]);
    {
        let mut w = Workspace::open(dir, Access::Write)?;
        w.attach_key(std::sync::Arc::new(Ed25519Key::from_seed([7; 32])))?;
        let mut text = String::new();
        for i in 1..=6 {
            text.push_str(&format!(
                "{{\"id\":\"V-{i}\",\"subject\":\"s {i}\",\"body\":\"b {i}\",\"received_at\":\"2026-11-20T10:00:00Z\"}}\n"
            ));
        }
        let file = dir.join("cases.jsonl");
        std::fs::write(&file, text)?;
        w.import_file(&file, &clock, &mut |_| {})?;
    }
    let mut conn = rusqlite::Connection::open(dir.join(signoff_store::DB_FILE))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         UPDATE cases SET band = 'high' WHERE id = 'V-1';",
    )?;
    let origin: String = conn.query_row(
        "SELECT value FROM settings WHERE key = 'audit_origin'",
        [],
        |r| r.get(0),
    )?;
    let mut i = 0;
    while i < n {
        let tx = conn.transaction()?;
        let mut app = log::Appender::new(&tx)?;
        for _ in 0..50_000.min(n - i) {
            let mut payload = serde_json::Map::new();
            payload.insert("disposition".into(), "approve".into());
            payload.insert("case_sha256".into(), format!("{i:064x}").into());
            app.append(&Entry {
                kind: "disposition".into(),
                case_id: Some(format!("V-{}", i % 6 + 1)),
                actor: ACTORS[(i % 5) as usize].into(),
                at_ms: DAY0_MS + i as i64 * 10,
                payload,
            })?;
            i += 1;
        }
        app.checkpoint(&origin, &key, DAY0_MS)?;
        drop(app);
        tx.commit()?;
    }
    Ok(())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// `signoff bench audit-view --entries N`.
pub fn audit_view(n: u64, out: &Out) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    eprintln!("building a workspace log of {n} entries…");
    build(tmp.path(), n)?;
    let w = Workspace::open(tmp.path(), Access::Write)?;
    let t = Instant::now();
    w.audit_catalog_catch_up()?;
    let catch_up_ms = ms(t);
    let s = |v: &str| Some(v.to_string());
    let filters: Vec<(&str, AuditFilter)> = vec![
        ("all", AuditFilter::default()),
        (
            "reviewer",
            AuditFilter {
                actor: s("eve"),
                ..Default::default()
            },
        ),
        (
            "reviewer with no entries",
            AuditFilter {
                actor: s("nobody"),
                ..Default::default()
            },
        ),
        (
            "one day",
            AuditFilter {
                from_ms: Some(DAY0_MS + 3_600_000),
                to_ms: Some(DAY0_MS + 7_200_000),
                ..Default::default()
            },
        ),
        (
            "disposition reject",
            AuditFilter {
                disposition: s("reject"),
                ..Default::default()
            },
        ),
        (
            "kind import",
            AuditFilter {
                kind: s("import"),
                ..Default::default()
            },
        ),
        (
            "case V-1",
            AuditFilter {
                case_id: s("V-1"),
                ..Default::default()
            },
        ),
        (
            "band high",
            AuditFilter {
                band: Some(Band::High),
                ..Default::default()
            },
        ),
        (
            "band no case has",
            AuditFilter {
                band: Some(Band::Medium),
                ..Default::default()
            },
        ),
    ];
    out.line(&format!(
        "audit view over {n} entries (catalog catch-up {catch_up_ms:.0} ms)"
    ));
    out.line(&format!(
        "{:<26} {:>5} {:>10} {:>5} {:>10}  plan",
        "filter", "rows", "first ms", "rows", "next ms"
    ));
    let mut pages = serde_json::Map::new();
    for (name, f) in &filters {
        let t = Instant::now();
        let first = w.audit_page(f, None, 50)?;
        let first_ms = ms(t);
        let t = Instant::now();
        let next = w.audit_page(f, first.last().map(|r| r.cursor), 50)?;
        let next_ms = ms(t);
        let plan = w.audit_page_plan(f)?.join(" | ");
        out.line(&format!(
            "{name:<26} {:>5} {first_ms:>10.3} {:>5} {next_ms:>10.3}  {plan}",
            first.len(),
            next.len()
        ));
        pages.insert(
            (*name).into(),
            serde_json::json!({"first_ms": first_ms, "next_ms": next_ms, "rows": first.len(), "plan": plan}),
        );
    }
    let t = Instant::now();
    let e = w.audit_entry(n / 2)?;
    let proof_ms = ms(t);
    let t = Instant::now();
    let rows = w.audit_export_csv(&AuditFilter::default(), &mut std::io::sink())?;
    let csv_ms = ms(t);
    let t = Instant::now();
    let actors = w.audit_actors()?;
    let actors_ms = ms(t);
    out.line(&format!(
        "entry {} with its proof: {proof_ms:.3} ms",
        e.index
    ));
    out.line(&format!("CSV export of {rows} rows: {csv_ms:.0} ms"));
    out.line(&format!(
        "{} actors listed: {actors_ms:.3} ms",
        actors.len()
    ));
    out.json(&serde_json::json!({
        "entries": n,
        "catch_up_ms": catch_up_ms,
        "pages": pages,
        "entry_proof_ms": proof_ms,
        "csv_rows": rows,
        "csv_ms": csv_ms,
        "actors_ms": actors_ms,
    }));
    Ok(())
}
