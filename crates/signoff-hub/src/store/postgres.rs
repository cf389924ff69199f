//! The PostgreSQL backend, for teams: a connection pool (deadpool-postgres over
//! tokio-postgres), forward-only migrations serialised by an advisory lock so several hub
//! processes may start against one database at once, leases taken with
//! `FOR UPDATE SKIP LOCKED` so concurrent pullers on any number of hub processes never receive
//! the same case, and request nonces as unique rows so a replay is refused by whichever
//! process sees it second.

use super::{
    case_doc, disposition_refusal, order_keys, Appended, HubStore, LeaseRow, LogAppend, LogHead,
    MAX_LISTED, SCHEMA_VERSION,
};
use crate::model::{Device, DispositionConflict, ImportResult, LeaseInfo, LineId, Role};
use crate::HubError;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use signoff_core::NewCase;
use std::time::Duration;
use tokio_postgres::NoTls;

/// Advisory lock key held while migrating (any constant shared by every hub).
const MIGRATION_LOCK: i64 = 0x5349_474e_4855_4201;

/// Forward-only migrations, by version (index + 1). A released one is never edited.
const MIGRATIONS: [&str; 4] = [
    r#"
CREATE TABLE devices (
    seq BIGSERIAL, id TEXT PRIMARY KEY, public_key TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    role TEXT NOT NULL, enrolled_ms BIGINT NOT NULL);
CREATE TABLE nonces (
    device TEXT NOT NULL, nonce TEXT NOT NULL, created_s BIGINT NOT NULL,
    PRIMARY KEY (device, nonce));
CREATE INDEX nonces_created ON nonces (created_s);
CREATE TABLE cases (
    seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL, id_key TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL, doc TEXT NOT NULL, received_ms BIGINT NOT NULL,
    priority BIGINT NOT NULL, sla_ms BIGINT, state TEXT NOT NULL DEFAULT 'open',
    lease_owner TEXT, lease_expires_ms BIGINT, fence BIGINT NOT NULL DEFAULT 0,
    added_ms BIGINT NOT NULL);
CREATE INDEX cases_pool ON cases (state, sla_ms, priority DESC, received_ms, seq);
CREATE INDEX cases_owner ON cases (lease_owner, lease_expires_ms);
CREATE TABLE case_conflicts (
    seq BIGSERIAL PRIMARY KEY, case_id TEXT NOT NULL, line BIGINT NOT NULL,
    incoming_hash TEXT NOT NULL, doc TEXT NOT NULL, at_ms BIGINT NOT NULL,
    UNIQUE (case_id, incoming_hash));
"#,
    r#"
CREATE TABLE witness_key (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), name TEXT NOT NULL, seed TEXT NOT NULL);
CREATE TABLE device_logs (
    device TEXT PRIMARY KEY, origin TEXT NOT NULL, size BIGINT NOT NULL, edge TEXT NOT NULL,
    checkpoint TEXT NOT NULL, cosigned TEXT NOT NULL, updated_ms BIGINT NOT NULL);
CREATE TABLE log_entries (
    device TEXT NOT NULL, idx BIGINT NOT NULL, leaf BYTEA NOT NULL, leaf_hash BYTEA NOT NULL,
    PRIMARY KEY (device, idx));
CREATE TABLE dispositions (
    seq BIGSERIAL PRIMARY KEY, device TEXT NOT NULL, idx BIGINT NOT NULL, case_id TEXT NOT NULL,
    kind TEXT NOT NULL, decision TEXT, actor TEXT NOT NULL, fence BIGINT, at_ms BIGINT NOT NULL,
    applied BOOLEAN NOT NULL, reason TEXT, UNIQUE (device, idx));
CREATE INDEX dispositions_conflicts ON dispositions (applied, seq);
CREATE TABLE log_refusals (
    seq BIGSERIAL PRIMARY KEY, device TEXT NOT NULL, first_bad BIGINT NOT NULL, code TEXT NOT NULL,
    reason TEXT NOT NULL, at_ms BIGINT NOT NULL);
"#,
    r#"
ALTER TABLE log_entries ADD COLUMN case_key TEXT;
CREATE INDEX log_entries_case ON log_entries (case_key) WHERE case_key IS NOT NULL;
"#,
    r#"
ALTER TABLE dispositions ADD COLUMN resolution TEXT;
ALTER TABLE dispositions ADD COLUMN resolved_by TEXT;
ALTER TABLE dispositions ADD COLUMN resolved_ms BIGINT;
"#,
];

/// The hub's tables in a PostgreSQL database.
pub struct PgStore {
    pool: Pool,
}

impl PgStore {
    /// Connects to `url` (a pool of up to 16 connections) and migrates the database.
    pub async fn open(url: &str) -> Result<Self, HubError> {
        let mut cfg: tokio_postgres::Config = url
            .parse()
            .map_err(|e| HubError::BadDbUrl(format!("{url}: {e}")))?;
        cfg.connect_timeout(Duration::from_secs(5));
        let mgr = Manager::from_config(
            cfg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(16)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(5)))
            .wait_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| HubError::Database(e.to_string()))?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), HubError> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS hub_schema (version BIGINT NOT NULL)")
            .await?;
        let version: i64 = tx
            .query_one("SELECT COALESCE(MAX(version), 0) FROM hub_schema", &[])
            .await?
            .get(0);
        if version > SCHEMA_VERSION {
            return Err(HubError::NewerSchema {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO hub_schema (version) VALUES ($1)",
                &[&(i as i64 + 1)],
            )
            .await?;
        }
        if version == 2 {
            // Entries stored before version 3 learn which case they are about.
            let rows = tx
                .query(
                    "SELECT device, idx, leaf FROM log_entries WHERE case_key IS NULL",
                    &[],
                )
                .await?;
            for r in &rows {
                let leaf: Vec<u8> = r.get(2);
                if let Some(key) = super::case_key_of(&leaf) {
                    tx.execute(
                        "UPDATE log_entries SET case_key = $3 WHERE device = $1 AND idx = $2",
                        &[&r.get::<_, String>(0), &r.get::<_, i64>(1), &key],
                    )
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

fn device_row(r: &tokio_postgres::Row) -> Device {
    let role: String = r.get(3);
    Device {
        device: r.get(0),
        public_key: r.get(1),
        name: r.get(2),
        role: Role::parse(&role).unwrap_or(Role::Revoked),
        enrolled_at: super::rfc3339(r.get(4)),
    }
}

const DEVICE_COLS: &str = "id, public_key, name, role, enrolled_ms";

fn enrolled_ms(d: &Device) -> i64 {
    chrono::DateTime::parse_from_rfc3339(&d.enrolled_at)
        .map(|t| t.timestamp_millis())
        .unwrap_or(0)
}

fn lease_row(r: &tokio_postgres::Row) -> LeaseRow {
    LeaseRow {
        case_id: r.get(0),
        doc: r.get(1),
        fence: r.get(2),
        expires_ms: r.get(3),
    }
}

#[async_trait::async_trait]
impl HubStore for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn device(&self, id: &str) -> Result<Option<Device>, HubError> {
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.as_ref().map(device_row))
    }

    async fn enrol(&self, d: &Device) -> Result<Device, HubError> {
        let c = self.pool.get().await?;
        c.execute(
            "INSERT INTO devices (id, public_key, name, role, enrolled_ms)
             VALUES ($1, $2, $3, 'pending', $4) ON CONFLICT DO NOTHING",
            &[&d.device, &d.public_key, &d.name, &enrolled_ms(d)],
        )
        .await?;
        let row = c
            .query_one(
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = $1"),
                &[&d.device],
            )
            .await?;
        Ok(device_row(&row))
    }

    async fn put_admin(&self, d: &Device) -> Result<Device, HubError> {
        let c = self.pool.get().await?;
        let row = c
            .query_one(
                &format!(
                    "INSERT INTO devices (id, public_key, name, role, enrolled_ms)
                     VALUES ($1, $2, $3, 'admin', $4)
                     ON CONFLICT (id) DO UPDATE SET role = 'admin' RETURNING {DEVICE_COLS}"
                ),
                &[&d.device, &d.public_key, &d.name, &enrolled_ms(d)],
            )
            .await?;
        Ok(device_row(&row))
    }

    async fn devices(&self) -> Result<Vec<Device>, HubError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                &format!("SELECT {DEVICE_COLS} FROM devices ORDER BY seq"),
                &[],
            )
            .await?;
        Ok(rows.iter().map(device_row).collect())
    }

    async fn set_role(&self, id: &str, role: Role) -> Result<Option<Device>, HubError> {
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                &format!("UPDATE devices SET role = $2 WHERE id = $1 RETURNING {DEVICE_COLS}"),
                &[&id, &role.as_str()],
            )
            .await?;
        Ok(row.as_ref().map(device_row))
    }

    async fn use_nonce(
        &self,
        device: &str,
        nonce: &str,
        created: i64,
        forget_before: i64,
    ) -> Result<bool, HubError> {
        let c = self.pool.get().await?;
        c.execute("DELETE FROM nonces WHERE created_s < $1", &[&forget_before])
            .await?;
        let n = c
            .execute(
                "INSERT INTO nonces (device, nonce, created_s) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&device, &nonce, &created],
            )
            .await?;
        Ok(n == 1)
    }

    async fn add_cases(
        &self,
        cases: &[(u64, NewCase)],
        now_ms: i64,
    ) -> Result<ImportResult, HubError> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let insert = tx
            .prepare(
                "INSERT INTO cases (id, id_key, content_hash, doc, received_ms, priority, sla_ms, added_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id_key) DO NOTHING",
            )
            .await?;
        let existing = tx
            .prepare("SELECT id, content_hash FROM cases WHERE id_key = $1")
            .await?;
        let conflict = tx
            .prepare(
                "INSERT INTO case_conflicts (case_id, line, incoming_hash, doc, at_ms)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .await?;
        let mut out = ImportResult::default();
        for (line, case) in cases {
            let hash = case.content_hash();
            let key = signoff_core::case::id_key(&case.id);
            let (sla, prio, received) = order_keys(case);
            let doc = case_doc(case);
            let n = tx
                .execute(
                    &insert,
                    &[&case.id, &key, &hash, &doc, &received, &prio, &sla, &now_ms],
                )
                .await?;
            if n == 1 {
                out.new += 1;
                continue;
            }
            let row = tx.query_one(&existing, &[&key]).await?;
            let (old_id, old_hash): (String, String) = (row.get(0), row.get(1));
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
                tx.execute(&conflict, &[&old_id, &(*line as i64), &hash, &doc, &now_ms])
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn lease(
        &self,
        device: &str,
        max: u32,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<(Vec<LeaseRow>, u64), HubError> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let mut rows: Vec<LeaseRow> = tx
            .query(
                "UPDATE cases SET lease_expires_ms = $3
                 WHERE lease_owner = $1 AND lease_expires_ms > $2 AND state = 'open'
                 RETURNING id, doc, fence, lease_expires_ms",
                &[&device, &now_ms, &until_ms],
            )
            .await?
            .iter()
            .map(lease_row)
            .collect();
        let need = (max as i64).saturating_sub(rows.len() as i64);
        let mut new = 0u64;
        if need > 0 {
            let taken = tx
                .query(
                    "WITH picked AS (
                       SELECT seq FROM cases
                       WHERE state = 'open' AND (lease_owner IS NULL OR lease_expires_ms <= $2)
                       ORDER BY sla_ms, priority DESC, received_ms, seq
                       LIMIT $4
                       FOR UPDATE SKIP LOCKED),
                     upd AS (
                       UPDATE cases c SET lease_owner = $1, lease_expires_ms = $3, fence = c.fence + 1
                       FROM picked WHERE c.seq = picked.seq
                       RETURNING c.id, c.doc, c.fence, c.lease_expires_ms, c.sla_ms, c.priority,
                                 c.received_ms, c.seq)
                     SELECT id, doc, fence, lease_expires_ms FROM upd
                     ORDER BY sla_ms, priority DESC, received_ms, seq",
                    &[&device, &now_ms, &until_ms, &need],
                )
                .await?;
            new = taken.len() as u64;
            rows.extend(taken.iter().map(lease_row));
        }
        tx.commit().await?;
        Ok((rows, new))
    }

    async fn leases_of(&self, device: &str, now_ms: i64) -> Result<Vec<LeaseInfo>, HubError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT id, lease_owner, fence, lease_expires_ms FROM cases
                 WHERE lease_owner = $1 AND lease_expires_ms > $2 AND state = 'open' ORDER BY seq",
                &[&device, &now_ms],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| LeaseInfo {
                case_id: r.get(0),
                device: r.get(1),
                fence: r.get(2),
                expires_at: super::rfc3339(r.get(3)),
            })
            .collect())
    }

    async fn witness_key(&self, fresh: (String, [u8; 32])) -> Result<(String, [u8; 32]), HubError> {
        let c = self.pool.get().await?;
        c.execute(
            "INSERT INTO witness_key (name, seed) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&fresh.0, &hex::encode(fresh.1)],
        )
        .await?;
        let row = c
            .query_one("SELECT name, seed FROM witness_key", &[])
            .await?;
        let seed: String = row.get(1);
        Ok((row.get(0), super::seed_of(&seed)?))
    }

    async fn log_head(&self, device: &str) -> Result<Option<LogHead>, HubError> {
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                "SELECT origin, size, edge, checkpoint, cosigned FROM device_logs WHERE device = $1",
                &[&device],
            )
            .await?;
        Ok(row.map(|r| LogHead {
            origin: r.get(0),
            size: r.get::<_, i64>(1) as u64,
            edge: r.get(2),
            checkpoint: r.get(3),
            cosigned: r.get(4),
        }))
    }

    async fn log_leaves(
        &self,
        device: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<(Vec<u8>, [u8; 32])>, HubError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT leaf, leaf_hash FROM log_entries WHERE device = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
                &[&device, &(from as i64), &(to as i64)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let h: Vec<u8> = r.get(1);
                Ok((r.get(0), super::hash_of(&h)?))
            })
            .collect()
    }

    async fn append_log(&self, a: &LogAppend) -> Result<Appended, HubError> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        // Serialises appends to one device's log across hub processes.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&format!("log:{}", a.device)],
        )
        .await?;
        let size: Option<i64> = tx
            .query_opt(
                "SELECT size FROM device_logs WHERE device = $1",
                &[&a.device],
            )
            .await?
            .map(|r| r.get(0));
        let size = size.unwrap_or(0) as u64;
        if size != a.expected_size {
            return Ok(Appended::Moved(size));
        }
        let ins = tx
            .prepare(
                "INSERT INTO log_entries (device, idx, leaf, leaf_hash, case_key) SELECT $1, * FROM UNNEST($2::BIGINT[], $3::BYTEA[], $4::BYTEA[], $5::TEXT[])",
            )
            .await?;
        for chunk in a.entries.chunks(2000) {
            let idx: Vec<i64> = chunk.iter().map(|e| e.0 as i64).collect();
            let leaves: Vec<&[u8]> = chunk.iter().map(|e| e.1.as_slice()).collect();
            let hashes: Vec<&[u8]> = chunk.iter().map(|e| &e.2[..]).collect();
            let keys: Vec<Option<&str>> = chunk.iter().map(|e| e.3.as_deref()).collect();
            tx.execute(&ins, &[&a.device, &idx, &leaves, &hashes, &keys])
                .await?;
        }
        tx.execute(
            "INSERT INTO device_logs (device, origin, size, edge, checkpoint, cosigned, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (device) DO UPDATE SET size = excluded.size, edge = excluded.edge,
               checkpoint = excluded.checkpoint, cosigned = excluded.cosigned,
               updated_ms = excluded.updated_ms",
            &[
                &a.device,
                &a.head.origin,
                &(a.head.size as i64),
                &a.head.edge,
                &a.head.checkpoint,
                &a.head.cosigned,
                &a.now_ms,
            ],
        )
        .await?;
        let (mut applied, mut conflicts) = (0u64, 0u64);
        for d in &a.dispositions {
            let key = signoff_core::case::id_key(&d.case_id);
            let case = tx
                .query_opt(
                    "SELECT lease_owner, fence, lease_expires_ms FROM cases WHERE id_key = $1 FOR UPDATE",
                    &[&key],
                )
                .await?
                .map(|r| (r.get::<_, Option<String>>(0), r.get::<_, i64>(1), r.get::<_, Option<i64>>(2)));
            let refusal = disposition_refusal(d, &a.device, case);
            if refusal.is_none() {
                let state = if d.kind == "undo" { "open" } else { "decided" };
                tx.execute(
                    "UPDATE cases SET state = $2 WHERE id_key = $1",
                    &[&key, &state],
                )
                .await?;
                applied += 1;
            } else {
                conflicts += 1;
            }
            tx.execute(
                "INSERT INTO dispositions (device, idx, case_id, kind, decision, actor, fence, at_ms, applied, reason)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
                &[
                    &a.device,
                    &(d.index as i64),
                    &d.case_id,
                    &d.kind,
                    &d.decision,
                    &d.actor,
                    &d.fence,
                    &d.at_ms,
                    &refusal.is_none(),
                    &refusal,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Appended::Done { applied, conflicts })
    }

    async fn refuse_log(
        &self,
        device: &str,
        first_bad: u64,
        code: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), HubError> {
        let c = self.pool.get().await?;
        c.execute(
            "INSERT INTO log_refusals (device, first_bad, code, reason, at_ms) VALUES ($1, $2, $3, $4, $5)",
            &[&device, &(first_bad as i64), &code, &reason, &now_ms],
        )
        .await?;
        Ok(())
    }

    async fn conflicts(&self) -> Result<Vec<DispositionConflict>, HubError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT device, idx, case_id, kind, decision, actor, fence, at_ms, reason
                 FROM dispositions WHERE NOT applied AND resolution IS NULL ORDER BY seq",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| DispositionConflict {
                device: r.get(0),
                index: r.get::<_, i64>(1) as u64,
                case_id: r.get(2),
                kind: r.get(3),
                decision: r.get(4),
                actor: r.get(5),
                fence: r.get(6),
                decided_at: super::rfc3339(r.get(7)),
                reason: r.get::<_, Option<String>>(8).unwrap_or_default(),
            })
            .collect())
    }

    async fn log_heads(&self) -> Result<Vec<(String, LogHead)>, HubError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT device, origin, size, edge, checkpoint, cosigned FROM device_logs ORDER BY device",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    LogHead {
                        origin: r.get(1),
                        size: r.get::<_, i64>(2) as u64,
                        edge: r.get(3),
                        checkpoint: r.get(4),
                        cosigned: r.get(5),
                    },
                )
            })
            .collect())
    }

    async fn case_entries(&self, case_key: &str) -> Result<Vec<(String, u64)>, HubError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT device, idx FROM log_entries WHERE case_key = $1 ORDER BY device, idx",
                &[&case_key],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
            .collect())
    }

    async fn case_state(&self, case_key: &str) -> Result<Option<String>, HubError> {
        let c = self.pool.get().await?;
        Ok(
            c.query_opt("SELECT state FROM cases WHERE id_key = $1", &[&case_key])
                .await?
                .map(|r| r.get(0)),
        )
    }

    async fn resolve_conflict(
        &self,
        device: &str,
        index: u64,
        keep_device: bool,
        by: &str,
        now_ms: i64,
    ) -> Result<Option<String>, HubError> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let row = tx
            .query_opt(
                "SELECT case_id, kind FROM dispositions
                 WHERE device = $1 AND idx = $2 AND NOT applied AND resolution IS NULL FOR UPDATE",
                &[&device, &(index as i64)],
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (case_id, kind): (String, String) = (row.get(0), row.get(1));
        let resolution = if keep_device { "device" } else { "hub" };
        if keep_device {
            let state = if kind == "undo" { "open" } else { "decided" };
            tx.execute(
                "UPDATE cases SET state = $2 WHERE id_key = $1",
                &[&signoff_core::case::id_key(&case_id), &state],
            )
            .await?;
        }
        tx.execute(
            "UPDATE dispositions SET resolution = $3, resolved_by = $4, resolved_ms = $5
             WHERE device = $1 AND idx = $2",
            &[&device, &(index as i64), &resolution, &by, &now_ms],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(case_id))
    }
}
