//! `signoff eval retrieval`: score context retrieval on a BEIR set (nDCG@10, Recall@5/@100,
//! MRR@10 and per-query latency), one row per mode. Only BM25 exists so far (issue 6); the
//! other modes of the contract are refused by name rather than imitated.

use crate::output::Out;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use signoff_context::{evaluate, BeirSet, Bm25Index, ModeReport};
use std::path::PathBuf;
use std::time::Instant;

/// A retrieval mode of the contract.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Lexical BM25 over title + text.
    Bm25,
    /// Sentence embeddings (not built yet).
    Dense,
    /// BM25 and dense fused (not built yet).
    Hybrid,
    /// The full pipeline with a reranker (not built yet).
    Rerank,
    /// Every mode.
    All,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Bm25 => "bm25",
            Mode::Dense => "dense",
            Mode::Hybrid => "hybrid",
            Mode::Rerank => "rerank",
            Mode::All => "all",
        }
    }
}

/// Arguments of `signoff eval retrieval`.
#[derive(Args)]
pub struct RetrievalArgs {
    /// BEIR directory: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.
    #[arg(long)]
    beir: PathBuf,
    /// Which retrieval to score.
    #[arg(long, value_enum, default_value_t = Mode::Bm25)]
    mode: Mode,
    /// Which qrels file to judge by (qrels/<split>.tsv).
    #[arg(long, default_value = "test")]
    split: String,
}

/// Runs `signoff eval retrieval`.
pub fn run(a: RetrievalArgs, out: &Out) -> Result<()> {
    if a.mode != Mode::Bm25 {
        bail!(
            "--mode {}: not built yet: only bm25 is (dense, hybrid and rerank arrive with issue 6)",
            a.mode.name()
        );
    }
    let set = BeirSet::load(&a.beir, &a.split)
        .with_context(|| format!("loading the BEIR set {}", a.beir.display()))?;
    let t = Instant::now();
    let index = Bm25Index::build_in_ram(&set.corpus).context("building the BM25 index")?;
    let build_s = t.elapsed().as_secs_f64();
    let bm25 = evaluate(&set, |q, k| {
        Ok(index.search(q, k)?.into_iter().map(|(id, _)| id).collect())
    })?;
    out.line(&format!(
        "{} passages indexed in {build_s:.2} s; {} judged queries (qrels/{}.tsv)",
        set.corpus.len(),
        bm25.queries,
        a.split
    ));
    out.line(&format!(
        "{:<8} {:>8} {:>7} {:>7} {:>7} {:>8} {:>8}",
        "mode", "nDCG@10", "R@5", "R@100", "MRR@10", "p50 ms", "p95 ms"
    ));
    out.line(&row("bm25", &bm25));
    let mut json = serde_json::Map::new();
    json.insert("bm25".into(), serde_json::to_value(&bm25)?);
    out.json(&json);
    Ok(())
}

fn row(mode: &str, r: &ModeReport) -> String {
    format!(
        "{mode:<8} {:>8.4} {:>7.4} {:>7.4} {:>7.4} {:>8.3} {:>8.3}",
        r.ndcg_10, r.recall_5, r.recall_100, r.mrr_10, r.p50_ms, r.p95_ms
    )
}
