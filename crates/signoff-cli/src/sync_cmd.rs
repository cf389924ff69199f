//! `signoff sync`: lease cases from the team hub into this workspace's queue. The leased
//! cases are imported like a pulled file (one audited `sync` entry, all-or-nothing) and the
//! leases (case, fencing token, expiry) are remembered in the workspace. An unreachable hub is
//! said plainly; the workspace is untouched and review goes on offline.

use crate::hub_cmd::{client, hub_url};
use crate::output::Out;
use crate::Global;
use anyhow::{Context, Result};
use signoff_core::Clock;
use std::io::Write;

/// The workspace setting holding the leases of the last sync (JSON).
pub const LEASES_SETTING: &str = "hub_leases";

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

/// Runs `signoff sync`.
pub fn run(g: &Global, out: &Out, args: SyncArgs, clock: &dyn Clock) -> Result<()> {
    let url = hub_url(g, args.hub, clock)?;
    let c = client(g, &url, clock)?;
    let answer = c.lease(args.max)?;
    let mut ws = crate::open_write(g, clock)?;
    let (mut new, mut unchanged, mut conflicts) = (0, 0, 0);
    if !answer.leases.is_empty() {
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
        let r = ws.import_pulled(
            &path,
            &format!("{}/v1/leases", c.base()),
            clock,
            &mut |_| {},
        )?;
        (new, unchanged, conflicts) = (r.new, r.unchanged, r.conflicts);
    }
    let leases: Vec<serde_json::Value> = answer
        .leases
        .iter()
        .map(|l| serde_json::json!({"case": l.case.id, "fence": l.fence, "expires_at": l.expires_at}))
        .collect();
    ws.set_setting(LEASES_SETTING, &serde_json::to_string(&leases)?)?;
    out.line(&format!(
        "{}: holding {} case(s) under lease ({} newly leased); {new} new in the queue, {unchanged} already here, {conflicts} conflicting",
        c.base(),
        answer.leases.len(),
        answer.new
    ));
    if new > 0 {
        crate::classify_new(&mut ws, out, clock)?;
    }
    out.json(&serde_json::json!({
        "leased": answer.leases.len(),
        "new_leases": answer.new,
        "new": new,
        "unchanged": unchanged,
        "conflicts": conflicts,
        "leases": leases,
        "pushed": 0,
        "acknowledged_index": null,
        "cosigned_size": null,
    }));
    Ok(())
}
