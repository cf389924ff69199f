//! `signoff draft CASE`: retrieve evidence for a case, compose a grounded draft with the
//! model the workspace's models.toml routes it to (or `--model NAME`; remote models fall back
//! to the next route entry and finally the offline drafter), check every claim against the
//! passages it cites, and store the draft with its frozen passages, its route and a `draft`
//! audit entry. Prints which model ran, why any fallback happened, and per-stage timings.

use crate::output::{clip, Out};
use crate::{open_write, Global};
use anyhow::{bail, Context, Result};
use clap::Args;
use signoff_action::embed::embed::{model_dir, MODEL_DIR_ENV};
use signoff_action::embed::Embedder;
use signoff_core::Clock;
use std::sync::Arc;
use std::time::Instant;

/// Arguments of `signoff draft`.
#[derive(Args)]
pub struct DraftArgs {
    /// Case id.
    case: String,
    /// Model from models.toml (`offline` is built in); default: the case's route.
    #[arg(long)]
    model: Option<String>,
    /// Passages to retrieve.
    #[arg(long, default_value_t = 5)]
    k: usize,
    /// Score claims with the lexical features only (skip loading MiniLM).
    #[arg(long)]
    lexical: bool,
}

/// Runs `signoff draft`.
pub fn run(g: &Global, out: &Out, a: DraftArgs, clock: &dyn Clock) -> Result<()> {
    let t0 = Instant::now();
    let mut ws = open_write(g, clock)?;
    let embedder = if a.lexical {
        None
    } else {
        let env = std::env::var(MODEL_DIR_ENV).ok();
        match Embedder::load(&model_dir(env.as_deref())) {
            Ok(e) => Some(Arc::new(e)),
            Err(e) => {
                eprintln!("signoff: {e}; checking claims with the lexical features only");
                None
            }
        }
    };
    let d =
        signoff_api::draft::draft_case(&mut ws, &a.case, a.model.as_deref(), a.k, embedder, clock)
            .context("drafting")?;
    let total = t0.elapsed();
    let rec = &d.record;
    let new = &rec.draft;
    out.line(&format!(
        "{}: draft #{} (audit entry #{}), band {}, {} claim(s), {} flagged; prompt {} {}",
        a.case,
        rec.seq,
        rec.audit_idx,
        new.band,
        new.claims.len(),
        d.flagged,
        new.prompt_id,
        &new.prompt_fingerprint[..16]
    ));
    out.line(&format!(
        "model {} ({} {}){}",
        d.model_name,
        new.model_id,
        new.model_version,
        if d.streamed_chunks > 0 {
            format!(", {} streamed chunk(s)", d.streamed_chunks)
        } else {
            String::new()
        }
    ));
    for s in &d.skipped {
        out.line(&format!("fallback: {} skipped: {}", s.model, s.reason));
    }
    if !d.unknown_passages.is_empty() {
        out.line(&format!(
            "the model cited passage(s) {:?} that the prompt did not offer: those claims are flagged",
            d.unknown_passages
        ));
    }
    out.line(&format!("\n{}\n", new.text));
    for c in &new.citations {
        if let Some(e) = d.evidence.iter().find(|e| e.chunk_id == c.chunk_id) {
            out.line(&format!(
                "[{}] {} ({}..{}): {}",
                c.marker,
                c.chunk_id,
                c.start,
                c.end,
                clip(&e.title, 60)
            ));
        }
    }
    for (i, c) in new
        .claims
        .iter()
        .enumerate()
        .filter(|(_, c)| c.status != "supported")
    {
        let text: String = new
            .text
            .chars()
            .skip(c.start)
            .take(c.end - c.start)
            .collect();
        out.line(&format!(
            "flagged claim {i} ({}): {}",
            c.status,
            clip(&text, 120)
        ));
    }
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    out.line(&format!(
        "timings: retrieval {:.1} ms, compose {:.1} ms, check {:.1} ms (scorer {}), total {:.1} ms",
        ms(d.retrieval),
        ms(d.compose),
        ms(d.check),
        if d.scored_with_embedding {
            "lexical + MiniLM"
        } else {
            "lexical"
        },
        ms(total)
    ));
    out.json(&serde_json::json!({
        "case": a.case,
        "draft_seq": rec.seq,
        "audit_index": rec.audit_idx,
        "band": new.band,
        "grounded": new.grounded,
        "text": new.text,
        "citations": new.citations,
        "claims": new.claims,
        "unresolved": rec.unresolved,
        "model_id": new.model_id,
        "model_version": new.model_version,
        "model": d.model_name,
        "route": new.route,
        "fallbacks": d.skipped.iter().map(|s| serde_json::json!({"model": s.model, "reason": s.reason})).collect::<Vec<_>>(),
        "unknown_passages": d.unknown_passages,
        "prompt_id": new.prompt_id,
        "prompt_fingerprint": new.prompt_fingerprint,
        "corpus_version": new.corpus_version,
        "chunk_ids": new.chunk_ids,
        "timings_ms": {
            "retrieval": ms(d.retrieval), "compose": ms(d.compose), "check": ms(d.check), "total": ms(total)
        },
    }));
    Ok(())
}

/// Arguments of `signoff claim`: resolve a flagged claim of a case's newest draft.
#[derive(Args)]
pub struct ClaimArgs {
    /// Case id.
    case: String,
    /// Claim index (as printed by `signoff draft`).
    index: usize,
    /// Keep the claim, for this reason.
    #[arg(long, conflicts_with_all = ["edit", "remove"])]
    accept: Option<String>,
    /// Replace the claim's text.
    #[arg(long, conflicts_with = "remove")]
    edit: Option<String>,
    /// Take the claim out of the draft.
    #[arg(long)]
    remove: bool,
}

/// Runs `signoff claim`.
pub fn claim(g: &Global, out: &Out, a: ClaimArgs, clock: &dyn Clock) -> Result<()> {
    use signoff_store::draft::ClaimResolution;
    let resolution = match (a.accept, a.edit, a.remove) {
        (Some(reason), None, false) => ClaimResolution::Accept { reason },
        (None, Some(replacement), false) => ClaimResolution::Edit { replacement },
        (None, None, true) => ClaimResolution::Remove,
        _ => bail!("say how to resolve the claim: --accept REASON, --edit TEXT or --remove"),
    };
    // A resolution is signed with the reviewer's own key, like a disposition.
    let (mut ws, reviewer) = crate::open_as_reviewer(g, clock)?;
    let seq = ws.case_seq(&a.case)?;
    let rec = ws.resolve_claim(seq, a.index, &resolution, reviewer, clock)?;
    out.line(&format!(
        "{}: claim {} resolved; {} flagged claim(s) left",
        a.case,
        a.index,
        rec.unresolved.len()
    ));
    out.json(&serde_json::json!({
        "case": a.case, "draft_seq": rec.seq, "unresolved": rec.unresolved, "text": rec.effective_text,
    }));
    Ok(())
}
