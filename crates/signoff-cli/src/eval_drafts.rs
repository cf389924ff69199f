//! `signoff eval drafts`: the drafting path measured end to end on a BEIR set. For each judged
//! query: redact it, retrieve passages (hybrid by default, as `signoff draft` does when MiniLM
//! is installed; BM25 + entity awareness without it), compose
//! with the offline extractive drafter, check every claim with the support scorer; then
//! report citation precision (cited passages judged relevant in the qrels), the share of
//! claims found supported, the share of drafts with no grounding and draft time p50/p95.
//! Nothing is stored: the workspace's SQLite write of `signoff draft` is not timed here.

use crate::eval_retrieval::{default_cache_dir, load_embedder};
use crate::output::Out;
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use signoff_action::draft::{check, gazetteer_for, DraftRequest, Drafter, OfflineDrafter};
use signoff_action::eval::{drafts_report, DraftOutcome, DraftsReport};
use signoff_action::evidence::Evidence;
use signoff_action::support::{SupportModel, SupportScorer};
use signoff_context::{BeirSet, Mode, Retriever};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

/// Which retrieval feeds the drafter.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DraftMode {
    /// BM25 alone.
    Bm25,
    /// BM25 + dense + entity awareness, fused, what `signoff draft` uses (without MiniLM:
    /// BM25 + entity).
    Hybrid,
}

/// Arguments of `signoff eval drafts`.
#[derive(Args)]
pub struct DraftsArgs {
    /// BEIR directory: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.
    #[arg(long)]
    beir: PathBuf,
    /// Which qrels file judges the citations (qrels/<split>.tsv).
    #[arg(long, default_value = "test")]
    split: String,
    /// Passages retrieved per query.
    #[arg(long, default_value_t = 5)]
    k: usize,
    /// Retrieval feeding the drafter.
    #[arg(long, value_enum, default_value_t = DraftMode::Hybrid)]
    mode: DraftMode,
    /// Check claims with the lexical features only (skip loading MiniLM).
    #[arg(long)]
    lexical: bool,
    /// Draft at most this many judged queries (the first ones), e.g. for a quick look.
    #[arg(long)]
    limit: Option<usize>,
    /// `offline` (the extractive drafter) or `smollm2-135m` (its draft reworded by the local
    /// model, every reworded sentence claim-checked; scripts/setup.sh installs it).
    #[arg(long, default_value = "offline")]
    model: String,
    /// Rewording budget per draft, in milliseconds (with --model smollm2-135m).
    #[arg(long, default_value_t = 5000)]
    reword_budget_ms: u64,
}

/// Runs `signoff eval drafts`.
pub fn run(a: DraftsArgs, out: &Out) -> Result<()> {
    anyhow::ensure!(a.k > 0, "--k 0: at least one passage must be retrieved");
    let set = BeirSet::load(&a.beir, &a.split)
        .with_context(|| format!("loading the BEIR set {}", a.beir.display()))?;
    let embedder = if a.lexical {
        None
    } else {
        match load_embedder() {
            Ok(e) => Some(e),
            Err(e) => {
                eprintln!("signoff: {e}; checking claims with the lexical features only");
                None
            }
        }
    };
    let (mode, retr_embedder) = match a.mode {
        DraftMode::Bm25 => (Mode::Bm25, None),
        DraftMode::Hybrid => (Mode::Hybrid, embedder.clone()),
    };
    let r = Retriever::build_with_cache(&set.corpus, retr_embedder, Some(&default_cache_dir()))
        .context("building the retrieval indexes")?;
    let by_id: HashMap<&str, usize> = set
        .corpus
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let model = SupportModel::default_model();
    let drafter = OfflineDrafter::default();
    // The extractive drafter reads the request, not a prompt; it still takes a rendered one.
    let prompt = signoff_action::prompt::render(
        "eval_drafts",
        "offline extractive draft",
        &BTreeMap::new(),
    )?;
    let judged: Vec<_> = set
        .judged_queries()
        .take(a.limit.unwrap_or(usize::MAX))
        .collect();
    let local = signoff_action::router::LocalSpec {
        model: a.model.clone(),
        dir: None,
        budget: std::time::Duration::from_millis(a.reword_budget_ms),
    };
    let smol = match a.model.as_str() {
        "offline" => None,
        signoff_action::reword::SMOLLM2 => {
            Some(signoff_action::reword::shared(&local.model_dir())?)
        }
        other => anyhow::bail!("--model {other:?}: eval drafts knows offline and smollm2-135m"),
    };
    let mut reworded = signoff_action::reword::RewordTotals::default();
    let mut outcomes = Vec::with_capacity(judged.len());
    for (q, gains) in &judged {
        let t = Instant::now();
        let red = signoff_context::redact::redact(&q.text);
        let hits = r
            .search(&red.text, mode, a.k)
            .with_context(|| format!("retrieving for query {}", q.id))?;
        let evidence: Vec<Evidence> = hits
            .iter()
            .filter_map(|h| by_id.get(h.id.as_str()))
            .map(|&i| {
                let p = &set.corpus[i];
                Evidence::new(&p.id, "beir", "eval", &p.title, &p.text)
            })
            .collect();
        let req = DraftRequest {
            subject: "",
            body: &red.text,
            evidence: &evidence,
        };
        let mut composed = drafter.compose(&req, &prompt)?;
        if let Some(m) = &smol {
            let scorer = SupportScorer::new(
                model.clone(),
                embedder.clone(),
                gazetteer_for(&evidence, &[]),
            );
            let mut m = m.lock().unwrap_or_else(|p| p.into_inner());
            let cancel = signoff_action::remote::Cancel::new();
            let (c, r) = signoff_action::reword::reword_draft(
                &composed,
                &evidence,
                &mut *m,
                &scorer,
                local.budget,
                &cancel,
            )?;
            composed = c;
            reworded.add(&r);
        }
        let claims = if composed.citations.is_empty() {
            Vec::new()
        } else {
            let scorer = SupportScorer::new(
                model.clone(),
                embedder.clone(),
                gazetteer_for(&evidence, &[]),
            );
            check(&composed.text, &composed.citations, &evidence, &scorer)?
        };
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let relevant = |id: &str| gains.get(id).is_some_and(|g| *g > 0);
        outcomes.push(DraftOutcome::of(
            &composed.citations,
            &claims,
            &relevant,
            ms,
        ));
    }
    let rep = drafts_report(&outcomes);
    print_report(&rep, out, &a, embedder.is_some());
    if smol.is_none() {
        out.json(&rep);
    } else {
        out.line(&reworded.line());
        for (before, after, ok) in &reworded.examples {
            let verdict = if *ok { "kept" } else { "rejected" };
            out.line(&format!("  {before}\n  -> {after} ({verdict})"));
        }
        let mut v = serde_json::to_value(&rep)?;
        v["reword"] = serde_json::to_value(&reworded)?;
        out.json(&v);
    }
    Ok(())
}

fn print_report(r: &DraftsReport, out: &Out, a: &DraftsArgs, embedding: bool) {
    out.line(&format!(
        "{} judged queries drafted by {} (retrieval {}, k {}; claims checked with {})",
        r.queries,
        a.model,
        match a.mode {
            DraftMode::Bm25 => "bm25",
            DraftMode::Hybrid => "hybrid",
        },
        a.k,
        if embedding {
            "lexical + MiniLM"
        } else {
            "lexical features only"
        }
    ));
    out.line(&format!(
        "{:>9} {:>9} {:>8} {:>10} {:>12} {:>8} {:>8}",
        "cited", "cit.prec", "claims", "supported", "no grounding", "p50 ms", "p95 ms"
    ));
    out.line(&format!(
        "{:>9} {:>9.4} {:>8} {:>10.4} {:>12.4} {:>8.1} {:>8.1}",
        r.cited,
        r.citation_precision,
        r.claims,
        r.claims_supported,
        r.no_grounding,
        r.p50_ms,
        r.p95_ms
    ));
}
