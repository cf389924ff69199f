//! `signoff hub …`: serve a team hub, create its first admin, and, from a workstation, enrol
//! with it, list and approve devices, and post case files to it. Every request is signed with
//! this workspace's device key.

use crate::output::Out;
use crate::Global;
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use signoff_core::{Clock, SystemClock};
use signoff_sync::hub::{HubClient, HubClientError};
use std::path::PathBuf;
use std::sync::Arc;

/// `signoff hub` subcommands.
#[derive(Subcommand)]
pub enum HubCommand {
    /// Create (or migrate) a hub database and make this workspace's device key its first admin.
    Init {
        /// `postgres://USER@HOST:PORT/DB` or `sqlite:PATH`.
        #[arg(long)]
        db: String,
        /// The admin device's name.
        #[arg(long, default_value = "admin")]
        name: String,
    },
    /// Serve the hub's API until interrupted.
    Serve {
        /// `postgres://USER@HOST:PORT/DB` or `sqlite:PATH`.
        #[arg(long)]
        db: String,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8765")]
        listen: String,
        /// How long a lease lasts, in seconds (renewed by every sync).
        #[arg(long, default_value_t = 4 * 3600)]
        lease_secs: i64,
        /// The largest request body, in MiB.
        #[arg(long, default_value_t = 64)]
        max_body_mib: usize,
    },
    /// Ask to join a hub with this workspace's device key (a lead approves it).
    Enrol {
        /// The hub's URL (`http://host:port`).
        url: String,
        /// A name for this device at the hub.
        #[arg(long, default_value = "workstation")]
        name: String,
    },
    /// List the hub's devices (leads and admins).
    Devices {
        /// The hub's URL (default: the one this workspace enrolled with).
        #[arg(long, env = "SIGNOFF_HUB")]
        hub: Option<String>,
    },
    /// Approve a device as reviewer or lead (leads approve reviewers; admins make leads).
    Approve {
        /// The device id (`signoff hub devices`).
        device: String,
        /// `reviewer` or `lead`.
        #[arg(long)]
        role: String,
        /// The hub's URL (default: the one this workspace enrolled with).
        #[arg(long, env = "SIGNOFF_HUB")]
        hub: Option<String>,
    },
    /// Revoke a device: the hub refuses it everything from now on.
    Revoke {
        /// The device id.
        device: String,
        /// The hub's URL (default: the one this workspace enrolled with).
        #[arg(long, env = "SIGNOFF_HUB")]
        hub: Option<String>,
    },
    /// Post a case file (JSONL, JSON array or CSV) to the hub, all-or-nothing.
    Import {
        /// The case file.
        file: PathBuf,
        /// The hub's URL (default: the one this workspace enrolled with).
        #[arg(long, env = "SIGNOFF_HUB")]
        hub: Option<String>,
    },
    /// Print the hub's witness verifier key (C2SP `cosignature/v1`) on the last line.
    Key {
        /// The hub's URL (default: the one this workspace enrolled with).
        #[arg(long, env = "SIGNOFF_HUB")]
        hub: Option<String>,
    },
    /// List dispositions the hub did not apply (stale fencing token, case not held), for a
    /// lead to resolve.
    Conflicts {
        /// The hub's URL (default: the one this workspace enrolled with).
        #[arg(long, env = "SIGNOFF_HUB")]
        hub: Option<String>,
    },
    /// Resolve a conflicting disposition (leads): keep the device's version or the hub's.
    Resolve {
        /// The device whose disposition conflicted.
        device: String,
        /// Its entry index (`signoff hub conflicts`).
        index: u64,
        /// `device` (apply its disposition) or `hub` (keep the hub's case as it is).
        #[arg(long)]
        keep: String,
        /// The hub's URL (default: the one this workspace enrolled with).
        #[arg(long, env = "SIGNOFF_HUB")]
        hub: Option<String>,
    },
    /// How a case was handled on every device that touched it, each entry with its inclusion
    /// proof against that device's cosigned checkpoint (leads).
    History {
        /// The case id.
        #[arg(long)]
        case: String,
        /// Only this UTC day (YYYY-MM-DD).
        #[arg(long)]
        on: Option<String>,
        /// The hub's URL (default: the one this workspace enrolled with).
        #[arg(long, env = "SIGNOFF_HUB")]
        hub: Option<String>,
    },
    /// Re-verify every device log the hub holds (leads); exits non-zero when one fails.
    Verify {
        /// The hub's URL (default: the one this workspace enrolled with).
        #[arg(long, env = "SIGNOFF_HUB")]
        hub: Option<String>,
    },
    /// Print the hub API's OpenAPI document.
    Openapi,
}

/// This workspace's device key as a request signer.
pub fn signer(g: &Global, clock: &dyn Clock) -> Result<Arc<dyn signoff_audit::note::Signer>> {
    drop(crate::open_write(g, clock)?);
    Ok(signoff_api::keys::load_or_create(
        crate::key_place(g).device(),
    )?)
}

/// The hub URL given, else the one this workspace enrolled with.
pub fn hub_url(g: &Global, given: Option<String>, clock: &dyn Clock) -> Result<String> {
    if let Some(u) = given {
        return Ok(u);
    }
    let ws = crate::open_read(g, clock)?;
    ws.hub_url()?.context(
        "no hub: pass --hub URL (or set SIGNOFF_HUB), or enrol first with `signoff hub enrol URL`",
    )
}

/// A signed client for the hub at `url`.
pub fn client(g: &Global, url: &str, clock: &dyn Clock) -> Result<HubClient> {
    Ok(HubClient::new(
        url,
        signer(g, clock)?,
        Arc::new(SystemClock),
    )?)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Runs one `signoff hub` subcommand.
pub fn run(g: &Global, out: &Out, cmd: HubCommand, clock: &dyn Clock) -> Result<()> {
    match cmd {
        HubCommand::Init { db, name } => {
            let key = signer(g, clock)?;
            let now = clock.now().timestamp_millis();
            let d = runtime()?.block_on(signoff_hub::init(&db, key.as_ref(), &name, now))?;
            out.line(&format!(
                "hub database ready; device {} ({}) is its admin",
                d.device, d.name
            ));
            out.json(&d);
        }
        HubCommand::Serve {
            db,
            listen,
            lease_secs,
            max_body_mib,
        } => serve(out, &db, &listen, lease_secs, max_body_mib)?,
        HubCommand::Enrol { url, name } => {
            let c = client(g, &url, clock)?;
            let d = c.enrol(&name)?;
            let mut ws = crate::open_write(g, clock)?;
            let witness = c.witness_key()?;
            ws.set_hub(c.base(), &witness, clock)?;
            out.line(&format!(
                "enrolled with {} as device {} ({}); a lead approves it with `signoff hub approve {} --role reviewer`",
                c.base(),
                d["device"].as_str().unwrap_or(""),
                d["role"].as_str().unwrap_or(""),
                d["device"].as_str().unwrap_or("")
            ));
            out.json(&d);
        }
        HubCommand::Devices { hub } => {
            let c = client(g, &hub_url(g, hub, clock)?, clock)?;
            let list = c.call("the device list", "GET", "/v1/devices", None)?;
            for d in list.as_array().into_iter().flatten() {
                out.line(&format!(
                    "{:<16} {:<8} {:<24} {}",
                    d["device"].as_str().unwrap_or(""),
                    d["role"].as_str().unwrap_or(""),
                    d["enrolled_at"].as_str().unwrap_or(""),
                    d["name"].as_str().unwrap_or("")
                ));
            }
            out.json(&list);
        }
        HubCommand::Approve { device, role, hub } => {
            if !matches!(role.as_str(), "reviewer" | "lead") {
                bail!("--role must be reviewer or lead, not {role:?}");
            }
            set_role(g, out, &device, &role, hub, clock)?;
        }
        HubCommand::Revoke { device, hub } => set_role(g, out, &device, "revoked", hub, clock)?,
        HubCommand::Import { file, hub } => {
            let c = client(g, &hub_url(g, hub, clock)?, clock)?;
            let body =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let is_csv = file
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
            let ct = if is_csv {
                "text/csv"
            } else {
                "application/x-ndjson"
            };
            // The hub names the body after its format; errors are shown against the file.
            let first = body.iter().find(|b| !b.is_ascii_whitespace());
            let shown_as = match (is_csv, first) {
                (true, _) => "cases.csv",
                (false, Some(b'[')) => "cases.json",
                _ => "cases.jsonl",
            };
            let r = match c.call_bytes("the case file", "POST", "/v1/cases", &body, ct) {
                Err(HubClientError::Refused { code, message, .. }) if code == "invalid_cases" => {
                    bail!("{}", message.replace(shown_as, &file.display().to_string()))
                }
                other => other?,
            };
            out.line(&format!(
                "{}: {} new, {} unchanged, {} conflicting (kept at the hub, not applied)",
                file.display(),
                r["new"],
                r["unchanged"],
                r["conflicts"]
            ));
            out.json(&r);
        }
        HubCommand::Key { hub } => {
            let c = client(g, &hub_url(g, hub, clock)?, clock)?;
            let vkey = c.witness_key()?;
            out.line(&vkey);
            out.json(&serde_json::json!({ "vkey": vkey }));
        }
        HubCommand::Conflicts { hub } => {
            let c = client(g, &hub_url(g, hub, clock)?, clock)?;
            let list = c.call("the conflict queue", "GET", "/v1/conflicts", None)?;
            for d in list.as_array().into_iter().flatten() {
                out.line(&format!(
                    "{} #{:<6} {:<12} {:<10} {}",
                    d["device"].as_str().unwrap_or(""),
                    d["index"],
                    d["case_id"].as_str().unwrap_or(""),
                    d["decision"]
                        .as_str()
                        .unwrap_or(d["kind"].as_str().unwrap_or("")),
                    d["reason"].as_str().unwrap_or("")
                ));
            }
            out.json(&list);
        }
        HubCommand::Resolve {
            device,
            index,
            keep,
            hub,
        } => {
            if !matches!(keep.as_str(), "device" | "hub") {
                bail!("--keep must be device or hub, not {keep:?}");
            }
            let c = client(g, &hub_url(g, hub, clock)?, clock)?;
            let r = c.call(
                "the resolution",
                "POST",
                "/v1/conflicts/resolve",
                Some(&serde_json::json!({"device": device, "index": index, "keep": keep})),
            )?;
            out.line(&format!(
                "case {}: kept the {} version; the hub's case is {}",
                r["case_id"].as_str().unwrap_or(""),
                keep,
                r["state"].as_str().unwrap_or("absent")
            ));
            out.json(&r);
        }
        HubCommand::History { case, on, hub } => {
            let c = client(g, &hub_url(g, hub, clock)?, clock)?;
            let mut path = format!("/v1/history?case={}", query_escape(&case));
            if let Some(d) = on {
                path.push_str(&format!("&on={}", query_escape(&d)));
            }
            let h = c.call("the team history", "GET", &path, None)?;
            out.line(&format!(
                "{} (hub: {}) — {} device(s), {} conflict(s)",
                case,
                h["state"].as_str().unwrap_or("not at the hub"),
                h["devices"].as_array().map_or(0, Vec::len),
                h["conflicts"].as_array().map_or(0, Vec::len)
            ));
            for d in h["devices"].as_array().into_iter().flatten() {
                for e in d["entries"].as_array().into_iter().flatten() {
                    out.line(&format!(
                        "{} #{:<6} {} {:<12} {}",
                        d["device"].as_str().unwrap_or(""),
                        e["index"],
                        e["at"].as_str().unwrap_or(""),
                        e["kind"].as_str().unwrap_or(""),
                        e["actor"].as_str().unwrap_or("")
                    ));
                }
            }
            out.json(&h);
        }
        HubCommand::Verify { hub } => {
            let c = client(g, &hub_url(g, hub, clock)?, clock)?;
            let r = c.call("the hub's verification", "GET", "/v1/verify", None)?;
            for f in r["failures"].as_array().into_iter().flatten() {
                eprintln!(
                    "signoff: device {} fails verification{}: {}",
                    f["device"].as_str().unwrap_or(""),
                    f["index"]
                        .as_u64()
                        .map_or(String::new(), |i| format!(" at entry {i}")),
                    f["reason"].as_str().or(f["why"].as_str()).unwrap_or("")
                );
            }
            out.line(&format!(
                "hub verified: {} device log(s), {} entries{}",
                r["devices"],
                r["entries"],
                if r["ok"] == true { "" } else { "; FAILED" }
            ));
            out.json(&r);
            if r["ok"] != true {
                bail!("the hub holds a device log that does not verify");
            }
        }
        HubCommand::Openapi => {
            print!("{}", signoff_hub::openapi::document());
        }
    }
    Ok(())
}

/// Percent-encodes a query value.
fn query_escape(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn set_role(
    g: &Global,
    out: &Out,
    device: &str,
    role: &str,
    hub: Option<String>,
    clock: &dyn Clock,
) -> Result<()> {
    let c = client(g, &hub_url(g, hub, clock)?, clock)?;
    let d = c.call(
        "the role change",
        "POST",
        &format!("/v1/devices/{device}/role"),
        Some(&serde_json::json!({ "role": role })),
    )?;
    out.line(&format!("device {device} is now {role}"));
    out.json(&d);
    Ok(())
}

fn serve(out: &Out, db: &str, listen: &str, lease_secs: i64, max_body_mib: usize) -> Result<()> {
    if lease_secs < 1 {
        bail!("--lease-secs must be at least 1");
    }
    runtime()?.block_on(async {
        let store = signoff_hub::store::open(db).await?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        out.line(&format!(
            "hub ({}) listening on http://{addr}",
            store.backend()
        ));
        out.json(
            &serde_json::json!({"listen": format!("http://{addr}"), "backend": store.backend()}),
        );
        let state = signoff_hub::HubState::open(
            store,
            Arc::new(SystemClock),
            signoff_hub::HubConfig {
                lease_secs,
                max_body: max_body_mib * 1024 * 1024,
                ..Default::default()
            },
        )
        .await?;
        signoff_hub::serve(listener, state, shutdown_signal()).await?;
        Ok(())
    })
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let term = async {
        #[cfg(unix)]
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            return;
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
