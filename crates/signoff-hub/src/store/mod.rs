//! The hub's storage: one trait, two backends that keep the same tables and rules.
//! [`postgres::PgStore`] serves teams (several hub processes may share one database: leases
//! are taken with `FOR UPDATE SKIP LOCKED`, nonces are unique rows); [`sqlite::SqliteStore`]
//! serves a one-machine trial. Both migrate forward only, at open.

pub mod postgres;
pub mod sqlite;

use crate::model::{Device, DispositionConflict, ImportResult, LeaseInfo, Role};
use crate::HubError;
use signoff_core::NewCase;
use std::sync::Arc;

/// A case leased to a device, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    /// The case id.
    pub case_id: String,
    /// The case in the import file's fields (JSON text).
    pub doc: String,
    /// Its fencing token.
    pub fence: i64,
    /// Expiry, ms since the epoch.
    pub expires_ms: i64,
}

/// A device's log as the hub holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHead {
    /// The log's origin (its checkpoints' first line).
    pub origin: String,
    /// Entries held.
    pub size: u64,
    /// The tree's right edge (`level:hex` items joined by `,`), to append without reading it.
    pub edge: String,
    /// The newest checkpoint accepted (the device's signed note).
    pub checkpoint: String,
    /// The same checkpoint cosigned by the hub.
    pub cosigned: String,
}

/// A disposition (or its undo) found in a pushed batch, to apply to the hub's cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispositionIn {
    /// Entry index in the device's log.
    pub index: u64,
    /// The case.
    pub case_id: String,
    /// `disposition` or `undo`.
    pub kind: String,
    /// The decision, for a disposition.
    pub decision: Option<String>,
    /// Who decided.
    pub actor: String,
    /// When (ms since the epoch).
    pub at_ms: i64,
    /// The fencing token the device claims for the case.
    pub fence: Option<i64>,
}

/// A new entry of a device's log: (index, leaf, leaf hash, the id key of the case it is
/// about).
pub type NewEntry = (u64, Vec<u8>, [u8; 32], Option<String>);

/// A verified batch to append, all in one transaction.
#[derive(Debug, Clone)]
pub struct LogAppend {
    /// The device.
    pub device: String,
    /// The size the batch was verified against: the append is refused if the log moved.
    pub expected_size: u64,
    /// The new head.
    pub head: LogHead,
    /// New entries.
    pub entries: Vec<NewEntry>,
    /// Dispositions among them.
    pub dispositions: Vec<DispositionIn>,
    /// The hub's time.
    pub now_ms: i64,
}

/// What an append did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// Stored: dispositions applied and sent to the conflict queue.
    Done {
        /// Applied.
        applied: u64,
        /// Kept as conflicts.
        conflicts: u64,
    },
    /// Another request appended first; the log now holds this many entries.
    Moved(u64),
}

/// Why a disposition is not applied (`None`: apply it). Shared by both backends so they judge
/// alike: the case must exist, be leased to the deciding device under the token it claims,
/// and the decision must fall within the lease.
pub(crate) fn disposition_refusal(
    d: &DispositionIn,
    device: &str,
    case: Option<(Option<String>, i64, Option<i64>)>,
) -> Option<String> {
    let Some((owner, fence, expires)) = case else {
        return Some(format!("case {:?} is not at the hub", d.case_id));
    };
    if owner.as_deref() != Some(device) {
        return Some(match owner {
            None => format!("case {:?} was never leased to device {device}", d.case_id),
            Some(o) => format!("case {:?} is leased to device {o}, not {device}", d.case_id),
        });
    }
    match d.fence {
        None => Some(format!(
            "no fencing token was sent for case {:?} (the hub's is {fence})",
            d.case_id
        )),
        Some(f) if f != fence => Some(format!(
            "stale fencing token {f} for case {:?}: the hub's lease is at {fence}",
            d.case_id
        )),
        Some(_) if expires.is_some_and(|e| d.at_ms > e) => Some(format!(
            "case {:?} was decided after its lease ran out",
            d.case_id
        )),
        Some(_) => None,
    }
}

/// What a hub keeps, whatever the database.
#[async_trait::async_trait]
pub trait HubStore: Send + Sync {
    /// `postgres` or `sqlite`.
    fn backend(&self) -> &'static str;
    /// The device with this id.
    async fn device(&self, id: &str) -> Result<Option<Device>, HubError>;
    /// Records an enrolment as pending unless the device is known; returns the stored record.
    async fn enrol(&self, device: &Device) -> Result<Device, HubError>;
    /// Makes `device` an admin (inserting it if absent): the hub's first administrator.
    async fn put_admin(&self, device: &Device) -> Result<Device, HubError>;
    /// Every device, in enrolment order.
    async fn devices(&self) -> Result<Vec<Device>, HubError>;
    /// Sets a device's role; `None` when there is no such device.
    async fn set_role(&self, id: &str, role: Role) -> Result<Option<Device>, HubError>;
    /// Records a request nonce; `false` when the device used it before. Nonces of requests
    /// signed before `forget_before` (Unix seconds) are dropped: such requests are refused as
    /// stale anyway.
    async fn use_nonce(
        &self,
        device: &str,
        nonce: &str,
        created: i64,
        forget_before: i64,
    ) -> Result<bool, HubError>;
    /// Adds validated cases in one transaction, idempotent on id (compared without regard to
    /// letter case); a different case under a known id is kept as a conflict, not applied.
    async fn add_cases(
        &self,
        cases: &[(u64, NewCase)],
        now_ms: i64,
    ) -> Result<ImportResult, HubError>;
    /// Renews `device`'s live leases and leases it open cases from the pool (unleased or
    /// expired; queue order) until it holds `max`. Every new lease increments the case's
    /// fencing token. Returns all the device's leases and how many are new.
    async fn lease(
        &self,
        device: &str,
        max: u32,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<(Vec<LeaseRow>, u64), HubError>;
    /// The live leases of `device`.
    async fn leases_of(&self, device: &str, now_ms: i64) -> Result<Vec<LeaseInfo>, HubError>;
    /// The hub's witness key (name, Ed25519 seed); `fresh` is stored first when there is none,
    /// so every hub process sharing the database signs with one key.
    async fn witness_key(&self, fresh: (String, [u8; 32])) -> Result<(String, [u8; 32]), HubError>;
    /// The head of `device`'s log, if it pushed any.
    async fn log_head(&self, device: &str) -> Result<Option<LogHead>, HubError>;
    /// Leaves `from..to` of `device`'s log with their hashes, in order.
    async fn log_leaves(
        &self,
        device: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<(Vec<u8>, [u8; 32])>, HubError>;
    /// Appends a verified batch, updates the head and applies its dispositions (or queues
    /// them as conflicts) in one transaction.
    async fn append_log(&self, a: &LogAppend) -> Result<Appended, HubError>;
    /// Records a refused batch (what was wrong and the first bad index).
    async fn refuse_log(
        &self,
        device: &str,
        first_bad: u64,
        code: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), HubError>;
    /// Dispositions not applied, oldest first.
    async fn conflicts(&self) -> Result<Vec<DispositionConflict>, HubError>;
    /// Every device log the hub holds, by device.
    async fn log_heads(&self) -> Result<Vec<(String, LogHead)>, HubError>;
    /// The (device, index) of every held entry about the case with this id key, in device
    /// then index order.
    async fn case_entries(&self, case_key: &str) -> Result<Vec<(String, u64)>, HubError>;
    /// Resolves an unresolved conflict: `keep_device` applies the device's disposition to the
    /// case, otherwise the hub's version stands; either way the row records who resolved it.
    /// Returns the case id, or `None` when there is no such unresolved conflict.
    async fn resolve_conflict(
        &self,
        device: &str,
        index: u64,
        keep_device: bool,
        by: &str,
        now_ms: i64,
    ) -> Result<Option<String>, HubError>;
    /// The hub's state of a case (`open`, `decided`), if it has the case.
    async fn case_state(&self, case_key: &str) -> Result<Option<String>, HubError>;
}

/// Opens (and migrates) the store a `--db` URL names: `postgres://…`/`postgresql://…` or
/// `sqlite:PATH`.
pub async fn open(url: &str) -> Result<Arc<dyn HubStore>, HubError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::open(url).await?))
    } else if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(HubError::BadDbUrl(url.into()));
        }
        Ok(Arc::new(
            sqlite::SqliteStore::open(std::path::Path::new(path)).await?,
        ))
    } else {
        Err(HubError::BadDbUrl(url.into()))
    }
}

/// The id key of the case a leaf is about, if any.
pub(crate) fn case_key_of(leaf: &[u8]) -> Option<String> {
    signoff_audit::log::leaf_case_id(leaf)
        .ok()
        .flatten()
        .map(|c| signoff_core::case::id_key(&c))
}

/// A 32-byte seed stored as hex.
pub(crate) fn seed_of(hex_seed: &str) -> Result<[u8; 32], HubError> {
    hex::decode(hex_seed)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| HubError::Database("the stored witness key is not 32 bytes of hex".into()))
}

/// A 32-byte hash as stored.
pub(crate) fn hash_of(bytes: &[u8]) -> Result<[u8; 32], HubError> {
    bytes
        .try_into()
        .map_err(|_| HubError::Database("a stored leaf hash is not 32 bytes".into()))
}

/// Milliseconds since the epoch as RFC 3339 (UTC, millisecond precision).
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The JSON text a case is kept as (the import file's fields).
pub(crate) fn case_doc(case: &NewCase) -> String {
    serde_json::to_string(case).unwrap_or_default()
}

/// Queue-order keys of a case: SLA deadline (ms, none last), priority, received (ms).
pub(crate) fn order_keys(case: &NewCase) -> (Option<i64>, i64, i64) {
    (
        case.sla_due_at.map(|t| t.timestamp_millis()),
        case.priority,
        case.received_at.timestamp_millis(),
    )
}

/// The conflicts listed in a report, at most.
pub(crate) const MAX_LISTED: usize = 100;

/// Schema version the hub's migrations reach.
pub const SCHEMA_VERSION: i64 = 4;
