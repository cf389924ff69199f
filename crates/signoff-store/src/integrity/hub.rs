//! What a workstation keeps from its team hub, checked against the log: the leases must be
//! exactly the set the latest `hub_leases` entry commits to (count and leases_sha256), each row
//! naming that entry; each cosigned checkpoint must be this log's own checkpoint of that size
//! plus a valid cosignature by the witness key the log recorded (`hub_set`). The hub URL and
//! witness key settings are checked with the other settings.

use super::{Finding, Outcome, Unverified};
use rusqlite::Connection;
use serde_json::Value;

/// Columns of this table that carry no audit meaning.
pub(super) const UNVERIFIED: &[Unverified] = &[];

/// Checks `hub_leases` against the latest `hub_leases` entry.
pub(super) fn check(conn: &Connection, rows: &mut u64) -> Outcome {
    let stored = crate::hub::stored(conn)?;
    *rows += stored.len() as u64;
    let idx: Option<i64> = conn
        .prepare_cached("SELECT max(idx) FROM log_index WHERE kind = 'hub_leases'")?
        .query_row([], |r| r.get(0))?;
    let finding = |index: Option<u64>, column: &str, why: String| Finding {
        index,
        column: format!("hub_leases.{column}"),
        why,
    };
    let Some(idx) = idx else {
        return Ok((!stored.is_empty()).then(|| {
            finding(
                None,
                "case_id",
                format!(
                    "{} lease(s) are held but no hub_leases entry records any",
                    stored.len()
                ),
            )
        }));
    };
    let Some(leaf) = super::leaf(conn, idx)? else {
        return Ok(None);
    };
    let at = Some(leaf.index);
    if let Some((l, bad)) = stored.iter().find(|(_, i)| *i != idx) {
        return Ok(Some(finding(
            at,
            "audit_idx",
            format!(
                "the lease of case {:?} names entry {bad}, but the leases held are those of entry {idx}",
                l.case_id
            ),
        )));
    }
    let leases: Vec<_> = stored.into_iter().map(|(l, _)| l).collect();
    let want_count = leaf.p("count").and_then(Value::as_u64);
    let want_sha = leaf.p("leases_sha256").and_then(Value::as_str);
    if want_count != Some(leases.len() as u64)
        || want_sha != Some(crate::hub::leases_sha256(&leases).as_str())
    {
        return Ok(Some(finding(
            at,
            "case_id",
            format!(
                "the {} lease(s) held are not the set entry {idx} commits to (leases_sha256); one of hub_leases.case_id, hub_leases.fence, hub_leases.expires_at_ms was changed",
                leases.len()
            ),
        )));
    }
    Ok(None)
}

/// Columns of `audit_cosigned` that carry no audit meaning.
pub(super) const COSIGNED_UNVERIFIED: &[Unverified] = &[Unverified {
    table: "audit_cosigned",
    column: "received_ms",
    reason: "when the workstation received the cosignature; the witness's own time is inside the signed cosignature line",
}];

/// Checks each cosigned checkpoint against this log's own checkpoint of the same size (itself
/// checked by the log's verifier) and its cosignature against the witness key the log
/// recorded (the setting is checked against the `hub_set` entry with the other settings).
pub(super) fn check_cosigned(conn: &Connection, rows: &mut u64) -> Outcome {
    let all = crate::hub::cosigned(conn)?;
    if all.is_empty() {
        return Ok(None);
    }
    let witness: Option<String> = rusqlite::OptionalExtension::optional(
        conn.prepare_cached("SELECT value FROM settings WHERE key = ?1")?
            .query_row([crate::hub::WITNESS_SETTING], |r| r.get(0)),
    )?;
    let witness = witness
        .as_deref()
        .and_then(|w| signoff_audit::witness::CosignatureVerifier::parse(w).ok());
    for c in all {
        *rows += 1;
        let own: Option<String> = rusqlite::OptionalExtension::optional(
            conn.prepare_cached("SELECT note FROM audit_checkpoints WHERE size = ?1")?
                .query_row([c.size as i64], |r| r.get(0)),
        )?;
        let bad = |column: &str, why: String| {
            Ok(Some(Finding {
                index: c.size.checked_sub(1),
                column: format!("audit_cosigned.{column}"),
                why,
            }))
        };
        let Some(own) = own else {
            return bad(
                "size",
                format!(
                    "a cosigned checkpoint of {} entries is kept, but this log signed no checkpoint of that size",
                    c.size
                ),
            );
        };
        if !c.note.starts_with(&own) {
            return bad(
                "note",
                format!(
                    "the cosigned checkpoint of {} entries is not this log's checkpoint of that size plus a cosignature",
                    c.size
                ),
            );
        }
        let Some(w) = &witness else {
            return bad(
                "note",
                format!(
                    "a cosigned checkpoint of {} entries is kept, but the log records no witness key",
                    c.size
                ),
            );
        };
        match w.verify(&c.note) {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => {
                return bad(
                    "note",
                    format!(
                        "the checkpoint of {} entries carries no valid cosignature by the hub's witness {}",
                        c.size, w.name
                    ),
                )
            }
        }
    }
    Ok(None)
}
