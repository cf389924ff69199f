//! The team lead's view of the audit log: filtered keyset pages of entries, one entry with
//! its inclusion proof checked against the latest signed checkpoint, and a CSV export that
//! streams rows to a writer.
//!
//! Pages run newest first by entry time (ties by leaf index) and never use OFFSET. A filter
//! on the disposition kind is driven from the `dispositions` table (its index
//! `dispositions_kind`); a case filter through the entries' case index; every other page
//! from `audit_catalog` through the index that matches its filter (migration 0005), so a page
//! stops after its last row at any log size. The catalog is filled in bulk before the view
//! reads ([`Workspace::audit_catalog_catch_up`]), which keeps its indexes off the append path.
//! What is shown comes from the canonical leaf itself, so the view says what the log says.

use crate::{StoreError, Workspace};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, OptionalExtension, Row};
use serde::Serialize;
use signoff_audit::log::SqlNodes;
use signoff_audit::merkle;
use signoff_audit::note::{self, NoteVerifier};
use signoff_audit::Checkpoint;
use signoff_core::Band;
use std::io::Write;

/// The disposition kinds a filter accepts: the four decisions and `undo`.
pub const DISPOSITION_KINDS: [&str; 5] = ["approve", "edit", "reject", "escalate", "undo"];

/// Which entries a team lead asks for; every field narrows, `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Who acted (a reviewer id, or `device`).
    pub actor: Option<String>,
    /// Entries at or after this time (ms since the epoch).
    pub from_ms: Option<i64>,
    /// Entries strictly before this time (ms since the epoch).
    pub to_ms: Option<i64>,
    /// Disposition kind: `approve`, `edit`, `reject`, `escalate` or `undo`.
    pub disposition: Option<String>,
    /// The band of the case the entry concerns (as the case has it now).
    pub band: Option<Band>,
    /// Entry kind: `import`, `disposition`, `undo` …
    pub kind: Option<String>,
    /// One case, by id (letter case does not matter).
    pub case_id: Option<String>,
}

/// Where a row sits in page order; pass the last row's back for the next page. Only
/// meaningful with the filter that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AuditCursor {
    /// Entry time, ms since the epoch.
    pub at_ms: i64,
    /// Tie-breaker: the leaf index, or the disposition's sequence number when the page is
    /// filtered by disposition kind.
    pub key: i64,
}

/// One row of the audit table: the entry's own fields and what its leaf records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    /// Leaf index.
    pub index: u64,
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// Entry kind.
    pub kind: String,
    /// Who acted.
    pub actor: String,
    /// The case concerned, if one is.
    pub case_id: Option<String>,
    /// The disposition kind, for dispositions and undos (from the leaf).
    pub disposition: Option<String>,
    /// The reason code, when the leaf has one.
    pub reason_code: Option<String>,
    /// The band the case has now (not part of the log).
    pub band: Option<String>,
    /// RFC 6962 leaf hash, hex.
    pub leaf_hash: String,
    /// Page position of this row.
    pub cursor: AuditCursor,
}

/// One entry with an inclusion proof that was verified against the latest signed checkpoint
/// before it was returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditProof {
    /// Leaf index.
    pub index: u64,
    /// Entry kind.
    pub kind: String,
    /// Who acted.
    pub actor: String,
    /// The case concerned, if one is.
    pub case_id: Option<String>,
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// The canonical leaf, as text (exactly the bytes that are hashed).
    pub leaf: String,
    /// RFC 6962 leaf hash, hex.
    pub leaf_hash: String,
    /// Inclusion proof, hex hashes, leaf side first.
    pub proof: Vec<String>,
    /// The signed checkpoint note the proof leads to (its signature was checked).
    pub checkpoint: String,
    /// Tree size of that checkpoint.
    pub size: u64,
    /// Root hash of that checkpoint, hex.
    pub root: String,
}

/// The CSV export's columns, in order.
pub const CSV_HEADER: [&str; 10] = [
    "index",
    "at",
    "kind",
    "actor",
    "case_id",
    "disposition",
    "reason_code",
    "case_band",
    "leaf_sha256",
    "leaf",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    NewestFirst,
    OldestFirst,
}

/// A query over the log built from a filter: SQL text and its parameters.
struct Query {
    sql: String,
    params: Vec<Value>,
}

impl Workspace {
    fn build_audit_query(
        &self,
        f: &AuditFilter,
        after: Option<AuditCursor>,
        order: Order,
        limit: Option<u32>,
    ) -> Result<Query, StoreError> {
        let mut conds: Vec<String> = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        let mut push = |cond: &str, v: Value, params: &mut Vec<Value>| {
            params.push(v);
            conds.push(cond.replace('?', &format!("?{}", params.len())));
        };
        let disposition = nonempty(&f.disposition);
        if let Some(d) = disposition {
            if !DISPOSITION_KINDS.contains(&d) {
                return Err(StoreError::Rule(format!(
                    "unknown disposition {d:?}; use one of {}",
                    DISPOSITION_KINDS.join(", ")
                )));
            }
        }
        let case_seq = match nonempty(&f.case_id) {
            Some(id) => Some(self.case_seq(id)?),
            None => None,
        };
        // Driven from dispositions (index dispositions_kind) or from the entries.
        let (from, t, key) = if disposition.is_some() {
            (
                "dispositions d JOIN audit_entries e ON e.idx = d.audit_idx
                 JOIN cases c ON c.seq = d.case_seq",
                "d",
                "d.seq",
            )
        } else {
            // One case's entries are few and its index (case_id, at_ms) gives the order.
            let (t, key) = if case_seq.is_some() {
                ("e", "e.idx")
            } else {
                ("k", "k.idx")
            };
            (
                "audit_catalog k JOIN audit_entries e ON e.idx = k.idx
                 LEFT JOIN cases c ON c.id = e.case_id",
                t,
                key,
            )
        };
        if let Some(d) = disposition {
            push("d.kind = ?", Value::Text(d.into()), &mut params);
        }
        if let Some(a) = nonempty(&f.actor) {
            let col = if t == "d" { "d.reviewer_id" } else { "k.actor" };
            push(&format!("{col} = ?"), Value::Text(a.into()), &mut params);
        }
        if let Some(k) = nonempty(&f.kind) {
            let col = if t == "d" { "e.kind" } else { "k.kind" };
            push(&format!("{col} = ?"), Value::Text(k.into()), &mut params);
        }
        if let Some(seq) = case_seq {
            if t == "d" {
                push("d.case_seq = ?", Value::Integer(seq), &mut params);
            } else {
                push(
                    "e.case_id = (SELECT id FROM cases WHERE seq = ?)",
                    Value::Integer(seq),
                    &mut params,
                );
            }
        }
        if let Some(b) = f.band {
            push("c.band = ?", Value::Text(b.as_str().into()), &mut params);
        }
        if let Some(from_ms) = f.from_ms {
            push(
                &format!("{t}.at_ms >= ?"),
                Value::Integer(from_ms),
                &mut params,
            );
        }
        if let Some(to_ms) = f.to_ms {
            push(
                &format!("{t}.at_ms < ?"),
                Value::Integer(to_ms),
                &mut params,
            );
        }
        let (cmp, dir) = match order {
            Order::NewestFirst => ("<", "DESC"),
            Order::OldestFirst => (">", "ASC"),
        };
        if let Some(c) = after {
            params.push(Value::Integer(c.at_ms));
            params.push(Value::Integer(c.key));
            let n = params.len();
            conds.push(format!("({t}.at_ms, {key}) {cmp} (?{}, ?{n})", n - 1));
        }
        let mut sql = format!(
            "SELECT e.idx, e.at_ms, e.kind, e.actor, e.case_id, e.leaf, e.hash, c.band, {t}.at_ms, {key}
             FROM {from}"
        );
        if !conds.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conds.join(" AND "));
        }
        sql.push_str(&format!(" ORDER BY {t}.at_ms {dir}, {key} {dir}"));
        if let Some(limit) = limit {
            params.push(Value::Integer(i64::from(limit)));
            sql.push_str(&format!(" LIMIT ?{}", params.len()));
        }
        Ok(Query { sql, params })
    }

    /// One page of audit entries matching `filter`, newest first, after `after` (the cursor of
    /// the previous page's last row). At most 500 rows.
    pub fn audit_page(
        &self,
        filter: &AuditFilter,
        after: Option<AuditCursor>,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError> {
        self.audit_catalog_catch_up()?;
        if !self.band_in_use(filter)? {
            return Ok(Vec::new());
        }
        let q = self.build_audit_query(filter, after, Order::NewestFirst, Some(limit.min(500)))?;
        let mut stmt = self.conn().prepare_cached(&q.sql)?;
        let rows = stmt.query_map(params_from_iter(q.params), audit_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Brings the audit view's catalog up to the log: one bulk insert of the entries appended
    /// since the last catch-up (appends themselves maintain no view index). A read-only
    /// handle cannot write, so it sees the catalog as the writer last left it.
    pub fn audit_catalog_catch_up(&self) -> Result<u64, StoreError> {
        if self.access() != crate::Access::Write {
            return Ok(0);
        }
        let n = self
            .conn()
            .prepare_cached(
                "INSERT INTO audit_catalog (idx, kind, actor, at_ms)
             SELECT idx, kind, actor, at_ms FROM audit_entries
             WHERE idx > coalesce((SELECT max(idx) FROM audit_catalog), -1) ORDER BY idx",
            )?
            .execute([])?;
        Ok(n as u64)
    }

    /// Whether some case has the band the filter asks for (true without a band filter). A band
    /// no case has would otherwise walk the whole log looking for a match (0.7 s at 1M entries;
    /// until intake classifies cases every band is such a band); this check reads only the
    /// cases' covering index.
    fn band_in_use(&self, filter: &AuditFilter) -> Result<bool, StoreError> {
        let Some(band) = filter.band else {
            return Ok(true);
        };
        Ok(self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM cases WHERE band = ?1)",
            [band.as_str()],
            |r| r.get(0),
        )?)
    }

    /// The query plan SQLite chooses for a page with this filter (for tests and benchmarks).
    pub fn audit_page_plan(&self, filter: &AuditFilter) -> Result<Vec<String>, StoreError> {
        let cursor = Some(AuditCursor { at_ms: 0, key: 0 });
        let q = self.build_audit_query(filter, cursor, Order::NewestFirst, Some(50))?;
        let mut stmt = self
            .conn()
            .prepare(&format!("EXPLAIN QUERY PLAN {}", q.sql))?;
        let rows = stmt.query_map(params_from_iter(q.params), |r| r.get::<_, String>(3))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Everyone who appears as an actor in the log, sorted (a skip-scan of the actor index:
    /// one lookup per distinct actor, whatever the log's size).
    pub fn audit_actors(&self) -> Result<Vec<String>, StoreError> {
        self.audit_catalog_catch_up()?;
        let mut stmt = self.conn().prepare_cached(
            "WITH RECURSIVE a(actor) AS (
                 SELECT min(actor) FROM audit_catalog
                 UNION ALL
                 SELECT (SELECT min(actor) FROM audit_catalog WHERE actor > a.actor)
                 FROM a WHERE a.actor IS NOT NULL)
             SELECT actor FROM a WHERE actor IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One entry with its inclusion proof against the latest signed checkpoint. The
    /// checkpoint's signature and the proof are both verified before this returns.
    pub fn audit_entry(&self, index: u64) -> Result<AuditProof, StoreError> {
        let (kind, actor, case_id, at_ms, leaf): (String, String, Option<String>, i64, Vec<u8>) =
            self.conn()
                .query_row(
                    "SELECT kind, actor, case_id, at_ms, leaf FROM audit_entries WHERE idx = ?1",
                    [index as i64],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?
                .ok_or_else(|| StoreError::Rule(format!("the audit log has no entry {index}")))?;
        let note_text = self
            .latest_checkpoint()?
            .ok_or_else(|| StoreError::Rule("the audit log has no checkpoint yet".into()))?;
        let opened = note::open(&note_text, &self.checkpoint_verifiers()?)?;
        let cp = Checkpoint::parse(&opened.text)?;
        if index >= cp.size {
            return Err(StoreError::Rule(format!(
                "entry {index} is newer than the latest checkpoint (size {}); it has no proof yet",
                cp.size
            )));
        }
        let leaf_hash = merkle::leaf_hash(&leaf);
        let proof = merkle::inclusion_proof(&SqlNodes(self.conn()), index, cp.size)?;
        merkle::verify_inclusion(&leaf_hash, index, cp.size, &proof, &cp.root)?;
        Ok(AuditProof {
            index,
            kind,
            actor,
            case_id,
            at_ms,
            leaf: String::from_utf8_lossy(&leaf).into_owned(),
            leaf_hash: hex::encode(leaf_hash),
            proof: proof.iter().map(hex::encode).collect(),
            checkpoint: note_text,
            size: cp.size,
            root: hex::encode(cp.root),
        })
    }

    /// The keys the latest checkpoint may be signed by: any device key of the log's chain
    /// (right after a rotation the retiring key seals the rotation itself).
    fn checkpoint_verifiers(&self) -> Result<Vec<NoteVerifier>, StoreError> {
        self.verifiers()
    }

    /// Writes every entry matching `filter` as CSV (RFC 4180: a header row, fields quoted
    /// when they hold a comma, quote or line break), oldest first, streaming row by row.
    /// Leaves hold commitments, never case text, so neither does the export. Returns the
    /// number of rows written (without the header).
    pub fn audit_export_csv(
        &self,
        filter: &AuditFilter,
        out: &mut dyn Write,
    ) -> Result<u64, StoreError> {
        self.audit_catalog_catch_up()?;
        let q = self.build_audit_query(filter, None, Order::OldestFirst, None)?;
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(out);
        w.write_record(CSV_HEADER).map_err(csv_error)?;
        if !self.band_in_use(filter)? {
            w.flush()
                .map_err(|e| StoreError::io(std::path::Path::new("the CSV export"), e))?;
            return Ok(0);
        }
        let mut stmt = self.conn().prepare(&q.sql)?;
        let mut rows = stmt.query(params_from_iter(q.params))?;
        let mut n = 0u64;
        while let Some(r) = rows.next()? {
            let row = audit_row(r)?;
            let leaf: Vec<u8> = r.get(5)?;
            let at = crate::from_ms(row.at_ms).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            w.write_record([
                row.index.to_string().as_str(),
                &at,
                &row.kind,
                &row.actor,
                row.case_id.as_deref().unwrap_or(""),
                row.disposition.as_deref().unwrap_or(""),
                row.reason_code.as_deref().unwrap_or(""),
                row.band.as_deref().unwrap_or(""),
                &row.leaf_hash,
                &String::from_utf8_lossy(&leaf),
            ])
            .map_err(csv_error)?;
            n += 1;
        }
        w.flush()
            .map_err(|e| StoreError::io(std::path::Path::new("the CSV export"), e))?;
        Ok(n)
    }
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn csv_error(e: csv::Error) -> StoreError {
    let source = match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => std::io::Error::other(format!("{other:?}")),
    };
    StoreError::io(std::path::Path::new("the CSV export"), source)
}

/// Reads a row of the audit query: columns idx, at_ms, kind, actor, case_id, leaf, hash,
/// band, cursor time, cursor key.
fn audit_row(r: &Row<'_>) -> rusqlite::Result<AuditRow> {
    let kind: String = r.get(2)?;
    let leaf = r.get_ref(5)?.as_blob()?;
    let (disposition, reason_code) = leaf_codes(&kind, leaf);
    let hash = r.get_ref(6)?.as_blob()?;
    Ok(AuditRow {
        index: r.get::<_, i64>(0)? as u64,
        at_ms: r.get(1)?,
        kind,
        actor: r.get(3)?,
        case_id: r.get(4)?,
        disposition,
        reason_code,
        band: r.get(7)?,
        leaf_hash: hex::encode(hash),
        cursor: AuditCursor {
            at_ms: r.get(8)?,
            key: r.get(9)?,
        },
    })
}

/// The disposition kind and reason code a leaf records (generic over payload fields: an
/// unknown or missing field is simply absent).
fn leaf_codes(kind: &str, leaf: &[u8]) -> (Option<String>, Option<String>) {
    let payload = serde_json::from_slice::<serde_json::Value>(leaf)
        .ok()
        .and_then(|v| v.get("payload").cloned());
    let text = |key: &str| {
        payload
            .as_ref()
            .and_then(|p| p.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let disposition = match kind {
        "undo" => Some("undo".to_string()),
        _ => text("disposition"),
    };
    (disposition, text("reason_code"))
}
