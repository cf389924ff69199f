//! `signoff eval citations`: measure the claim support scorer on labelled claim/passage pairs
//! (precision, recall, F1, AUROC with "unsupported" as the positive class, flag rate per
//! kind). With `--train FILE` it first fits the model on other pairs (and can save it), so
//! the figures are on pairs the model never saw.

use crate::output::Out;
use anyhow::{Context, Result};
use clap::Args;
use signoff_action::embed::embed::{model_dir, MODEL_DIR_ENV};
use signoff_action::embed::{Embedder, EmbeddingCache, Pooling};
use signoff_action::eval::{
    dump_rows, embed_rows, evaluate, load_pairs, train_with, CitationReport, Pair, TrainOptions,
};
use signoff_action::support::{Gazetteer, SupportModel};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `signoff eval citations`.
#[derive(Args)]
pub struct CitationsArgs {
    /// JSONL pairs to score: `{"claim","passage","supported","kind"?}` per line.
    #[arg(long)]
    pairs: PathBuf,
    /// Fit the support model on these pairs first (instead of the checked-in model).
    #[arg(long)]
    train: Option<PathBuf>,
    /// Fit the logistic regression only, without boosted trees (with `--train`).
    #[arg(long, requires = "train")]
    linear: bool,
    /// Share of supported human-written training pairs the chosen threshold may flag, on
    /// held-out folds (with `--train`; default 0.03).
    #[arg(long, requires = "train")]
    cap: Option<f64>,
    /// Comma-separated features that flag on their own (with `--train`; default
    /// number_conflict,quantity_grammar,no_lead_positive_body,stance_mismatch_close,
    /// count_conflict,number_form,count_far,count_noun_disagrees,answer_negates_stated,
    /// no_about_entity_no_negative_line,lead_vs_faq_answer,count_two_one_line; "none" for no
    /// hard checks).
    #[arg(long, requires = "train")]
    hard: Option<String>,
    /// Write the fitted model here (with `--train`).
    #[arg(long, requires = "train")]
    save_model: Option<PathBuf>,
    /// Score with this model file instead of the checked-in one.
    #[arg(long, conflicts_with = "train")]
    model: Option<PathBuf>,
    /// Leave the embedding features out even when the model is installed.
    #[arg(long)]
    lexical: bool,
    /// Directory for cached sentence embeddings (default: the user's cache dir).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Write each pair's score, flag and features here (JSONL), for error analysis.
    #[arg(long)]
    dump: Option<PathBuf>,
}

fn cache_dir(arg: Option<&Path>) -> PathBuf {
    if let Some(p) = arg {
        return p.to_path_buf();
    }
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("signoff")
        .join("embeddings")
}

/// Runs `signoff eval citations`.
pub fn run(a: CitationsArgs, out: &Out) -> Result<()> {
    let rows = load_pairs(&a.pairs)?;
    let train_rows = match &a.train {
        Some(p) => Some(load_pairs(p)?),
        None => None,
    };
    let embedder = if a.lexical {
        None
    } else {
        let env = std::env::var(MODEL_DIR_ENV).ok();
        match Embedder::load(&model_dir(env.as_deref())) {
            Ok(e) => Some(e),
            Err(e) => {
                eprintln!("signoff: {e}; scoring with the lexical features only");
                None
            }
        }
    };
    // Entity names come from the title prefixes of the scored file's own passages (what a
    // corpus would know); training pairs get their own, so nothing leaks between the files.
    let all: Vec<&Pair> = rows.iter().chain(train_rows.iter().flatten()).collect();
    // Ordinary words (seen in lower case) come from the claims as well as the passages, so a
    // sentence-initial "According" is not read as a name.
    let gazetteer = Gazetteer::from_passages(rows.iter().map(|r| r.passage.as_str()))
        .with_vocabulary(rows.iter().map(|r| r.claim.as_str()));
    let t = Instant::now();
    let vecs = match &embedder {
        Some(e) => {
            let mut cache =
                EmbeddingCache::open(&cache_dir(a.cache.as_deref()), e.version(), Pooling::Mean)?;
            Some(embed_rows(e, &mut cache, &all)?)
        }
        None => None,
    };
    let embed_s = t.elapsed().as_secs_f64();
    let model = match (&train_rows, &a.model) {
        (Some(tr), _) => {
            let names = Gazetteer::from_passages(tr.iter().map(|r| r.passage.as_str()))
                .with_vocabulary(tr.iter().map(|r| r.claim.as_str()));
            let mut o = TrainOptions::default();
            if a.linear {
                o.boost = None;
            }
            if let Some(h) = &a.hard {
                o.hard = h
                    .split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty() && *x != "none")
                    .map(str::to_string)
                    .collect();
            }
            if let Some(c) = a.cap {
                anyhow::ensure!((0.0..=1.0).contains(&c), "--cap {c}: must be within 0..1");
                o.cap = c;
            }
            let m = train_with(tr, &names, vecs.as_ref(), &o)?;
            if let Some(p) = &a.save_model {
                let text = serde_json::to_string_pretty(&m)? + "\n";
                std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?;
                out.line(&format!("model written to {}", p.display()));
            }
            m
        }
        (None, Some(p)) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            SupportModel::from_json(&text).with_context(|| p.display().to_string())?
        }
        (None, None) => SupportModel::default_model(),
    };
    let t = Instant::now();
    let r = evaluate(&model, &rows, &gazetteer, vecs.as_ref());
    let score_ms = t.elapsed().as_secs_f64() * 1000.0 / rows.len() as f64;
    if let Some(p) = &a.dump {
        std::fs::write(p, dump_rows(&model, &rows, &gazetteer, vecs.as_ref()))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    print_report(&r, out, embed_s, score_ms, gazetteer.len());
    out.json(&r);
    Ok(())
}

fn print_report(r: &CitationReport, out: &Out, embed_s: f64, score_ms: f64, names: usize) {
    out.line(&format!(
        "{} pairs, {} entity names known, features {} (embedding {embed_s:.1} s, scoring {score_ms:.3} ms/pair), threshold {:.3}",
        r.n,
        names,
        if r.embedding { "lexical + MiniLM" } else { "lexical only" },
        r.threshold
    ));
    out.line(&format!(
        "precision {:.4}  recall {:.4}  F1 {:.4}  AUROC {:.4}  supported flagged {:.4}",
        r.precision, r.recall, r.f1, r.auroc, r.supported_flag_rate
    ));
    for (k, v) in &r.flag_rate_by_kind {
        out.line(&format!("  {k:<24} flagged {v:.4}"));
    }
}
