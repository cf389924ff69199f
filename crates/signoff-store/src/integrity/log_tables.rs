//! The tables the audit view and the workspace read beside the log itself: the view's
//! catalog (a copy of each entry's kind, actor and time) and the settings the log decides
//! (the log's origin, its key rotations, registered reviewer keys, the intake model, corpus
//! head and allow-list, the upstream URL, the team hub's URL and witness key), each against
//! the entries that set them.
//! `audit_entries`, `audit_nodes` and `audit_checkpoints` are checked by the log's own verifier.

use super::{Finding, Outcome, Unverified};
use crate::StoreError;
use rusqlite::Connection;
use serde_json::Value;

/// Columns of these tables that carry no audit meaning.
pub(super) const UNVERIFIED: &[Unverified] = &[];

/// Checks the settings the log decides (the audit catalog is read in the log's own pass, see
/// [`CATALOG`]).
pub(super) fn check(conn: &Connection, rows: &mut u64) -> Outcome {
    settings(conn, rows)
}

/// The audit view's catalog: a copy of each entry's kind, actor and time, checked by the log
/// verifier in the same ordered pass as the entries.
pub(crate) const CATALOG: &str = "audit_catalog";

/// The latest entry of `kind` (optionally by `actor`), parsed.
fn latest(
    conn: &Connection,
    kind: &str,
    actor: Option<&str>,
) -> Result<Option<super::Leaf>, StoreError> {
    let idx: Option<i64> = conn
        .prepare_cached(
            "SELECT max(idx) FROM log_index WHERE kind = ?1 AND (?2 IS NULL OR actor = ?2)",
        )?
        .query_row(rusqlite::params![kind, actor], |r| r.get(0))?;
    match idx {
        Some(i) => super::leaf(conn, i),
        None => Ok(None),
    }
}

fn settings(conn: &Connection, rows: &mut u64) -> Outcome {
    let all: Vec<(String, String)> = conn
        .prepare("SELECT key, value FROM settings ORDER BY key")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    *rows += all.len() as u64;
    let get = |k: &str| {
        all.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let sha = |t: &str| crate::audit::commit(t);
    let finding = |idx: Option<u64>, column: &str, why: String| Finding {
        index: idx,
        column: format!("settings.{column}"),
        why,
    };
    // What the log says each setting must be: (key, expected value or its SHA-256, entry).
    let mut want: Vec<(String, Option<String>, bool, Option<u64>)> = Vec::new();
    if let Some(vkey) = get("audit_vkey") {
        let name = vkey.split('+').next().unwrap_or("").to_string();
        want.push(("audit_origin".into(), Some(name), false, None));
        let rotations: Vec<String> = conn
            .prepare("SELECT idx FROM log_index WHERE kind = 'key_rotation' ORDER BY idx")?
            .query_map([], |r| r.get::<_, i64>(0))?
            .map(|r| r.map(|i| i.to_string()))
            .collect::<Result<_, _>>()?;
        if !rotations.is_empty() {
            want.push((
                "audit_rotations".into(),
                Some(rotations.join(",")),
                false,
                None,
            ));
        }
    }
    let actors: Vec<String> = conn
        .prepare("SELECT DISTINCT actor FROM log_index WHERE kind = 'reviewer_key' ORDER BY actor")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for a in actors {
        if let Some(l) = latest(conn, "reviewer_key", Some(&a))? {
            let key = l
                .p("public_key")
                .and_then(Value::as_str)
                .map(str::to_string);
            want.push((format!("reviewer_key:{a}"), key, false, Some(l.index)));
        }
    }
    for (key, kind, field, hashed) in [
        ("intake_model", "intake_model", "model_id", false),
        ("corpus_head", "corpus_add", "version", false),
        ("corpus_allow", "corpus_allow", "allow_sha256", true),
        (
            crate::actions::UPSTREAM_SETTING,
            "upstream_set",
            "url_sha256",
            true,
        ),
        (crate::hub::HUB_SETTING, "hub_set", "url_sha256", true),
        (
            crate::hub::WITNESS_SETTING,
            "hub_set",
            "witness_vkey",
            false,
        ),
    ] {
        if let Some(l) = latest(conn, kind, None)? {
            let v = l.p(field).and_then(Value::as_str).map(str::to_string);
            want.push((key.into(), v, hashed, Some(l.index)));
        }
    }
    for (key, value, hashed, idx) in want {
        let stored = get(&key);
        let stored_cmp = stored.map(|s| if hashed { sha(s) } else { s.to_string() });
        if stored_cmp == value {
            continue;
        }
        let from = idx.map_or("the log's genesis key and rotations".to_string(), |i| {
            format!("entry {i}")
        });
        return Ok(Some(match stored {
            None => finding(
                idx,
                "key",
                format!("setting {key:?} is missing, but {from} sets it"),
            ),
            Some(_) => finding(
                idx,
                "value",
                format!("setting {key:?} is not what {from} sets"),
            ),
        }));
    }
    Ok(None)
}
