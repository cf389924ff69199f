//! The evaluation loop shared by every retrieval mode: run each judged query through a
//! ranker, time it, and average the BEIR metrics. The ranker is a closure, so BM25 today and
//! dense, hybrid or reranked retrieval later are measured the same way.

use crate::beir::BeirSet;
use crate::error::Result;
use crate::metrics::{mrr_at, ndcg_at, percentile, recall_at};
use serde::Serialize;
use std::time::Instant;

/// How deep each query is ranked: the deepest cut any metric looks at (Recall@100).
pub const DEPTH: usize = 100;

/// The figures of one retrieval mode over a BEIR set (the CLI contract's keys).
#[derive(Debug, Clone, Serialize)]
pub struct ModeReport {
    /// Mean nDCG@10.
    #[serde(rename = "ndcg@10")]
    pub ndcg_10: f64,
    /// Mean Recall@5.
    #[serde(rename = "recall@5")]
    pub recall_5: f64,
    /// Mean Recall@100.
    #[serde(rename = "recall@100")]
    pub recall_100: f64,
    /// Mean MRR@10.
    #[serde(rename = "mrr@10")]
    pub mrr_10: f64,
    /// Median time per query, in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile time per query, in milliseconds.
    pub p95_ms: f64,
    /// How many judged queries were averaged over.
    #[serde(skip)]
    pub queries: usize,
}

/// Ranks every judged query of `set` with `rank` (query text, depth → passage ids, best
/// first), timing each call, and averages the metrics over those queries.
pub fn evaluate<F>(set: &BeirSet, mut rank: F) -> Result<ModeReport>
where
    F: FnMut(&str, usize) -> Result<Vec<String>>,
{
    let (mut ndcg, mut r5, mut r100, mut mrr) = (0.0, 0.0, 0.0, 0.0);
    let mut times = Vec::new();
    for (q, rels) in set.judged_queries() {
        let t = Instant::now();
        let ranked = rank(&q.text, DEPTH)?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        ndcg += ndcg_at(&ranked, rels, 10);
        r5 += recall_at(&ranked, rels, 5);
        r100 += recall_at(&ranked, rels, 100);
        mrr += mrr_at(&ranked, rels, 10);
    }
    let n = times.len();
    let mean = |s: f64| if n == 0 { 0.0 } else { s / n as f64 };
    Ok(ModeReport {
        ndcg_10: mean(ndcg),
        recall_5: mean(r5),
        recall_100: mean(r100),
        mrr_10: mean(mrr),
        p50_ms: percentile(&times, 50.0).unwrap_or(0.0),
        p95_ms: percentile(&times, 95.0).unwrap_or(0.0),
        queries: n,
    })
}
