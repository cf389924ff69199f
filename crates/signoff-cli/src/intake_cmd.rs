//! `signoff intake train|classify|thresholds`: train a model into the workspace (and/or a
//! file), (re)classify workspace cases, and print or save threshold versions. One-off text
//! classification against a model file stays in `eval_intake`.

use crate::output::Out;
use crate::Global;
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use signoff_api::intake::{self, LabelledSet};
use signoff_core::Clock;
use signoff_intake::cache::EmbeddingCache;
use signoff_intake::data::read_jsonl;
use signoff_intake::Config;
use signoff_store::intake::Scope;
use std::path::PathBuf;

/// Intake commands.
#[derive(Subcommand)]
pub enum IntakeCommand {
    /// Train the classifier on labelled rows (`{"text","label"}` JSONL) and put the model
    /// artefact (versioned, content-hashed) in force in the workspace; `--out` also writes it
    /// to a file (only the file when `--workspace` is not given).
    Train {
        /// Training rows.
        #[arg(long, alias = "train")]
        data: PathBuf,
        /// Also (or, without --workspace, only) write the artefact here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Model configuration (see `signoff eval intake --model`).
        #[arg(long, default_value = "ensemble")]
        model: String,
        /// Directory for cached sentence embeddings.
        #[arg(long)]
        cache: Option<PathBuf>,
    },
    /// Classify workspace cases (rules first, then the model in force): the unclassified ones
    /// by default, `--all`, or `--case ID`. With `--text`, classify one text against
    /// `--model-file` instead and print the path, label, confidence, band and why.
    Classify {
        /// Reclassify every case.
        #[arg(long, conflicts_with_all = ["case", "text"])]
        all: bool,
        /// (Re)classify one case.
        #[arg(long, conflicts_with = "text")]
        case: Option<String>,
        /// A model artefact file (with --text).
        #[arg(long, requires = "text")]
        model_file: Option<PathBuf>,
        /// A rules file checked before the model (with --text).
        #[arg(long, requires = "text")]
        rules: Option<PathBuf>,
        /// Subject line (with --text).
        #[arg(long, default_value = "")]
        subject: String,
        /// A text to classify against --model-file.
        #[arg(long, requires = "model_file")]
        text: Option<String>,
    },
    /// Print the threshold versions; with `--set`, compute thresholds meeting the target
    /// precisions on a labelled set, show what they would do to the open queue, and save
    /// them as a new version (an audited `threshold_change`).
    Thresholds {
        /// Target precision per band, e.g. `high=0.97,medium=0.9`.
        #[arg(long)]
        set: Option<String>,
        /// Labelled set: `decided` (decided cases with a label), `labelled` (every case with a
        /// label from its file), or a JSONL file of `{"text","label"}` rows.
        #[arg(long, default_value = "decided")]
        on: String,
        /// Show the proposal without saving it.
        #[arg(long)]
        dry_run: bool,
    },
}

fn targets(spec: &str) -> Result<(f64, f64)> {
    let (mut high, mut medium) = (None, None);
    for kv in spec.split(',').filter(|s| !s.is_empty()) {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("--set {kv:?}: expected band=precision"))?;
        let v: f64 = v
            .trim()
            .parse()
            .with_context(|| format!("--set {k}: {v:?} is not a number"))?;
        match k.trim() {
            "high" => high = Some(v),
            "medium" => medium = Some(v),
            other => bail!("--set: unknown band {other:?} (high, medium)"),
        }
    }
    match (high, medium) {
        (Some(h), Some(m)) => Ok((h, m)),
        _ => bail!("--set needs both bands, e.g. high=0.97,medium=0.9"),
    }
}

/// Runs an intake subcommand.
pub fn run(cmd: IntakeCommand, g: &Global, out: &Out, clock: &dyn Clock) -> Result<()> {
    let encoder_dir = intake::model_dir_from_env();
    match cmd {
        IntakeCommand::Train {
            data,
            out: file,
            model,
            cache,
        } => {
            let rows = read_jsonl(&data)?;
            let config = Config::parse(&model).map_err(anyhow::Error::msg)?;
            let encoder = if config.embeddings {
                match intake::embedder(&encoder_dir) {
                    Ok(e) => Some(e),
                    Err(e) => {
                        eprintln!("signoff: {e}; training the lexical model instead");
                        None
                    }
                }
            } else {
                None
            };
            let cache_dir = crate::eval_intake::cache_dir(cache.as_deref());
            let pooling = config.pooling;
            let (bytes, report) =
                intake::train_artefact(&rows, &config, encoder.as_deref(), &mut |e, texts| {
                    let mut c = EmbeddingCache::open(&cache_dir, e.version(), pooling)
                        .map_err(signoff_intake::IntakeError::from)?;
                    Ok(c.embed(e, texts)
                        .map_err(signoff_intake::IntakeError::from)?)
                })?;
            if let Some(path) = &file {
                std::fs::write(path, &bytes)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let install = g.workspace.is_some() || file.is_none();
            let version = if install {
                let mut ws = crate::open_write(g, clock)?;
                let actor = g.reviewer.clone().unwrap_or_else(|| "device".into());
                Some(intake::install(&mut ws, &bytes, &actor, clock)?)
            } else {
                None
            };
            out.line(&format!(
                "{} ({}, {} labels, {} rows, {} bytes) trained in {:.1}s{}{}{}",
                report.model_id,
                report.heads,
                report.labels,
                report.rows,
                report.bytes,
                report.embed_s + report.train_s,
                file.as_ref()
                    .map(|p| format!("; written to {}", p.display()))
                    .unwrap_or_default(),
                version
                    .as_ref()
                    .map(|v| format!(
                        "; in force in the workspace with threshold version {}",
                        v.version
                    ))
                    .unwrap_or_default(),
                report
                    .fallback
                    .as_ref()
                    .map(|f| format!(" ({f})"))
                    .unwrap_or_default(),
            ));
            let mut v = serde_json::to_value(&report)?;
            v["threshold_version"] = serde_json::json!(version.map(|v| v.version));
            v["train_s"] = serde_json::json!(report.embed_s + report.train_s);
            out.json(&v);
        }
        IntakeCommand::Classify {
            all,
            case,
            model_file,
            rules,
            subject,
            text,
        } => {
            if let (Some(text), Some(model_file)) = (text, model_file) {
                return crate::eval_intake::run_intake(
                    crate::eval_intake::IntakeCommand::Classify {
                        model_file,
                        rules,
                        subject,
                        text,
                    },
                    out,
                );
            }
            let scope = match (all, case) {
                (true, _) => Scope::All,
                (false, Some(id)) => Scope::Case(id),
                (false, None) => Scope::Unclassified,
            };
            let mut ws = crate::open_write(g, clock)?;
            let r = intake::classify(&mut ws, &scope, &encoder_dir, clock)?;
            for w in &r.warnings {
                eprintln!("signoff: {w}");
            }
            out.line(&format!(
                "{} of {} case(s) classified: {} by rule, {} by the model{}, {} escalated",
                r.classified,
                r.considered,
                r.by_rule,
                r.by_model,
                r.model_id
                    .as_ref()
                    .map(|m| format!(
                        " ({m}, {}, thresholds v{})",
                        r.heads.as_deref().unwrap_or(""),
                        r.threshold_version.unwrap_or_default()
                    ))
                    .unwrap_or_default(),
                r.escalated
            ));
            if let Some(why) = &r.unclassified_reason {
                out.line(&format!("{} left unclassified: {why}", r.unclassified));
            }
            if let Scope::Case(id) = &scope {
                if let Some(k) = ws.classification(id)? {
                    out.line(&format!(
                        "{id}: {} [{}{}] confidence {:.3}",
                        k.label,
                        k.band.as_str(),
                        if k.escalate { ", escalate" } else { "" },
                        k.confidence_ppm as f64 / 1e6
                    ));
                }
            }
            out.json(&r);
        }
        IntakeCommand::Thresholds { set, on, dry_run } => {
            let Some(spec) = set else {
                let ws = crate::open_read(g, clock)?;
                let versions = ws.threshold_versions()?;
                let active = ws.active_model()?;
                match &active {
                    Some(m) => out.line(&format!("model in force: {} ({})", m.id, m.heads)),
                    None => out.line("no intake model in this workspace yet"),
                }
                for v in &versions {
                    let t = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.3}"));
                    out.line(&format!(
                        "v{:<3} {} high {:.3} medium {:.3} reject {:.3} (targets {}/{}) by {} at {} on {}",
                        v.version,
                        v.model_id,
                        v.high,
                        v.medium,
                        v.reject,
                        t(v.target_high),
                        t(v.target_medium),
                        v.set_by,
                        v.at,
                        v.basis
                    ));
                }
                out.json(&serde_json::json!({
                    "model_id": active.map(|m| m.id),
                    "versions": versions,
                }));
                return Ok(());
            };
            let (high, medium) = targets(&spec)?;
            let mut ws = crate::open_write(g, clock)?;
            let set = match on.as_str() {
                "decided" => LabelledSet::Decided,
                "labelled" | "labeled" => LabelledSet::AllLabelled,
                file => {
                    let rows = read_jsonl(std::path::Path::new(file))?;
                    let scored = intake::score_examples(&ws, &rows, &encoder_dir)?;
                    LabelledSet::Rows(scored, format!("{} rows of {file}", rows.len()))
                }
            };
            let p = intake::propose(&ws, high, medium, &set)?;
            if p.rows == 0 {
                bail!(
                    "no labelled rows to calibrate on ({}); try --on labelled or --on FILE.jsonl",
                    p.basis
                );
            }
            let pct =
                |x: Option<f64>| x.map_or("n/a".to_string(), |x| format!("{:.1}%", x * 100.0));
            out.line(&format!(
                "on {}: high ≥ {:.3} (precision {}), medium ≥ {:.3} (precision {}), reject < {:.3}",
                p.basis,
                p.high,
                pct(p.precision_high),
                p.medium,
                pct(p.precision_medium),
                p.reject
            ));
            out.line(&format!(
                "open queue: {} of {} model-classified cases change band, {} newly escalated, {} no longer escalated",
                p.replay.band_changes, p.replay.open, p.replay.newly_escalated, p.replay.no_longer_escalated
            ));
            let mut v = serde_json::to_value(&p)?;
            if !dry_run {
                let actor = g.reviewer.clone().unwrap_or_else(|| "device".into());
                let saved = intake::save(&mut ws, &p, &actor, clock)?;
                out.line(&format!(
                    "saved as threshold version {} (audit entry {}); reclassify with `signoff intake classify --all`",
                    saved.version, saved.audit_idx
                ));
                v["saved"] = serde_json::to_value(&saved)?;
            }
            out.json(&v);
        }
    }
    Ok(())
}
