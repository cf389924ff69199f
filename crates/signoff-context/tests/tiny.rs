//! The whole BM25 evaluation on the hand-made `fixtures/tiny` set: its rankings and its mean
//! metrics must be exactly the ones worked by hand in `fixtures/tiny/README.md`.

use signoff_context::{evaluate, BeirSet, Bm25Index};
use std::path::Path;

fn tiny() -> BeirSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny");
    BeirSet::load(&dir, "test").unwrap()
}

fn ranked(idx: &Bm25Index, q: &str) -> Vec<String> {
    idx.search(q, 100)
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

#[test]
fn tiny_set_ranks_as_worked_by_hand() {
    let set = tiny();
    let idx = Bm25Index::build_in_ram(&set.corpus).unwrap();
    let q = |id: &str| {
        set.queries
            .iter()
            .find(|q| q.id == id)
            .unwrap()
            .text
            .clone()
    };
    assert_eq!(ranked(&idx, &q("q1")), ["c1"]);
    assert_eq!(ranked(&idx, &q("q2")), ["c2", "i2"]);
    assert!(ranked(&idx, &q("q3")).is_empty());
}

#[test]
fn tiny_set_metrics_match_the_hand_computed_means() {
    let set = tiny();
    let idx = Bm25Index::build_in_ram(&set.corpus).unwrap();
    let r = evaluate(&set, |q, k| {
        Ok(ranked(&idx, q).into_iter().take(k).collect())
    })
    .unwrap();
    assert_eq!(r.queries, 3, "q4 has no judgements and is not scored");
    let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-6, "{a} != {b}");
    close(r.ndcg_10, 0.493_208_311);
    close(r.recall_5, 0.5);
    close(r.recall_100, 0.5);
    close(r.mrr_10, 0.5);
    assert!(r.p50_ms >= 0.0 && r.p95_ms >= r.p50_ms);
}
