//! Queue reads: keyset pages in queue order, per-status counts, filtered counts, one case.
//!
//! Pages never use OFFSET: each page starts strictly after the cursor of the previous
//! page's last row, so the millionth case costs what the first does.

use crate::{from_ms, StoreError, Workspace};
use rusqlite::{params_from_iter, types::Value, OptionalExtension, Row};
use serde::Serialize;
use signoff_core::queue::fts_query;
use signoff_core::{Band, Case, CaseStatus, QueueCursor, QueueFilter};

/// One row of the queue list: enough to show and order it, not the whole body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseSummary {
    /// Internal sequence number.
    pub seq: i64,
    /// Upstream id.
    pub id: String,
    /// Subject line.
    pub subject: String,
    /// The start of the body (at most 160 characters).
    pub snippet: String,
    /// Received time, ms since the epoch.
    pub received_ms: i64,
    /// Priority (higher is more urgent).
    pub priority: i64,
    /// SLA due time, ms since the epoch.
    pub sla_due_ms: Option<i64>,
    /// Label, if any.
    pub label: Option<String>,
    /// Band, if classified.
    pub band: Option<Band>,
    /// Review status.
    pub status: CaseStatus,
    /// Where this row sits in queue order (pass it back for the next page).
    pub cursor: QueueCursor,
}

/// How many cases are in each status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    /// Status name → count, in display order.
    pub counts: Vec<(CaseStatus, i64)>,
}

const SUMMARY_COLS: &str =
    "c.seq, c.id, c.subject, substr(c.body, 1, 160), c.received_ms, c.priority,
     c.sla_key, c.label, c.band, c.status, c.prio_key";

fn summary(r: &Row<'_>) -> rusqlite::Result<CaseSummary> {
    let sla_key: i64 = r.get(6)?;
    let seq: i64 = r.get(0)?;
    let received_ms: i64 = r.get(4)?;
    let prio_key: i64 = r.get(10)?;
    Ok(CaseSummary {
        seq,
        id: r.get(1)?,
        subject: r.get(2)?,
        snippet: r.get(3)?,
        received_ms,
        priority: r.get(5)?,
        sla_due_ms: (sla_key != signoff_core::queue::NO_SLA_KEY).then_some(sla_key),
        label: r.get(7)?,
        band: r
            .get::<_, Option<String>>(8)?
            .and_then(|b| Band::parse(&b).ok()),
        status: status_col(r, 9)?,
        cursor: QueueCursor {
            sla_key,
            neg_priority: prio_key,
            received_ms,
            seq,
        },
    })
}

fn status_col(r: &Row<'_>, i: usize) -> rusqlite::Result<CaseStatus> {
    let s: String = r.get(i)?;
    CaseStatus::parse(&s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Builds the WHERE clause shared by pages and counts.
fn filter_sql(filter: &QueueFilter, args: &mut Vec<Value>) -> String {
    let mut sql = String::from("c.status = ?");
    args.push(Value::Text(filter.status_or_open().as_str().into()));
    if let Some(b) = filter.band {
        sql.push_str(" AND c.band = ?");
        args.push(Value::Text(b.as_str().into()));
    }
    if let Some(l) = &filter.label {
        sql.push_str(" AND c.label = ?");
        args.push(Value::Text(l.clone()));
    }
    if let Some(q) = filter.text.as_deref().and_then(fts_query) {
        sql.push_str(" AND c.seq IN (SELECT rowid FROM cases_fts WHERE cases_fts MATCH ?)");
        args.push(Value::Text(q));
    }
    sql
}

impl Workspace {
    /// Up to `limit` cases in queue order, strictly after `after` when given.
    pub fn queue_page(
        &self,
        filter: &QueueFilter,
        after: Option<QueueCursor>,
        limit: u32,
    ) -> Result<Vec<CaseSummary>, StoreError> {
        let mut args = Vec::new();
        let mut sql = format!(
            "SELECT {SUMMARY_COLS} FROM cases c INDEXED BY cases_queue WHERE {}",
            filter_sql(filter, &mut args)
        );
        if let Some(c) = after {
            sql.push_str(" AND (c.sla_key, c.prio_key, c.received_ms, c.seq) > (?, ?, ?, ?)");
            args.extend([c.sla_key, c.neg_priority, c.received_ms, c.seq].map(Value::Integer));
        }
        sql.push_str(" ORDER BY c.sla_key, c.prio_key, c.received_ms, c.seq LIMIT ?");
        args.push(Value::Integer(i64::from(limit.min(1000))));
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(args), summary)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The number of cases matching a filter (status, band, label, text).
    pub fn queue_count(&self, filter: &QueueFilter) -> Result<i64, StoreError> {
        if filter.band.is_none()
            && filter.label.is_none()
            && filter.text.as_deref().and_then(fts_query).is_none()
        {
            let n = self.conn.query_row(
                "SELECT n FROM status_counts WHERE status = ?1",
                [filter.status_or_open().as_str()],
                |r| r.get(0),
            )?;
            return Ok(n);
        }
        let mut args = Vec::new();
        let mut sql = String::from("SELECT count(*) FROM ");
        match filter.text.as_deref().and_then(fts_query) {
            Some(q) => {
                // Drive from the full-text match, then look each hit up by rowid.
                sql.push_str(
                    "cases_fts f CROSS JOIN cases c INDEXED BY cases_filter ON c.seq = f.rowid WHERE cases_fts MATCH ?",
                );
                args.push(Value::Text(q));
                let rest = QueueFilter {
                    text: None,
                    ..filter.clone()
                };
                sql.push_str(" AND ");
                sql.push_str(&filter_sql(&rest, &mut args));
            }
            None => {
                sql.push_str("cases c WHERE ");
                sql.push_str(&filter_sql(filter, &mut args));
            }
        }
        let mut stmt = self.conn.prepare_cached(&sql)?;
        Ok(stmt.query_row(params_from_iter(args), |r| r.get(0))?)
    }

    /// Counts per status, from the counters kept in step with every change.
    pub fn status_counts(&self) -> Result<StatusCounts, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT status, n FROM status_counts")?;
        let mut map: std::collections::HashMap<String, i64> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(StatusCounts {
            counts: CaseStatus::ALL
                .iter()
                .map(|s| (*s, map.remove(s.as_str()).unwrap_or(0)))
                .collect(),
        })
    }

    /// One whole case, by internal sequence number.
    pub fn case(&self, seq: i64) -> Result<Case, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, id, subject, body, received_ms, priority, sla_key, metadata, label, band, status, draft
             FROM cases WHERE seq = ?1",
        )?;
        stmt.query_row([seq], |r| {
            let sla_key: i64 = r.get(6)?;
            let meta: Option<String> = r.get(7)?;
            Ok(Case {
                seq: r.get(0)?,
                id: r.get(1)?,
                subject: r.get(2)?,
                body: r.get(3)?,
                received_at: from_ms(r.get(4)?),
                priority: r.get(5)?,
                sla_due_at: (sla_key != signoff_core::queue::NO_SLA_KEY).then(|| from_ms(sla_key)),
                metadata: meta.and_then(|m| serde_json::from_str(&m).ok()),
                label: r.get(8)?,
                band: r
                    .get::<_, Option<String>>(9)?
                    .and_then(|b| Band::parse(&b).ok()),
                status: status_col(r, 10)?,
                draft: r.get(11)?,
            })
        })
        .optional()?
        .ok_or_else(|| StoreError::UnknownCase(format!("#{seq}")))
    }

    /// The internal sequence number of the case with this upstream id (any letter case).
    pub fn case_seq(&self, id: &str) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT seq FROM cases WHERE id = ?1", [id], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::UnknownCase(id.to_string()))
    }
}
