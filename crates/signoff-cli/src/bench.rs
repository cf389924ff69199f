//! `signoff bench …`: measurements that print a table (and `--json`), never pass/fail tests.

use crate::output::Out;
use anyhow::Result;
use signoff_core::{CaseStatus, DispositionKind, FixedClock, QueueFilter, Reviewer};
use signoff_store::{Access, Decision, Workspace};
use std::io::Write;
use std::time::Instant;

const WORDS: &[&str] = &[
    "card",
    "payment",
    "refund",
    "declined",
    "transfer",
    "account",
    "balance",
    "fee",
    "charged",
    "pending",
    "statement",
    "pin",
    "blocked",
    "limit",
    "exchange",
    "rate",
    "top",
    "up",
    "cash",
    "withdrawal",
    "atm",
    "contactless",
    "verify",
    "identity",
    "lost",
    "stolen",
    "arrived",
    "still",
    "waiting",
    "why",
    "how",
    "can",
    "i",
    "my",
    "the",
    "was",
    "is",
    "not",
    "please",
    "help",
    "yesterday",
    "today",
    "twice",
    "wrong",
    "amount",
    "merchant",
    "app",
    "online",
    "order",
];

/// A small, fast, seeded generator (SplitMix64) so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn write_cases(path: &std::path::Path, n: u64) -> Result<()> {
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut rng = Rng(42);
    let base = 1_795_000_000i64; // 2026-11 in seconds
    for i in 0..n {
        let words = 12 + rng.below(30) as usize;
        let mut body = String::with_capacity(words * 8);
        for w in 0..words {
            if w > 0 {
                body.push(' ');
            }
            body.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        }
        let received = base + rng.below(30 * 86_400) as i64;
        let fmt = |s: i64| {
            chrono::DateTime::from_timestamp(s, 0)
                .unwrap_or_default()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        };
        let sla = if rng.below(10) < 7 {
            format!(
                ",\"sla_due_at\":\"{}\"",
                fmt(received + 3600 * (4 + rng.below(68) as i64))
            )
        } else {
            String::new()
        };
        writeln!(
            f,
            "{{\"id\":\"B-{i:08}\",\"subject\":\"{} {}\",\"body\":\"{body}\",\"received_at\":\"{}\",\"priority\":{}{sla},\"label\":\"l{}\"}}",
            WORDS[rng.below(WORDS.len() as u64) as usize],
            WORDS[rng.below(WORDS.len() as u64) as usize],
            fmt(received),
            rng.below(4),
            rng.below(77)
        )?;
    }
    f.flush()?;
    Ok(())
}

/// Median and 95th percentile of `runs` timings of `f`, in ms.
fn time_ms(runs: usize, mut f: impl FnMut(usize) -> Result<()>) -> Result<(f64, f64)> {
    let mut v = Vec::with_capacity(runs);
    for i in 0..runs {
        let t = Instant::now();
        f(i)?;
        v.push(t.elapsed().as_secs_f64() * 1e3);
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    Ok((pct(0.5), pct(0.95)))
}

/// `signoff bench queue --cases N [--encrypted]`: with `encrypted`, the same measurements on
/// a plain and an encrypted workspace in one run, and their ratios.
pub fn queue(n: u64, keep: Option<&std::path::Path>, encrypted: bool, out: &Out) -> Result<()> {
    let plain = queue_figures(n, keep, None)?;
    if !encrypted {
        for l in &plain.lines {
            out.line(l);
        }
        out.json(&plain.json);
        return Ok(());
    }
    let enc = queue_figures(n, keep, Some(&crate::bench_encrypted::bench_key()?))?;
    crate::bench_encrypted::compare(
        out,
        &format!("signoff bench queue --encrypted — {n} cases"),
        &plain,
        &enc,
        &[
            ("import (cases/s)", "/import_per_s", true),
            ("first page (50), ms", "/first_page_ms", false),
            ("next item, ms", "/next_item_ms", false),
            ("filtered count, ms", "/filtered_count_ms", false),
            ("deep keyset page, ms", "/deep_page_ms", false),
            ("disposition write, ms", "/decide_ms", false),
        ],
    );
    Ok(())
}

/// One run of the queue benchmark on a plain (`key` None) or encrypted workspace.
fn queue_figures(
    n: u64,
    keep: Option<&std::path::Path>,
    key: Option<&signoff_store::DbKey>,
) -> Result<crate::bench_encrypted::Figures> {
    let mut lines = Vec::new();
    let tmp = tempfile::tempdir()?;
    let dir = match keep {
        Some(k) => tempfile::Builder::new()
            .prefix("bench-")
            .tempdir_in(k)?
            .keep(),
        None => tmp.path().to_path_buf(),
    };
    let file = dir.join("cases.jsonl");
    eprintln!("generating {n} synthetic cases…");
    write_cases(&file, n)?;
    let clock = FixedClock::new("2026-12-01T00:00:00Z".parse()?);
    let mut ws = Workspace::open_keyed(&dir.join("ws"), Access::Write, key)?;
    ws.attach_key(std::sync::Arc::new(
        signoff_audit::note::Ed25519Key::from_seed([42; 32]),
    ))?;
    ws.upsert_reviewer(
        &Reviewer {
            id: "bench".into(),
            name: "Bench Reviewer".into(),
        },
        &clock,
    )?;
    ws.attach_reviewer_key(
        "bench",
        std::sync::Arc::new(signoff_audit::note::Ed25519Key::from_seed([43; 32])),
        &clock,
    )?;
    eprintln!("importing…");
    let t = Instant::now();
    let report = ws.import_file(&file, &clock, &mut |_| {})?;
    let import_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(report.new == n, "imported {} of {n}", report.new);
    let open = QueueFilter::default();
    let first_page = time_ms(50, |_| {
        ws.queue_page(&open, None, 50)?;
        Ok(())
    })?;
    let page = ws.queue_page(&open, None, 200)?;
    let next_item = time_ms(100, |i| {
        let next = ws.queue_page(&open, Some(page[i].cursor), 1)?;
        ws.case(next[0].seq)?;
        Ok(())
    })?;
    let filtered = QueueFilter {
        text: Some("refund declined".into()),
        status: Some(CaseStatus::Open),
        ..Default::default()
    };
    let mut matched = 0;
    let filtered_count = time_ms(20, |_| {
        matched = ws.queue_count(&filtered)?;
        Ok(())
    })?;
    let deep: Vec<signoff_core::QueueCursor> = {
        let mut stmt = ws.conn().prepare(
            "SELECT sla_key, prio_key, received_ms, seq FROM cases INDEXED BY cases_queue
             WHERE status = 'open' ORDER BY sla_key, prio_key, received_ms, seq LIMIT 20 OFFSET ?1",
        )?;
        let rows = stmt.query_map([(n as i64 * 9) / 10], |r| {
            Ok(signoff_core::QueueCursor {
                sla_key: r.get(0)?,
                neg_priority: r.get(1)?,
                received_ms: r.get(2)?,
                seq: r.get(3)?,
            })
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let deep_page = time_ms(deep.len(), |i| {
        ws.queue_page(&open, Some(deep[i]), 50)?;
        Ok(())
    })?;
    let targets: Vec<i64> = page.iter().take(100).map(|c| c.seq).collect();
    let decide = time_ms(targets.len(), |i| {
        let d = Decision {
            case_seq: targets[i],
            kind: DispositionKind::Approve,
            reason_code: None,
            rationale: None,
            final_text: None,
            recheck: None,
        };
        ws.decide("bench", &d, &clock)?;
        Ok(())
    })?;
    let rows = [
        ("first page (50)", first_page, "< 50 ms"),
        ("next item", next_item, "< 20 ms"),
        ("filtered count (text + status)", filtered_count, "< 200 ms"),
        ("deep keyset page (90%)", deep_page, ""),
        ("disposition write", decide, ""),
    ];
    lines.push(format!(
        "signoff bench queue — {n} cases, text filter matched {matched}"
    ));
    lines.push(format!(
        "{:<32} {:>10} {:>10}  {}",
        "operation", "p50 ms", "p95 ms", "target"
    ));
    lines.push(format!(
        "{:<32} {:>10} {:>10}  {}",
        "import",
        format!("{:.0}/s", n as f64 / import_s),
        "",
        "≥ 50,000/s"
    ));
    for (name, (p50, p95), target) in rows {
        lines.push(format!("{name:<32} {p50:>10.3} {p95:>10.3}  {target}"));
    }
    let json = serde_json::json!({
        "cases": n,
        "import_per_s": n as f64 / import_s,
        "first_page_ms": first_page.0,
        "next_item_ms": next_item.0,
        "filtered_count_ms": filtered_count.0,
        "deep_page_ms": deep_page.0,
        "decide_ms": decide.0,
        "p95_ms": {
            "first_page": first_page.1, "next_item": next_item.1, "filtered_count": filtered_count.1,
            "deep_page": deep_page.1, "decide": decide.1
        },
        "filtered_matches": matched,
    });
    Ok(crate::bench_encrypted::Figures { lines, json })
}
