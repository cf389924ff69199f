//! `signoff upstream set|show|clear` (where approved replies are posted) and
//! `signoff actions list|send|compensate` (the outbound actions dispositions queue: each with
//! its idempotency key, state, attempts and last status; sending, retrying, compensating).

use crate::output::{clip, Out};
use crate::{open_read, open_write, Global};
use anyhow::Result;
use clap::{Args, Subcommand};
use signoff_api::actions::SendOptions;
use signoff_core::Clock;
use signoff_store::actions::ActionRecord;
use signoff_store::Workspace;

/// `signoff upstream …`: the workspace setting `upstream_url`.
#[derive(Subcommand)]
pub enum UpstreamCommand {
    /// Post approved and edited replies to `URL/replies` from now on (audited).
    Set {
        /// The upstream base URL (http or https, no credentials).
        url: String,
    },
    /// Print the upstream base URL, if one is set.
    Show,
    /// Stop queueing outbound actions (audited); queued ones stay queued.
    Clear,
}

/// `signoff actions …`.
#[derive(Subcommand)]
pub enum ActionsCommand {
    /// List outbound actions, newest first.
    List {
        /// Only this case's actions.
        #[arg(long)]
        case: Option<String>,
    },
    /// Send every due action (queued replies, pending compensations), or retry one by id.
    Send {
        /// The action to send or retry (a failed one included).
        id: Option<i64>,
        #[command(flatten)]
        opts: SendArgs,
    },
    /// Withdraw an action: cancel it if it cannot have reached upstream, otherwise send the
    /// compensating request (DELETE of the reply by its idempotency key). Audited.
    Compensate {
        /// The action.
        id: i64,
        /// Why (required; the log keeps its SHA-256).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        opts: SendArgs,
    },
}

/// How hard to try upstream.
#[derive(Args, Clone)]
pub struct SendArgs {
    /// Attempts per request (retries on connection errors, 408, 429 and 5xx).
    #[arg(long, default_value_t = 4)]
    attempts: u32,
    /// Timeout per attempt, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
}

impl SendArgs {
    fn options(&self) -> SendOptions {
        SendOptions {
            attempts: self.attempts.max(1),
            timeout: std::time::Duration::from_millis(self.timeout_ms.max(1)),
            ..SendOptions::default()
        }
    }
}

impl Default for SendArgs {
    fn default() -> Self {
        Self {
            attempts: 4,
            timeout_ms: 10_000,
        }
    }
}

/// Who an audited change is by: the reviewer when one is given, else the device.
fn actor(g: &Global) -> String {
    g.reviewer.clone().unwrap_or_else(|| "device".into())
}

/// Runs `signoff upstream …`.
pub fn upstream(g: &Global, out: &Out, cmd: UpstreamCommand, clock: &dyn Clock) -> Result<()> {
    let url = match cmd {
        UpstreamCommand::Set { url } => {
            let set = open_write(g, clock)?.set_upstream(Some(&url), &actor(g), clock)?;
            if let Some(u) = &set {
                out.line(&format!("replies will be posted to {u}/replies"));
            }
            set
        }
        UpstreamCommand::Clear => {
            open_write(g, clock)?.set_upstream(None, &actor(g), clock)?;
            out.line("no upstream: dispositions queue no outbound actions");
            None
        }
        UpstreamCommand::Show => {
            let u = open_read(g, clock)?.upstream()?;
            out.line(
                u.as_deref()
                    .unwrap_or("no upstream set (signoff upstream set URL)"),
            );
            u
        }
    };
    out.json(&serde_json::json!({ "upstream": url }));
    Ok(())
}

/// One line per action.
fn print(out: &Out, list: &[ActionRecord]) {
    for a in list {
        out.line(&format!(
            "#{:<5} {:<12} {:<12} attempts {:<2} status {:<4} key {}  {}",
            a.seq,
            clip(&a.case_id, 12),
            a.state,
            a.attempts,
            a.last_status.map_or("-".into(), |s| s.to_string()),
            &a.idempotency_key[..16],
            match (&a.last_error, a.in_flight) {
                (_, true) => "in flight (resend is safe)".to_string(),
                (Some(e), false) if a.state != "sent" && a.state != "compensated" => clip(e, 60),
                _ => String::new(),
            }
        ));
    }
}

/// Sends what is due for one case after a decision or undo, and says how it went; a failure
/// is recorded (state `failed`) and printed, not an error of the command.
pub fn send_after(ws: &mut Workspace, case_seq: i64, out: &Out, clock: &dyn Clock) -> Result<()> {
    let done =
        signoff_api::actions::send_due(ws, Some(case_seq), &SendArgs::default().options(), clock)?;
    for a in &done {
        match a.state.as_str() {
            "failed" | "compensating" => eprintln!(
                "signoff: action #{} is {}: {}; retry with `signoff actions send {}`",
                a.seq,
                a.state,
                a.last_error.as_deref().unwrap_or("no answer"),
                a.seq
            ),
            s => out.line(&format!("action #{}: {s}", a.seq)),
        }
    }
    Ok(())
}

/// Runs `signoff actions …`. `send` and `compensate` exit non-zero when an action they sent
/// ended failed (or its compensation is still pending), after printing the table.
pub fn run(g: &Global, out: &Out, cmd: ActionsCommand, clock: &dyn Clock) -> Result<()> {
    let (list, sent) = match cmd {
        ActionsCommand::List { case } => {
            let ws = open_read(g, clock)?;
            let seq = case.map(|c| ws.case_seq(&c)).transpose()?;
            (ws.actions(seq)?, false)
        }
        ActionsCommand::Send { id, opts } => {
            let mut ws = open_write(g, clock)?;
            let list = match id {
                Some(id) => vec![signoff_api::actions::send(
                    &mut ws,
                    id,
                    true,
                    &opts.options(),
                    clock,
                )?],
                None => signoff_api::actions::send_due(&mut ws, None, &opts.options(), clock)?,
            };
            (list, true)
        }
        ActionsCommand::Compensate { id, reason, opts } => {
            let mut ws = open_write(g, clock)?;
            let a = ws.compensate_action(id, &reason, &actor(g), clock)?;
            if a.state == "compensating" {
                let a = signoff_api::actions::send(&mut ws, id, false, &opts.options(), clock)?;
                (vec![a], true)
            } else {
                (vec![a], false)
            }
        }
    };
    print(out, &list);
    out.json(&list);
    let stuck: Vec<String> = list
        .iter()
        .filter(|a| sent && matches!(a.state.as_str(), "failed" | "compensating"))
        .map(|a| {
            format!(
                "#{} {}: {}",
                a.seq,
                a.state,
                a.last_error.as_deref().unwrap_or("no answer")
            )
        })
        .collect();
    if !stuck.is_empty() {
        anyhow::bail!(
            "{} action(s) did not go through ({}); retry with `signoff actions send ID`",
            stuck.len(),
            stuck.join("; ")
        );
    }
    Ok(())
}
