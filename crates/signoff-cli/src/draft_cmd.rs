//! `signoff draft CASE`: retrieve evidence for a case, compose a grounded draft with the
//! chosen drafter, check every claim against the passages it cites, and store the draft with
//! its frozen passages and a `draft` audit entry. Prints per-stage timings.

use crate::output::{clip, Out};
use crate::{open_write, Global};
use anyhow::{bail, Context, Result};
use clap::Args;
use signoff_action::draft::{check, gazetteer_for, DraftRequest, Drafter, OfflineDrafter};
use signoff_action::embed::embed::{model_dir, MODEL_DIR_ENV};
use signoff_action::embed::Embedder;
use signoff_action::evidence::{content_hash, Evidence};
use signoff_action::prompt::PromptRepo;
use signoff_action::support::{SupportModel, SupportScorer};
use signoff_core::Clock;
use signoff_store::draft::{FrozenPassage, NewDraft, StoredCitation, StoredClaim};
use std::collections::BTreeMap;
use std::time::Instant;

/// Arguments of `signoff draft`.
#[derive(Args)]
pub struct DraftArgs {
    /// Case id.
    case: String,
    /// Drafter: `offline` (extractive, always available). Remote models are not built yet.
    #[arg(long, default_value = "offline")]
    model: String,
    /// Passages to retrieve.
    #[arg(long, default_value_t = 5)]
    k: usize,
    /// Score claims with the lexical features only (skip loading MiniLM).
    #[arg(long)]
    lexical: bool,
}

/// Runs `signoff draft`.
pub fn run(g: &Global, out: &Out, a: DraftArgs, clock: &dyn Clock) -> Result<()> {
    if a.model != "offline" {
        bail!(
            "--model {}: not available: only the offline extractive drafter is built (the OpenAI-compatible client arrives later)",
            a.model
        );
    }
    let t0 = Instant::now();
    let mut ws = open_write(g, clock)?;
    let retrieval = ws.retrieve_for_case(&a.case, a.k, clock)?;
    let t_retrieve = t0.elapsed();
    let seq = ws.case_seq(&a.case)?;
    let case = ws.case(seq)?;
    let red = signoff_context::redact::redact(&format!("{}\n\n{}", case.subject, case.body));
    let evidence: Vec<Evidence> = retrieval
        .result
        .hits
        .iter()
        .map(|h| Evidence {
            chunk_id: h.chunk.id.clone(),
            chunk_hash: content_hash(&h.chunk.text),
            source: h.chunk.source.clone(),
            version: retrieval.result.version.clone(),
            title: h.chunk.title.clone(),
            text: h.chunk.text.clone(),
        })
        .collect();
    let repo = PromptRepo::open(&ws.dir().join("prompts"))?;
    let passages_block: String = evidence
        .iter()
        .enumerate()
        .map(|(i, e)| format!("[{}] {}: {}\n", i + 1, e.title, e.text))
        .collect();
    let vars: BTreeMap<&str, String> = [
        ("subject", String::new()),
        ("body", red.text.clone()),
        ("passages", passages_block),
    ]
    .into_iter()
    .collect();
    let prompt = repo.render("draft_reply", &vars)?;
    let t1 = Instant::now();
    let drafter = OfflineDrafter::default();
    let req = DraftRequest {
        subject: "",
        body: &red.text,
        evidence: &evidence,
    };
    let composed = drafter.compose(&req, &prompt)?;
    let t_compose = t1.elapsed();
    let t2 = Instant::now();
    let embedder = if a.lexical {
        None
    } else {
        let env = std::env::var(MODEL_DIR_ENV).ok();
        match Embedder::load(&model_dir(env.as_deref())) {
            Ok(e) => Some(e),
            Err(e) => {
                eprintln!("signoff: {e}; checking claims with the lexical features only");
                None
            }
        }
    };
    let scorer = SupportScorer::new(
        SupportModel::default_model(),
        embedder,
        gazetteer_for(&evidence, &[]),
    );
    let claims = check(&composed.text, &composed.citations, &evidence, &scorer)?;
    let t_check = t2.elapsed();
    let grounded = !evidence.is_empty() && !composed.citations.is_empty();
    let flagged = claims.iter().filter(|c| c.status.flagged()).count();
    let band = if !grounded || claims.is_empty() || flagged * 2 > claims.len() {
        "low"
    } else if flagged > 0 {
        "medium"
    } else {
        "high"
    };
    let cited: Vec<&Evidence> = evidence
        .iter()
        .filter(|e| composed.citations.iter().any(|c| c.chunk_id == e.chunk_id))
        .collect();
    let new = NewDraft {
        case_seq: seq,
        model_id: drafter.model_id().into(),
        model_version: drafter.model_version().into(),
        prompt_id: prompt.prompt_id.clone(),
        prompt_fingerprint: prompt.fingerprint.clone(),
        corpus_version: retrieval.result.version.clone(),
        chunk_ids: evidence.iter().map(|e| e.chunk_id.clone()).collect(),
        text: composed.text.clone(),
        band: band.into(),
        grounded,
        citations: composed
            .citations
            .iter()
            .map(|c| StoredCitation {
                marker: c.marker,
                chunk_id: c.chunk_id.clone(),
                passage_sha256: c.chunk_hash.clone(),
                start: c.start,
                end: c.end,
            })
            .collect(),
        claims: claims
            .iter()
            .map(|c| StoredClaim {
                start: c.start,
                end: c.end,
                markers: c.markers.clone(),
                score: c.score,
                status: c.status.as_str().into(),
            })
            .collect(),
        passages: cited
            .iter()
            .map(|e| FrozenPassage {
                sha256: e.chunk_hash.clone(),
                chunk_id: e.chunk_id.clone(),
                source: e.source.clone(),
                version: e.version.clone(),
                title: e.title.clone(),
                text: e.text.clone(),
            })
            .collect(),
    };
    let rec = ws.store_draft(&new, clock).context("storing the draft")?;
    let total = t0.elapsed();
    out.line(&format!(
        "{}: draft #{} (audit entry #{}), band {band}, {} claim(s), {flagged} flagged; prompt {} {}",
        a.case,
        rec.seq,
        rec.audit_idx,
        claims.len(),
        prompt.prompt_id,
        &prompt.fingerprint[..16]
    ));
    out.line(&format!("\n{}\n", composed.text));
    for c in &composed.citations {
        if let Some(e) = evidence.iter().find(|e| e.chunk_id == c.chunk_id) {
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
    for (i, c) in claims
        .iter()
        .enumerate()
        .filter(|(_, c)| c.status.flagged())
    {
        let text: String = composed
            .text
            .chars()
            .skip(c.start)
            .take(c.end - c.start)
            .collect();
        out.line(&format!(
            "flagged claim {i} ({}): {}",
            c.status.as_str(),
            clip(&text, 120)
        ));
    }
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    out.line(&format!(
        "timings: retrieval {:.1} ms, compose {:.1} ms, check {:.1} ms (scorer {}), total {:.1} ms",
        ms(t_retrieve),
        ms(t_compose),
        ms(t_check),
        if scorer.uses_embedding() {
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
        "band": band,
        "grounded": grounded,
        "text": composed.text,
        "citations": new.citations,
        "claims": new.claims,
        "unresolved": rec.unresolved,
        "model_id": new.model_id,
        "model_version": new.model_version,
        "prompt_id": new.prompt_id,
        "prompt_fingerprint": new.prompt_fingerprint,
        "corpus_version": new.corpus_version,
        "chunk_ids": new.chunk_ids,
        "timings_ms": {
            "retrieval": ms(t_retrieve), "compose": ms(t_compose), "check": ms(t_check), "total": ms(total)
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
    let reviewer = crate::reviewer_id(g)?.to_string();
    let mut ws = open_write(g, clock)?;
    let seq = ws.case_seq(&a.case)?;
    let rec = ws.resolve_claim(seq, a.index, &resolution, &reviewer, clock)?;
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
