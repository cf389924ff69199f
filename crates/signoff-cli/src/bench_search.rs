//! `signoff bench search --passages N`: context retrieval at scale. N passages are synthesised
//! from a BEIR corpus (default: the DSTC11 set beside the repository): the originals, then
//! copies whose words are rotated and whose entity names carry a made-up distinguishing word,
//! so the index holds N distinct passages and ~N/len entities. The BEIR queries are then run
//! in hybrid mode (no rerank) and in the full pipeline (rerank of the fused top 50).
//!
//! Indexing rate: the embedding model is timed on a fresh sample of passages (no cache); the
//! copies reuse their original's vector so the bench does not spend an hour embedding; BM25
//! and entity indexing are timed over all N. `index_per_s` = N / (embedding time per passage
//! × N + the rest), i.e. what indexing N passages from scratch costs.

use crate::eval_retrieval::load_embedder;
use crate::output::Out;
use anyhow::{bail, Context, Result};
use signoff_context::beir::{load_corpus, load_queries};
use signoff_context::metrics::percentile;
use signoff_context::retriever::passage_text;
use signoff_context::{Mode, Passage, Retriever};
use std::path::Path;
use std::time::Instant;

/// How many passages the embedding rate is timed on.
const EMBED_SAMPLE: usize = 1000;
/// How many queries are timed.
const QUERIES: usize = 300;

/// A made-up word for copy `k` (letters only, so it is one token).
fn tag(mut k: usize) -> String {
    const SYL: [&str; 16] = [
        "ka", "zo", "ri", "vel", "mu", "tan", "qui", "dor", "ps", "lex", "ny", "bo", "gar", "fi",
        "wu", "ste",
    ];
    let mut s = String::from("x");
    loop {
        s.push_str(SYL[k % 16]);
        k /= 16;
        if k == 0 {
            break;
        }
    }
    s
}

/// N passages from `base`: the originals, then rotated copies with tagged titles.
pub fn synthesise(base: &[Passage], n: usize) -> Vec<Passage> {
    (0..n)
        .map(|i| {
            let (k, p) = (i / base.len(), &base[i % base.len()]);
            if k == 0 {
                return p.clone();
            }
            let words: Vec<&str> = p.text.split_whitespace().collect();
            let r = k % words.len().max(1);
            let text = words[r..]
                .iter()
                .chain(&words[..r])
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            Passage {
                id: format!("{}#{k}", p.id),
                title: format!("{} {}", p.title, tag(k)),
                text,
            }
        })
        .collect()
}

/// Runs `signoff bench search`.
pub fn search(passages: usize, beir: &Path, out: &Out) -> Result<()> {
    if passages == 0 {
        bail!("--passages must be at least 1");
    }
    let base = load_corpus(&beir.join("corpus.jsonl"))
        .with_context(|| format!("the bench synthesises passages from {}", beir.display()))?;
    if base.is_empty() {
        bail!(
            "{}: the corpus is empty",
            beir.join("corpus.jsonl").display()
        );
    }
    let queries = load_queries(&beir.join("queries.jsonl"))?;
    crate::eval_retrieval::show_embedding_progress();
    let all = synthesise(&base, passages);
    let embedder = match load_embedder() {
        Ok(e) => Some(e),
        Err(e) => {
            eprintln!("signoff: {e}; benchmarking BM25 + entity retrieval only (fallback: bm25)");
            None
        }
    };
    let (vectors, embed_per_passage) = match &embedder {
        Some(e) => {
            let sample: Vec<String> = base.iter().take(EMBED_SAMPLE).map(passage_text).collect();
            let refs: Vec<&str> = sample.iter().map(String::as_str).collect();
            let t = Instant::now();
            e.embed(&refs)?;
            let per = t.elapsed().as_secs_f64() / refs.len() as f64;
            // Vectors of the originals (cached across runs), reused by their copies.
            let cache = crate::eval_retrieval::default_cache_dir();
            let texts: Vec<String> = base.iter().map(passage_text).collect();
            let trefs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let orig = signoff_intake::cache::EmbeddingCache::open(
                &cache,
                e.version(),
                signoff_intake::embed::Pooling::Mean,
            )?
            .embed(e, &trefs)?;
            let v: Vec<Vec<f32>> = (0..all.len())
                .map(|i| orig[i % base.len()].clone())
                .collect();
            (Some(v), per)
        }
        None => (None, 0.0),
    };
    let t = Instant::now();
    let mut r = Retriever::from_parts(&all, embedder, vectors).context("building the indexes")?;
    let rest_s = t.elapsed().as_secs_f64();
    let index_per_s = all.len() as f64 / (embed_per_passage * all.len() as f64 + rest_s);
    r.params.rerank_depth = 50;
    let qs: Vec<&str> = queries
        .iter()
        .take(QUERIES)
        .map(|q| q.text.as_str())
        .collect();
    let time = |mode: Mode| -> Result<Vec<f64>> {
        let mut ms = Vec::with_capacity(qs.len());
        for q in &qs {
            let t = Instant::now();
            r.rank_ids(q, mode, 100)?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(ms)
    };
    let hybrid = time(Mode::Hybrid)?;
    let rerank = time(Mode::Rerank)?;
    let p = |v: &[f64], q: f64| percentile(v, q).unwrap_or(0.0);
    let bytes = r.index_bytes();
    out.line(&format!(
        "{} passages ({} synthesised copies), {} entities, dense: {}; {} queries",
        all.len(),
        all.len().saturating_sub(base.len()),
        r.entities().entities().len(),
        if r.dense_available() {
            "yes"
        } else {
            "no, BM25 fallback"
        },
        qs.len()
    ));
    out.line(&format!(
        "  indexing       {index_per_s:>10.1} passages/s  (embedding {:.2} ms/passage on {} fresh passages; BM25 + entities {rest_s:.2} s)",
        embed_per_passage * 1000.0,
        EMBED_SAMPLE.min(base.len())
    ));
    out.line(&format!(
        "  hybrid query   p50 {:>8.2} ms   p95 {:>8.2} ms",
        p(&hybrid, 50.0),
        p(&hybrid, 95.0)
    ));
    out.line(&format!(
        "  + rerank top50 p50 {:>8.2} ms   p95 {:>8.2} ms",
        p(&rerank, 50.0),
        p(&rerank, 95.0)
    ));
    out.line(&format!(
        "  index memory   {:>10.1} MiB",
        bytes as f64 / (1 << 20) as f64
    ));
    out.json(&serde_json::json!({
        "passages": all.len(),
        "index_per_s": index_per_s,
        "p50_ms": p(&hybrid, 50.0),
        "p95_ms": p(&hybrid, 95.0),
        "p95_rerank_ms": p(&rerank, 95.0),
        "index_bytes": bytes,
        "dense": r.dense_available(),
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthesised_passages_are_distinct_and_keep_the_originals_first() {
        let base = vec![
            Passage {
                id: "a".into(),
                title: "Acorn".into(),
                text: "one two three".into(),
            },
            Passage {
                id: "b".into(),
                title: "Birch".into(),
                text: "four five".into(),
            },
        ];
        let s = synthesise(&base, 7);
        assert_eq!(s.len(), 7);
        assert_eq!(s[..2], base[..]);
        let ids: std::collections::HashSet<&str> = s.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids.len(), 7);
        assert_eq!(s[2].text, "two three one");
        assert_ne!(s[2].title, s[4].title);
        assert_ne!(tag(1), tag(17));
    }
}
