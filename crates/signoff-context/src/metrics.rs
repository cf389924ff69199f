//! Ranking metrics as BEIR (pytrec_eval) computes them, as pure functions over one query's
//! ranked ids and its judgements, so each can be checked against figures worked by hand.
//! A judgement counts as relevant when its score is above zero; its score is its gain.

use std::collections::BTreeMap;

/// One query's judgements: corpus id → graded score.
pub type Judgements = BTreeMap<String, i32>;

fn gain(rels: &Judgements, id: &str) -> f64 {
    rels.get(id)
        .copied()
        .filter(|&s| s > 0)
        .map_or(0.0, f64::from)
}

/// nDCG@k with linear graded gains and the log2 discount: DCG = Σ gain(rank) / log2(rank + 1)
/// over the first `k` ranks, divided by the DCG of the ideal ordering of all the judgements.
/// 0 when nothing is relevant.
pub fn ndcg_at(ranked: &[String], rels: &Judgements, k: usize) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, id)| gain(rels, id) / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<f64> = rels
        .values()
        .filter(|&&s| s > 0)
        .map(|&s| f64::from(s))
        .collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, g)| g / ((i + 2) as f64).log2())
        .sum();
    if idcg > 0.0 {
        dcg / idcg
    } else {
        0.0
    }
}

/// Recall@k: the share of the relevant passages found in the first `k` ranks (the denominator
/// is every relevant passage, as in BEIR, not `min(k, relevant)`). 0 when nothing is relevant.
pub fn recall_at(ranked: &[String], rels: &Judgements, k: usize) -> f64 {
    let relevant = rels.values().filter(|&&s| s > 0).count();
    if relevant == 0 {
        return 0.0;
    }
    let found = ranked
        .iter()
        .take(k)
        .filter(|id| gain(rels, id) > 0.0)
        .count();
    found as f64 / relevant as f64
}

/// MRR@k: 1 / the rank of the first relevant passage within the first `k`, else 0.
pub fn mrr_at(ranked: &[String], rels: &Judgements, k: usize) -> f64 {
    ranked
        .iter()
        .take(k)
        .position(|id| gain(rels, id) > 0.0)
        .map_or(0.0, |i| 1.0 / (i + 1) as f64)
}

/// The `p`-th percentile (0–100) of `values` by the nearest-rank method; `None` when empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn rels(v: &[(&str, i32)]) -> Judgements {
        v.iter().map(|(k, s)| (k.to_string(), *s)).collect()
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    #[test]
    fn ndcg_uses_graded_gains_log2_discount_and_the_ideal_from_the_judgements() {
        // Ranked: x (0), a (gain 1), b (gain 2). DCG = 1/log2(3) + 2/log2(4) = 0.63093 + 1.
        // Ideal: b, a, c (gain 1, never retrieved) = 2 + 1/log2(3) + 1/log2(4) = 3.13093.
        let r = rels(&[("a", 1), ("b", 2), ("c", 1), ("z", 0)]);
        let got = ndcg_at(&ids(&["x", "a", "b"]), &r, 10);
        close(
            got,
            (1.0 / 3f64.log2() + 1.0) / (2.0 + 1.0 / 3f64.log2() + 0.5),
        );
        close(got, 0.520_909_085_140_301_4);
        // A perfect ranking scores 1; nothing relevant retrieved scores 0.
        close(ndcg_at(&ids(&["b", "a", "c"]), &r, 10), 1.0);
        close(ndcg_at(&ids(&["x", "z"]), &r, 10), 0.0);
    }

    #[test]
    fn ndcg_cuts_both_the_ranking_and_the_ideal_at_k() {
        // k = 1: only rank 1 counts, and the ideal is the single best gain (2).
        let r = rels(&[("a", 1), ("b", 2)]);
        close(ndcg_at(&ids(&["a", "b"]), &r, 1), 0.5);
    }

    #[test]
    fn recall_counts_relevant_found_over_all_relevant() {
        let r = rels(&[("a", 1), ("b", 2), ("c", 1), ("z", 0)]);
        let ranked = ids(&["x", "a", "z", "b", "y", "c"]);
        close(recall_at(&ranked, &r, 5), 2.0 / 3.0);
        close(recall_at(&ranked, &r, 100), 1.0);
        close(recall_at(&ranked, &rels(&[("z", 0)]), 5), 0.0);
    }

    #[test]
    fn mrr_is_the_reciprocal_rank_of_the_first_relevant_within_k() {
        let r = rels(&[("a", 1), ("z", 0)]);
        close(mrr_at(&ids(&["z", "x", "a"]), &r, 10), 1.0 / 3.0);
        close(mrr_at(&ids(&["z", "x", "a"]), &r, 2), 0.0);
        close(mrr_at(&ids(&["a"]), &r, 10), 1.0);
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(10.0));
        assert_eq!(percentile(&v, 95.0), Some(19.0));
        assert_eq!(percentile(&[3.0], 95.0), Some(3.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
