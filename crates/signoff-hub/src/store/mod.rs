//! The hub's storage: one trait, two backends that keep the same tables and rules.
//! [`postgres::PgStore`] serves teams (several hub processes may share one database: leases
//! are taken with `FOR UPDATE SKIP LOCKED`, nonces are unique rows); [`sqlite::SqliteStore`]
//! serves a one-machine trial. Both migrate forward only, at open.

pub mod postgres;
pub mod sqlite;

use crate::model::{Device, ImportResult, LeaseInfo, Role};
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
pub const SCHEMA_VERSION: i64 = 1;
