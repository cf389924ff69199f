//! Intake for hosts: classify workspace cases (the workspace rules file first, then the model
//! artefact stored in the workspace), train a model into the workspace, and compute, replay
//! and save threshold versions. The store records; this module runs the classifier (the store
//! never depends on candle). Without a model, rule decisions still apply and the other cases
//! stay unclassified with the reason reported, never a crash.

use crate::ApiError;
use serde::Serialize;
use signoff_core::{Band, Clock};
use signoff_intake::artefact::{self, Artefact, Exemplars};
use signoff_intake::bundled::EmbeddingTable;
use signoff_intake::classifier::{threshold_for_precision, Input, Thresholds};
use signoff_intake::embed::{model_dir, Embedder, Pooling, DIM, MODEL_DIR_ENV};
use signoff_intake::explain::{self, nearest_exemplars, Explanation};
use signoff_intake::rules::{CaseFields, Route, RuleBand, RuleMatch, Rules};
use signoff_intake::{Classifier, Config, Example};
use signoff_store::intake::{
    ClassificationPath, NewClassification, NewModel, NewThresholds, Scope, ThresholdVersion,
};
use signoff_store::Workspace;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// The workspace rules file, inside the workspace directory.
pub const RULES_FILE: &str = "intake-rules.toml";
/// Cases classified per transaction (and per embedding batch).
pub const BATCH: usize = 64;
/// Nearest labelled examples listed in an explanation.
pub const NEIGHBOURS: usize = 3;

impl From<signoff_intake::IntakeError> for ApiError {
    fn from(e: signoff_intake::IntakeError) -> Self {
        ApiError::Intake(e.to_string())
    }
}

/// Where the sentence encoder is: `SIGNOFF_MODEL_DIR`, else the default. Hosts call this
/// once and pass the result on.
pub fn model_dir_from_env() -> PathBuf {
    model_dir(std::env::var(MODEL_DIR_ENV).ok().as_deref())
}

/// Loads the sentence encoder from `dir` once per process; the error says what is missing.
/// The configured directory shares the one copy retrieval uses
/// (`signoff_context::encoder::shared`), so a process holds the model once.
pub fn embedder(dir: &Path) -> Result<Arc<Embedder>, String> {
    if dir == model_dir_from_env() {
        return signoff_context::encoder::shared();
    }
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<Embedder>>>> = OnceLock::new();
    let map = LOADED.get_or_init(Default::default);
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = map.get(dir) {
        return Ok(e.clone());
    }
    let e = Arc::new(Embedder::load(dir).map_err(|e| e.to_string())?);
    map.insert(dir.to_path_buf(), e.clone());
    Ok(e)
}

/// What a classification run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClassifyReport {
    /// Cases looked at.
    pub considered: usize,
    /// Cases classified (recorded).
    pub classified: usize,
    /// Of which by a rule.
    pub by_rule: usize,
    /// Of which by the model.
    pub by_model: usize,
    /// Of which escalated.
    pub escalated: usize,
    /// Cases left unclassified.
    pub unclassified: usize,
    /// Why cases were left unclassified, when some were.
    pub unclassified_reason: Option<String>,
    /// The model that ran.
    pub model_id: Option<String>,
    /// Its heads.
    pub heads: Option<String>,
    /// The threshold version applied.
    pub threshold_version: Option<i64>,
    /// The sentence encoder version, when it ran.
    pub encoder: Option<String>,
    /// The rules file version, when rules were in force.
    pub rules_version: Option<String>,
    /// Problems that did not stop the run (a rules file that failed to load, …).
    pub warnings: Vec<String>,
    /// Wall time.
    pub elapsed_ms: u64,
}

/// The rules in force: the workspace file when it loads (recorded as a new version when it
/// changed); when it does not, the last valid version stays in force and the error is a
/// warning naming file:line.
fn rules_in_force(
    ws: &mut Workspace,
    clock: &dyn Clock,
    warnings: &mut Vec<String>,
) -> Result<Option<Rules>, ApiError> {
    let path = ws.dir().join(RULES_FILE);
    if !path.exists() {
        return Ok(None);
    }
    match Rules::load(&path) {
        Ok(rules) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ApiError::Request(format!("{}: {e}", path.display())))?;
            ws.record_rules(&rules.version, &text, clock)?;
            Ok(Some(rules))
        }
        Err(e) => {
            let previous = ws.rules_in_force()?;
            match previous.and_then(|(_, text)| Rules::parse(&text, &path).ok()) {
                Some(old) => {
                    warnings.push(format!(
                        "{e}; the previous rules (version {}) stay in force",
                        &old.version[..12.min(old.version.len())]
                    ));
                    Ok(Some(old))
                }
                None => {
                    warnings.push(format!("{e}; no rules are in force"));
                    Ok(None)
                }
            }
        }
    }
}

/// The model in force with its thresholds applied, or why there is none.
struct LoadedModel {
    artefact: Artefact,
    id: String,
    threshold_version: i64,
}

fn load_model(ws: &Workspace) -> Result<Result<LoadedModel, String>, ApiError> {
    let Some(stored) = ws.active_model()? else {
        return Ok(Err(
            "no intake model in this workspace yet: train one with `signoff intake train --data FILE.jsonl`".into(),
        ));
    };
    let (mut a, id) = match artefact::decode_artefact(&stored.bytes) {
        Ok(x) => x,
        Err(e) => {
            return Ok(Err(format!(
                "the stored model {} cannot be used: {e}",
                stored.id
            )))
        }
    };
    if id != stored.id {
        return Ok(Err(format!(
            "the stored model {} does not match its content hash ({id})",
            stored.id
        )));
    }
    let Some(t) = ws.thresholds_in_force(&id)? else {
        return Ok(Err(format!("model {id} has no threshold version")));
    };
    a.classifier.thresholds = Thresholds {
        high: t.high as f32,
        medium: t.medium as f32,
        reject: t.reject as f32,
    };
    Ok(Ok(LoadedModel {
        artefact: a,
        id,
        threshold_version: t.version,
    }))
}

/// The text the model reads: subject and body.
pub fn model_text(subject: &str, body: &str) -> String {
    if subject.is_empty() {
        body.to_string()
    } else {
        format!("{subject}\n{body}")
    }
}

/// The mean-pooled unit vector inside an embedding of any pooling (mean comes first).
fn mean_part(v: &[f32]) -> Vec<f32> {
    let m = &v[..DIM.min(v.len())];
    let n = m.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    m.iter().map(|x| x / n).collect()
}

fn rule_band(b: RuleBand) -> Band {
    match b {
        RuleBand::High => Band::High,
        RuleBand::Medium => Band::Medium,
        RuleBand::Low => Band::Low,
    }
}

/// Core band and escalation from the classifier's band: out of scope or below the lowest
/// threshold is band low and escalated.
pub fn core_band(b: signoff_intake::Band) -> (Band, bool) {
    match b {
        signoff_intake::Band::High => (Band::High, false),
        signoff_intake::Band::Medium => (Band::Medium, false),
        signoff_intake::Band::Low => (Band::Low, false),
        signoff_intake::Band::Escalate => (Band::Low, true),
    }
}

/// Sentence vectors of `texts`: those `known` holds for this encoder and pooling (vectors
/// computed ahead of time for exactly these texts and weights), the encoder for the rest.
pub fn embed_known(
    e: &Embedder,
    texts: &[&str],
    pooling: Pooling,
    known: Option<&EmbeddingTable>,
) -> Result<Vec<Vec<f32>>, ApiError> {
    let mut out: Vec<Option<Vec<f32>>> = texts
        .iter()
        .map(|t| known.and_then(|k| k.get(e.version(), pooling, t).map(<[f32]>::to_vec)))
        .collect();
    let missing: Vec<usize> = (0..texts.len()).filter(|&i| out[i].is_none()).collect();
    if !missing.is_empty() {
        let batch: Vec<&str> = missing.iter().map(|&i| texts[i]).collect();
        let vecs = e
            .embed_with(&batch, pooling)
            .map_err(signoff_intake::IntakeError::from)?;
        for (i, v) in missing.into_iter().zip(vecs) {
            out[i] = Some(v);
        }
    }
    Ok(out
        .into_iter()
        .map(|v| v.expect("every text embedded"))
        .collect())
}

/// Classifies the cases in `scope`: rules first, then the model, in batches of [`BATCH`]
/// (one embedding batch and one transaction each).
pub fn classify(
    ws: &mut Workspace,
    scope: &Scope,
    encoder_dir: &Path,
    clock: &dyn Clock,
) -> Result<ClassifyReport, ApiError> {
    classify_with(ws, scope, encoder_dir, None, clock)
}

/// [`classify`], taking sentence vectors from `known` where it has them (see
/// [`embed_known`]).
pub fn classify_with(
    ws: &mut Workspace,
    scope: &Scope,
    encoder_dir: &Path,
    known: Option<&EmbeddingTable>,
    clock: &dyn Clock,
) -> Result<ClassifyReport, ApiError> {
    let t0 = Instant::now();
    let mut report = ClassifyReport::default();
    let rules = rules_in_force(ws, clock, &mut report.warnings)?;
    report.rules_version = rules.as_ref().map(|r| r.version.clone());
    let model = match load_model(ws)? {
        Ok(m) => Some(m),
        Err(why) => {
            report.unclassified_reason = Some(why);
            None
        }
    };
    if rules.is_none() && model.is_none() {
        // Nothing can decide: count, do not read the cases (an import may have added millions).
        report.unclassified = match scope {
            Scope::Unclassified => ws.unclassified_count()? as usize,
            _ => ws.cases_to_classify(scope)?.len(),
        };
        report.considered = report.unclassified;
        if report.unclassified == 0 {
            report.unclassified_reason = None;
        }
        report.elapsed_ms = t0.elapsed().as_millis() as u64;
        return Ok(report);
    }
    // Read page by page: a large import is never held in memory whole.
    let first = ws.cases_to_classify_page(scope, 0, BATCH as i64)?;
    if first.is_empty() {
        report.unclassified_reason = None;
        return Ok(report);
    }
    // The encoder: needed by a model with an embedding head; otherwise used when present for
    // nearest examples and comparable cases.
    let encoder = match embedder(encoder_dir) {
        Ok(e) => Some(e),
        Err(why) => {
            if let Some(m) = &model {
                if m.artefact.classifier.dense.is_some() {
                    report.unclassified_reason =
                        Some(format!("model {} needs the sentence encoder: {why}", m.id));
                }
            }
            None
        }
    };
    let model = model.filter(|m| m.artefact.classifier.dense.is_none() || encoder.is_some());
    if let (Some(m), Some(e)) = (&model, &encoder) {
        if let Some(v) = &m.artefact.embedding_version {
            if m.artefact.classifier.dense.is_some() && v != e.version() {
                report.warnings.push(format!(
                    "model {} was trained with encoder {v} but encoder {} is installed",
                    m.id,
                    e.version()
                ));
            }
        }
    }
    report.model_id = model.as_ref().map(|m| m.id.clone());
    report.heads = model
        .as_ref()
        .map(|m| m.artefact.classifier.heads().to_string());
    report.threshold_version = model.as_ref().map(|m| m.threshold_version);
    report.encoder = encoder.as_ref().map(|e| e.version().to_string());
    let pooling = model
        .as_ref()
        .map_or(Pooling::Mean, |m| m.artefact.classifier.config.pooling);
    let empty = serde_json::Map::new();
    let mut page = first;
    while !page.is_empty() {
        let chunk = &page[..];
        report.considered += chunk.len();
        let texts: Vec<String> = chunk
            .iter()
            .map(|c| model_text(&c.subject, &c.body))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let embeddings: Option<Vec<Vec<f32>>> = match &encoder {
            Some(e) => Some(embed_known(e, &refs, pooling, known)?),
            None => None,
        };
        // A fine-tuned model's head reads its own encoder layers' vectors, never the frozen
        // ones (those still serve nearest examples and comparable cases).
        let tuned_inputs: Option<Vec<Vec<f32>>> = match (&model, &encoder) {
            (Some(m), Some(e)) if m.artefact.classifier.tuned.is_some() => {
                Some(m.artefact.classifier.embed(e, &refs)?)
            }
            _ => None,
        };
        let mut batch = Vec::with_capacity(chunk.len());
        for (i, case) in chunk.iter().enumerate() {
            let emb = embeddings.as_ref().map(|e| e[i].as_slice());
            let unit = emb.map(mean_part);
            let neighbours = |labels: &[String]| match (&model, &unit) {
                (Some(m), Some(u)) => match &m.artefact.exemplars {
                    Some(ex) => nearest_exemplars(u, ex, labels, NEIGHBOURS),
                    None => vec![],
                },
                _ => vec![],
            };
            let meta: serde_json::Map<String, serde_json::Value> = case
                .metadata
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok())
                .unwrap_or_default();
            let fields = CaseFields {
                subject: &case.subject,
                body: &case.body,
                metadata: if case.metadata.is_some() {
                    &meta
                } else {
                    &empty
                },
            };
            let labels = model
                .as_ref()
                .map(|m| m.artefact.classifier.labels.clone())
                .unwrap_or_default();
            let decided: Option<(ClassificationPath, Explanation, Band, bool)> =
                if let Some(m) = rules.as_ref().and_then(|r| r.decide(fields)) {
                    let RuleMatch { band, route, .. } = &m;
                    let (band, escalate) = (rule_band(*band), *route == Some(Route::Escalate));
                    let path = ClassificationPath::Rule {
                        rule_id: m.rule_id.clone(),
                        rules_version: m.rules_version.clone(),
                    };
                    let e = explain::from_rule(m, neighbours(&labels));
                    report.by_rule += 1;
                    Some((path, e, band, escalate))
                } else if let Some(m) = &model {
                    let clf = &m.artefact.classifier;
                    let input = tuned_inputs.as_ref().map(|v| v[i].as_slice()).or(emb);
                    let v = clf.classify(Input {
                        embedding: input.filter(|_| clf.dense.is_some()),
                        text: &texts[i],
                    })?;
                    let (band, escalate) = core_band(v.band);
                    let encoder_version = encoder.as_ref().map(|e| e.version().to_string());
                    let e = explain::from_model(
                        &v,
                        &m.id,
                        clf.heads(),
                        encoder_version.as_deref().filter(|_| clf.dense.is_some()),
                        neighbours(&labels),
                    );
                    report.by_model += 1;
                    let path = ClassificationPath::Model {
                        model_id: m.id.clone(),
                        heads: clf.heads().to_string(),
                        embedding_version: encoder_version.filter(|_| clf.dense.is_some()),
                        threshold_version: m.threshold_version,
                    };
                    Some((path, e, band, escalate))
                } else {
                    None
                };
            let Some((path, e, band, escalate)) = decided else {
                report.unclassified += 1;
                continue;
            };
            report.escalated += escalate as usize;
            batch.push(NewClassification {
                case_seq: case.seq,
                path,
                label: e.label.clone(),
                band,
                escalate,
                confidence: e.confidence as f64,
                explanation: serde_json::to_string(&e).expect("explanation serialises"),
                embedding: match (&encoder, unit) {
                    (Some(enc), Some(u)) => Some((enc.version().to_string(), u)),
                    _ => None,
                },
            });
        }
        report.classified += ws.record_classifications(&batch, clock)?;
        let after = chunk.last().map_or(i64::MAX, |c| c.seq);
        page = ws.cases_to_classify_page(scope, after, BATCH as i64)?;
    }
    if report.unclassified == 0 {
        report.unclassified_reason = None;
    }
    report.elapsed_ms = t0.elapsed().as_millis() as u64;
    Ok(report)
}

/// What training produced.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    /// The model id.
    pub model_id: String,
    /// Heads that were trained.
    pub heads: String,
    /// The sentence encoder used, when it ran.
    pub embedding_version: Option<String>,
    /// Number of labels.
    pub labels: usize,
    /// Training rows.
    pub rows: usize,
    /// Artefact size in bytes.
    pub bytes: usize,
    /// Seconds spent embedding the rows.
    pub embed_s: f64,
    /// Seconds spent training.
    pub train_s: f64,
    /// Why the lexical model was trained instead of the configured one, if it was.
    pub fallback: Option<String>,
}

/// Turns texts into sentence vectors with the encoder (a cache may sit in front of it).
pub type EmbedFn<'a> = dyn FnMut(&Embedder, &[&str]) -> Result<Vec<Vec<f32>>, ApiError> + 'a;

/// Trains a classifier (with exemplars and the encoder version when the encoder is present;
/// the lexical model, saying so, when it is not). `embed` turns texts into vectors (lets the
/// caller put a cache in front of the encoder). Returns the artefact bytes and a report.
pub fn train_artefact(
    examples: &[Example],
    config: &Config,
    encoder: Option<&Embedder>,
    embed: &mut EmbedFn<'_>,
) -> Result<(Vec<u8>, TrainReport), ApiError> {
    let t = Instant::now();
    let mut config = config.clone();
    let fallback = match (config.embeddings, encoder) {
        (true, None) => {
            config.embeddings = false;
            config.lexical = true;
            Some("the sentence encoder is missing; trained the lexical model".to_string())
        }
        _ => None,
    };
    let emb = match encoder {
        Some(e) => {
            let texts: Vec<&str> = examples.iter().map(|x| x.text.as_str()).collect();
            Some(embed(e, &texts)?)
        }
        None => None,
    };
    let embed_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let width = config.pooling.dim();
    let head_input: Option<Vec<Vec<f32>>> =
        emb.as_ref().filter(|_| config.embeddings).map(|rows| {
            rows.iter()
                .map(|r| r[..width.min(r.len())].to_vec())
                .collect()
        });
    // A fine-tuning configuration tunes the encoder's top layers on the rows first (the
    // artefact carries them, and classification reads them); the frozen vectors above still
    // make the exemplars, as they make the cases' vectors for nearest examples.
    let clf = match encoder {
        Some(e) if config.embeddings && config.tune_epochs > 0 => {
            signoff_intake::tune::train_tuned(examples, e, &config)?.0
        }
        _ => Classifier::train(examples, head_input.as_deref(), &config)?,
    };
    // A model with the nearest-example component carries its own exemplars (the same rows).
    let exemplars = clf.knn.clone().or_else(|| {
        emb.as_ref().map(|rows| {
            let labels = examples
                .iter()
                .map(|x| clf.labels.binary_search(&x.label).unwrap_or(0) as u32)
                .collect();
            let units: Vec<Vec<f32>> = rows.iter().map(|r| mean_part(r)).collect();
            Exemplars::new(
                examples.iter().map(|x| x.text.clone()).collect(),
                labels,
                &units,
            )
        })
    });
    let a = Artefact {
        embedding_version: encoder
            .filter(|_| clf.dense.is_some())
            .map(|e| e.version().to_string()),
        exemplars,
        classifier: clf,
    };
    let (bytes, id) = artefact::encode_artefact(&a);
    let report = TrainReport {
        model_id: id,
        heads: a.classifier.heads().to_string(),
        embedding_version: a.embedding_version.clone(),
        labels: a.classifier.labels.len(),
        rows: examples.len(),
        bytes: bytes.len(),
        embed_s,
        train_s: t.elapsed().as_secs_f64(),
        fallback,
    };
    Ok((bytes, report))
}

/// Stores a trained artefact in the workspace and puts it in force with the thresholds it
/// was trained with (a new threshold version). Both are audited.
pub fn install(
    ws: &mut Workspace,
    bytes: &[u8],
    actor: &str,
    clock: &dyn Clock,
) -> Result<ThresholdVersion, ApiError> {
    let (a, id) = artefact::decode_artefact(bytes)?;
    let clf = &a.classifier;
    let t = clf.thresholds;
    Ok(ws.install_model(
        NewModel {
            bytes,
            id: &id,
            format: artefact::format_of(bytes)?,
            heads: clf.heads(),
            embedding_version: a.embedding_version.as_deref(),
            labels: clf.labels.len(),
            train_rows: a.exemplars.as_ref().map_or(0, |e| e.len()),
        },
        NewThresholds {
            model_id: id.clone(),
            target_high: Some(clf.config.bands.high),
            target_medium: Some(clf.config.bands.medium),
            high: t.high as f64,
            medium: t.medium as f64,
            reject: t.reject as f64,
            basis: format!(
                "calibration split ({:.0}% of the training rows, seed {})",
                clf.config.calibration_fraction * 100.0,
                clf.config.seed
            ),
        },
        actor,
        clock,
    )?)
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReliabilityBin {
    /// Lower edge of the bin.
    pub from: f64,
    /// Upper edge.
    pub to: f64,
    /// Rows in it.
    pub n: usize,
    /// Mean confidence.
    pub confidence: f64,
    /// Share right.
    pub accuracy: f64,
}

/// How a threshold proposal would move the open cases.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Replay {
    /// Open cases classified by the model.
    pub open: usize,
    /// Of which would change band.
    pub band_changes: usize,
    /// Would become escalated.
    pub newly_escalated: usize,
    /// Would no longer be escalated.
    pub no_longer_escalated: usize,
    /// Per band after the change: high, medium, low.
    pub bands_after: [usize; 3],
}

/// Thresholds proposed for target precisions on a labelled set, with the evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    /// The model they apply to.
    pub model_id: String,
    /// The threshold version in force now.
    pub current: ThresholdVersion,
    /// Target precision of the high band.
    pub target_high: f64,
    /// Target precision of the medium band.
    pub target_medium: f64,
    /// Proposed high threshold.
    pub high: f64,
    /// Proposed medium threshold.
    pub medium: f64,
    /// Out-of-scope threshold (kept).
    pub reject: f64,
    /// Labelled rows used.
    pub rows: usize,
    /// What they were.
    pub basis: String,
    /// Precision the labelled rows reach in the proposed high band (None if empty).
    pub precision_high: Option<f64>,
    /// Precision in the proposed medium band.
    pub precision_medium: Option<f64>,
    /// Reliability diagram of the labelled rows (10 bins).
    pub reliability: Vec<ReliabilityBin>,
    /// What the proposal does to the open queue.
    pub replay: Replay,
}

/// Where the labelled rows for calibration come from.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelledSet {
    /// Decided cases that carry a label from their file.
    Decided,
    /// Every case that carries a label from its file.
    AllLabelled,
    /// Rows given by the caller: (top in-scope probability, was the label right).
    Rows(Vec<(f64, bool)>, String),
}

/// Computes thresholds meeting the target precisions on a labelled set, the reliability
/// diagram of that set, and a what-if replay over the open cases. Saves nothing.
pub fn propose(
    ws: &Workspace,
    target_high: f64,
    target_medium: f64,
    set: &LabelledSet,
) -> Result<Proposal, ApiError> {
    for (n, v) in [("high", target_high), ("medium", target_medium)] {
        if !(0.0..=1.0).contains(&v) {
            return Err(ApiError::Request(format!(
                "target precision {n} must be in [0, 1], got {v}"
            )));
        }
    }
    let model = ws.active_model()?.ok_or_else(|| {
        ApiError::Request("no intake model in this workspace: train one first".into())
    })?;
    let current = ws
        .thresholds_in_force(&model.id)?
        .ok_or_else(|| ApiError::Request(format!("model {} has no thresholds", model.id)))?;
    let (rows, basis): (Vec<(f64, bool)>, String) = match set {
        LabelledSet::Rows(r, basis) => (r.clone(), basis.clone()),
        LabelledSet::Decided | LabelledSet::AllLabelled => {
            let decided = *set == LabelledSet::Decided;
            let o = ws.labelled_outcomes(decided)?;
            let rows = o
                .iter()
                .map(|x| (x.confidence, x.label == x.given_label))
                .collect();
            let what = if decided {
                "decided cases"
            } else {
                "labelled cases"
            };
            (rows, format!("{} {what} of the workspace", o.len()))
        }
    };
    let reject = current.reject;
    let accepted: Vec<(f32, bool)> = rows
        .iter()
        .map(|(p, ok)| (*p as f32, *ok))
        .filter(|(p, _)| *p >= reject as f32)
        .collect();
    let (high, medium) = if accepted.is_empty() {
        (current.high, current.medium)
    } else {
        let high = (threshold_for_precision(&accepted, target_high) as f64).max(reject);
        let medium = (threshold_for_precision(&accepted, target_medium) as f64)
            .max(reject)
            .min(high);
        (high, medium)
    };
    let precision = |lo: f64| {
        let inside: Vec<&(f32, bool)> = accepted.iter().filter(|r| r.0 >= lo as f32).collect();
        (!inside.is_empty())
            .then(|| inside.iter().filter(|r| r.1).count() as f64 / inside.len() as f64)
    };
    let conf: Vec<f64> = rows.iter().map(|r| r.0).collect();
    let ok: Vec<bool> = rows.iter().map(|r| r.1).collect();
    let reliability = signoff_intake::metrics::reliability(&conf, &ok, 10)
        .into_iter()
        .enumerate()
        .map(|(i, b)| ReliabilityBin {
            from: i as f64 / 10.0,
            to: (i + 1) as f64 / 10.0,
            n: b.n,
            confidence: b.confidence,
            accuracy: b.accuracy,
        })
        .collect();
    let replay = replay(ws, high, medium, reject)?;
    Ok(Proposal {
        model_id: model.id,
        current,
        target_high,
        target_medium,
        high,
        medium,
        reject,
        rows: rows.len(),
        basis,
        precision_high: precision(high),
        precision_medium: precision(medium),
        reliability,
        replay,
    })
}

/// How thresholds would re-band the open cases the model classified.
pub fn replay(ws: &Workspace, high: f64, medium: f64, reject: f64) -> Result<Replay, ApiError> {
    let mut r = Replay::default();
    for v in ws.open_model_verdicts()? {
        r.open += 1;
        // The classifier compares in f32; the explanation's f32 was printed shortest-form, so
        // narrowing recovers the exact value and boundary cases band as the classifier did.
        let p = v.top_probability as f32;
        let (high, medium, reject) = (high as f32, medium as f32, reject as f32);
        // An out-of-scope label stays escalated whatever the thresholds (the model chose oos).
        let oos = v.label == signoff_intake::OOS && v.escalate && p >= reject;
        let (band, escalate) = if oos || p < reject {
            (Band::Low, true)
        } else if p >= high {
            (Band::High, false)
        } else if p >= medium {
            (Band::Medium, false)
        } else {
            (Band::Low, false)
        };
        r.band_changes += (band != v.band) as usize;
        r.newly_escalated += (escalate && !v.escalate) as usize;
        r.no_longer_escalated += (!escalate && v.escalate) as usize;
        r.bands_after[match band {
            Band::High => 0,
            Band::Medium => 1,
            Band::Low => 2,
        }] += 1;
    }
    Ok(r)
}

/// Saves a proposal as a new threshold version (audited as `threshold_change`).
pub fn save(
    ws: &mut Workspace,
    p: &Proposal,
    actor: &str,
    clock: &dyn Clock,
) -> Result<ThresholdVersion, ApiError> {
    Ok(ws.save_thresholds(
        &NewThresholds {
            model_id: p.model_id.clone(),
            target_high: Some(p.target_high),
            target_medium: Some(p.target_medium),
            high: p.high,
            medium: p.medium,
            reject: p.reject,
            basis: p.basis.clone(),
        },
        actor,
        clock,
    )?)
}

/// Scores labelled rows with the model in force: (top in-scope probability, whether the
/// label it gives is the row's label), for calibrating on a file rather than on cases.
pub fn score_examples(
    ws: &Workspace,
    rows: &[Example],
    encoder_dir: &Path,
) -> Result<Vec<(f64, bool)>, ApiError> {
    let m = load_model(ws)?.map_err(ApiError::Request)?;
    let clf = &m.artefact.classifier;
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    let emb = match &clf.dense {
        Some(_) => {
            let e = embedder(encoder_dir).map_err(|why| {
                ApiError::Request(format!("model {} needs the sentence encoder: {why}", m.id))
            })?;
            // The classifier's own vectors: a fine-tuned model's layers, else its pooling.
            Some(clf.embed(&e, &texts)?)
        }
        None => None,
    };
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let v = clf.classify(Input {
                embedding: emb.as_ref().map(|e| e[i].as_slice()),
                text: &r.text,
            })?;
            Ok((v.top_probability as f64, v.label == r.label))
        })
        .collect()
}

/// Trains on a labelled JSONL file (`{"text","label"}` rows) with the configuration `spec`
/// and puts the model in force in the workspace (no embedding cache: hosts with one call
/// [`train_artefact`] and [`install`] themselves).
pub fn train_file_into(
    ws: &mut Workspace,
    rows: &Path,
    spec: &str,
    encoder_dir: &Path,
    actor: &str,
    clock: &dyn Clock,
) -> Result<(TrainReport, ThresholdVersion), ApiError> {
    let examples = signoff_intake::data::read_jsonl(rows)?;
    let config = Config::parse(spec).map_err(ApiError::Request)?;
    let encoder = if config.embeddings {
        embedder(encoder_dir).ok()
    } else {
        None
    };
    let pooling = config.pooling;
    let (bytes, report) = train_artefact(&examples, &config, encoder.as_deref(), &mut |e, t| {
        e.embed_with(t, pooling)
            .map_err(|e| signoff_intake::IntakeError::from(e).into())
    })?;
    let version = install(ws, &bytes, actor, clock)?;
    Ok((report, version))
}
