//! Drafting a case, as every host does it: retrieve evidence (redacted, allow-listed, audited),
//! render the workspace's prompt (fingerprinted), compose with the model the workspace's
//! `models.toml` routes the case to (remote OpenAI-compatible models fall back to the next
//! route entry and finally to the offline extractive drafter; citations are always bound by
//! Signoff), check every claim against the passages it cites, and store the draft with its
//! frozen passages, the route it took and its `draft` audit entry. The CLI's `signoff draft`
//! and the app's draft panel both call [`draft_case`] (or its three stages, so a host can
//! release the workspace while a remote model streams).

use crate::ApiError;
use signoff_action::draft::{check, gazetteer_for, DraftRequest};
pub use signoff_action::embed::Embedder;
use signoff_action::evidence::{content_hash, Evidence};
use signoff_action::prompt::{PromptRepo, Rendered};
use signoff_action::remote::ApiKey;
pub use signoff_action::remote::Cancel;
pub use signoff_action::router::{Models, Routed, Skipped};
use signoff_action::support::{SupportModel, SupportScorer};
use signoff_core::Clock;
use signoff_store::draft::{DraftRecord, FrozenPassage, NewDraft, StoredCitation, StoredClaim};
use signoff_store::Workspace;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// The routing file's name of the model that wrote the draft.
    pub model_name: String,
    /// Models tried before it, and why each was skipped.
    pub skipped: Vec<Skipped>,
    /// Text chunks a remote model streamed.
    pub streamed_chunks: usize,
    /// Passage numbers a remote model cited that the prompt did not offer (flagged claims).
    pub unknown_passages: Vec<u32>,
}

fn action_err(e: signoff_action::ActionError) -> ApiError {
    ApiError::Request(e.to_string())
}

/// Everything drafting needs from the workspace before the model runs.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The case id.
    pub case_id: String,
    /// Its internal sequence number.
    pub case_seq: i64,
    /// The redacted case text the retrieval searched (the only case text a model sees).
    pub body: String,
    /// Retrieved passages, best first (numbered from 1 in the prompt).
    pub evidence: Vec<Evidence>,
    /// The corpus version they came from.
    pub corpus_version: String,
    /// The rendered, fingerprinted prompt.
    pub prompt: Rendered,
    /// The case's intake label and band (what routes choose by), when classified.
    pub label: Option<String>,
    /// The band.
    pub band: Option<String>,
    /// The workspace directory (models.toml, key files).
    pub workspace: PathBuf,
    /// Retrieval time.
    pub retrieval: Duration,
}

/// Stage 1: retrieves evidence for the case (audited) and renders the prompt.
pub fn prepare(
    ws: &mut Workspace,
    case_id: &str,
    k: usize,
    clock: &dyn Clock,
) -> Result<Prepared, ApiError> {
    let status = ws.case(ws.case_seq(case_id)?)?.status;
    if status != signoff_core::CaseStatus::Open {
        return Err(ApiError::Request(format!(
            "case {case_id} is already {}; drafts are made only for open cases (undo the disposition to draft again)",
            status.as_str()
        )));
    }
    let t0 = Instant::now();
    let retrieval = ws.retrieve_for_case(case_id, k, clock)?;
    let t_retrieve = t0.elapsed();
    let case_seq = ws.case_seq(case_id)?;
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
    let class = ws.classification(case_id)?;
    Ok(Prepared {
        case_id: case_id.to_string(),
        case_seq,
        body,
        evidence,
        corpus_version: retrieval.result.version.clone(),
        prompt,
        label: class.as_ref().map(|c| c.label.clone()),
        band: class.as_ref().map(|c| c.band.as_str().to_string()),
        workspace: ws.dir().to_path_buf(),
        retrieval: t_retrieve,
    })
}

/// The workspace's routing file (`models.toml`, seeded with everything routed offline).
pub fn models(workspace: &Path) -> Result<Models, ApiError> {
    Models::load_or_seed(workspace).map_err(action_err)
}

/// Stage 2 (no workspace held): composes with the routed model — `model` overrides the
/// route — streaming a remote model's text to `on_delta`. A cancel returns
/// [`ApiError::Cancelled`].
pub fn compose(
    p: &Prepared,
    model: Option<&str>,
    on_delta: &mut (dyn FnMut(&str) + Send),
    cancel: &Cancel,
) -> Result<Routed, ApiError> {
    let models = models(&p.workspace)?;
    let chain = models
        .chain(p.label.as_deref(), p.band.as_deref(), model)
        .map_err(action_err)?;
    let req = DraftRequest {
        subject: "",
        body: &p.body,
        evidence: &p.evidence,
    };
    let dir = p.workspace.clone();
    let keys = move |name: &str| {
        crate::keys::model_key(&dir, name)
            .map(|k| k.map(|k| ApiKey::new(&k)))
            .map_err(|e| e.to_string())
    };
    // A local rewording model checks each reworded sentence with the scorer `finish` uses
    // (MiniLM from the process's one copy, when installed).
    let local = chain
        .iter()
        .any(|s| matches!(s.kind, signoff_action::router::ModelKind::Local(_)));
    let encoder = local
        .then(|| crate::intake::embedder(&crate::intake::model_dir_from_env()).ok())
        .flatten();
    signoff_action::router::draft_routed(&chain, &req, &p.prompt, &keys, on_delta, cancel, encoder)
        .map_err(|e| match e {
            signoff_action::ActionError::Remote(r) if r.is_cancel() => ApiError::Cancelled,
            e => action_err(e),
        })
}

/// Stage 3: checks every claim and stores the draft (with its `draft` audit entry).
pub fn finish(
    ws: &mut Workspace,
    p: &Prepared,
    routed: Routed,
    compose_time: Duration,
    embedder: Option<Arc<Embedder>>,
    clock: &dyn Clock,
) -> Result<Drafted, ApiError> {
    let evidence = &p.evidence;
    let composed = &routed.composed;
    let t2 = Instant::now();
    let scored_with_embedding = embedder.is_some();
    let scorer = SupportScorer::new(
        SupportModel::default_model(),
        embedder,
        gazetteer_for(evidence, &[]),
    );
    let claims =
        check(&composed.text, &composed.citations, evidence, &scorer).map_err(action_err)?;
    let t_check = t2.elapsed();
    let grounded = !evidence.is_empty() && !composed.citations.is_empty();
    let flagged = claims.iter().filter(|c| c.status.flagged()).count();
    // A case intake judged out of scope is not what the corpus covers: whatever the drafter
    // found to quote (one shared word is enough for it), the draft is no better than low.
    let case_id = ws.case(p.case_seq)?.id;
    let out_of_scope = ws
        .classification(&case_id)?
        .is_some_and(|k| k.escalate && k.label == signoff_intake::OOS);
    // The draft's band: out of scope, no grounding, no claims or mostly flagged claims → low.
    let band = if out_of_scope || !grounded || claims.is_empty() || flagged * 2 > claims.len() {
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
        case_seq: p.case_seq,
        model_id: routed.model_id.clone(),
        model_version: routed.model_version.clone(),
        route: routed.route_note(),
        prompt_id: p.prompt.prompt_id.clone(),
        prompt_fingerprint: p.prompt.fingerprint.clone(),
        corpus_version: p.corpus_version.clone(),
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
        evidence: p.evidence.clone(),
        flagged,
        scored_with_embedding,
        retrieval: p.retrieval,
        compose: compose_time,
        check: t_check,
        model_name: routed.model_name,
        skipped: routed.skipped,
        streamed_chunks: routed.chunks,
        unknown_passages: routed.bind.map(|b| b.unknown_passages).unwrap_or_default(),
    })
}

/// Drafts one case with the model `models.toml` routes it to (or `model` when given) from
/// `k` retrieved passages; the claim check uses `embedder` when given, else lexical
/// features only.
pub fn draft_case(
    ws: &mut Workspace,
    case_id: &str,
    model: Option<&str>,
    k: usize,
    embedder: Option<Arc<Embedder>>,
    clock: &dyn Clock,
) -> Result<Drafted, ApiError> {
    draft_case_streaming(
        ws,
        case_id,
        model,
        k,
        embedder,
        clock,
        &mut |_| {},
        &Cancel::new(),
    )
}

/// [`draft_case`] with a remote model's text streamed to `on_delta` and a cancel token (a
/// cancelled draft stores nothing).
#[allow(clippy::too_many_arguments)]
pub fn draft_case_streaming(
    ws: &mut Workspace,
    case_id: &str,
    model: Option<&str>,
    k: usize,
    embedder: Option<Arc<Embedder>>,
    clock: &dyn Clock,
    on_delta: &mut (dyn FnMut(&str) + Send),
    cancel: &Cancel,
) -> Result<Drafted, ApiError> {
    let p = prepare(ws, case_id, k, clock)?;
    let t1 = Instant::now();
    let routed = compose(&p, model, on_delta, cancel)?;
    let t_compose = t1.elapsed();
    finish(ws, &p, routed, t_compose, embedder, clock)
}
