//! `signoff sync`: push this workspace's signed audit log to the team hub (resumable from the
//! hub's size, in batches ending on signed checkpoints; the hub applies the dispositions and
//! cosigns each checkpoint as witness, and the cosigned checkpoints are kept), then lease cases
//! into this workspace's queue. The leased cases are imported like a pulled file (one audited `sync` entry, all-or-nothing) and the
//! leases (case, fencing token, expiry) are kept in the workspace's `hub_leases` table under
//! an audited `hub_leases` entry. An unreachable hub (or one whose database is down) is not a
//! failure: the workspace is untouched, review goes on offline, and `sync` says so and exits 0
//! with `"offline": true`.

use crate::hub_cmd::{client, hub_url};
use crate::output::Out;
use crate::Global;
use anyhow::{Context, Result};
use signoff_core::Clock;
use signoff_store::hub::HeldLease;
use signoff_sync::hub::{HubClientError, LeaseAnswer};
use std::io::Write;

/// Options of `signoff sync`.
#[derive(clap::Args)]
pub struct SyncArgs {
    /// The hub's URL (default: the one this workspace enrolled with).
    #[arg(long, env = "SIGNOFF_HUB")]
    hub: Option<String>,
    /// The most cases to hold under lease.
    #[arg(long, default_value_t = 50)]
    max: u32,
}

/// Entries per pushed batch (a batch always ends on one of the log's signed checkpoints).
const PUSH_BATCH: u64 = 2000;

/// What pushing the log did.
#[derive(Debug, Default)]
struct Pushed {
    entries: u64,
    size: u64,
    cosigned_size: u64,
    applied: u64,
    conflicts: u64,
}

/// Runs `signoff sync`: push the log, lease, push what the lease recorded.
pub fn run(g: &Global, out: &Out, args: SyncArgs, clock: &dyn Clock) -> Result<()> {
    let url = hub_url(g, args.hub, clock)?;
    let c = client(g, &url, clock)?;
    let mut ws = crate::open_write(g, clock)?;
    let mut pushed = match push(&mut ws, &c, clock) {
        Ok(p) => p,
        Err(e) => match e.downcast::<HubClientError>() {
            Ok(h) if is_offline(&h) => {
                drop(ws);
                return offline(g, out, c.base(), &h, clock);
            }
            Ok(h) => return Err(h.into()),
            Err(e) => return Err(e),
        },
    };
    let answer = match c.lease(args.max) {
        Ok(a) => a,
        Err(e) if is_offline(&e) => {
            drop(ws);
            return offline(g, out, c.base(), &e, clock);
        }
        Err(e) => return Err(e.into()),
    };
    let (new, unchanged, conflicts) = import_leased(&mut ws, &answer, c.base(), clock)?;
    let held = held_of(&answer)?;
    ws.record_hub_leases(&held, clock)?;
    match push(&mut ws, &c, clock) {
        Ok(p) => {
            pushed.entries += p.entries;
            pushed.size = p.size;
            pushed.cosigned_size = p.cosigned_size;
            pushed.applied += p.applied;
            pushed.conflicts += p.conflicts;
        }
        // The lease is taken and kept; the new entries go up with the next sync.
        Err(e) if e.downcast_ref::<HubClientError>().is_some_and(is_offline) => {}
        Err(e) => return Err(e),
    }
    out.line(&format!(
        "{}: holding {} case(s) under lease ({} newly leased); {new} new in the queue, {unchanged} already here, {conflicts} conflicting",
        c.base(),
        answer.leases.len(),
        answer.new
    ));
    out.line(&format!(
        "log: {} entries pushed, the hub holds {} and witnessed up to {}; {} disposition(s) applied at the hub, {} sent to its conflict queue",
        pushed.entries, pushed.size, pushed.cosigned_size, pushed.applied, pushed.conflicts
    ));
    if new > 0 {
        crate::classify_new(&mut ws, out, clock)?;
    }
    let leases: Vec<serde_json::Value> = answer
        .leases
        .iter()
        .map(|l| serde_json::json!({"case": l.case.id, "fence": l.fence, "expires_at": l.expires_at}))
        .collect();
    out.json(&serde_json::json!({
        "offline": false,
        "leased": answer.leases.len(),
        "new_leases": answer.new,
        "new": new,
        "unchanged": unchanged,
        "conflicts": conflicts,
        "leases": leases,
        "pushed": pushed.entries,
        "acknowledged_index": pushed.size.checked_sub(1),
        "cosigned_size": pushed.cosigned_size,
        "dispositions_applied": pushed.applied,
        "disposition_conflicts": pushed.conflicts,
    }));
    Ok(())
}

/// Pushes the log from where the hub's copy ends, in batches that each end on a signed
/// checkpoint, keeping each checkpoint the hub cosigns.
fn push(
    ws: &mut signoff_store::Workspace,
    c: &signoff_sync::hub::HubClient,
    clock: &dyn Clock,
) -> Result<Pushed> {
    let head = c.log_head()?;
    let mut p = Pushed {
        size: head.size,
        cosigned_size: head.cosigned_size,
        ..Default::default()
    };
    let fences: std::collections::BTreeMap<String, i64> = ws
        .hub_leases()?
        .into_iter()
        .map(|l| (l.case_id, l.fence))
        .collect();
    while let Some(end) = ws.push_end(p.size, PUSH_BATCH)? {
        let leaves = ws.audit_leaves(p.size, end)?;
        let checkpoint = ws
            .checkpoint_at(end)?
            .with_context(|| format!("this log has no signed checkpoint at {end} entries"))?;
        let ack = c.push_log(p.size, &leaves, &checkpoint, &fences)?;
        if ack.size <= p.size {
            break;
        }
        if let Some(note) = &ack.cosigned_checkpoint {
            ws.record_cosigned(ack.cosigned_size, note, clock)?;
        }
        p.entries += ack.accepted;
        p.applied += ack.applied;
        p.conflicts += ack.conflicts;
        p.size = ack.size;
        p.cosigned_size = ack.cosigned_size;
    }
    Ok(p)
}

/// Whether the error means "no hub right now" (unreachable, or its database is down) rather
/// than a refusal that needs someone's attention.
fn is_offline(e: &HubClientError) -> bool {
    match e {
        HubClientError::Unreachable { .. } => true,
        HubClientError::Refused { status, .. } => *status == 503,
        _ => false,
    }
}

/// Reports working offline: nothing changed; the leases still held (and not yet expired) are
/// counted from the workspace.
fn offline(g: &Global, out: &Out, base: &str, e: &HubClientError, clock: &dyn Clock) -> Result<()> {
    let ws = crate::open_read(g, clock)?;
    let now = clock.now().timestamp_millis();
    let held = ws
        .hub_leases()?
        .into_iter()
        .filter(|l| l.expires_at_ms > now)
        .count();
    out.line(&format!(
        "{e}; {held} case(s) still held under lease; review goes on offline and the next sync catches up"
    ));
    out.json(&serde_json::json!({
        "offline": true,
        "hub": base,
        "error": e.to_string(),
        "leased": held,
        "new_leases": 0,
        "new": 0,
        "unchanged": 0,
        "conflicts": 0,
        "pushed": 0,
        "acknowledged_index": null,
        "cosigned_size": null,
    }));
    Ok(())
}

/// Imports the leased cases as one pulled file; (new, unchanged, conflicts).
fn import_leased(
    ws: &mut signoff_store::Workspace,
    answer: &LeaseAnswer,
    base: &str,
    clock: &dyn Clock,
) -> Result<(u64, u64, u64)> {
    if answer.leases.is_empty() {
        return Ok((0, 0, 0));
    }
    let tmp = tempfile::Builder::new()
        .prefix("sync-")
        .tempdir_in(ws.dir())?;
    let path = tmp.path().join("leased.jsonl");
    let mut f =
        std::fs::File::create(&path).with_context(|| format!("writing {}", path.display()))?;
    for l in &answer.leases {
        serde_json::to_writer(&mut f, &l.case)?;
        f.write_all(b"\n")?;
    }
    f.sync_all()?;
    drop(f);
    let r = ws.import_pulled(&path, &format!("{base}/v1/leases"), clock, &mut |_| {})?;
    Ok((r.new, r.unchanged, r.conflicts))
}

/// The leases as the workspace keeps them.
fn held_of(answer: &LeaseAnswer) -> Result<Vec<HeldLease>> {
    answer
        .leases
        .iter()
        .map(|l| {
            let expires =
                chrono::DateTime::parse_from_rfc3339(&l.expires_at).with_context(|| {
                    format!(
                        "the hub's lease of {} has an unreadable expiry {:?}",
                        l.case.id, l.expires_at
                    )
                })?;
            Ok(HeldLease {
                case_id: l.case.id.clone(),
                fence: l.fence,
                expires_at_ms: expires.timestamp_millis(),
            })
        })
        .collect()
}
