//! Outbound actions, checked against the log: each action's identity against its
//! `action_queued` entry, and its state, attempts, last status and error replayed from the
//! entries that followed (`action_done`, `action_failed`, `action_cancelled`,
//! `action_compensation_queued`, `action_compensated`).

use super::{first, leaf_of, Outcome, Row, Unverified};
use rusqlite::Connection;
use serde_json::Value;

/// Columns of these tables that carry no audit meaning.
pub(super) const UNVERIFIED: &[Unverified] = &[Unverified {
    table: "actions",
    column: "in_flight_ms",
    reason: "a crash-recovery marker, set before a request goes out and cleared when its outcome is recorded; what it decides (cancel or compensate) is itself an audit entry",
}];

/// The state an entry leaves an action in, from the state before it.
fn next_state(kind: &str, p: &Value, before: &str) -> String {
    if let Some(s) = p.get("state").and_then(Value::as_str) {
        return s.to_string();
    }
    let post = p.get("op").and_then(Value::as_str) != Some("delete");
    match (kind, post, before) {
        ("action_done", true, "queued" | "failed" | "sent") => "sent",
        ("action_done", true, _) => "compensating",
        ("action_failed", true, "queued" | "failed") => "failed",
        ("action_failed", true, other) => other,
        ("action_compensated", _, _) => "compensated",
        ("action_failed", false, _) => "compensating",
        ("action_cancelled", _, _) => "cancelled",
        ("action_compensation_queued", _, _) => "compensating",
        (_, _, other) => other,
    }
    .to_string()
}

/// Checks every action.
pub(super) fn check(conn: &Connection, rows: &mut u64) -> Outcome {
    let mut stmt = conn.prepare(
        "SELECT a.seq, a.case_seq, a.disposition_seq, a.kind, a.idempotency_key, a.url, a.body_sha256,
                a.state, a.attempts, a.last_status, a.last_error, a.queued_ms, a.updated_ms,
                a.audit_idx, d.audit_idx
         FROM actions a LEFT JOIN dispositions d ON d.seq = a.disposition_seq ORDER BY a.seq",
    )?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        *rows += 1;
        let seq: i64 = r.get(0)?;
        let name = format!("action #{seq}");
        let l = match leaf_of(conn, "actions", "audit_idx", &name, r.get(13)?)? {
            Ok(l) => l,
            Err(f) => return Ok(Some(f)),
        };
        let row = Row {
            table: "actions",
            name: name.clone(),
            leaf: Some(&l),
        };
        let f = first([
            row.kind_is("audit_idx", &["action_queued"]),
            row.same("seq", seq, "action_seq"),
            row.same_case(conn, "case_seq", r.get(1)?)?,
            row.same("disposition_seq", r.get::<_, i64>(2)?, "disposition_seq"),
            row.same(
                "disposition_seq",
                r.get::<_, Option<i64>>(14)?.map_or(Value::Null, Into::into),
                "disposition_index",
            ),
            row.same("kind", r.get::<_, String>(3)?, "action"),
            row.same("idempotency_key", r.get::<_, String>(4)?, "idempotency_key"),
            row.same_sha("url", Some(&r.get::<_, String>(5)?), "url_sha256"),
            row.same("body_sha256", r.get::<_, String>(6)?, "body_sha256"),
            row.same_time("queued_ms", r.get(11)?),
        ]);
        if f.is_some() {
            return Ok(f);
        }
        // Replay what followed.
        let later: Vec<(i64, String, Vec<u8>)> = conn
            .prepare_cached(
                "SELECT idx, kind, leaf FROM audit_entries
                 WHERE case_id = ?1 AND kind LIKE 'action\\_%' ESCAPE '\\' AND idx > ?2
                   AND json_extract(leaf, '$.payload.action_seq') = ?3
                 ORDER BY idx",
            )?
            .query_map(
                rusqlite::params![l.case_id().unwrap_or(""), l.index as i64, seq],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?
            .collect::<Result<_, _>>()?;
        let mut state = "queued".to_string();
        let mut attempts = 0i64;
        let mut status = Value::Null;
        let mut error: Option<Value> = Some(Value::Null);
        let mut last = l.clone();
        for (idx, kind, leaf) in later {
            let v: Value = serde_json::from_slice(&leaf).unwrap_or_default();
            let p = v.get("payload").cloned().unwrap_or_default();
            state = next_state(&kind, &p, &state);
            if matches!(
                kind.as_str(),
                "action_done" | "action_failed" | "action_compensated"
            ) {
                attempts += p.get("attempts").and_then(Value::as_i64).unwrap_or(0);
                status = p.get("status").cloned().unwrap_or(Value::Null);
                error = p.get("error_sha256").cloned();
            }
            last = super::Leaf {
                index: idx as u64,
                v,
            };
        }
        let at_last = Row {
            table: "actions",
            name,
            leaf: Some(&last),
        };
        let stored_error: Option<String> = r.get(10)?;
        let f = first([
            at_last.derived(
                "state",
                r.get::<_, String>(7)?,
                state.as_str(),
                "replaying its entries",
            ),
            at_last.derived(
                "attempts",
                r.get::<_, i64>(8)?,
                attempts,
                "replaying its entries",
            ),
            at_last.derived(
                "last_status",
                r.get::<_, Option<i64>>(9)?.map_or(Value::Null, Into::into),
                status,
                "replaying its entries",
            ),
            error.and_then(|e| {
                at_last.derived(
                    "last_error",
                    stored_error
                        .as_deref()
                        .map_or(Value::Null, |t| crate::audit::commit(t).into()),
                    e,
                    "the error its last outcome entry commits to",
                )
            }),
            at_last.same_time("updated_ms", r.get(12)?),
        ]);
        if f.is_some() {
            return Ok(f);
        }
    }
    Ok(None)
}
