//! The hub's HTTP API (axum): routes, handlers and the error answer. Every route but
//! enrolment needs a request signed by an approved device; roles are checked here, on the
//! hub, whatever the client does.

use crate::model::{
    CaseHistory, Device, DispositionConflict, EnrolRequest, ErrorBody, HubVerifyReport,
    ImportResult, Lease, LeaseInfo, LeaseRequest, LeaseResponse, LogAck, LogBatch, ResolveRequest,
    Resolved, Role, RoleRequest, WitnessKey,
};
use crate::store::{rfc3339, HubStore};
use crate::witness::Witness;
use crate::{auth, HubError};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use signoff_audit::chain::Chain;
use signoff_core::Clock;
use std::future::Future;
use std::sync::Arc;

/// How a hub behaves.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// How long a lease lasts before its case returns to the pool (renewed by every sync).
    pub lease_secs: i64,
    /// How far a request's `created` time may be from the hub's clock.
    pub window_secs: i64,
    /// The largest request body read at all.
    pub max_body: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            lease_secs: 4 * 3600,
            window_secs: 60,
            max_body: 64 * 1024 * 1024,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct HubState {
    /// The database.
    pub store: Arc<dyn HubStore>,
    /// The hub's clock (leases, signature freshness).
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub config: HubConfig,
    /// The witness key (one per hub database).
    pub witness: Arc<Witness>,
    /// Each device's key chain replayed up to the size the hub holds, so a push checks only
    /// its new entries (rebuilt from the stored log when missing or behind).
    pub chains: Arc<std::sync::Mutex<std::collections::HashMap<String, (u64, Chain)>>>,
}

impl HubState {
    /// The state over `store`, with the witness key the database holds (created on first use).
    pub async fn open(
        store: Arc<dyn HubStore>,
        clock: Arc<dyn Clock>,
        config: HubConfig,
    ) -> Result<Self, HubError> {
        let witness = Arc::new(Witness::load(store.as_ref()).await?);
        Ok(Self {
            store,
            clock,
            config,
            witness,
            chains: Arc::default(),
        })
    }
}

/// An error as the API answers it: status + `{"error", "message"}`.
pub struct ApiError(pub HubError);

impl<E: Into<HubError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: self.0.code().into(),
            message: self.0.to_string(),
            first_bad_index: match &self.0 {
                HubError::LogRefused { first_bad, .. } => Some(*first_bad),
                _ => None,
            },
        };
        (status, Json(body)).into_response()
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

fn body_of(state: &HubState, body: Result<Bytes, BytesRejection>) -> Result<Bytes, HubError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            HubError::TooLarge(state.config.max_body)
        } else {
            HubError::BadRequest(format!("unreadable request body: {e}"))
        }
    })
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, HubError> {
    serde_json::from_slice(body)
        .map_err(|e| HubError::BadRequest(format!("invalid JSON body: {e}")))
}

/// The API's routes over `state`, with the body limit.
pub fn router(state: HubState) -> Router {
    let limit = state.config.max_body;
    Router::new()
        .route("/v1/enrol", post(enrol))
        .route("/v1/me", get(me))
        .route("/v1/devices", get(devices))
        .route("/v1/devices/{device}/role", post(set_role))
        .route("/v1/devices/{device}/leases", get(device_leases))
        .route("/v1/cases", post(post_cases))
        .route("/v1/leases", post(lease))
        .route("/v1/log", post(push_log))
        .route("/v1/devices/{device}/log", get(device_log))
        .route("/v1/conflicts", get(conflicts))
        .route("/v1/conflicts/resolve", post(resolve))
        .route("/v1/witness", get(witness_key))
        .route("/v1/history", get(history))
        .route("/v1/verify", get(verify_all))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            limit,
            refuse_oversized,
        ))
        .with_state(state)
}

/// Answers 413 from the `Content-Length` alone, before any of an oversized body is read
/// (a chunked body is cut at the same limit by `DefaultBodyLimit` as it is read).
async fn refuse_oversized(
    State(limit): State<usize>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let len = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok());
    if len.is_some_and(|l| l > limit as u64) {
        return ApiError(HubError::TooLarge(limit)).into_response();
    }
    next.run(req).await
}

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: HubState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), HubError> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Ask to join the hub. Signed by the key being enrolled (proof of possession); the device
/// starts as `pending` until a lead approves it. Asking again returns the current record.
#[utoipa::path(post, path = "/v1/enrol", request_body = EnrolRequest,
    responses((status = 200, body = Device), (status = 401, body = ErrorBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn enrol(
    State(s): State<HubState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Device> {
    let body = body_of(&s, body)?;
    let parsed = auth::parse(&headers)?;
    let req: EnrolRequest = json_body(&body)?;
    auth::check(&s, &parsed, &method, &uri, &headers, &body, &req.public_key).await?;
    let name: String = req
        .name
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let d = Device {
        device: parsed.keyid.clone(),
        public_key: req.public_key.to_ascii_lowercase(),
        name,
        role: Role::Pending,
        enrolled_at: rfc3339(s.clock.now().timestamp_millis()),
    };
    Ok(Json(s.store.enrol(&d).await?))
}

/// The calling device's own record.
#[utoipa::path(get, path = "/v1/me", responses((status = 200, body = Device), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn me(
    State(s): State<HubState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Device> {
    let body = body_of(&s, body)?;
    Ok(Json(
        auth::device(&s, &method, &uri, &headers, &body).await?,
    ))
}

/// Every device (leads and admins only).
#[utoipa::path(get, path = "/v1/devices", responses((status = 200, body = Vec<Device>), (status = 403, body = ErrorBody)))]
pub(crate) async fn devices(
    State(s): State<HubState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Vec<Device>> {
    let body = body_of(&s, body)?;
    let me = auth::device(&s, &method, &uri, &headers, &body).await?;
    auth::need_lead(&me, "listing devices")?;
    Ok(Json(s.store.devices().await?))
}

/// Approve a device as reviewer or lead, or revoke it. Leads may make reviewers and revoke
/// reviewers; only admins may make or revoke leads and admins. No device changes its own role.
#[utoipa::path(post, path = "/v1/devices/{device}/role", request_body = RoleRequest,
    params(("device" = String, Path, description = "The device id")),
    responses((status = 200, body = Device), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn set_role(
    State(s): State<HubState>,
    Path(target): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Device> {
    let body = body_of(&s, body)?;
    let me = auth::device(&s, &method, &uri, &headers, &body).await?;
    auth::need_lead(&me, "approving devices")?;
    let req: RoleRequest = json_body(&body)?;
    if !matches!(req.role, Role::Reviewer | Role::Lead | Role::Revoked) {
        return Err(HubError::BadRequest(format!(
            "role must be reviewer, lead or revoked, not {}",
            req.role.as_str()
        ))
        .into());
    }
    if target == me.device {
        return Err(HubError::Forbidden {
            device: me.device,
            role: me.role.as_str().into(),
            what: "changing its own role".into(),
            needs: "another lead or admin".into(),
        }
        .into());
    }
    let current = s
        .store
        .device(&target)
        .await?
        .ok_or_else(|| HubError::NotFound(format!("no device {target} is enrolled")))?;
    if (req.role == Role::Lead || current.role.is_lead()) && me.role != Role::Admin {
        return Err(HubError::Forbidden {
            device: me.device,
            role: me.role.as_str().into(),
            what: "making or changing a lead".into(),
            needs: "an admin".into(),
        }
        .into());
    }
    let d = s
        .store
        .set_role(&target, req.role)
        .await?
        .ok_or_else(|| HubError::NotFound(format!("no device {target} is enrolled")))?;
    Ok(Json(d))
}

/// The live leases of a device: a reviewer may read only its own, a lead any device's.
#[utoipa::path(get, path = "/v1/devices/{device}/leases",
    params(("device" = String, Path, description = "The device id")),
    responses((status = 200, body = Vec<LeaseInfo>), (status = 403, body = ErrorBody)))]
pub(crate) async fn device_leases(
    State(s): State<HubState>,
    Path(target): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Vec<LeaseInfo>> {
    let body = body_of(&s, body)?;
    let me = auth::device(&s, &method, &uri, &headers, &body).await?;
    if target != me.device {
        auth::need_lead(&me, "reading another device's data")?;
    }
    let now = s.clock.now().timestamp_millis();
    Ok(Json(s.store.leases_of(&target, now).await?))
}

/// Add cases (leads and admins; an upstream system enrols as a device and is made a lead).
/// The body is JSONL (one case per line), a JSON array of cases, or CSV (`text/csv`), with the
/// fields and validation of `signoff import`; the whole body is refused when any row is
/// invalid, each error naming its line (for an array, its 1-based element) and field.
/// Idempotent on `id`; a different case under a known id is kept as a conflict, not applied.
#[utoipa::path(post, path = "/v1/cases",
    request_body(content = String, description = "JSONL, a JSON array, or CSV", content_type = "application/x-ndjson"),
    responses((status = 200, body = ImportResult), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub(crate) async fn post_cases(
    State(s): State<HubState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<ImportResult> {
    let body = body_of(&s, body)?;
    let me = auth::device(&s, &method, &uri, &headers, &body).await?;
    auth::need_lead(&me, "posting cases")?;
    let is_csv = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/csv"));
    let cases = tokio::task::spawn_blocking(move || cases_of(&body, is_csv))
        .await
        .map_err(|e| HubError::BadRequest(e.to_string()))??;
    let now = s.clock.now().timestamp_millis();
    Ok(Json(s.store.add_cases(&cases, now).await?))
}

/// Validates a posted case file with the import's own code (a JSON array becomes one line per
/// element first).
fn cases_of(body: &[u8], is_csv: bool) -> Result<Vec<(u64, signoff_core::NewCase)>, HubError> {
    if is_csv {
        return Ok(signoff_store::import::validate_cases(body, "cases.csv")?);
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let items: Vec<serde_json::Value> = serde_json::from_slice(body).map_err(|e| {
            HubError::BadRequest(format!(
                "cases.json: malformed JSON array at line {} column {}: {e}",
                e.line(),
                e.column()
            ))
        })?;
        let mut lines = Vec::with_capacity(body.len());
        for item in &items {
            serde_json::to_writer(&mut lines, item)
                .map_err(|e| HubError::BadRequest(e.to_string()))?;
            lines.push(b'\n');
        }
        return Ok(signoff_store::import::validate_cases(&lines, "cases.json")?);
    }
    Ok(signoff_store::import::validate_cases(body, "cases.jsonl")?)
}

/// Lease cases: renews the caller's live leases and adds new ones from the pool (queue order)
/// until it holds `max`. Each new lease increments the case's fencing token.
#[utoipa::path(post, path = "/v1/leases", request_body = LeaseRequest,
    responses((status = 200, body = LeaseResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn lease(
    State(s): State<HubState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<LeaseResponse> {
    let body = body_of(&s, body)?;
    let me = auth::device(&s, &method, &uri, &headers, &body).await?;
    let req: LeaseRequest = json_body(&body)?;
    if !(1..=1000).contains(&req.max) {
        return Err(HubError::BadRequest(format!("max must be 1 to 1000, not {}", req.max)).into());
    }
    let now = s.clock.now().timestamp_millis();
    let until = now + s.config.lease_secs * 1000;
    let (rows, new) = s.store.lease(&me.device, req.max, now, until).await?;
    let leases = rows
        .into_iter()
        .map(|r| {
            Ok(Lease {
                case: serde_json::from_str(&r.doc)
                    .map_err(|e| HubError::Database(format!("case {}: {e}", r.case_id)))?,
                fence: r.fence,
                expires_at: rfc3339(r.expires_ms),
            })
        })
        .collect::<Result<Vec<_>, HubError>>()?;
    Ok(Json(LeaseResponse { leases, new }))
}

/// The hub's witness verifier key (C2SP `cosignature/v1`): public, unsigned.
#[utoipa::path(get, path = "/v1/witness", responses((status = 200, body = WitnessKey)))]
pub(crate) async fn witness_key(State(s): State<HubState>) -> ApiResult<WitnessKey> {
    Ok(Json(WitnessKey {
        vkey: s.witness.vkey()?,
    }))
}

/// What the hub holds of a device's log (the device itself, or a lead): where the next push
/// starts and the newest cosigned checkpoint.
#[utoipa::path(get, path = "/v1/devices/{device}/log",
    params(("device" = String, Path, description = "The device id")),
    responses((status = 200, body = LogAck), (status = 403, body = ErrorBody)))]
pub(crate) async fn device_log(
    State(s): State<HubState>,
    Path(target): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<LogAck> {
    let body = body_of(&s, body)?;
    let me = auth::device(&s, &method, &uri, &headers, &body).await?;
    if target != me.device {
        auth::need_lead(&me, "reading another device's log")?;
    }
    let head = s.store.log_head(&target).await?;
    Ok(Json(ack_of(head.as_ref(), 0, 0, 0)))
}

fn ack_of(
    head: Option<&crate::store::LogHead>,
    accepted: u64,
    applied: u64,
    conflicts: u64,
) -> LogAck {
    let size = head.map_or(0, |h| h.size);
    LogAck {
        size,
        acknowledged_index: size.checked_sub(1),
        accepted,
        cosigned_checkpoint: head.map(|h| h.cosigned.clone()),
        cosigned_size: head.map_or(0, |h| h.size),
        applied,
        conflicts,
    }
}

/// Push a batch of the caller's own audit log. Resumable (start at the hub's `size`) and
/// idempotent (leaves the hub holds are compared, not stored again). The hub verifies the
/// leaves, the key chain (reviewer signatures on dispositions) and the signed checkpoint
/// against everything it holds, refuses a fork or gap with 409 and the first bad index
/// (recorded), then stores the entries, applies their dispositions to its cases (or queues
/// them as conflicts: stale fencing token, case not held) and cosigns the checkpoint, all in
/// one transaction.
#[utoipa::path(post, path = "/v1/log", request_body = LogBatch,
    responses((status = 200, body = LogAck), (status = 409, body = ErrorBody), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn push_log(
    State(s): State<HubState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<LogAck> {
    use base64::Engine as _;
    let body = body_of(&s, body)?;
    let me = auth::device(&s, &method, &uri, &headers, &body).await?;
    let batch: LogBatch = json_body(&body)?;
    let leaves = batch
        .leaves
        .iter()
        .enumerate()
        .map(|(i, l)| {
            base64::engine::general_purpose::STANDARD
                .decode(l)
                .map_err(|_| HubError::BadRequest(format!("leaves[{i}] is not base64")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let pk: [u8; 32] = hex::decode(&me.public_key)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| HubError::Database(format!("device {}'s key is not 32 bytes", me.device)))?;
    let now = s.clock.now();
    let head = s.store.log_head(&me.device).await?;
    let size = head.as_ref().map_or(0, |h| h.size);
    let end = batch.start + leaves.len() as u64;
    let held: Vec<[u8; 32]> = if batch.start < size {
        s.store
            .log_leaves(&me.device, batch.start, end.min(size))
            .await?
            .into_iter()
            .map(|(_, h)| h)
            .collect()
    } else {
        Vec::new()
    };
    let mut chain = chain_at(&s, &me.device, &pk, head.as_ref(), &batch.checkpoint).await?;
    let checked = crate::push::check(
        head.as_ref(),
        &held,
        &mut chain,
        &crate::push::Batch {
            start: batch.start,
            leaves: &leaves,
            checkpoint: &batch.checkpoint,
            fences: &batch.fences,
        },
    );
    let checked = match checked {
        Ok(Some(c)) => c,
        Ok(None) => return Ok(Json(ack_of(head.as_ref(), 0, 0, 0))),
        Err(r) => {
            s.store
                .refuse_log(
                    &me.device,
                    r.first_bad,
                    r.code,
                    &r.why,
                    now.timestamp_millis(),
                )
                .await?;
            return Err(HubError::LogRefused {
                code: r.code,
                first_bad: r.first_bad,
                why: r.why,
            }
            .into());
        }
    };
    let mut new_head = checked.head;
    new_head.cosigned = s
        .witness
        .cosign(&new_head.checkpoint, now.timestamp().max(0) as u64)?;
    let accepted = checked.entries.len() as u64;
    let appended = s
        .store
        .append_log(&crate::store::LogAppend {
            device: me.device.clone(),
            expected_size: size,
            head: new_head.clone(),
            entries: checked.entries,
            dispositions: checked.dispositions,
            now_ms: now.timestamp_millis(),
        })
        .await?;
    match appended {
        crate::store::Appended::Done { applied, conflicts } => {
            if let Ok(mut m) = s.chains.lock() {
                m.insert(me.device.clone(), (new_head.size, chain));
            }
            Ok(Json(ack_of(Some(&new_head), accepted, applied, conflicts)))
        }
        crate::store::Appended::Moved(n) => Err(HubError::Conflict(format!(
            "another push reached the hub first; the log now holds {n} entries: push again from {n}"
        ))
        .into()),
    }
}

/// The key chain of `device`'s log replayed to the hub's size: from the cache when it is
/// there at that size, else from the stored leaves.
async fn chain_at(
    s: &HubState,
    device: &str,
    pk: &[u8; 32],
    head: Option<&crate::store::LogHead>,
    checkpoint: &str,
) -> Result<Chain, HubError> {
    let size = head.map_or(0, |h| h.size);
    if let Some((n, c)) = s.chains.lock().ok().and_then(|m| m.get(device).cloned()) {
        if n == size {
            return Ok(c);
        }
    }
    let origin = match head {
        Some(h) => h.origin.clone(),
        None => crate::push::origin_of(checkpoint).unwrap_or("").to_string(),
    };
    let mut chain = Chain::new(crate::push::genesis(&origin, pk));
    if size > 0 {
        for (i, (leaf, _)) in s
            .store
            .log_leaves(device, 0, size)
            .await?
            .iter()
            .enumerate()
        {
            chain.entry(i as u64, leaf).map_err(|e| {
                HubError::Database(format!("device {device}'s stored entry {i}: {e}"))
            })?;
        }
    }
    Ok(chain)
}

/// Dispositions the hub did not apply (stale fencing token, case not held by the device),
/// for a lead to resolve; both versions are kept.
#[utoipa::path(get, path = "/v1/conflicts", responses((status = 200, body = Vec<DispositionConflict>), (status = 403, body = ErrorBody)))]
pub(crate) async fn conflicts(
    State(s): State<HubState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Vec<DispositionConflict>> {
    let body = body_of(&s, body)?;
    let me = auth::device(&s, &method, &uri, &headers, &body).await?;
    auth::need_lead(&me, "reading the conflict queue")?;
    Ok(Json(s.store.conflicts().await?))
}

/// How a case was handled on every device that touched it (leads): each entry with its
/// inclusion proof against the device's cosigned checkpoint, and the conflicts about it.
/// `on=YYYY-MM-DD` keeps one UTC day.
#[utoipa::path(get, path = "/v1/history",
    params(("case" = String, Query, description = "The case id"), ("on" = Option<String>, Query, description = "A UTC day, YYYY-MM-DD")),
    responses((status = 200, body = CaseHistory), (status = 403, body = ErrorBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn history(
    State(s): State<HubState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<CaseHistory> {
    let body = body_of(&s, body)?;
    let me = auth::device(&s, &method, &uri, &headers, &body).await?;
    auth::need_lead(&me, "reading the team history")?;
    let case_id = q
        .get("case")
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| HubError::BadRequest("the query needs case=ID".into()))?
        .clone();
    let on = q
        .get("on")
        .map(|d| {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                HubError::BadRequest(format!("on={d:?} is not a date like 2026-12-07"))
            })
        })
        .transpose()?;
    let key = signoff_core::case::id_key(&case_id);
    let hits = s.store.case_entries(&key).await?;
    let heads: std::collections::HashMap<String, crate::store::LogHead> =
        s.store.log_heads().await?.into_iter().collect();
    let mut devices = Vec::new();
    let mut i = 0;
    while i < hits.len() {
        let device = hits[i].0.clone();
        let mut indexes = Vec::new();
        while i < hits.len() && hits[i].0 == device {
            indexes.push(hits[i].1);
            i += 1;
        }
        let Some(head) = heads.get(&device) else {
            continue;
        };
        let log = s.store.log_leaves(&device, 0, head.size).await?;
        let h = crate::record::device_history(&device, head, &log, &indexes, on)
            .map_err(HubError::Database)?;
        if !h.entries.is_empty() {
            devices.push(h);
        }
    }
    let conflicts = s
        .store
        .conflicts()
        .await?
        .into_iter()
        .filter(|c| signoff_core::case::id_key(&c.case_id) == key)
        .collect();
    Ok(Json(CaseHistory {
        case_id,
        state: s.store.case_state(&key).await?,
        devices,
        conflicts,
    }))
}

/// Re-verifies every device log the hub holds (leads): leaves, stored hashes, key chains,
/// the newest checkpoint of each and the hub's cosignature on it.
#[utoipa::path(get, path = "/v1/verify",
    responses((status = 200, body = HubVerifyReport), (status = 403, body = ErrorBody)))]
pub(crate) async fn verify_all(
    State(s): State<HubState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<HubVerifyReport> {
    let body = body_of(&s, body)?;
    let me = auth::device(&s, &method, &uri, &headers, &body).await?;
    auth::need_lead(&me, "verifying the hub")?;
    let witness = signoff_audit::witness::CosignatureVerifier::parse(&s.witness.vkey()?)
        .map_err(|e| HubError::Database(e.to_string()))?;
    let mut report = HubVerifyReport {
        ok: true,
        ..Default::default()
    };
    for (device, head) in s.store.log_heads().await? {
        report.devices += 1;
        let pk: Option<[u8; 32]> = s
            .store
            .device(&device)
            .await?
            .and_then(|d| hex::decode(d.public_key).ok())
            .and_then(|k| k.try_into().ok());
        let Some(pk) = pk else {
            report.failures.push(crate::record::failure(
                &device,
                (None, "the device is not enrolled".into()),
            ));
            continue;
        };
        let log = s.store.log_leaves(&device, 0, head.size).await?;
        match crate::record::verify_log(&pk, &head, &log, &witness) {
            Ok(n) => report.entries += n,
            Err(f) => report.failures.push(crate::record::failure(&device, f)),
        }
    }
    report.ok = report.failures.is_empty();
    Ok(Json(report))
}

/// Resolve a conflicting disposition (leads): keep the device's version (applied to the case)
/// or the hub's; the conflict leaves the queue and the resolution is recorded with who made it.
#[utoipa::path(post, path = "/v1/conflicts/resolve", request_body = ResolveRequest,
    responses((status = 200, body = Resolved), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn resolve(
    State(s): State<HubState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Resolved> {
    let body = body_of(&s, body)?;
    let me = auth::device(&s, &method, &uri, &headers, &body).await?;
    auth::need_lead(&me, "resolving conflicts")?;
    let req: ResolveRequest = json_body(&body)?;
    let keep_device = match req.keep.as_str() {
        "device" => true,
        "hub" => false,
        other => {
            return Err(
                HubError::BadRequest(format!("keep must be device or hub, not {other:?}")).into(),
            )
        }
    };
    let now = s.clock.now().timestamp_millis();
    let case_id = s
        .store
        .resolve_conflict(&req.device, req.index, keep_device, &me.device, now)
        .await?
        .ok_or_else(|| {
            HubError::NotFound(format!(
                "no unresolved conflict at entry {} of device {}",
                req.index, req.device
            ))
        })?;
    let state = s
        .store
        .case_state(&signoff_core::case::id_key(&case_id))
        .await?;
    Ok(Json(Resolved {
        case_id,
        kept: req.keep,
        state,
    }))
}
