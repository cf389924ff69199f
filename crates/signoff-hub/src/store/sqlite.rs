//! The SQLite backend, for a one-machine trial: one file, WAL with `synchronous=FULL`, one
//! connection behind a mutex (every call runs on tokio's blocking pool), `BEGIN IMMEDIATE` for
//! every write so a lease is decided under the write lock.

use super::{
    case_doc, disposition_refusal, order_keys, Appended, HubStore, LeaseRow, LogAppend, LogHead,
    MAX_LISTED, SCHEMA_VERSION,
};
use crate::model::{Device, DispositionConflict, ImportResult, LeaseInfo, LineId, Role};
use crate::HubError;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use signoff_core::NewCase;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Forward-only migrations, by version (index + 1). A released one is never edited.
const MIGRATIONS: [&str; 4] = [
    r#"
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
"#,
    r#"
CREATE TABLE witness_key (
    one INTEGER PRIMARY KEY CHECK (one = 1), name TEXT NOT NULL, seed TEXT NOT NULL);
CREATE TABLE device_logs (
    device TEXT PRIMARY KEY, origin TEXT NOT NULL, size INTEGER NOT NULL, edge TEXT NOT NULL,
    checkpoint TEXT NOT NULL, cosigned TEXT NOT NULL, updated_ms INTEGER NOT NULL);
CREATE TABLE log_entries (
    device TEXT NOT NULL, idx INTEGER NOT NULL, leaf BLOB NOT NULL, leaf_hash BLOB NOT NULL,
    PRIMARY KEY (device, idx)) WITHOUT ROWID;
CREATE TABLE dispositions (
    seq INTEGER PRIMARY KEY, device TEXT NOT NULL, idx INTEGER NOT NULL, case_id TEXT NOT NULL,
    kind TEXT NOT NULL, decision TEXT, actor TEXT NOT NULL, fence INTEGER, at_ms INTEGER NOT NULL,
    applied INTEGER NOT NULL, reason TEXT, UNIQUE (device, idx));
CREATE INDEX dispositions_conflicts ON dispositions (applied, seq);
CREATE TABLE log_refusals (
    seq INTEGER PRIMARY KEY, device TEXT NOT NULL, first_bad INTEGER NOT NULL, code TEXT NOT NULL,
    reason TEXT NOT NULL, at_ms INTEGER NOT NULL);
"#,
    r#"
ALTER TABLE log_entries ADD COLUMN case_key TEXT;
CREATE INDEX log_entries_case ON log_entries (case_key) WHERE case_key IS NOT NULL;
"#,
    r#"
ALTER TABLE dispositions ADD COLUMN resolution TEXT;
ALTER TABLE dispositions ADD COLUMN resolved_by TEXT;
ALTER TABLE dispositions ADD COLUMN resolved_ms INTEGER;
"#,
];

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
            if version == 2 {
                backfill_case_keys(&tx)?;
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

/// Fills `log_entries.case_key` for entries stored before schema version 3.
fn backfill_case_keys(tx: &Connection) -> Result<(), HubError> {
    let rows: Vec<(String, i64, Vec<u8>)> = tx
        .prepare("SELECT device, idx, leaf FROM log_entries WHERE case_key IS NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut set =
        tx.prepare("UPDATE log_entries SET case_key = ?3 WHERE device = ?1 AND idx = ?2")?;
    for (device, idx, leaf) in rows {
        if let Some(key) = super::case_key_of(&leaf) {
            set.execute(params![device, idx, key])?;
        }
    }
    Ok(())
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

    async fn witness_key(&self, fresh: (String, [u8; 32])) -> Result<(String, [u8; 32]), HubError> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO witness_key (one, name, seed) VALUES (1, ?1, ?2) ON CONFLICT DO NOTHING",
                params![fresh.0, hex::encode(fresh.1)],
            )?;
            let (name, seed): (String, String) =
                c.query_row("SELECT name, seed FROM witness_key", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            Ok((name, super::seed_of(&seed)?))
        })
        .await
    }

    async fn log_head(&self, device: &str) -> Result<Option<LogHead>, HubError> {
        let device = device.to_string();
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT origin, size, edge, checkpoint, cosigned FROM device_logs WHERE device = ?1",
                [&device],
                |r| {
                    Ok(LogHead {
                        origin: r.get(0)?,
                        size: r.get::<_, i64>(1)? as u64,
                        edge: r.get(2)?,
                        checkpoint: r.get(3)?,
                        cosigned: r.get(4)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    async fn log_leaves(
        &self,
        device: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<(Vec<u8>, [u8; 32])>, HubError> {
        let device = device.to_string();
        self.run(move |c| {
            let mut st = c.prepare(
                "SELECT leaf, leaf_hash FROM log_entries WHERE device = ?1 AND idx >= ?2 AND idx < ?3 ORDER BY idx",
            )?;
            let rows = st.query_map(params![device, from as i64, to as i64], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?;
            rows.map(|r| {
                let (leaf, h) = r?;
                Ok((leaf, super::hash_of(&h)?))
            })
            .collect()
        })
        .await
    }

    async fn append_log(&self, a: &LogAppend) -> Result<Appended, HubError> {
        let a = a.clone();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let size: Option<i64> = tx
                .query_row(
                    "SELECT size FROM device_logs WHERE device = ?1",
                    [&a.device],
                    |r| r.get(0),
                )
                .optional()?;
            let size = size.unwrap_or(0) as u64;
            if size != a.expected_size {
                return Ok(Appended::Moved(size));
            }
            {
                let mut ins = tx.prepare(
                    "INSERT INTO log_entries (device, idx, leaf, leaf_hash, case_key) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for (i, leaf, h, case_key) in &a.entries {
                    ins.execute(params![a.device, *i as i64, leaf, &h[..], case_key])?;
                }
            }
            tx.execute(
                "INSERT INTO device_logs (device, origin, size, edge, checkpoint, cosigned, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (device) DO UPDATE SET size = excluded.size, edge = excluded.edge,
                   checkpoint = excluded.checkpoint, cosigned = excluded.cosigned,
                   updated_ms = excluded.updated_ms",
                params![
                    a.device,
                    a.head.origin,
                    a.head.size as i64,
                    a.head.edge,
                    a.head.checkpoint,
                    a.head.cosigned,
                    a.now_ms
                ],
            )?;
            let (mut applied, mut conflicts) = (0u64, 0u64);
            for d in &a.dispositions {
                let key = signoff_core::case::id_key(&d.case_id);
                let case: Option<(Option<String>, i64, Option<i64>)> = tx
                    .query_row(
                        "SELECT lease_owner, fence, lease_expires_ms FROM cases WHERE id_key = ?1",
                        [&key],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .optional()?;
                let refusal = disposition_refusal(d, &a.device, case);
                if refusal.is_none() {
                    let state = if d.kind == "undo" { "open" } else { "decided" };
                    tx.execute(
                        "UPDATE cases SET state = ?2 WHERE id_key = ?1",
                        params![key, state],
                    )?;
                    applied += 1;
                } else {
                    conflicts += 1;
                }
                tx.execute(
                    "INSERT INTO dispositions (device, idx, case_id, kind, decision, actor, fence, at_ms, applied, reason)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING",
                    params![
                        a.device,
                        d.index as i64,
                        d.case_id,
                        d.kind,
                        d.decision,
                        d.actor,
                        d.fence,
                        d.at_ms,
                        refusal.is_none(),
                        refusal
                    ],
                )?;
            }
            tx.commit()?;
            Ok(Appended::Done { applied, conflicts })
        })
        .await
    }

    async fn refuse_log(
        &self,
        device: &str,
        first_bad: u64,
        code: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), HubError> {
        let (device, code, reason) = (device.to_string(), code.to_string(), reason.to_string());
        self.run(move |c| {
            c.execute(
                "INSERT INTO log_refusals (device, first_bad, code, reason, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![device, first_bad as i64, code, reason, now_ms],
            )?;
            Ok(())
        })
        .await
    }

    async fn conflicts(&self) -> Result<Vec<DispositionConflict>, HubError> {
        self.run(|c| {
            let mut st = c.prepare(
                "SELECT device, idx, case_id, kind, decision, actor, fence, at_ms, reason
                 FROM dispositions WHERE applied = 0 AND resolution IS NULL ORDER BY seq",
            )?;
            let rows = st.query_map([], |r| {
                Ok(DispositionConflict {
                    device: r.get(0)?,
                    index: r.get::<_, i64>(1)? as u64,
                    case_id: r.get(2)?,
                    kind: r.get(3)?,
                    decision: r.get(4)?,
                    actor: r.get(5)?,
                    fence: r.get(6)?,
                    decided_at: super::rfc3339(r.get(7)?),
                    reason: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn log_heads(&self) -> Result<Vec<(String, LogHead)>, HubError> {
        self.run(|c| {
            let mut st = c.prepare(
                "SELECT device, origin, size, edge, checkpoint, cosigned FROM device_logs ORDER BY device",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    LogHead {
                        origin: r.get(1)?,
                        size: r.get::<_, i64>(2)? as u64,
                        edge: r.get(3)?,
                        checkpoint: r.get(4)?,
                        cosigned: r.get(5)?,
                    },
                ))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn case_entries(&self, case_key: &str) -> Result<Vec<(String, u64)>, HubError> {
        let key = case_key.to_string();
        self.run(move |c| {
            let mut st = c.prepare(
                "SELECT device, idx FROM log_entries WHERE case_key = ?1 ORDER BY device, idx",
            )?;
            let rows = st.query_map([key], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn case_state(&self, case_key: &str) -> Result<Option<String>, HubError> {
        let key = case_key.to_string();
        self.run(move |c| {
            Ok(
                c.query_row("SELECT state FROM cases WHERE id_key = ?1", [key], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
        .await
    }

    async fn resolve_conflict(
        &self,
        device: &str,
        index: u64,
        keep_device: bool,
        by: &str,
        now_ms: i64,
    ) -> Result<Option<String>, HubError> {
        let (device, by) = (device.to_string(), by.to_string());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let row: Option<(String, String)> = tx
                .query_row(
                    "SELECT case_id, kind FROM dispositions
                     WHERE device = ?1 AND idx = ?2 AND applied = 0 AND resolution IS NULL",
                    params![device, index as i64],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((case_id, kind)) = row else {
                return Ok(None);
            };
            let resolution = if keep_device { "device" } else { "hub" };
            if keep_device {
                let state = if kind == "undo" { "open" } else { "decided" };
                tx.execute(
                    "UPDATE cases SET state = ?2 WHERE id_key = ?1",
                    params![signoff_core::case::id_key(&case_id), state],
                )?;
            }
            tx.execute(
                "UPDATE dispositions SET resolution = ?3, resolved_by = ?4, resolved_ms = ?5
                 WHERE device = ?1 AND idx = ?2",
                params![device, index as i64, resolution, by, now_ms],
            )?;
            tx.commit()?;
            Ok(Some(case_id))
        })
        .await
    }
}
