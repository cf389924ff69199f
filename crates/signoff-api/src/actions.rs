//! Outbound actions end to end, for every host: take a job from the store (marked in flight
//! and committed), send it with `signoff_sync::actions` (Idempotency-Key, bounded retries with
//! backoff and jitter), and record the outcome (`action_done`, `action_failed` or
//! `action_compensated`). Resending after a crash between send and record is safe: the key is
//! the same, so upstream keeps one reply.

use crate::ApiError;
use signoff_core::Clock;
use signoff_store::actions::{ActionJob, ActionMethod, ActionOutcome, ActionRecord};
use signoff_store::Workspace;
use signoff_sync::actions::{Method, Request};

pub use signoff_sync::actions::SendOptions;

/// Makes the request of a job upstream (no workspace needed: a host may release its lock
/// while this runs) and reports what came of it; a malformed URL is a failed outcome.
pub fn deliver(job: &ActionJob, opts: &SendOptions) -> ActionOutcome {
    let req = Request {
        method: match job.method {
            ActionMethod::Post => Method::Post,
            ActionMethod::Delete => Method::Delete,
        },
        url: &job.url,
        idempotency_key: &job.idempotency_key,
        body: job.body.as_deref(),
    };
    match signoff_sync::actions::send(&req, opts) {
        Ok(d) => ActionOutcome {
            ok: d.ok,
            status: d.status,
            attempts: d.attempts,
            error: d.error,
        },
        Err(e) => ActionOutcome {
            ok: false,
            status: None,
            attempts: 0,
            error: Some(e.to_string()),
        },
    }
}

/// Sends the next request of action `seq` (a queued post, a failed one when `retry`, or a
/// pending compensation) and records what came of it. Upstream failures are recorded, not
/// returned as errors: the returned record says `failed` (or still `compensating`).
pub fn send(
    ws: &mut Workspace,
    seq: i64,
    retry: bool,
    opts: &SendOptions,
    clock: &dyn Clock,
) -> Result<ActionRecord, ApiError> {
    let job = ws.begin_action(seq, retry, clock)?;
    let outcome = deliver(&job, opts);
    Ok(ws.finish_action(&job, &outcome, clock)?)
}

/// The due actions (queued posts, pending compensations) of one case, oldest first.
pub fn due_of_case(ws: &Workspace, case_seq: i64) -> Result<Vec<i64>, ApiError> {
    let mut due = Vec::new();
    for seq in ws.due_actions()? {
        if ws.action(seq)?.case_seq == case_seq {
            due.push(seq);
        }
    }
    Ok(due)
}

/// Sends every due action (queued posts and pending compensations), oldest first, optionally
/// only those of one case; returns them as recorded afterwards.
pub fn send_due(
    ws: &mut Workspace,
    case_seq: Option<i64>,
    opts: &SendOptions,
    clock: &dyn Clock,
) -> Result<Vec<ActionRecord>, ApiError> {
    let due = match case_seq {
        Some(c) => due_of_case(ws, c)?,
        None => ws.due_actions()?,
    };
    let mut done = Vec::new();
    for seq in due {
        done.push(send(ws, seq, false, opts, clock)?);
    }
    Ok(done)
}
