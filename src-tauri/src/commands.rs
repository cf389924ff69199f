//! Tauri commands: thin adapters from IPC to the Signoff core. No logic lives here beyond
//! checking and converting arguments (see `validate`), locking the session and mapping errors
//! to `{code, message}`.

use crate::dto::*;
use crate::session::{DraftBegin, Session};
use crate::validate;
use signoff_core::case::MAX_FIELD_BYTES;
use signoff_core::{QueueFilter, Reviewer};
use signoff_store::Decision;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tauri::ipc::{Channel, InvokeBody, Request};
use tauri::State;

/// The app's state: one session over one workspace.
pub struct AppState(pub Arc<Mutex<Session>>);

type Res<T> = Result<T, ErrorDto>;

fn lock(state: &AppState) -> Res<MutexGuard<'_, Session>> {
    blocking_lock(&state.0)
}

/// Locks the session from a blocking task (or a command, through `lock`).
fn blocking_lock(session: &Mutex<Session>) -> Res<MutexGuard<'_, Session>> {
    session.lock().map_err(|_| ErrorDto {
        code: "internal".into(),
        message: "the session lock was poisoned by an earlier failure; restart Signoff".into(),
    })
}

fn task_failed(what: &str, e: impl std::fmt::Display) -> ErrorDto {
    ErrorDto {
        code: "internal".into(),
        message: format!("{what} task failed: {e}"),
    }
}

/// Everything the UI needs to start.
#[tauri::command]
pub fn session_info(state: State<'_, AppState>) -> Res<SessionDto> {
    lock(&state)?.info()
}

/// Registers the reviewer at this workstation (first run), encrypting a new workspace first
/// when the reviewer asked for it.
#[tauri::command]
pub fn set_reviewer(
    state: State<'_, AppState>,
    id: String,
    name: String,
    encrypt: Option<bool>,
) -> Res<ReviewerDto> {
    validate::name("id", id.trim())?;
    validate::name("name", name.trim())?;
    let reviewer = Reviewer {
        id: id.trim().to_string(),
        name: name.trim().to_string(),
    };
    lock(&state)?.set_reviewer(reviewer, encrypt.unwrap_or(false))
}

/// One keyset page of the queue.
#[tauri::command]
pub fn queue_page(
    state: State<'_, AppState>,
    filter: FilterDto,
    after: Option<String>,
    limit: u32,
) -> Res<Vec<CaseRowDto>> {
    validate::queue_filter(&filter)?;
    validate::page("limit", limit)?;
    let filter = QueueFilter::try_from(filter)?;
    let after = match after {
        Some(s) => Some(validate::queue_cursor("after", &s)?),
        None => None,
    };
    let s = lock(&state)?;
    Ok(s.ws
        .queue_page(&filter, after, limit)?
        .into_iter()
        .map(CaseRowDto::from)
        .collect())
}

/// The number of cases matching a filter.
#[tauri::command]
pub fn queue_count(state: State<'_, AppState>, filter: FilterDto) -> Res<i64> {
    validate::queue_filter(&filter)?;
    let filter = QueueFilter::try_from(filter)?;
    Ok(lock(&state)?.ws.queue_count(&filter)?)
}

/// Counts per status.
#[tauri::command]
pub fn status_counts(state: State<'_, AppState>) -> Res<Vec<StatusCountDto>> {
    let counts = lock(&state)?.ws.status_counts()?;
    Ok(counts
        .counts
        .into_iter()
        .map(|(s, n)| StatusCountDto {
            status: s.as_str().into(),
            n,
        })
        .collect())
}

/// One whole case with its history.
#[tauri::command]
pub fn open_case(state: State<'_, AppState>, seq: i64) -> Res<CaseDto> {
    validate::seq("seq", seq)?;
    lock(&state)?.case(seq)
}

/// How intake classified a case and why, with comparable decided cases.
#[tauri::command]
pub fn case_intake(state: State<'_, AppState>, case_id: String) -> Res<IntakeDto> {
    validate::case_id("caseId", &case_id)?;
    lock(&state)?.case_intake(&case_id)
}

/// The calibration workbench: proposed thresholds for target precisions (saved as a new,
/// audited threshold version when `save`).
#[tauri::command]
pub fn intake_thresholds(
    state: State<'_, AppState>,
    target_high: f64,
    target_medium: f64,
    set: String,
    save: bool,
) -> Res<ThresholdProposalDto> {
    validate::fraction("targetHigh", target_high)?;
    validate::fraction("targetMedium", target_medium)?;
    validate::one_of("set", &set, &["decided", "labelled"])?;
    lock(&state)?.thresholds(target_high, target_medium, &set, save)
}

/// Records the reviewer's decision.
#[tauri::command]
pub fn decide(state: State<'_, AppState>, req: DecideDto) -> Res<DispositionDto> {
    let kind = validate::decision(&req)?;
    let decision = Decision {
        case_seq: req.case_seq,
        kind,
        reason_code: req.reason_code,
        rationale: req.rationale,
        final_text: req.final_text,
        recheck: None,
    };
    lock(&state)?.decide(&decision)
}

/// Checks a reply before it goes out, as approve and edit will (see `signoff_api::review`);
/// without `text`, the case's current draft (what approve sends).
#[tauri::command]
pub fn check_reply(
    state: State<'_, AppState>,
    case_seq: i64,
    text: Option<String>,
) -> Res<ReplyCheckDto> {
    validate::seq("caseSeq", case_seq)?;
    if let Some(t) = &text {
        validate::text("text", t, MAX_FIELD_BYTES, false)?;
    }
    lock(&state)?.check_reply(case_seq, text)
}

/// Undoes the reviewer's disposition within the grace period.
#[tauri::command]
pub fn undo(state: State<'_, AppState>, disposition_seq: i64) -> Res<DispositionDto> {
    validate::seq("dispositionSeq", disposition_seq)?;
    lock(&state)?.undo(disposition_seq)
}

/// Receives the bytes of a file chosen in the import dialog; returns a token for `run_import`.
#[tauri::command]
pub fn stage_import(state: State<'_, AppState>, request: Request<'_>) -> Res<u64> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(ErrorDto {
            code: "request".into(),
            message: "stage_import expects the file's bytes as the request body".into(),
        });
    };
    let name = request
        .headers()
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("import");
    validate::import_file(name, bytes)?;
    lock(&state)?.stage(name, bytes)
}

/// Imports a staged file, streaming progress; all or nothing.
#[tauri::command]
pub async fn run_import(
    state: State<'_, AppState>,
    token: u64,
    on_progress: Channel<ImportProgressDto>,
) -> Res<ImportReportDto> {
    let session = state.0.clone();
    tauri::async_runtime::spawn_blocking(move || {
        blocking_lock(&session)?.run_import(token, &mut |p| {
            let _ = on_progress.send(ImportProgressDto {
                bytes: p.bytes,
                total: p.total,
                rows: p.rows,
            });
        })
    })
    .await
    .map_err(|e| task_failed("import", e))?
}

/// One keyset page of the audit log, newest first.
#[tauri::command]
pub fn audit_page(
    state: State<'_, AppState>,
    filter: AuditFilterDto,
    after: Option<String>,
    limit: u32,
) -> Res<Vec<AuditRowDto>> {
    validate::audit_filter(&filter)?;
    validate::page("limit", limit)?;
    if let Some(a) = &after {
        validate::cursor("after", a, audit_cursor_from_string)?;
    }
    lock(&state)?.audit_page(filter, after, limit)
}

/// Everyone who appears in the log, for the reviewer filter.
#[tauri::command]
pub fn audit_actors(state: State<'_, AppState>) -> Res<Vec<String>> {
    lock(&state)?.audit_actors()
}

/// One audit entry with its inclusion proof, verified against the latest checkpoint.
#[tauri::command]
pub fn audit_entry(state: State<'_, AppState>, index: u64) -> Res<AuditEntryDto> {
    validate::log_index("index", index)?;
    lock(&state)?.audit_entry(index)
}

/// Evidence for a case from the approved corpus (a recorded retrieval).
#[tauri::command]
pub fn case_evidence(state: State<'_, AppState>, case_id: String, k: u32) -> Res<EvidenceDto> {
    validate::case_id("caseId", &case_id)?;
    validate::evidence_count("k", k)?;
    lock(&state)?.case_evidence(&case_id, k)
}

/// Resolves a flagged claim of a case's newest draft: `accept` (text = reason), `edit`
/// (text = replacement) or `remove`.
#[tauri::command]
pub fn resolve_claim(
    state: State<'_, AppState>,
    case_id: String,
    index: u32,
    action: String,
    text: String,
) -> Res<DraftDto> {
    validate::case_id("caseId", &case_id)?;
    validate::one_of("action", &action, &["accept", "edit", "remove"])?;
    validate::text("text", &text, MAX_FIELD_BYTES, false)?;
    lock(&state)?.resolve_claim(&case_id, index, &action, &text)
}

/// The corpus screen's data.
#[tauri::command]
pub fn corpus_overview(state: State<'_, AppState>) -> Res<CorpusDto> {
    lock(&state)?.corpus()
}

/// Approves a corpus version in a subject-matter expert's name.
#[tauri::command]
pub fn corpus_approve(state: State<'_, AppState>, version: String, by: String) -> Res<CorpusDto> {
    validate::name("version", &version)?;
    validate::name("by", &by)?;
    lock(&state)?.corpus_approve(&version, &by)
}

/// A case's outbound actions, newest first.
#[tauri::command]
pub fn case_actions(state: State<'_, AppState>, case_id: String) -> Res<Vec<ActionDto>> {
    validate::case_id("caseId", &case_id)?;
    lock(&state)?.case_actions(&case_id)
}

/// Sends a case's due actions (or retries the failed one `retry` names) off the main thread,
/// holding the session lock only to take each job and to record its outcome, never while
/// waiting on upstream.
#[tauri::command]
pub async fn send_actions(
    state: State<'_, AppState>,
    case_id: String,
    retry: Option<i64>,
) -> Res<Vec<ActionDto>> {
    validate::case_id("caseId", &case_id)?;
    if let Some(r) = retry {
        validate::seq("retry", r)?;
    }
    let session = state.0.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let jobs = blocking_lock(&session)?.begin_actions(&case_id, retry)?;
        let opts = signoff_api::actions::SendOptions::default();
        let mut done = Vec::new();
        for job in jobs {
            let outcome = signoff_api::actions::deliver(&job, &opts);
            done.push(blocking_lock(&session)?.finish_action(&job, &outcome)?);
        }
        Ok(done)
    })
    .await
    .map_err(|e| task_failed("send", e))?
}

/// Cancel tokens of the drafts being written, by case id.
#[derive(Default)]
pub struct DraftRuns(pub Mutex<HashMap<String, signoff_api::draft::Cancel>>);

/// The newest draft of a case, or (none yet, or `regenerate`) a new one from the model the
/// workspace routes the case to, its text streamed to `on_chunk` as it arrives; the session
/// is locked only to retrieve and to check and store, never while the model writes.
#[tauri::command]
pub async fn case_draft_stream(
    state: State<'_, AppState>,
    runs: State<'_, DraftRuns>,
    case_id: String,
    regenerate: bool,
    on_chunk: Channel<DraftChunkDto>,
) -> Res<DraftDto> {
    validate::case_id("caseId", &case_id)?;
    let session = state.0.clone();
    let cancel = signoff_api::draft::Cancel::new();
    runs.0
        .lock()
        .map_err(|_| task_failed("draft", "cancel registry poisoned"))?
        .insert(case_id.clone(), cancel.clone());
    let id = case_id.clone();
    let result = tauri::async_runtime::spawn_blocking(move || {
        let begin = blocking_lock(&session)?.draft_begin(&id, regenerate)?;
        let (p, encoder) = match begin {
            DraftBegin::Stored(d) => return Ok(*d),
            DraftBegin::Compose(p, e) => (p, e),
        };
        let t = std::time::Instant::now();
        let routed = signoff_api::draft::compose(
            &p,
            None,
            &mut |text: &str| {
                let _ = on_chunk.send(DraftChunkDto {
                    text: text.to_string(),
                });
            },
            &cancel,
        )?;
        blocking_lock(&session)?.draft_end(&p, routed, t.elapsed(), encoder)
    })
    .await
    .map_err(|e| task_failed("draft", e))?;
    if let Ok(mut m) = runs.0.lock() {
        m.remove(&case_id);
    }
    result
}

/// Cancels the draft being written for a case (nothing is stored); false when none is.
#[tauri::command]
pub fn cancel_draft(runs: State<'_, DraftRuns>, case_id: String) -> Res<bool> {
    validate::case_id("caseId", &case_id)?;
    let m = runs
        .0
        .lock()
        .map_err(|_| task_failed("draft", "cancel registry poisoned"))?;
    Ok(match m.get(&case_id) {
        Some(c) => {
            c.cancel();
            true
        }
        None => false,
    })
}

/// A case's audit timeline with verified proofs.
#[tauri::command]
pub fn case_audit(state: State<'_, AppState>, case_id: String) -> Res<CaseAuditDto> {
    validate::case_id("caseId", &case_id)?;
    lock(&state)?.case_audit(&case_id)
}

/// Verifies the whole log, streaming progress; a failed check is a result naming the place.
#[tauri::command]
pub async fn audit_verify(
    state: State<'_, AppState>,
    on_progress: Channel<VerifyProgressDto>,
) -> Res<VerifyReportDto> {
    let session = state.0.clone();
    tauri::async_runtime::spawn_blocking(move || {
        blocking_lock(&session)?.audit_verify(&mut |done, total| {
            let _ = on_progress.send(VerifyProgressDto { done, total });
        })
    })
    .await
    .map_err(|e| task_failed("verify", e))?
}

/// Exports the entries matching a filter as CSV to a new file at `path`.
#[tauri::command]
pub async fn audit_export(
    state: State<'_, AppState>,
    filter: AuditFilterDto,
    path: String,
) -> Res<ExportReportDto> {
    validate::audit_filter(&filter)?;
    validate::export_path("path", &path)?;
    let session = state.0.clone();
    tauri::async_runtime::spawn_blocking(move || {
        blocking_lock(&session)?.audit_export(filter, &path)
    })
    .await
    .map_err(|e| task_failed("export", e))?
}
