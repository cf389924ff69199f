//! Embedding throughput on a BEIR corpus, against the previous path (candle's own BERT in
//! batches of 32 texts sorted by length) on the same texts: `cargo run --release -p
//! signoff-embed --example embed_rate -- CORPUS.jsonl [N [BATCH_TOKENS [QUERIES.jsonl]]]` prints passages per
//! second and CPU seconds for both, and the lowest cosine between their vectors.

use signoff_embed::embed::{model_dir, Embedder};
use signoff_embed::reference::reference_embed;
use std::time::Instant;

/// CPU seconds this process has used (user + system), from /proc.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let t = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .expect("usage: embed_rate CORPUS.jsonl [N [BATCH_TOKENS]]");
    let n: usize = args.get(2).map_or(1000, |s| s.parse().expect("N"));
    let text = std::fs::read_to_string(path).expect("read corpus");
    let texts: Vec<String> = text
        .lines()
        .take(n)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            format!(
                "{}: {}",
                v["title"].as_str().unwrap_or(""),
                v["text"].as_str().unwrap_or("")
            )
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let dir = model_dir(std::env::var("SIGNOFF_MODEL_DIR").ok().as_deref());
    let mut e = Embedder::load(&dir).expect("model");
    if let Some(t) = args.get(3) {
        e.set_batch_tokens(t.parse().expect("batch tokens"));
    }
    e.embed(&refs[..64.min(refs.len())]).expect("warm-up");
    let (t, c) = (Instant::now(), cpu_s());
    let v = e.embed(&refs).expect("embed");
    let (s, cs) = (t.elapsed().as_secs_f64(), cpu_s() - c);
    println!(
        "new: {} passages in {s:.2} s: {:.1} passages/s; {:.2} ms CPU each",
        v.len(),
        v.len() as f64 / s,
        cs * 1000.0 / v.len() as f64
    );
    if let Some(q) = args.get(4) {
        // One query at a time, as search embeds them: the last line of each query.
        let text = std::fs::read_to_string(q).expect("read queries");
        let mut ms: Vec<f64> = text
            .lines()
            .take(300)
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("json");
                let q = v["text"]
                    .as_str()
                    .unwrap_or("")
                    .lines()
                    .last()
                    .unwrap_or("")
                    .to_string();
                let t = Instant::now();
                e.embed(&[q.as_str()]).expect("embed");
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        println!(
            "single queries: p50 {:.2} ms, p95 {:.2} ms over {}",
            ms[ms.len() / 2],
            ms[ms.len() * 95 / 100],
            ms.len()
        );
    }
    if std::env::var("SKIP_REFERENCE").is_ok() {
        return;
    }
    let (t, c) = (Instant::now(), cpu_s());
    let r = reference_embed(&dir, &refs).expect("reference");
    let (s, cs) = (t.elapsed().as_secs_f64(), cpu_s() - c);
    println!(
        "old: {} passages in {s:.2} s: {:.1} passages/s; {:.2} ms CPU each (incl. loading)",
        r.len(),
        r.len() as f64 / s,
        cs * 1000.0 / r.len() as f64
    );
    let worst = v
        .iter()
        .zip(&r)
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>())
        .fold(1f32, f32::min);
    println!("lowest cosine new vs old: {worst:.8}");
}
