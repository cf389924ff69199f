//! Deciding a case as every host does it. Before a disposition that sends the reply (approve,
//! edit), the text that goes out is checked again, claim by claim, against the passages the
//! case's newest draft froze: every sentence that is not one of the draft's own claims word for
//! word (a reviewer's rewrite, an edited claim) must cite a passage that supports it, like the
//! draft's claims had to. Flagged sentences may still go out when the reviewer says why in the
//! rationale; the store refuses the disposition otherwise and records the re-check in the
//! disposition's audit entry (`final_check`).

use crate::draft::Embedder;
use crate::ApiError;
use signoff_action::draft::{char_slice, check, gazetteer_for, Citation};
use signoff_action::evidence::Evidence;
use signoff_action::support::{SupportModel, SupportScorer};
use signoff_core::{Clock, DispositionKind};
use signoff_store::review::{sends_draft, DispositionRecord, Recheck, RecheckedClaim};
use signoff_store::{Decision, Workspace};
use std::collections::HashSet;
use std::sync::Arc;

/// One sentence of the outgoing text the re-check flagged, for the reviewer to see.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FlaggedSentence {
    /// The sentence, markers included, as the reviewer wrote it.
    pub text: String,
    /// `unsupported`, `uncited` or `bad_citation`.
    pub status: String,
    /// Probability it is unsupported, when the scorer ran on it.
    pub score: Option<f64>,
}

/// The re-check of a reply about to go out: what the store records, and the flagged
/// sentences' text for the reviewer (the store keeps only their positions).
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingCheck {
    /// What goes into the disposition's audit entry.
    pub recheck: Recheck,
    /// The flagged sentences, in order.
    pub flagged: Vec<FlaggedSentence>,
}

/// A claim's text (character offsets, as the claim check gives them), trimmed.
fn claim_text(text: &str, start: usize, end: usize) -> String {
    char_slice(text, start, end)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Checks `text` (the reply a disposition would send for case `case_seq`) against the frozen
/// passages and citations of the case's newest draft (a marker naming the whole passage it is
/// bound to). Sentences that are one of the draft's
/// claims verbatim are not checked again (the draft's check, and any acceptance, stands).
/// Without a draft there is nothing to check against: every claim is uncited.
pub fn check_outgoing(
    ws: &Workspace,
    case_seq: i64,
    text: &str,
    embedder: Option<Arc<Embedder>>,
) -> Result<OutgoingCheck, ApiError> {
    let draft = ws.latest_draft(case_seq)?;
    let model = SupportModel::default_model();
    let scorer_name = format!(
        "support-v{}{}",
        model.version,
        if embedder.is_some() {
            " + MiniLM"
        } else {
            " (lexical)"
        }
    );
    // The draft as it was checked, unchanged (most approvals): nothing new to score.
    if let Some(d) = draft
        .as_ref()
        .filter(|d| d.draft.text.trim() == text.trim())
    {
        return Ok(OutgoingCheck {
            recheck: Recheck {
                checked: 0,
                kept: d.draft.claims.len(),
                flagged: Vec::new(),
                scorer: scorer_name,
            },
            flagged: Vec::new(),
        });
    }
    let (evidence, citations, known): (Vec<Evidence>, Vec<Citation>, HashSet<String>) = match &draft
    {
        Some(d) => (
            d.draft
                .passages
                .iter()
                .map(|p| Evidence {
                    chunk_id: p.chunk_id.clone(),
                    chunk_hash: p.sha256.clone(),
                    source: p.source.clone(),
                    version: p.version.clone(),
                    title: p.title.clone(),
                    text: p.text.clone(),
                })
                .collect(),
            // A reviewer's `[n]` names the whole passage the draft bound `n` to, not the
            // span the drafter quoted from it.
            d.draft
                .citations
                .iter()
                .map(|c| Citation {
                    marker: c.marker,
                    chunk_id: c.chunk_id.clone(),
                    chunk_hash: c.passage_sha256.clone(),
                    start: 0,
                    end: d
                        .draft
                        .passages
                        .iter()
                        .find(|p| p.sha256 == c.passage_sha256)
                        .map_or(c.end, |p| p.text.chars().count()),
                })
                .collect(),
            d.draft
                .claims
                .iter()
                .map(|c| claim_text(&d.draft.text, c.start, c.end))
                .collect(),
        ),
        None => (Vec::new(), Vec::new(), HashSet::new()),
    };
    let scorer = SupportScorer::new(model, embedder, gazetteer_for(&evidence, &[]));
    let claims = check(text, &citations, &evidence, &scorer)
        .map_err(|e| ApiError::Request(format!("checking the reply: {e}")))?;
    let mut recheck = Recheck {
        checked: 0,
        kept: 0,
        flagged: Vec::new(),
        scorer: scorer_name,
    };
    let mut flagged = Vec::new();
    for (i, c) in claims.iter().enumerate() {
        let sentence = claim_text(text, c.start, c.end);
        if known.contains(&sentence) {
            recheck.kept += 1;
            continue;
        }
        recheck.checked += 1;
        if c.status.flagged() {
            recheck.flagged.push(RecheckedClaim {
                index: i,
                status: c.status.as_str().into(),
                score: c.score,
            });
            flagged.push(FlaggedSentence {
                text: sentence,
                status: c.status.as_str().into(),
                score: c.score,
            });
        }
    }
    Ok(OutgoingCheck { recheck, flagged })
}

/// Records a disposition, re-checking the reply first when it sends one (see the module
/// docs). A case with no reply text at all (nothing drafted or imported) is approved as it
/// is: there is nothing to check. The store refuses a reply with flagged sentences unless the decision's rationale
/// says why they may go out; the refusal quotes the sentences so the reviewer can act.
pub fn decide(
    ws: &mut Workspace,
    reviewer_id: &str,
    decision: &Decision,
    embedder: Option<Arc<Embedder>>,
    clock: &dyn Clock,
) -> Result<DispositionRecord, ApiError> {
    let mut d = decision.clone();
    if sends_draft(d.kind) && d.recheck.is_none() {
        let outgoing = match (&d.final_text, d.kind) {
            (Some(t), _) => Some(t.clone()),
            (None, DispositionKind::Approve) => ws.case(d.case_seq)?.draft,
            (None, _) => None,
        };
        if let Some(text) = outgoing {
            let out = check_outgoing(ws, d.case_seq, &text, embedder)?;
            let needs_reason = !out.flagged.is_empty()
                && d.rationale.as_deref().is_none_or(|r| r.trim().is_empty());
            if needs_reason {
                let list: Vec<String> = out
                    .flagged
                    .iter()
                    .map(|f| format!("«{}» ({})", f.text, f.status.replace('_', " ")))
                    .collect();
                return Err(ApiError::UnsupportedReply(format!(
                    "the reply has {} sentence(s) that no frozen passage supports: {}. Change them so each cites a passage that says it, or give a rationale saying why they may go out as written",
                    out.flagged.len(),
                    list.join("; ")
                )));
            }
            d.recheck = Some(out.recheck);
        }
    }
    Ok(ws.decide(reviewer_id, &d, clock)?)
}
