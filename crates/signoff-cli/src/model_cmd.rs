//! `signoff model`: the workspace's model routing (`models.toml`) and the API keys of remote
//! models. `model list` shows the models and routes; `model key set NAME` reads a key from
//! stdin into the OS key store (or, where none is usable, a 0600 file in the workspace, and
//! says so). Keys are never printed.

use crate::output::Out;
use crate::{workspace_dir, Global};
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use signoff_action::router::{ModelKind, Models};
use signoff_api::keys::{model_key, set_model_key, ModelKeyPlace};
use std::io::Read;

/// Subcommands of `signoff model`.
#[derive(Subcommand)]
pub enum ModelCommand {
    /// Show the models and routes of the workspace's models.toml (seeded if missing).
    List,
    /// API keys of remote models.
    #[command(subcommand)]
    Key(KeyCommand),
}

/// Subcommands of `signoff model key`.
#[derive(Subcommand)]
pub enum KeyCommand {
    /// Read a model's API key from stdin and store it (OS key store, else a 0600 file).
    Set {
        /// The key's name (what `key = "..."` in models.toml names).
        name: String,
    },
}

fn workspace(g: &Global) -> Result<std::path::PathBuf> {
    let (dir, _) = workspace_dir(g);
    if !dir.is_dir() {
        bail!(
            "no workspace at {} (run `signoff init` first)",
            dir.display()
        );
    }
    Ok(dir)
}

/// Runs `signoff model`.
pub fn run(g: &Global, out: &Out, cmd: ModelCommand) -> Result<()> {
    let dir = workspace(g)?;
    match cmd {
        ModelCommand::List => list(&dir, out),
        ModelCommand::Key(KeyCommand::Set { name }) => {
            let mut key = String::new();
            std::io::stdin()
                .take(64 * 1024)
                .read_to_string(&mut key)
                .context("reading the key from stdin")?;
            match set_model_key(&dir, &name, &key)? {
                ModelKeyPlace::Store => {
                    out.line(&format!("key {name:?} stored in the OS key store"));
                    out.json(&serde_json::json!({"key": name, "stored": "os-key-store"}));
                }
                ModelKeyPlace::File(path, why) => {
                    eprintln!(
                        "signoff: no usable OS key store ({why}); the key is in {} (mode 0600) instead",
                        path.display()
                    );
                    out.line(&format!("key {name:?} stored in {}", path.display()));
                    out.json(&serde_json::json!({"key": name, "stored": "file", "path": path}));
                }
            }
            Ok(())
        }
    }
}

fn list(dir: &std::path::Path, out: &Out) -> Result<()> {
    let m = Models::load_or_seed(dir)?;
    out.line(&format!("models ({}):", m.path.display()));
    let mut models = Vec::new();
    for spec in m.models.values() {
        let (line, json) = match &spec.kind {
            ModelKind::Offline => (
                format!("  {:<12} offline   Signoff's extractive drafter", spec.name),
                serde_json::json!({"name": spec.name, "kind": "offline"}),
            ),
            ModelKind::Local(l) => {
                let dir = l.model_dir();
                (
                    format!(
                        "  {:<12} local     {} rewording offline drafts, from {} (budget {} ms)",
                        spec.name,
                        l.model,
                        dir.display(),
                        l.budget.as_millis()
                    ),
                    serde_json::json!({
                        "name": spec.name, "kind": "local", "model": l.model, "model_dir": dir,
                        "total_timeout_ms": l.budget.as_millis() as u64,
                    }),
                )
            }
            ModelKind::OpenAi(r) => {
                let key = match &r.key {
                    None => "no key".to_string(),
                    Some(k) => match model_key(dir, k) {
                        Ok(Some(_)) => format!("key {k:?} set"),
                        Ok(None) => format!("key {k:?} NOT SET (signoff model key set {k})"),
                        Err(e) => format!("key {k:?}: {e}"),
                    },
                };
                (
                    format!(
                        "  {:<12} openai    {} at {} ({key}; timeouts connect {} ms, idle {} ms, total {} ms; {} attempt(s){})",
                        spec.name,
                        r.model,
                        r.base_url,
                        r.connect_timeout.as_millis(),
                        r.idle_timeout.as_millis(),
                        r.total_timeout.as_millis(),
                        r.max_attempts,
                        if r.stream { "; streamed" } else { "" }
                    ),
                    serde_json::json!({
                        "name": spec.name, "kind": "openai", "model": r.model, "base_url": r.base_url,
                        "key": r.key, "key_set": r.key.as_deref().map(|k| matches!(model_key(dir, k), Ok(Some(_)))),
                        "connect_timeout_ms": r.connect_timeout.as_millis() as u64,
                        "idle_timeout_ms": r.idle_timeout.as_millis() as u64,
                        "total_timeout_ms": r.total_timeout.as_millis() as u64,
                        "max_attempts": r.max_attempts, "stream": r.stream,
                    }),
                )
            }
        };
        out.line(&line);
        models.push(json);
    }
    out.line("routes (first match wins; offline is always the last fallback):");
    let mut routes = Vec::new();
    for r in &m.routes {
        out.line(&format!(
            "  line {:<4} label {:<12} band {:<7} -> {}",
            r.line,
            r.label.as_deref().unwrap_or("*"),
            r.band.as_deref().unwrap_or("*"),
            r.models.join(" -> ")
        ));
        routes.push(serde_json::json!({
            "line": r.line, "label": r.label, "band": r.band, "models": r.models,
        }));
    }
    if m.routes.is_empty() {
        out.line("  (none: every case goes to offline)");
    }
    out.json(&serde_json::json!({"file": m.path, "models": models, "routes": routes}));
    Ok(())
}
