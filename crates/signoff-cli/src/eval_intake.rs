//! `signoff eval intake`: train the intake classifier on one labelled file and score it on
//! another (or on a seeded held-out share of the same file), printing the contract's figures,
//! optionally for several model configurations side by side and with a reliability diagram.

use crate::output::Out;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use signoff_intake::cache::EmbeddingCache;
use signoff_intake::data::{read_jsonl, stratified_split};
use signoff_intake::embed::{model_dir, Embedder, Pooling, MODEL_DIR_ENV};
use signoff_intake::eval::evaluate;
use signoff_intake::metrics::reliability_svg;
use signoff_intake::{Classifier, Config, Example};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Evaluations.
#[derive(Subcommand)]
pub enum EvalCommand {
    /// Train the intake classifier and score it on labelled rows (`{"text","label"}` JSONL).
    Intake(IntakeArgs),
}

/// Arguments of `signoff eval intake`.
#[derive(Args)]
pub struct IntakeArgs {
    /// Training rows (JSONL `{"text","label"}`; label `oos` = out of scope).
    #[arg(long)]
    train: PathBuf,
    /// Test rows; without it, `--split` holds out a share of the training rows.
    #[arg(long, required_unless_present = "split")]
    test: Option<PathBuf>,
    /// Hold out this share of the training rows (per label, seeded) as the test set.
    #[arg(long, conflicts_with = "test")]
    split: Option<f64>,
    /// Seed of `--split`.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Model configuration: `ensemble` (default), `minilm` or `lexical`, with optional
    /// `:key=value` overrides (e.g. `ensemble:reject_rate=0.04`).
    #[arg(long, default_value = "ensemble")]
    model: String,
    /// Evaluate two or more configurations on the same data, comma-separated.
    #[arg(long, value_delimiter = ',', conflicts_with = "model")]
    compare: Vec<String>,
    /// Write the reliability diagram (of the first configuration) as SVG here.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Directory for cached sentence embeddings (default: the user's cache dir).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Also print the OOS AUROC of alternative out-of-scope scores (energy of the embedding
    /// head, distance to the nearest training example) for comparison.
    #[arg(long)]
    oos_scores: bool,
}

/// AUROC of alternative out-of-scope scores: (energy of the embedding head's logits,
/// 1 − cosine to the nearest training row).
fn alternative_oos_auroc(
    clf: &Classifier,
    train: &[Vec<f32>],
    test: &[Example],
    emb: &[Vec<f32>],
) -> (Option<f64>, Option<f64>) {
    let is_oos: Vec<bool> = test
        .iter()
        .map(|e| e.label == signoff_intake::OOS)
        .collect();
    let oos = clf.oos_index();
    let energy: Option<Vec<f64>> = clf.dense.as_ref().map(|h| {
        emb.iter()
            .map(|e| {
                let z = h.logits_dense(e);
                let zi: Vec<f32> = (0..z.len())
                    .filter(|&k| Some(k) != oos)
                    .map(|k| z[k])
                    .collect();
                let m = zi.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                -((m + zi.iter().map(|v| (v - m).exp()).sum::<f32>().ln()) as f64)
            })
            .collect()
    });
    let knn: Vec<f64> = emb
        .iter()
        .map(|q| {
            let best = train
                .iter()
                .map(|t| t.iter().zip(q).map(|(a, b)| a * b).sum::<f32>())
                .fold(f32::NEG_INFINITY, f32::max);
            1.0 - best as f64
        })
        .collect();
    use signoff_intake::metrics::auroc;
    (
        energy.and_then(|s| auroc(&s, &is_oos)),
        auroc(&knn, &is_oos),
    )
}

/// The embedding cache directory: `arg`, else the user's cache dir.
pub(crate) fn cache_dir(arg: Option<&Path>) -> PathBuf {
    if let Some(p) = arg {
        return p.to_path_buf();
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("signoff").join("embeddings")
}

/// Runs an eval subcommand.
pub fn run(cmd: EvalCommand, out: &Out) -> Result<()> {
    match cmd {
        EvalCommand::Intake(a) => intake(a, out),
    }
}

fn intake(a: IntakeArgs, out: &Out) -> Result<()> {
    let train_all = read_jsonl(&a.train)?;
    let (train, test): (Vec<Example>, Vec<Example>) = match (&a.test, a.split) {
        (Some(t), _) => (train_all, read_jsonl(t)?),
        (None, Some(f)) => {
            if !(0.0..1.0).contains(&f) || f == 0.0 {
                bail!("--split must be in (0, 1), got {f}");
            }
            let labels: Vec<&str> = train_all.iter().map(|e| e.label.as_str()).collect();
            let (keep, held) = stratified_split(&labels, f, a.seed);
            (
                keep.iter().map(|&i| train_all[i].clone()).collect(),
                held.iter().map(|&i| train_all[i].clone()).collect(),
            )
        }
        (None, None) => bail!("pass --test FILE or --split FRACTION"),
    };
    let specs = if a.compare.is_empty() {
        vec![a.model.clone()]
    } else {
        a.compare.clone()
    };
    let configs = specs
        .iter()
        .map(|s| Config::parse(s).map_err(anyhow::Error::msg))
        .collect::<Result<Vec<_>>>()?;

    // Embeddings, when the model is there; otherwise say so and run the lexical model.
    let env = std::env::var(MODEL_DIR_ENV).ok();
    let dir = model_dir(env.as_deref());
    let t0 = Instant::now();
    let embedder = match Embedder::load(&dir) {
        Ok(e) => Some(e),
        Err(e) => {
            eprintln!("signoff: {e}; falling back to the lexical model");
            None
        }
    };
    let load_s = t0.elapsed().as_secs_f64();
    let (emb_train, emb_test, embed_s) = match &embedder {
        Some(m) if configs.iter().any(|c| c.embeddings) => {
            let t = Instant::now();
            // Every pooling's vector starts with the mean vector, so one pass serves `mean` and
            // one other pooling.
            let mut wide: Vec<Pooling> = Vec::new();
            for c in configs
                .iter()
                .filter(|c| c.embeddings && c.pooling != Pooling::Mean)
            {
                if !wide.contains(&c.pooling) {
                    wide.push(c.pooling);
                }
            }
            if wide.len() > 1 {
                bail!("--compare: configurations with two poolings besides mean ({wide:?}) need two runs");
            }
            let pooling = wide.first().copied().unwrap_or(Pooling::Mean);
            let mut cache =
                EmbeddingCache::open(&cache_dir(a.cache.as_deref()), m.version(), pooling)?;
            let texts = |rows: &[Example]| rows.iter().map(|e| e.text.clone()).collect::<Vec<_>>();
            let (tr, te) = (texts(&train), texts(&test));
            let tr: Vec<&str> = tr.iter().map(String::as_str).collect();
            let te: Vec<&str> = te.iter().map(String::as_str).collect();
            let etr = cache.embed(m, &tr).context("embedding the training rows")?;
            let ete = cache.embed(m, &te).context("embedding the test rows")?;
            (Some(etr), Some(ete), t.elapsed().as_secs_f64())
        }
        _ => (None, None, 0.0),
    };

    let mut results = serde_json::Map::new();
    for (i, config) in configs.iter().enumerate() {
        let t = Instant::now();
        let width = config.pooling.dim();
        let cut = |e: &Option<Vec<Vec<f32>>>| {
            e.as_ref()
                .map(|rows| rows.iter().map(|r| r[..width].to_vec()).collect::<Vec<_>>())
        };
        let (mut emb_train, mut emb_test) = (cut(&emb_train), cut(&emb_test));
        let clf = match (&embedder, config.tune_epochs > 0 && config.embeddings) {
            // Fine-tuning: the encoder's top layers are trained first, and both sets are
            // embedded with them (not from the cache of frozen vectors).
            (Some(m), true) => {
                let (clf, tuned_train) = signoff_intake::tune::train_tuned(&train, m, config)?;
                let te: Vec<&str> = test.iter().map(|e| e.text.as_str()).collect();
                emb_test = Some(clf.embed(m, &te)?);
                emb_train = Some(tuned_train);
                clf
            }
            _ => Classifier::train(&train, emb_train.as_deref(), config)?,
        };
        let train_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let ev = evaluate(&clf, &test, emb_test.as_deref())?;
        let test_s = t.elapsed().as_secs_f64();
        let r = &ev.report;
        let opt = |v: Option<f64>| v.map_or("n/a".to_string(), |x| format!("{x:.4}"));
        out.line(&format!(
            "{} [{}]: n={} accuracy_in_scope={:.4} oos_recall={} oos_precision={} auroc={} ece={:.4}  (mix {:.1}, knn {:.1}, T {:.3}, thresholds {:.3}/{:.3}/{:.3}; train {:.1}s, score {:.1}s)",
            config.name,
            clf.heads(),
            r.n,
            r.accuracy_in_scope,
            opt(r.oos_recall),
            opt(r.oos_precision),
            opt(r.auroc),
            r.ece,
            clf.mix,
            clf.knn_mix,
            clf.temperature,
            clf.thresholds.high,
            clf.thresholds.medium,
            clf.thresholds.reject,
            train_s,
            test_s
        ));
        let curve: Vec<String> = ev
            .curve
            .iter()
            .map(|(t, acc, rec)| format!("{t:.2}:{acc:.4}/{rec:.2}"))
            .collect();
        out.line(&format!(
            "  threshold:accuracy/oos_recall {}",
            curve.join(" ")
        ));
        for (b, s) in &r.bands {
            out.line(&format!("  {b:<9} n={:<6} accuracy={:.4}", s.n, s.accuracy));
        }
        if i == 0 {
            if let Some(path) = &a.svg {
                let title = format!("{} — reliability (ECE {:.4})", config.name, r.ece);
                std::fs::write(path, reliability_svg(&ev.bins, &title))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        if a.oos_scores {
            if let (Some(tr), Some(te)) = (&emb_train, &emb_test) {
                // In-scope training rows only: distance to known intents.
                let known: Vec<Vec<f32>> = tr
                    .iter()
                    .zip(&train)
                    .filter(|(_, e)| e.label != signoff_intake::OOS)
                    .map(|(v, _)| v.clone())
                    .collect();
                let (energy, knn) = alternative_oos_auroc(&clf, &known, &test, te);
                let opt = |v: Option<f64>| v.map_or("n/a".to_string(), |x| format!("{x:.4}"));
                out.line(&format!(
                    "  oos auroc: max-probability {} energy {} nearest-distance {}",
                    opt(r.auroc),
                    opt(energy),
                    opt(knn)
                ));
            }
        }
        let mut v = serde_json::to_value(r)?;
        v["model"] = serde_json::json!({
            "config": config.name,
            "heads": clf.heads(),
            "mix": clf.mix,
            "knn_mix": clf.knn_mix,
            "temperature": clf.temperature,
            "thresholds": clf.thresholds,
        });
        v["timing"] = serde_json::json!({
            "model_load_s": load_s,
            "embed_s": embed_s,
            "train_s": train_s,
            "score_s": test_s,
        });
        results.insert(config.name.clone(), v);
    }
    if results.len() == 1 {
        let (_, v) = results.into_iter().next().expect("one result");
        out.json(&v);
    } else {
        out.json(&serde_json::Value::Object(results));
    }
    Ok(())
}

/// One-off classification of a text against a model file (`signoff intake classify --text`).
pub enum IntakeCommand {
    /// Classify one text: rules first (when a rules file is given), then the model; prints
    /// the path that ran, the label, confidence, band and why.
    Classify {
        /// The model artefact from `signoff intake train`.
        model_file: PathBuf,
        /// A rules file (TOML) checked before the model.
        rules: Option<PathBuf>,
        /// Subject line.
        subject: String,
        /// The text (body) to classify.
        text: String,
    },
}

fn load_embedder() -> Option<Embedder> {
    let env = std::env::var(MODEL_DIR_ENV).ok();
    match Embedder::load(&model_dir(env.as_deref())) {
        Ok(e) => Some(e),
        Err(e) => {
            eprintln!("signoff: {e}");
            None
        }
    }
}

/// Runs an intake subcommand.
pub fn run_intake(cmd: IntakeCommand, out: &Out) -> Result<()> {
    match cmd {
        IntakeCommand::Classify {
            model_file,
            rules,
            subject,
            text,
        } => {
            use signoff_intake::explain::{from_model, from_rule};
            if let Some(r) = rules {
                let rules = signoff_intake::rules::Rules::load(&r)?;
                let meta = serde_json::Map::new();
                let case = signoff_intake::rules::CaseFields {
                    subject: &subject,
                    body: &text,
                    metadata: &meta,
                };
                if let Some(m) = rules.decide(case) {
                    let e = from_rule(m, vec![]);
                    out.line(&format!("{} [{}] by rule", e.label, e.band.as_str()));
                    out.json(&e);
                    return Ok(());
                }
            }
            let bytes = std::fs::read(&model_file)
                .with_context(|| format!("reading {}", model_file.display()))?;
            let (artefact, id) = signoff_intake::artefact::decode_artefact(&bytes)?;
            let clf = &artefact.classifier;
            let full = if subject.is_empty() {
                text.clone()
            } else {
                format!("{subject}\n{text}")
            };
            // The encoder runs for the embedding head, and for nearest examples when the model
            // keeps exemplars (then only if it is installed).
            let encoder = if clf.dense.is_some() || artefact.exemplars.is_some() {
                load_embedder()
            } else {
                None
            };
            let unit = match (&encoder, &artefact.exemplars) {
                (Some(m), Some(_)) => m.embed(&[full.as_str()])?.into_iter().next(),
                _ => None,
            };
            let neighbours = match (&unit, &artefact.exemplars) {
                (Some(u), Some(ex)) => {
                    signoff_intake::explain::nearest_exemplars(u, ex, &clf.labels, 3)
                }
                _ => vec![],
            };
            let (embedding, version) = if clf.dense.is_some() {
                let m = encoder.as_ref().context(
                    "this model needs the embedding model; run scripts/setup.sh or retrain with --model lexical",
                )?;
                let v = clf.embed(m, &[full.as_str()])?;
                (v.into_iter().next(), Some(m.version().to_string()))
            } else {
                (None, None)
            };
            let verdict = clf.classify(signoff_intake::classifier::Input {
                embedding: embedding.as_deref(),
                text: &full,
            })?;
            let e = from_model(&verdict, &id, clf.heads(), version.as_deref(), neighbours);
            out.line(&format!(
                "{} [{}] confidence {:.3} by {id} ({})",
                e.label,
                e.band.as_str(),
                e.confidence,
                clf.heads()
            ));
            out.json(&e);
        }
    }
    Ok(())
}
