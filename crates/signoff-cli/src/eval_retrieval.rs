//! `signoff eval retrieval`: score context retrieval on a BEIR set (nDCG@10, Recall@5/@100,
//! MRR@10 and per-query latency), one row per mode: `bm25`, `dense`, `hybrid` (BM25 + dense +
//! entity awareness, fused) and `rerank` (the full pipeline with the built-in learned
//! reranker). `--cv K` adds the reranker's honest figure: K-fold cross-validation over the
//! set's queries (trained on K − 1 folds, measured on the held-out one). `--tune` grid-searches
//! the fusion weights; `--train-reranker FILE` trains a reranker on the whole set. Without the
//! embedding model, dense is skipped and hybrid/rerank run lexical + entity only, and the output
//! says so.

use crate::output::Out;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use signoff_context::eval::{collect, cross_validate, fused_report, training_rows, tune};
use signoff_context::rerank::TrainOptions;
use signoff_context::{evaluate, BeirSet, LinearReranker, Mode, ModeReport, Reranker, Retriever};
use signoff_intake::embed::{model_dir, Embedder, MODEL_DIR_ENV};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// A retrieval mode of the contract.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Lexical BM25 over title + text.
    Bm25,
    /// Exact cosine over MiniLM sentence embeddings.
    Dense,
    /// BM25 + dense + entity awareness, fused.
    Hybrid,
    /// The full pipeline: hybrid, then the learned reranker.
    Rerank,
    /// Every mode.
    All,
}

/// Arguments of `signoff eval retrieval`.
#[derive(Args)]
pub struct RetrievalArgs {
    /// BEIR directory: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.
    #[arg(long)]
    beir: PathBuf,
    /// Which retrieval to score.
    #[arg(long, value_enum, default_value_t = ModeArg::Bm25)]
    mode: ModeArg,
    /// Which qrels file to judge by (qrels/<split>.tsv).
    #[arg(long, default_value = "test")]
    split: String,
    /// Also cross-validate the reranker with this many folds over the set's queries
    /// (the honest figure when the set is the one the built-in reranker was trained on).
    #[arg(long)]
    cv: Option<usize>,
    /// Seed of the cross-validation folds.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Grid-search the fusion weights on this set and print the best (tuned-on-this-set figures).
    #[arg(long)]
    tune: bool,
    /// Train a reranker on every judged query of this set and write it to this file.
    #[arg(long)]
    train_reranker: Option<PathBuf>,
    /// Train rerankers pointwise (logistic regression) instead of pairwise.
    #[arg(long)]
    pointwise: bool,
    /// Use this reranker file instead of the built-in one.
    #[arg(long)]
    reranker: Option<PathBuf>,
    /// Directory for cached passage embeddings (default: the user's cache dir).
    #[arg(long)]
    cache: Option<PathBuf>,
}

fn cache_dir(arg: Option<&Path>) -> PathBuf {
    match arg {
        Some(p) => p.to_path_buf(),
        None => default_cache_dir(),
    }
}

/// Where passage embeddings are cached by default (shared with intake's cache).
pub fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("signoff").join("embeddings")
}

/// Loads the embedding model, or says why not (the caller falls back to lexical retrieval).
pub fn load_embedder() -> std::result::Result<Arc<Embedder>, String> {
    let env = std::env::var(MODEL_DIR_ENV).ok();
    Embedder::load(&model_dir(env.as_deref()))
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// Shows long embedding runs (indexing passages) as a progress bar on stderr; hidden when
/// stderr is not a terminal.
pub fn show_embedding_progress() {
    let bar: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);
    signoff_context::progress::set_hook(Some(Arc::new(move |done, total| {
        let mut slot = bar.lock().unwrap_or_else(|e| e.into_inner());
        let b = slot.get_or_insert_with(|| {
            let b = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "embedding [{bar:40}] {pos}/{len} passages ({per_sec}, {eta} left)",
            ) {
                b.set_style(style);
            }
            b
        });
        b.set_length(total as u64);
        b.set_position(done as u64);
        if done >= total {
            b.finish_and_clear();
            *slot = None;
        }
    })));
}

/// Runs `signoff eval retrieval`.
pub fn run(a: RetrievalArgs, out: &Out) -> Result<()> {
    show_embedding_progress();
    let set = BeirSet::load(&a.beir, &a.split)
        .with_context(|| format!("loading the BEIR set {}", a.beir.display()))?;
    let modes: Vec<Mode> = match a.mode {
        ModeArg::Bm25 => vec![Mode::Bm25],
        ModeArg::Dense => vec![Mode::Dense],
        ModeArg::Hybrid => vec![Mode::Hybrid],
        ModeArg::Rerank => vec![Mode::Rerank],
        ModeArg::All => vec![Mode::Bm25, Mode::Dense, Mode::Hybrid, Mode::Rerank],
    };
    let needs_model =
        modes != [Mode::Bm25] || a.cv.is_some() || a.tune || a.train_reranker.is_some();
    let embedder = if needs_model {
        match load_embedder() {
            Ok(e) => Some(e),
            Err(e) => {
                if modes == [Mode::Dense] {
                    bail!("--mode dense: {e}");
                }
                let msg = format!("{e}; dense retrieval is unavailable: hybrid and rerank run BM25 + entity only (fallback: bm25)");
                eprintln!("signoff: {msg}");
                out.line(&format!("note: {msg}"));
                None
            }
        }
    } else {
        None
    };
    let t = Instant::now();
    let mut r =
        Retriever::build_with_cache(&set.corpus, embedder, Some(&cache_dir(a.cache.as_deref())))
            .context("building the retrieval indexes")?;
    let build_s = t.elapsed().as_secs_f64();
    if let Some(p) = &a.reranker {
        r.set_reranker(Reranker::load(p)?);
    }
    out.line(&format!(
        "{} passages, {} entities indexed in {build_s:.2} s (dense: {}); {} judged queries (qrels/{}.tsv)",
        set.corpus.len(),
        r.entities().entities().len(),
        if r.dense_available() { "yes" } else { "no, BM25 fallback" },
        set.judged_queries().count(),
        a.split
    ));
    out.line(&format!(
        "{:<10} {:>8} {:>7} {:>7} {:>7} {:>8} {:>8}",
        "mode", "nDCG@10", "R@5", "R@100", "MRR@10", "p50 ms", "p95 ms"
    ));
    let mut json = serde_json::Map::new();
    for m in modes {
        if m == Mode::Dense && !r.dense_available() {
            out.line(&format!(
                "{:<10} skipped: the embedding model is not loaded",
                "dense"
            ));
            continue;
        }
        let rep = evaluate(&set, |q, k| r.rank_ids(q, m, k))?;
        out.line(&row(m.as_str(), &rep));
        json.insert(m.as_str().into(), serde_json::to_value(&rep)?);
    }
    if a.tune || a.cv.is_some() || a.train_reranker.is_some() {
        let opt = TrainOptions {
            pairwise: !a.pointwise,
            ..TrainOptions::default()
        };
        let mut col = collect(&set, &r)?;
        if a.tune {
            let grid = tune(&r, &mut col);
            out.line("fusion weights by nDCG@10 on this set (tuned here: not a held-out figure):");
            for (p, rep) in grid.iter().take(8) {
                out.line(&format!(
                    "  alpha {:.2} last_turn {:.2} entity {:.2}: {}",
                    p.alpha,
                    p.last_turn,
                    p.entity,
                    row("", rep).trim_start()
                ));
            }
            let noent = grid
                .iter()
                .filter(|(p, _)| p.entity == 0.0)
                .max_by(|a, b| a.1.ndcg_10.total_cmp(&b.1.ndcg_10));
            if let Some((p, rep)) = noent {
                out.line(&format!(
                    "  best without entity boost (alpha {:.2} last_turn {:.2}): {}",
                    p.alpha,
                    p.last_turn,
                    row("", rep).trim_start()
                ));
            }
            let now = fused_report(&r, &mut col, &r.params);
            out.line(&format!(
                "  in use {:?}: {}",
                r.params,
                row("", &now).trim_start()
            ));
        }
        if let Some(k) = a.cv {
            let rep = cross_validate(&r, &col, k, a.seed, opt)?;
            out.line(&row(&format!("rerank-cv{k}"), &rep));
            out.line(&format!(
                "(rerank-cv{k}: {k}-fold cross-validation over queries, seed {}; each fold ranked by a reranker trained on the others)",
                a.seed
            ));
            json.insert(format!("rerank_cv{k}"), serde_json::to_value(&rep)?);
        }
        if let Some(path) = &a.train_reranker {
            let all: Vec<_> = col.iter().collect();
            let rows = training_rows(&r, &all);
            let m = LinearReranker::train(
                &rows,
                opt,
                &format!(
                    "{} (qrels/{}.tsv): {} queries, {} candidate rows, {}, rerank depth {}, fusion {:?}",
                    a.beir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                    a.split,
                    col.len(),
                    rows.iter().map(Vec::len).sum::<usize>(),
                    if opt.pairwise { "pairwise" } else { "pointwise" },
                    r.params.rerank_depth,
                    (r.params.alpha, r.params.last_turn, r.params.entity)
                ),
            )?;
            let text = serde_json::to_string_pretty(&m)? + "\n";
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            out.line(&format!("reranker written to {}", path.display()));
        }
    }
    out.json(&json);
    Ok(())
}

fn row(mode: &str, r: &ModeReport) -> String {
    format!(
        "{mode:<10} {:>8.4} {:>7.4} {:>7.4} {:>7.4} {:>8.3} {:>8.3}",
        r.ndcg_10, r.recall_5, r.recall_100, r.mrr_10, r.p50_ms, r.p95_ms
    )
}
