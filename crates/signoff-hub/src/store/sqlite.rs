//! The SQLite backend, for a one-machine trial: one file, WAL with `synchronous=FULL`, one
//! connection behind a mutex (every call runs on tokio's blocking pool), `BEGIN IMMEDIATE` for
//! every write so a lease is decided under the write lock.

use super::{case_doc, order_keys, HubStore, LeaseRow, MAX_LISTED, SCHEMA_VERSION};
use crate::model::{Device, ImportResult, LeaseInfo, LineId, Role};
use crate::HubError;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use signoff_core::NewCase;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Forward-only migrations, by version (index + 1). A released one is never edited.
const MIGRATIONS: [&str; 1] = [r#"
CREATE TABLE devices (
    id TEXT PRIMARY KEY, public_key TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    role TEXT NOT NULL, enrolled_ms INTEGER NOT NULL, seq INTEGER NOT NULL);
CREATE TABLE nonces (
    device TEXT NOT NULL, nonce TEXT NOT NULL, created_s INTEGER NOT NULL,
    PRIMARY KEY (device, nonce));
CREATE INDEX nonces_created ON nonces (created_s);
CREATE TABLE cases (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL, id_key TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL, doc TEXT NOT NULL, received_ms INTEGER NOT NULL,
    priority INTEGER NOT NULL, sla_ms INTEGER, state TEXT NOT NULL DEFAULT 'open',
    lease_owner TEXT, lease_expires_ms INTEGER, fence INTEGER NOT NULL DEFAULT 0,
    added_ms INTEGER NOT NULL);
CREATE INDEX cases_pool ON cases (state, sla_ms IS NULL, sla_ms, priority DESC, received_ms, seq);
CREATE INDEX cases_owner ON cases (lease_owner, lease_expires_ms);
CREATE TABLE case_conflicts (
    seq INTEGER PRIMARY KEY, case_id TEXT NOT NULL, line INTEGER NOT NULL,
    incoming_hash TEXT NOT NULL, doc TEXT NOT NULL, at_ms INTEGER NOT NULL,
    UNIQUE (case_id, incoming_hash));
"#];

/// The hub's tables in one SQLite file.
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating and migrating) the hub database at `path`.
    pub async fn open(path: &Path) -> Result<Self, HubError> {
        let path = path.to_path_buf();
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection, HubError> {
            let mut conn = Connection::open(&path)
                .map_err(|e| HubError::Database(format!("{}: {e}", path.display())))?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
            )?;
            let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if version > SCHEMA_VERSION {
                return Err(HubError::NewerSchema {
                    found: version,
                    supported: SCHEMA_VERSION,
                });
            }
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", i as i64 + 1)?;
            }
            tx.commit()?;
            Ok(conn)
        })
        .await
        .map_err(|e| HubError::Database(e.to_string()))??;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, HubError> + Send + 'static,
    ) -> Result<T, HubError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn
                .lock()
                .map_err(|_| HubError::Database("connection lock poisoned".into()))?;
            f(&mut c)
        })
        .await
        .map_err(|e| HubError::Database(e.to_string()))?
    }
}

fn device_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    let role: String = r.get(3)?;
    Ok(Device {
        device: r.get(0)?,
        public_key: r.get(1)?,
        name: r.get(2)?,
        role: Role::parse(&role).unwrap_or(Role::Revoked),
        enrolled_at: super::rfc3339(r.get(4)?),
    })
}

const DEVICE_COLS: &str = "id, public_key, name, role, enrolled_ms";

fn get_device(c: &Connection, id: &str) -> Result<Option<Device>, HubError> {
    Ok(c.query_row(
        &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
        [id],
        device_row,
    )
    .optional()?)
}

fn insert_device(c: &Connection, d: &Device, role: Role) -> Result<(), HubError> {
    let enrolled = chrono::DateTime::parse_from_rfc3339(&d.enrolled_at)
        .map(|t| t.timestamp_millis())
        .unwrap_or(0);
    c.execute(
        "INSERT INTO devices (id, public_key, name, role, enrolled_ms, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, (SELECT COALESCE(MAX(seq), 0) + 1 FROM devices))
         ON CONFLICT (id) DO NOTHING",
        params![d.device, d.public_key, d.name, role.as_str(), enrolled],
    )?;
    Ok(())
}

#[async_trait::async_trait]
impl HubStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn device(&self, id: &str) -> Result<Option<Device>, HubError> {
        let id = id.to_string();
        self.run(move |c| get_device(c, &id)).await
    }

    async fn enrol(&self, device: &Device) -> Result<Device, HubError> {
        let d = device.clone();
        self.run(move |c| {
            insert_device(c, &d, Role::Pending)?;
            get_device(c, &d.device)?.ok_or_else(|| HubError::NotFound(d.device.clone()))
        })
        .await
    }

    async fn put_admin(&self, device: &Device) -> Result<Device, HubError> {
        let d = device.clone();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            insert_device(&tx, &d, Role::Admin)?;
            tx.execute(
                "UPDATE devices SET role = 'admin' WHERE id = ?1",
                [&d.device],
            )?;
            let out = get_device(&tx, &d.device)?;
            tx.commit()?;
            out.ok_or_else(|| HubError::NotFound(d.device.clone()))
        })
        .await
    }

    async fn devices(&self) -> Result<Vec<Device>, HubError> {
        self.run(|c| {
            let mut st = c.prepare(&format!("SELECT {DEVICE_COLS} FROM devices ORDER BY seq"))?;
            let rows = st.query_map([], device_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn set_role(&self, id: &str, role: Role) -> Result<Option<Device>, HubError> {
        let id = id.to_string();
        self.run(move |c| {
            c.execute(
                "UPDATE devices SET role = ?2 WHERE id = ?1",
                params![id, role.as_str()],
            )?;
            get_device(c, &id)
        })
        .await
    }

    async fn use_nonce(
        &self,
        device: &str,
        nonce: &str,
        created: i64,
        forget_before: i64,
    ) -> Result<bool, HubError> {
        let (device, nonce) = (device.to_string(), nonce.to_string());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM nonces WHERE created_s < ?1", [forget_before])?;
            let n = tx.execute(
                "INSERT INTO nonces (device, nonce, created_s) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
                params![device, nonce, created],
            )?;
            tx.commit()?;
            Ok(n == 1)
        })
        .await
    }

    async fn add_cases(
        &self,
        cases: &[(u64, NewCase)],
        now_ms: i64,
    ) -> Result<ImportResult, HubError> {
        let cases = cases.to_vec();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut out = ImportResult::default();
            {
                let mut insert = tx.prepare(
                    "INSERT INTO cases (id, id_key, content_hash, doc, received_ms, priority, sla_ms, added_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id_key) DO NOTHING",
                )?;
                let mut existing =
                    tx.prepare("SELECT id, content_hash FROM cases WHERE id_key = ?1")?;
                let mut conflict = tx.prepare(
                    "INSERT INTO case_conflicts (case_id, line, incoming_hash, doc, at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                )?;
                for (line, case) in &cases {
                    let hash = case.content_hash();
                    let key = signoff_core::case::id_key(&case.id);
                    let (sla, prio, received) = order_keys(case);
                    let doc = case_doc(case);
                    let n = insert.execute(params![
                        case.id, key, hash, doc, received, prio, sla, now_ms
                    ])?;
                    if n == 1 {
                        out.new += 1;
                        continue;
                    }
                    let (old_id, old_hash): (String, String) =
                        existing.query_row([&key], |r| Ok((r.get(0)?, r.get(1)?)))?;
                    if old_hash == hash && old_id == case.id {
                        out.unchanged += 1;
                    } else {
                        out.conflicts += 1;
                        if out.conflict_ids.len() < MAX_LISTED {
                            out.conflict_ids.push(LineId {
                                line: *line,
                                id: case.id.clone(),
                            });
                        }
                        conflict.execute(params![old_id, *line as i64, hash, doc, now_ms])?;
                    }
                }
            }
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn lease(
        &self,
        device: &str,
        max: u32,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<(Vec<LeaseRow>, u64), HubError> {
        let device = device.to_string();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut rows = Vec::new();
            let mut new = 0u64;
            {
                let map = |r: &rusqlite::Row<'_>| {
                    Ok(LeaseRow {
                        case_id: r.get(0)?,
                        doc: r.get(1)?,
                        fence: r.get(2)?,
                        expires_ms: r.get(3)?,
                    })
                };
                let mut renew = tx.prepare(
                    "UPDATE cases SET lease_expires_ms = ?3
                     WHERE lease_owner = ?1 AND lease_expires_ms > ?2 AND state = 'open'
                     RETURNING id, doc, fence, lease_expires_ms",
                )?;
                for r in renew.query_map(params![device, now_ms, until_ms], map)? {
                    rows.push(r?);
                }
                let need = (max as usize).saturating_sub(rows.len());
                if need > 0 {
                    // Picked in queue order first: RETURNING would give table order.
                    let seqs: Vec<i64> = tx
                        .prepare(
                            "SELECT seq FROM cases
                             WHERE state = 'open' AND (lease_owner IS NULL OR lease_expires_ms <= ?1)
                             ORDER BY sla_ms IS NULL, sla_ms, priority DESC, received_ms, seq
                             LIMIT ?2",
                        )?
                        .query_map(params![now_ms, need as i64], |r| r.get(0))?
                        .collect::<Result<_, _>>()?;
                    let mut take = tx.prepare(
                        "UPDATE cases SET lease_owner = ?1, lease_expires_ms = ?2, fence = fence + 1
                         WHERE seq = ?3 RETURNING id, doc, fence, lease_expires_ms",
                    )?;
                    for seq in seqs {
                        rows.push(take.query_row(params![device, until_ms, seq], map)?);
                        new += 1;
                    }
                }
            }
            tx.commit()?;
            Ok((rows, new))
        })
        .await
    }

    async fn leases_of(&self, device: &str, now_ms: i64) -> Result<Vec<LeaseInfo>, HubError> {
        let device = device.to_string();
        self.run(move |c| {
            let mut st = c.prepare(
                "SELECT id, lease_owner, fence, lease_expires_ms FROM cases
                 WHERE lease_owner = ?1 AND lease_expires_ms > ?2 AND state = 'open' ORDER BY seq",
            )?;
            let rows = st.query_map(params![device, now_ms], |r| {
                Ok(LeaseInfo {
                    case_id: r.get(0)?,
                    device: r.get(1)?,
                    fence: r.get(2)?,
                    expires_at: super::rfc3339(r.get(3)?),
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}
