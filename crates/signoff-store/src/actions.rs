//! Outbound actions: what a disposition sends out of the workstation.
//!
//! A disposition that sends the draft out (approve, edit) while an upstream is configured
//! (setting `upstream_url`, see [`Workspace::set_upstream`]) queues one `post_reply` action
//! **in the disposition's own transaction**, with an `action_queued` entry. Its idempotency
//! key is the SHA-256 of the case id and the disposition entry's leaf hash, so the same
//! disposition always yields the same key and a resend can never post a second reply.
//!
//! The store never touches the network. A sender (see `signoff_api::actions`) asks for a job
//! with [`Workspace::begin_action`] (which marks the row in flight and commits, so a crash
//! mid-send is visible), sends it, and records the outcome with [`Workspace::finish_action`]:
//! `action_done` or `action_failed` with the HTTP status and attempt count (never the reply:
//! its SHA-256). Undoing the disposition, or [`Workspace::compensate_action`], cancels an
//! action that cannot have reached upstream (`action_cancelled`) and otherwise asks for the
//! compensating request (`action_compensation_queued`; the DELETE of the reply by its key),
//! whose success is `action_compensated`.
//!
//! States: `queued` → `sent` | `failed`; `failed` → `sent` (retry) | `failed`; `queued` (never
//! tried) or `failed` with a 4xx answer → `cancelled`; `sent`, `failed` otherwise, or anything
//! in flight → `compensating` → `compensated`.

use crate::{audit, from_ms, ms, StoreError, Workspace};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};
use signoff_audit::log::Entry;
use signoff_core::Clock;

/// The setting holding the upstream base URL (`signoff upstream set URL`).
pub const UPSTREAM_SETTING: &str = "upstream_url";

/// Where replies are posted under the upstream base URL; a reply is removed by
/// `DELETE {base}/replies/{idempotency key}`.
pub const REPLIES_PATH: &str = "/replies";

/// The only action kind so far: post the reply that went out.
pub const POST_REPLY: &str = "post_reply";

/// An outbound action as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionRecord {
    /// Sequence number (the id `signoff actions` takes).
    pub seq: i64,
    /// The case (internal sequence number).
    pub case_seq: i64,
    /// The case id.
    pub case_id: String,
    /// The disposition that triggered it.
    pub disposition_seq: i64,
    /// `post_reply`.
    pub kind: String,
    /// The Idempotency-Key header value.
    pub idempotency_key: String,
    /// The endpoint the reply is posted to.
    pub url: String,
    /// SHA-256 of the body sent.
    pub body_sha256: String,
    /// `queued`, `sent`, `failed`, `cancelled`, `compensating` or `compensated`.
    pub state: String,
    /// HTTP attempts so far (sends and compensations).
    pub attempts: i64,
    /// The last HTTP status seen.
    pub last_status: Option<i64>,
    /// The last failure, for people.
    pub last_error: Option<String>,
    /// A request went out whose outcome was never recorded (in progress, or a crash).
    pub in_flight: bool,
    /// When it was queued (RFC 3339).
    pub queued_at: String,
    /// When its state last changed (RFC 3339).
    pub updated_at: String,
    /// Its `action_queued` entry.
    pub audit_idx: i64,
}

/// The HTTP method of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ActionMethod {
    /// Post the reply.
    Post,
    /// Remove the posted reply (compensation).
    Delete,
}

/// One request to make for an action: what a sender needs, nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionJob {
    /// The action.
    pub seq: i64,
    /// POST the reply or DELETE it.
    pub method: ActionMethod,
    /// The URL to call.
    pub url: String,
    /// The Idempotency-Key header.
    pub idempotency_key: String,
    /// The JSON body (POST only).
    pub body: Option<String>,
}

/// What came of a job, as the sender reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionOutcome {
    /// Whether upstream did what was asked.
    pub ok: bool,
    /// The last HTTP status, if an answer came.
    pub status: Option<u16>,
    /// Attempts made.
    pub attempts: u32,
    /// The failure, for people.
    pub error: Option<String>,
}

/// The body posted upstream; field order is fixed, so its SHA-256 is stable.
#[derive(Serialize)]
struct ReplyBody<'a> {
    case_id: &'a str,
    disposition: &'a str,
    idempotency_key: &'a str,
    text: &'a str,
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The idempotency key of the action a disposition triggers: SHA-256 over a context line, the
/// case id and the disposition entry's leaf hash (hex).
pub fn idempotency_key(case_id: &str, leaf_hash: &[u8]) -> String {
    sha(format!("signoff action v1\n{case_id}\n{}", hex::encode(leaf_hash)).as_bytes())
}

fn reply_body(case_id: &str, disposition: &str, key: &str, text: &str) -> String {
    serde_json::to_string(&ReplyBody {
        case_id,
        disposition,
        idempotency_key: key,
        text,
    })
    .expect("strings serialise")
}

/// Checks an upstream base URL: http(s), no credentials, no query or fragment.
pub fn check_upstream(url: &str) -> Result<String, StoreError> {
    let url = url.trim();
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| {
            StoreError::Rule(format!(
                "upstream URL {url:?} must start with http:// or https://"
            ))
        })?;
    let scheme = url.len() - rest.len();
    let rest = rest.trim_end_matches('/');
    let url = &url[..scheme + rest.len()];
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() {
        return Err(StoreError::Rule(format!(
            "upstream URL {url:?} has no host"
        )));
    }
    if host.contains('@') {
        return Err(StoreError::Rule(format!(
            "upstream URL {url:?} carries credentials; they do not belong in a workspace setting"
        )));
    }
    if url.contains('?') || url.contains('#') {
        return Err(StoreError::Rule(format!(
            "upstream URL {url:?} must be a base URL without a query or fragment"
        )));
    }
    Ok(url.to_string())
}

const RECORD_SQL: &str = "SELECT a.seq, a.case_seq, c.id, a.disposition_seq, a.kind,
        a.idempotency_key, a.url, a.body_sha256, a.state, a.attempts, a.last_status,
        a.last_error, a.in_flight_ms, a.queued_ms, a.updated_ms, a.audit_idx
     FROM actions a JOIN cases c ON c.seq = a.case_seq";

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<ActionRecord> {
    Ok(ActionRecord {
        seq: r.get(0)?,
        case_seq: r.get(1)?,
        case_id: r.get(2)?,
        disposition_seq: r.get(3)?,
        kind: r.get(4)?,
        idempotency_key: r.get(5)?,
        url: r.get(6)?,
        body_sha256: r.get(7)?,
        state: r.get(8)?,
        attempts: r.get(9)?,
        last_status: r.get(10)?,
        last_error: r.get(11)?,
        in_flight: r.get::<_, Option<i64>>(12)?.is_some(),
        queued_at: from_ms(r.get(13)?).to_rfc3339(),
        updated_at: from_ms(r.get(14)?).to_rfc3339(),
        audit_idx: r.get(15)?,
    })
}

fn read(c: &Connection, seq: i64) -> Result<ActionRecord, StoreError> {
    c.query_row(&format!("{RECORD_SQL} WHERE a.seq = ?1"), [seq], record)
        .optional()?
        .ok_or_else(|| StoreError::Rule(format!("no action #{seq} (see `signoff actions list`)")))
}

/// Queues the outbound action of a disposition that sends the draft out, in the caller's
/// transaction, right after the disposition's entry at `disposition_idx`. Nothing is queued
/// when no upstream is configured. Returns the action's sequence number.
pub(crate) fn queue_for_disposition(
    tx: &Connection,
    case_seq: i64,
    disposition_seq: i64,
    disposition_idx: u64,
    at: i64,
) -> Result<Option<i64>, StoreError> {
    let Some(base) = tx
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [UPSTREAM_SETTING],
            |r| r.get::<_, String>(0),
        )
        .optional()?
    else {
        return Ok(None);
    };
    let (case_id, kind, text): (String, String, String) = tx.query_row(
        "SELECT c.id, d.kind, coalesce(d.final_text, '') FROM dispositions d
         JOIN cases c ON c.seq = d.case_seq WHERE d.seq = ?1",
        [disposition_seq],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let leaf_hash: Vec<u8> = tx.query_row(
        "SELECT hash FROM audit_entries WHERE idx = ?1",
        [disposition_idx as i64],
        |r| r.get(0),
    )?;
    let key = idempotency_key(&case_id, &leaf_hash);
    let url = format!("{}{REPLIES_PATH}", base.trim_end_matches('/'));
    let body_sha256 = sha(reply_body(&case_id, &kind, &key, &text).as_bytes());
    let idx = signoff_audit::log::size(tx)?;
    tx.execute(
        "INSERT INTO actions (case_seq, disposition_seq, kind, idempotency_key, url, body_sha256,
                              state, queued_ms, updated_ms, audit_idx)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?7, ?8)",
        params![
            case_seq,
            disposition_seq,
            POST_REPLY,
            key,
            url,
            body_sha256,
            at,
            idx as i64
        ],
    )?;
    let seq = tx.last_insert_rowid();
    audit::record(
        tx,
        Entry {
            kind: "action_queued".into(),
            case_id: Some(case_id),
            actor: "device".into(),
            at_ms: at,
            payload: audit::payload([
                ("action_seq", seq.into()),
                ("action", POST_REPLY.into()),
                ("idempotency_key", key.into()),
                ("disposition_seq", disposition_seq.into()),
                ("disposition_index", disposition_idx.into()),
                ("url_sha256", sha(url.as_bytes()).into()),
                ("body_sha256", body_sha256.into()),
            ]),
        },
    )?;
    Ok(Some(seq))
}

/// Cancels or asks to compensate every live action of a disposition being undone, in the
/// undo's transaction.
pub(crate) fn on_undo(
    tx: &Connection,
    disposition_seq: i64,
    actor: &str,
    at: i64,
) -> Result<(), StoreError> {
    let live: Vec<i64> = tx
        .prepare(
            "SELECT seq FROM actions WHERE disposition_seq = ?1
               AND state IN ('queued', 'sent', 'failed') ORDER BY seq",
        )?
        .query_map([disposition_seq], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let reason = format!("undo of disposition #{disposition_seq}");
    for seq in live {
        withdraw(tx, &read(tx, seq)?, &reason, actor, at)?;
    }
    Ok(())
}

/// Whether an action may have reached upstream: anything sent, in flight, or failed other
/// than by a 4xx refusal (a dropped connection or a 5xx may hide a stored reply).
fn may_have_landed(a: &ActionRecord) -> bool {
    match a.state.as_str() {
        "queued" => a.in_flight || a.attempts > 0,
        "failed" => a.in_flight || !a.last_status.is_some_and(|s| (400..500).contains(&s)),
        _ => true,
    }
}

/// Cancels `a` or queues its compensation, with its audit entry; `reason` is committed to.
fn withdraw(
    tx: &Connection,
    a: &ActionRecord,
    reason: &str,
    actor: &str,
    at: i64,
) -> Result<&'static str, StoreError> {
    let (state, kind) = if may_have_landed(a) {
        ("compensating", "action_compensation_queued")
    } else {
        ("cancelled", "action_cancelled")
    };
    tx.execute(
        "UPDATE actions SET state = ?1, updated_ms = ?2 WHERE seq = ?3",
        params![state, at, a.seq],
    )?;
    audit::record(
        tx,
        Entry {
            kind: kind.into(),
            case_id: Some(a.case_id.clone()),
            actor: actor.into(),
            at_ms: at,
            payload: audit::payload([
                ("action_seq", a.seq.into()),
                ("idempotency_key", a.idempotency_key.clone().into()),
                ("previous_state", a.state.clone().into()),
                ("reason_sha256", audit::commit(reason).into()),
                ("state", state.into()),
            ]),
        },
    )?;
    Ok(state)
}

impl Workspace {
    /// The upstream base URL replies are posted to, if one is configured.
    pub fn upstream(&self) -> Result<Option<String>, StoreError> {
        self.setting(UPSTREAM_SETTING)
    }

    /// Sets (or with `None` clears) the upstream base URL, with an `upstream_set` entry
    /// (commitment to the URL). Dispositions decided afterwards queue their actions there.
    pub fn set_upstream(
        &mut self,
        url: Option<&str>,
        actor: &str,
        clock: &dyn Clock,
    ) -> Result<Option<String>, StoreError> {
        let url = url.map(check_upstream).transpose()?;
        let j = self.journal()?;
        let at = ms(clock.now());
        let tx = self.writable()?.transaction()?;
        match &url {
            Some(u) => tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![UPSTREAM_SETTING, u],
            )?,
            None => tx.execute("DELETE FROM settings WHERE key = ?1", [UPSTREAM_SETTING])?,
        };
        audit::record(
            &tx,
            Entry {
                kind: "upstream_set".into(),
                case_id: None,
                actor: actor.into(),
                at_ms: at,
                payload: audit::payload([(
                    "url_sha256",
                    url.as_deref()
                        .map_or(serde_json::Value::Null, |u| audit::commit(u).into()),
                )]),
            },
        )?;
        audit::seal(&tx, &j, at)?;
        tx.commit()?;
        Ok(url)
    }

    /// One action.
    pub fn action(&self, seq: i64) -> Result<ActionRecord, StoreError> {
        read(self.conn(), seq)
    }

    /// Actions, newest first: of one case, or all.
    pub fn actions(&self, case_seq: Option<i64>) -> Result<Vec<ActionRecord>, StoreError> {
        let sql = match case_seq {
            Some(_) => format!("{RECORD_SQL} WHERE a.case_seq = ?1 ORDER BY a.seq DESC"),
            None => format!("{RECORD_SQL} WHERE ?1 IS NULL ORDER BY a.seq DESC"),
        };
        let mut st = self.conn().prepare_cached(&sql)?;
        let rows = st.query_map([case_seq], record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Actions with a request to make, oldest first: queued posts and pending compensations
    /// (failed posts wait for an explicit retry).
    pub fn due_actions(&self) -> Result<Vec<i64>, StoreError> {
        let mut st = self.conn().prepare_cached(
            "SELECT seq FROM actions WHERE state IN ('queued', 'compensating') ORDER BY seq",
        )?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The next request of an action, marked in flight (committed before it is sent):
    /// a queued post, a failed post when `retry`, or a pending compensation. The body is
    /// rebuilt from the disposition and must match the SHA-256 committed when it was queued.
    pub fn begin_action(
        &mut self,
        seq: i64,
        retry: bool,
        clock: &dyn Clock,
    ) -> Result<ActionJob, StoreError> {
        let tx = self.writable()?.transaction()?;
        let a = read(&tx, seq)?;
        let method = match a.state.as_str() {
            "queued" => ActionMethod::Post,
            "failed" if retry => ActionMethod::Post,
            "failed" => {
                return Err(StoreError::Rule(format!(
                    "action #{seq} failed ({}); retry it explicitly (`signoff actions send {seq}`)",
                    a.last_error.as_deref().unwrap_or("no answer")
                )))
            }
            "compensating" => ActionMethod::Delete,
            other => {
                return Err(StoreError::Rule(format!(
                    "action #{seq} is {other}; there is nothing to send"
                )))
            }
        };
        let body = match method {
            ActionMethod::Post => {
                let (kind, text): (String, String) = tx.query_row(
                    "SELECT kind, coalesce(final_text, '') FROM dispositions WHERE seq = ?1",
                    [a.disposition_seq],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                let body = reply_body(&a.case_id, &kind, &a.idempotency_key, &text);
                if sha(body.as_bytes()) != a.body_sha256 {
                    return Err(StoreError::Rule(format!(
                        "action #{seq}: the reply no longer matches the SHA-256 committed when it was queued; not sent"
                    )));
                }
                Some(body)
            }
            ActionMethod::Delete => None,
        };
        let url = match method {
            ActionMethod::Post => a.url.clone(),
            ActionMethod::Delete => format!("{}/{}", a.url, a.idempotency_key),
        };
        tx.execute(
            "UPDATE actions SET in_flight_ms = ?1 WHERE seq = ?2",
            params![ms(clock.now()), seq],
        )?;
        tx.commit()?;
        Ok(ActionJob {
            seq,
            method,
            url,
            idempotency_key: a.idempotency_key,
            body,
        })
    }

    /// Records what came of a job: `action_done` / `action_compensated` on success,
    /// `action_failed` otherwise, each with the status and attempts (the body by its SHA-256).
    pub fn finish_action(
        &mut self,
        job: &ActionJob,
        outcome: &ActionOutcome,
        clock: &dyn Clock,
    ) -> Result<ActionRecord, StoreError> {
        let j = self.journal()?;
        let at = ms(clock.now());
        let tx = self.writable()?.transaction()?;
        let a = read(&tx, job.seq)?;
        let (state, kind) = match (job.method, outcome.ok, a.state.as_str()) {
            (ActionMethod::Post, true, "queued" | "failed" | "sent") => ("sent", "action_done"),
            // Withdrawn while the post was out: the reply may have landed after the DELETE,
            // so compensation is asked for (again).
            (ActionMethod::Post, true, _) => ("compensating", "action_done"),
            (ActionMethod::Post, false, "queued" | "failed") => ("failed", "action_failed"),
            (ActionMethod::Post, false, other) => (other, "action_failed"),
            (ActionMethod::Delete, true, _) => ("compensated", "action_compensated"),
            (ActionMethod::Delete, false, _) => ("compensating", "action_failed"),
        };
        let state = state.to_string();
        tx.execute(
            "UPDATE actions SET state = ?1, attempts = attempts + ?2, last_status = ?3,
                                last_error = ?4, in_flight_ms = NULL, updated_ms = ?5
             WHERE seq = ?6",
            params![
                state,
                outcome.attempts,
                outcome.status,
                outcome.error,
                at,
                job.seq
            ],
        )?;
        let error_kind = match (outcome.ok, outcome.status) {
            (true, _) => serde_json::Value::Null,
            (false, Some(_)) => "http_status".into(),
            (false, None) => "network".into(),
        };
        audit::record(
            &tx,
            Entry {
                kind: kind.into(),
                case_id: Some(a.case_id.clone()),
                actor: "device".into(),
                at_ms: at,
                payload: audit::payload([
                    ("action_seq", a.seq.into()),
                    ("idempotency_key", a.idempotency_key.clone().into()),
                    (
                        "op",
                        match job.method {
                            ActionMethod::Post => "post",
                            ActionMethod::Delete => "delete",
                        }
                        .into(),
                    ),
                    (
                        "status",
                        outcome.status.map_or(serde_json::Value::Null, |s| s.into()),
                    ),
                    ("attempts", outcome.attempts.into()),
                    (
                        "body_sha256",
                        job.body
                            .as_deref()
                            .map_or(serde_json::Value::Null, |b| sha(b.as_bytes()).into()),
                    ),
                    ("error", error_kind),
                    ("state", state.clone().into()),
                    (
                        "error_sha256",
                        outcome
                            .error
                            .as_deref()
                            .map_or(serde_json::Value::Null, |e| audit::commit(e).into()),
                    ),
                ]),
            },
        )?;
        audit::seal(&tx, &j, at)?;
        tx.commit()?;
        self.action(job.seq)
    }

    /// Withdraws an action for a stated reason (`signoff actions compensate ID --reason`):
    /// one that cannot have reached upstream is cancelled (`action_cancelled`); otherwise its
    /// compensation is queued (`action_compensation_queued`) for the sender. Returns the state.
    pub fn compensate_action(
        &mut self,
        seq: i64,
        reason: &str,
        actor: &str,
        clock: &dyn Clock,
    ) -> Result<ActionRecord, StoreError> {
        if reason.trim().is_empty() {
            return Err(StoreError::Rule(
                "compensating an action needs a reason (--reason)".into(),
            ));
        }
        let j = self.journal()?;
        let at = ms(clock.now());
        let tx = self.writable()?.transaction()?;
        let a = read(&tx, seq)?;
        if matches!(
            a.state.as_str(),
            "cancelled" | "compensated" | "compensating"
        ) {
            return Err(StoreError::Rule(format!(
                "action #{seq} is already {}",
                a.state
            )));
        }
        withdraw(&tx, &a, reason.trim(), actor, at)?;
        audit::seal(&tx, &j, at)?;
        tx.commit()?;
        self.action(seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_urls_are_checked() {
        assert_eq!(
            check_upstream(" http://127.0.0.1:9/v1/ ").unwrap(),
            "http://127.0.0.1:9/v1"
        );
        for (bad, why) in [
            ("ftp://x", "http://"),
            ("http://", "no host"),
            ("https://u:p@host/x", "credentials"),
            ("http://h/x?token=1", "query"),
        ] {
            let e = check_upstream(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn keys_depend_on_the_case_and_the_entry() {
        let a = idempotency_key("C1", &[1; 32]);
        assert_eq!(a, idempotency_key("C1", &[1; 32]));
        assert_ne!(a, idempotency_key("C2", &[1; 32]));
        assert_ne!(a, idempotency_key("C1", &[2; 32]));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn only_what_cannot_have_landed_is_cancelled() {
        let mut a = ActionRecord {
            seq: 1,
            case_seq: 1,
            case_id: "C1".into(),
            disposition_seq: 1,
            kind: POST_REPLY.into(),
            idempotency_key: "k".into(),
            url: "u".into(),
            body_sha256: "b".into(),
            state: "queued".into(),
            attempts: 0,
            last_status: None,
            last_error: None,
            in_flight: false,
            queued_at: String::new(),
            updated_at: String::new(),
            audit_idx: 0,
        };
        assert!(!may_have_landed(&a));
        a.in_flight = true;
        assert!(may_have_landed(&a), "a crash mid-send may have posted");
        a.in_flight = false;
        a.state = "failed".into();
        a.last_status = Some(422);
        assert!(!may_have_landed(&a), "a 4xx refusal stored nothing");
        a.last_status = Some(503);
        assert!(may_have_landed(&a));
        a.last_status = None;
        assert!(may_have_landed(&a), "a dropped connection may hide a reply");
        a.state = "sent".into();
        assert!(may_have_landed(&a));
    }
}
