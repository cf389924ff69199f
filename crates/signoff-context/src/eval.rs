//! The evaluation loop shared by every retrieval mode: run each judged query through a
//! ranker, time it, and average the BEIR metrics. The ranker is a closure, so BM25 today and
//! dense, hybrid and reranked retrieval are measured the same way. [`collect`] computes the
//! fused candidates once so that fusion weights can be tuned ([`tune`]) and the reranker
//! cross-validated over queries ([`cross_validate`]) without searching again.

use crate::beir::BeirSet;
use crate::error::Result;
use crate::metrics::{mrr_at, ndcg_at, percentile, recall_at};
use crate::rerank::{LinearReranker, Reranker, TrainOptions};
use crate::retriever::{fuse, Candidate, HybridParams, Retriever};
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

/// One judged query's fused candidates, computed once so tuning and cross-validation can
/// re-fuse and rerank them without searching again.
#[derive(Debug, Clone)]
pub struct Collected {
    /// The judgements.
    pub rels: std::collections::BTreeMap<String, i32>,
    /// Fused candidates, best first.
    pub cands: Vec<Candidate>,
    /// Milliseconds it took to compute them.
    pub ms: f64,
}

/// Computes the fused candidates of every judged query of `set`.
pub fn collect(set: &BeirSet, r: &Retriever) -> Result<Vec<Collected>> {
    set.judged_queries()
        .map(|(q, rels)| {
            let t = Instant::now();
            let cands = r.candidates(&q.text)?;
            Ok(Collected {
                rels: rels.clone(),
                cands,
                ms: t.elapsed().as_secs_f64() * 1000.0,
            })
        })
        .collect()
}

/// Averages the metrics of rankings (one per collected query, ids best first) with the given
/// per-query times.
pub fn report(ranked: &[(Vec<String>, &Collected, f64)]) -> ModeReport {
    let n = ranked.len();
    let mean = |f: &dyn Fn(&Vec<String>, &Collected) -> f64| {
        if n == 0 {
            0.0
        } else {
            ranked.iter().map(|(r, c, _)| f(r, c)).sum::<f64>() / n as f64
        }
    };
    let times: Vec<f64> = ranked.iter().map(|x| x.2).collect();
    ModeReport {
        ndcg_10: mean(&|r, c| ndcg_at(r, &c.rels, 10)),
        recall_5: mean(&|r, c| recall_at(r, &c.rels, 5)),
        recall_100: mean(&|r, c| recall_at(r, &c.rels, 100)),
        mrr_10: mean(&|r, c| mrr_at(r, &c.rels, 10)),
        p50_ms: percentile(&times, 50.0).unwrap_or(0.0),
        p95_ms: percentile(&times, 95.0).unwrap_or(0.0),
        queries: n,
    }
}

fn ids(r: &Retriever, cands: &[Candidate], order: impl Iterator<Item = usize>) -> Vec<String> {
    order
        .take(DEPTH)
        .map(|i| r.id(cands[i].passage).to_string())
        .collect()
}

/// The figures of fused retrieval with `prm` over collected candidates.
pub fn fused_report(r: &Retriever, col: &mut [Collected], prm: &HybridParams) -> ModeReport {
    let dense = r.dense_available();
    let ranked: Vec<(Vec<String>, f64)> = col
        .iter_mut()
        .map(|c| {
            fuse(&mut c.cands, prm, dense);
            (ids(r, &c.cands, 0..c.cands.len()), c.ms)
        })
        .collect();
    let rows: Vec<(Vec<String>, &Collected, f64)> = ranked
        .into_iter()
        .zip(col.iter())
        .map(|((ids, ms), c)| (ids, c, ms))
        .collect();
    report(&rows)
}

/// Grid search of the fusion weights (α, λ, β) by nDCG@10 over collected candidates; returns
/// every grid point's figures, best first. The winner is a figure *tuned on this set*.
pub fn tune(r: &Retriever, col: &mut [Collected]) -> Vec<(HybridParams, ModeReport)> {
    let base = r.params;
    let alphas: &[f32] = if r.dense_available() {
        &[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0]
    } else {
        &[1.0]
    };
    let mut out = Vec::new();
    for &alpha in alphas {
        for &last_turn in &[0.0, 0.25, 0.5, 0.75, 1.0] {
            for &entity in &[0.0, 0.25, 0.5, 1.0, 2.0] {
                let prm = HybridParams {
                    alpha,
                    last_turn,
                    entity,
                    ..base
                };
                let rep = fused_report(r, col, &prm);
                out.push((prm, rep));
            }
        }
    }
    out.sort_by(|a, b| b.1.ndcg_10.total_cmp(&a.1.ndcg_10));
    fused_report(r, col, &base);
    out
}

/// Training rows (features, relevant) from the reranked depth of collected candidates, one
/// group per query.
pub fn training_rows(r: &Retriever, col: &[&Collected]) -> Vec<Vec<(Vec<f32>, bool)>> {
    let depth = r.params.rerank_depth;
    col.iter()
        .map(|c| {
            c.cands
                .iter()
                .take(depth)
                .enumerate()
                .map(|(k, cand)| {
                    let rel = c.rels.get(r.id(cand.passage)).is_some_and(|&s| s > 0);
                    (cand.features(k), rel)
                })
                .collect()
        })
        .collect()
}

/// k-fold cross-validation of the reranker over queries: queries are shuffled with `seed`
/// (a fixed xorshift, so folds are reproducible) and split into `folds`; each fold is ranked
/// by a reranker trained on the others. The figures are over held-out queries only; times are
/// candidate computation plus reranking.
pub fn cross_validate(
    r: &Retriever,
    col: &[Collected],
    folds: usize,
    seed: u64,
    opt: TrainOptions,
) -> Result<ModeReport> {
    if folds < 2 || folds > col.len() {
        return Err(crate::error::ContextError::Input(format!(
            "--cv {folds}: needs between 2 and {} folds",
            col.len()
        )));
    }
    let mut order: Vec<usize> = (0..col.len()).collect();
    let mut s = seed | 1;
    for i in (1..order.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        order.swap(i, (s % (i as u64 + 1)) as usize);
    }
    let fold_of: Vec<usize> = {
        let mut f = vec![0; col.len()];
        for (k, &q) in order.iter().enumerate() {
            f[q] = k % folds;
        }
        f
    };
    let mut ranked: Vec<(Vec<String>, &Collected, f64)> = Vec::with_capacity(col.len());
    for fold in 0..folds {
        let train: Vec<&Collected> = (0..col.len())
            .filter(|&q| fold_of[q] != fold)
            .map(|q| &col[q])
            .collect();
        let model = Reranker::Linear(LinearReranker::train(
            &training_rows(r, &train),
            opt,
            &format!("fold {fold} of {folds}"),
        )?);
        for q in (0..col.len()).filter(|&q| fold_of[q] == fold) {
            let c = &col[q];
            let t = Instant::now();
            let order = r.rerank_with(&model, &c.cands);
            let ms = c.ms + t.elapsed().as_secs_f64() * 1000.0;
            ranked.push((ids(r, &c.cands, order.into_iter().map(|x| x.0)), c, ms));
        }
    }
    Ok(report(&ranked))
}
