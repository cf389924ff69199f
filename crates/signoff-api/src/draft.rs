//! Drafting a case, as every host does it: retrieve evidence (redacted, allow-listed, audited),
//! render the workspace's prompt (fingerprinted), compose with the offline extractive drafter
//! (citations bound by Signoff), check every claim against the passages it cites, and store
//! the draft with its frozen passages and `draft` audit entry. The CLI's `signoff draft` and
//! the app's draft panel both call [`draft_case`].

use crate::ApiError;
use signoff_action::draft::{check, gazetteer_for, DraftRequest, Drafter, OfflineDrafter};
pub use signoff_action::embed::Embedder;
use signoff_action::evidence::{content_hash, Evidence};
use signoff_action::prompt::PromptRepo;
use signoff_action::support::{SupportModel, SupportScorer};
use signoff_core::Clock;
use signoff_store::draft::{DraftRecord, FrozenPassage, NewDraft, StoredCitation, StoredClaim};
use signoff_store::Workspace;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The drafters this build has.
pub const DRAFTERS: &[&str] = &["offline"];

/// What [`draft_case`] produced, with the stage timings.
#[derive(Debug)]
pub struct Drafted {
    /// The stored draft (with its sequence number and audit index).
    pub record: DraftRecord,
    /// The passages retrieved for the case (cited or not).
    pub evidence: Vec<Evidence>,
    /// Claims the check flagged.
    pub flagged: usize,
    /// Whether the support scorer used MiniLM (else lexical features only).
    pub scored_with_embedding: bool,
    /// Retrieval time.
    pub retrieval: Duration,
    /// Composition time.
    pub compose: Duration,
    /// Claim-check time.
    pub check: Duration,
}

fn action_err(e: signoff_action::ActionError) -> ApiError {
    ApiError::Request(e.to_string())
}

/// Drafts one case with `model` (only `offline` is built) from `k` retrieved passages; the
/// claim check uses `embedder` when given, else lexical features only.
pub fn draft_case(
    ws: &mut Workspace,
    case_id: &str,
    model: &str,
    k: usize,
    embedder: Option<Arc<Embedder>>,
    clock: &dyn Clock,
) -> Result<Drafted, ApiError> {
    if !DRAFTERS.contains(&model) {
        return Err(ApiError::Request(format!(
            "model {model:?} is not available: this build has the offline extractive drafter \
             only ({}); the OpenAI-compatible client is not built yet",
            DRAFTERS.join(", ")
        )));
    }
    let t0 = Instant::now();
    let retrieval = ws.retrieve_for_case(case_id, k, clock)?;
    let t_retrieve = t0.elapsed();
    let seq = ws.case_seq(case_id)?;
    // Only the redacted case text the retrieval searched goes into the prompt.
    let body = retrieval.redacted_query.clone();
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
    let repo = PromptRepo::open(&ws.dir().join("prompts")).map_err(action_err)?;
    let passages_block: String = evidence
        .iter()
        .enumerate()
        .map(|(i, e)| format!("[{}] {}: {}\n", i + 1, e.title, e.text))
        .collect();
    let vars: BTreeMap<&str, String> = [
        ("subject", String::new()),
        ("body", body.clone()),
        ("passages", passages_block),
    ]
    .into_iter()
    .collect();
    let prompt = repo.render("draft_reply", &vars).map_err(action_err)?;
    let t1 = Instant::now();
    let drafter = OfflineDrafter::default();
    let req = DraftRequest {
        subject: "",
        body: &body,
        evidence: &evidence,
    };
    let composed = drafter.compose(&req, &prompt).map_err(action_err)?;
    let t_compose = t1.elapsed();
    let t2 = Instant::now();
    let scored_with_embedding = embedder.is_some();
    let scorer = SupportScorer::new(
        SupportModel::default_model(),
        embedder,
        gazetteer_for(&evidence, &[]),
    );
    let claims =
        check(&composed.text, &composed.citations, &evidence, &scorer).map_err(action_err)?;
    let t_check = t2.elapsed();
    let grounded = !evidence.is_empty() && !composed.citations.is_empty();
    let flagged = claims.iter().filter(|c| c.status.flagged()).count();
    // The draft's band: no grounding, no claims or mostly flagged claims → low.
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
    let record = ws.store_draft(&new, clock)?;
    Ok(Drafted {
        record,
        evidence,
        flagged,
        scored_with_embedding,
        retrieval: t_retrieve,
        compose: t_compose,
        check: t_check,
    })
}
