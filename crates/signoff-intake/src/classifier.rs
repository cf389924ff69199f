//! The learned classifier: a softmax head on MiniLM sentence embeddings, one on lexical
//! TF-IDF features and a nearest-example component (per label, the best cosine to its training
//! rows), mixed in log-probability space with weights chosen on a calibration split carved
//! from the training rows, then temperature-scaled on the same split. Out of
//! scope and the lowest band share one threshold on the top in-scope probability; the band
//! thresholds come from the target precision per band, measured on the calibration split.

use crate::artefact::Exemplars;
use crate::calibrate::{fit_temperature, probabilities};
use crate::data::{stratified_split, Example, OOS};
use crate::error::{IntakeError, Result};
use crate::lexical::Tfidf;
use crate::linear::{log_softmax, train_dense, train_sparse, Linear, SparseRow, TrainOptions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Target precision per band, chosen by the team lead.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BandTargets {
    /// Precision the high band must reach.
    pub high: f64,
    /// Precision the medium band (and above) must reach.
    pub medium: f64,
}

/// How to train: which heads, their penalties, the calibration split and the operating point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Name shown in reports.
    pub name: String,
    /// Use the embedding head (when embeddings are available).
    pub embeddings: bool,
    /// Use the lexical head.
    pub lexical: bool,
    /// Inverse penalty of the embedding head.
    pub c_dense: f64,
    /// Inverse penalty of the lexical head.
    pub c_lexical: f64,
    /// Most L-BFGS iterations per head.
    pub max_iter: usize,
    /// Least number of training texts a lexical feature must occur in.
    pub min_df: u32,
    /// Share of the training rows (per label) held out for calibration.
    pub calibration_fraction: f64,
    /// Seed of the calibration split.
    pub seed: u64,
    /// Out-of-scope threshold on the calibrated top in-scope probability (a policy choice, like
    /// the band targets); when `None`, `reject_rate` sets it from the calibration split.
    pub reject_p: Option<f64>,
    /// Share of in-scope calibration rows sent to escalation, when `reject_p` is `None`.
    pub reject_rate: f64,
    /// After calibrating, retrain the heads on all training rows (keeping T and thresholds).
    pub refit: bool,
    /// Scale of the sentence embedding appended to the lexical head's features (0 = the
    /// lexical head sees words only); lets one linear model weigh both kinds of evidence.
    pub joint_scale: f64,
    /// Pooling of the embeddings the embedding head reads.
    pub pooling: crate::embed::Pooling,
    /// Standardise each embedding dimension (zero mean, unit variance over the training rows)
    /// before the embedding head, so the penalty treats dimensions alike.
    pub standardize: bool,
    /// Target precision per band.
    pub bands: BandTargets,
    /// Passes of fine-tuning of the encoder's top layers before the heads are trained (0 =
    /// frozen encoder); see [`crate::tune`].
    #[serde(default)]
    pub tune_epochs: usize,
    /// Encoder layers kept frozen below the fine-tuned ones.
    #[serde(default = "default_tune_from")]
    pub tune_from: usize,
    /// Peak learning rate of the fine-tuned layers.
    #[serde(default = "default_tune_lr")]
    pub tune_lr: f64,
    /// Mix a nearest-example component in with the heads: per label, the highest cosine
    /// similarity of the text's sentence vector to that label's training rows (see
    /// [`knn_logits`]). Off in models trained before it existed.
    #[serde(default)]
    pub knn: bool,
    /// Temperature of the nearest-example similarities (logit = similarity / this).
    #[serde(default = "default_knn_tau")]
    pub knn_tau: f64,
    /// Nearest training rows the per-label maxima are taken over.
    #[serde(default = "default_knn_shortlist")]
    pub knn_shortlist: usize,
}

fn default_knn_tau() -> f64 {
    0.1
}

fn default_knn_shortlist() -> usize {
    32
}

fn default_tune_from() -> usize {
    crate::tune::TuneOptions::default().from
}

fn default_tune_lr() -> f64 {
    crate::tune::TuneOptions::default().lr
}

impl Config {
    /// A named preset: `lexical`, `minilm`, `ensemble` (the default) or `tuned` (the ensemble
    /// on an encoder whose top layers are fine-tuned first), optionally followed by
    /// `:key=value` overrides (`c_dense`, `c_lexical`, `reject_p`, `reject_rate`, `refit`, `seed`,
    /// `calibration_fraction`, `max_iter`, `min_df`, `tune_epochs`, `tune_from`, `tune_lr`,
    /// `knn` (`ensemble:knn=0` is the two-head ensemble before the nearest-example component),
    /// `knn_tau`, `knn_shortlist`, …).
    pub fn parse(spec: &str) -> std::result::Result<Self, String> {
        let mut parts = spec.split(':');
        let name = parts.next().unwrap_or_default();
        let mut c = Config {
            name: spec.to_string(),
            embeddings: true,
            lexical: true,
            c_dense: 30.0,
            c_lexical: 30.0,
            max_iter: 300,
            min_df: 2,
            calibration_fraction: 0.1,
            seed: 7,
            reject_p: Some(0.45),
            reject_rate: 0.03,
            refit: true,
            joint_scale: 0.0,
            standardize: false,
            // The last layer's mean and layer 4's (see `Pooling::MeanL4` for what it measured).
            pooling: crate::embed::Pooling::MeanL4,
            bands: BandTargets {
                high: 0.97,
                medium: 0.90,
            },
            tune_epochs: 0,
            tune_from: default_tune_from(),
            tune_lr: default_tune_lr(),
            // BANKING77 --split 0.2, seeds 7/11/3/5: see docs/evaluation.md (intake).
            knn: true,
            knn_tau: default_knn_tau(),
            knn_shortlist: default_knn_shortlist(),
        };
        match name {
            "ensemble" => {}
            "tuned" => {
                // The exemplars an explanation lists are frozen vectors; a tuned head's
                // nearest-example component would need tuned ones.
                c.tune_epochs = crate::tune::TuneOptions::default().epochs;
                c.knn = false
            }
            "minilm" => c.lexical = false,
            "lexical" => c.embeddings = false,
            other => {
                return Err(format!(
                    "unknown model configuration {other:?} (lexical, minilm, ensemble, tuned)"
                ))
            }
        }
        for kv in parts {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("{kv:?}: expected key=value"))?;
            let num = || v.parse::<f64>().map_err(|e| format!("{k}: {e}"));
            match k {
                "c_dense" => c.c_dense = num()?,
                "c_lexical" => c.c_lexical = num()?,
                "reject_rate" => {
                    c.reject_rate = num()?;
                    c.reject_p = None
                }
                "reject_p" => c.reject_p = Some(num()?),
                "calibration_fraction" => c.calibration_fraction = num()?,
                "seed" => c.seed = num()? as u64,
                "max_iter" => c.max_iter = num()? as usize,
                "min_df" => c.min_df = num()? as u32,
                "refit" => c.refit = v == "true" || v == "1",
                "joint_scale" => c.joint_scale = num()?,
                "standardize" => c.standardize = v == "true" || v == "1",
                "pooling" => {
                    c.pooling = crate::embed::Pooling::parse(v)
                        .ok_or_else(|| format!("pooling: {v:?} (mean, meanmax, meanl4)"))?
                }
                "tune_epochs" => c.tune_epochs = num()? as usize,
                "tune_from" => c.tune_from = num()? as usize,
                "tune_lr" => c.tune_lr = num()?,
                "knn" => c.knn = v == "true" || v == "1",
                "knn_tau" => c.knn_tau = num()?,
                "knn_shortlist" => c.knn_shortlist = num()? as usize,
                "high" => c.bands.high = num()?,
                "medium" => c.bands.medium = num()?,
                _ => return Err(format!("unknown setting {k:?}")),
            }
        }
        Ok(c)
    }
}

/// Where a prediction landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    /// At or above the high threshold.
    High,
    /// At or above the medium threshold.
    Medium,
    /// At or above the out-of-scope threshold.
    Low,
    /// Below every threshold, or out of scope: a person decides.
    Escalate,
}

impl Band {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Band::High => "high",
            Band::Medium => "medium",
            Band::Low => "low",
            Band::Escalate => "escalate",
        }
    }
}

/// Confidence thresholds on the calibrated top in-scope probability.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// High band from here up.
    pub high: f32,
    /// Medium band from here up.
    pub medium: f32,
    /// Below this the case is out of scope and escalated.
    pub reject: f32,
}

/// The classifier's verdict on one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The predicted label, or [`OOS`] when escalated.
    pub label: String,
    /// The best in-scope label, even when escalated.
    pub best_in_scope: String,
    /// Calibrated probability that `label` is right (for an escalation: 1 − the top in-scope
    /// probability).
    pub confidence: f32,
    /// The band.
    pub band: Band,
    /// The calibrated top in-scope probability (what the out-of-scope threshold applies to).
    pub top_probability: f32,
    /// Out-of-scope score, higher = more likely out of scope: the energy (negative
    /// log-sum-exp of the in-scope logits) of the embedding head when it ran — it ranked
    /// out-of-scope rows best (CLINC150 val AUROC 0.981 against 0.977 for 1 − top
    /// probability) — else 1 − the top in-scope probability.
    pub oos_score: f32,
}

/// Energy score of logits over the in-scope classes: −log Σ exp(z).
pub fn energy(z: &[f32], oos: Option<usize>) -> f32 {
    let zi: Vec<f32> = (0..z.len())
        .filter(|&k| Some(k) != oos)
        .map(|k| z[k])
        .collect();
    let m = zi.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    -(m + zi.iter().map(|v| (v - m).exp()).sum::<f32>().ln())
}

/// A trained classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classifier {
    /// The configuration it was trained with.
    pub config: Config,
    /// Labels in index order (sorted); may include [`OOS`].
    pub labels: Vec<String>,
    /// The embedding head.
    pub dense: Option<Linear>,
    /// Per-dimension (mean, 1/std) applied to embeddings before the embedding head, when the
    /// configuration standardises.
    pub standardize: Option<(Vec<f32>, Vec<f32>)>,
    /// The lexical vocabulary and head.
    pub lexical: Option<LexicalHead>,
    /// Weight of the embedding head's log-probabilities (the lexical head gets 1 − this −
    /// `knn_mix`).
    pub mix: f32,
    /// Weight of the nearest-example component's log-probabilities (0 without it).
    #[serde(default)]
    pub knn_mix: f32,
    /// The training rows the nearest-example component compares with (the artefact's
    /// exemplars), when the configuration has it.
    #[serde(skip)]
    pub knn: Option<Exemplars>,
    /// Temperature.
    pub temperature: f32,
    /// Band and out-of-scope thresholds.
    pub thresholds: Thresholds,
    /// Fine-tuned top layers of the encoder, when the configuration fine-tunes: embeddings
    /// for this classifier must come from [`Classifier::embed`].
    #[serde(skip)]
    pub tuned: Option<crate::tune::TunedLayers>,
}

/// The lexical vocabulary and its head.
pub type LexicalHead = (Tfidf, Linear);

/// Per-head logits of one row (embedding head, lexical head, nearest examples).
type HeadLogits = (Option<Vec<f32>>, Option<Vec<f32>>, Option<Vec<f32>>);

/// What one text looks like to the heads.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Its sentence embedding, when the model ran.
    pub embedding: Option<&'a [f32]>,
    /// Its text.
    pub text: &'a str,
}

/// Log-probabilities mixed with weights: the embedding head `a`, the nearest-example
/// component `c`, the lexical head the rest (a single head alone gets all of it).
fn mix_logits(h: &HeadLogits, a: f32, c: f32) -> Vec<f32> {
    let (dense, lex, knn) = (h.0.as_deref(), h.1.as_deref(), h.2.as_deref());
    let parts: Vec<(&[f32], f32)> = match (dense, lex) {
        (Some(d), Some(l)) => vec![(d, a), (l, 1.0 - a - c)],
        (Some(d), None) => vec![(d, 1.0 - c)],
        (None, Some(l)) => return log_softmax(l),
        (None, None) => unreachable!("a classifier has at least one head"),
    };
    let mut out = vec![0f32; parts[0].0.len()];
    let knn = knn.map(|k| (k, c));
    for (z, w) in parts.into_iter().chain(knn) {
        for (o, v) in out.iter_mut().zip(log_softmax(z)) {
            *o += w * v;
        }
    }
    out
}

/// The unit-length sentence vector inside an embedding of any pooling (the mean of the last
/// layer comes first): what exemplars hold and similarities are taken on.
pub fn sentence_part(e: &[f32]) -> Vec<f32> {
    let m = &e[..crate::embed::DIM.min(e.len())];
    let n = m.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    m.iter().map(|x| x / n).collect()
}

/// Logits of the nearest-example component for a unit sentence vector: per label, the
/// highest cosine similarity to that label's exemplars among the `shortlist` nearest, over
/// `tau`; a label with no exemplar in the shortlist gets the shortlist's lowest similarity
/// (its own maximum is at most that). BANKING77 has many near-paraphrases, which one close
/// training row decides better than a linear boundary.
pub fn knn_logits(
    ex: &Exemplars,
    classes: usize,
    query: &[f32],
    shortlist: usize,
    tau: f32,
) -> Vec<f32> {
    let near = ex.nearest(query, shortlist.max(1));
    let floor = near.last().map_or(0.0, |n| n.1);
    let mut z = vec![floor; classes];
    for (i, s) in near {
        let k = ex.labels[i] as usize;
        if s > z[k] {
            z[k] = s;
        }
    }
    z.iter().map(|s| s / tau).collect()
}

/// Indices of the highest probability overall and of the highest in-scope one.
fn top(probs: &[f32], oos: Option<usize>) -> (usize, usize) {
    let arg = |skip: Option<usize>| {
        (0..probs.len())
            .filter(|&k| Some(k) != skip)
            .max_by(|&a, &b| probs[a].total_cmp(&probs[b]))
            .unwrap_or(0)
    };
    (arg(None), arg(oos))
}

/// The lowest confidence whose top-confidence set still has at least `target` precision
/// (rows are (confidence, correct)); 1.0 when none does.
pub fn threshold_for_precision(rows: &[(f32, bool)], target: f64) -> f32 {
    let mut sorted = rows.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut right = 0usize;
    let mut best = f32::INFINITY;
    for (i, (c, ok)) in sorted.iter().enumerate() {
        right += *ok as usize;
        // Only cut between distinct confidences.
        let next_differs = sorted.get(i + 1).is_none_or(|n| n.0 < *c);
        if next_differs && right as f64 / (i + 1) as f64 >= target {
            best = *c;
        }
    }
    if best.is_finite() {
        best
    } else {
        1.0
    }
}

/// The lexical head's features: TF-IDF, then (when `scale > 0`) the scaled embedding.
fn lexical_row(vocab: &Tfidf, text: &str, embedding: Option<&[f32]>, scale: f64) -> SparseRow {
    let mut row = vocab.transform(text);
    if let (Some(e), true) = (embedding, scale > 0.0) {
        let base = vocab.dim() as u32;
        row.idx.extend((0..e.len() as u32).map(|j| base + j));
        row.val.extend(e.iter().map(|v| v * scale as f32));
    }
    row
}

/// Per-dimension mean and inverse standard deviation.
fn moments(rows: &[Vec<f32>]) -> (Vec<f32>, Vec<f32>) {
    let d = rows[0].len();
    let n = rows.len() as f64;
    let mut mean = vec![0f64; d];
    for r in rows {
        for (m, v) in mean.iter_mut().zip(r) {
            *m += *v as f64 / n;
        }
    }
    let mut var = vec![0f64; d];
    for r in rows {
        for ((s, v), m) in var.iter_mut().zip(r).zip(&mean) {
            *s += (*v as f64 - m).powi(2) / n;
        }
    }
    (
        mean.iter().map(|m| *m as f32).collect(),
        var.iter()
            .map(|v| (1.0 / v.sqrt().max(1e-6)) as f32)
            .collect(),
    )
}

fn standardized(e: &[f32], by: Option<&(Vec<f32>, Vec<f32>)>) -> Vec<f32> {
    match by {
        Some((mean, inv)) => e
            .iter()
            .zip(mean)
            .zip(inv)
            .map(|((v, m), i)| (v - m) * i)
            .collect(),
        None => e.to_vec(),
    }
}

impl Classifier {
    fn dense_input(&self, e: &[f32]) -> Vec<f32> {
        standardized(e, self.standardize.as_ref())
    }

    fn lexical_row(&self, vocab: &Tfidf, input: Input<'_>) -> SparseRow {
        let e = input.embedding.filter(|_| self.dense.is_some());
        lexical_row(vocab, input.text, e, self.config.joint_scale)
    }

    /// Index of the out-of-scope label, when the training rows had one.
    pub fn oos_index(&self) -> Option<usize> {
        self.labels.iter().position(|l| l == OOS)
    }

    /// Which heads ran, as recorded in provenance (`minilm+lexical`, `minilm`, `lexical`).
    pub fn heads(&self) -> &'static str {
        match (&self.dense, &self.lexical) {
            (Some(_), Some(_)) => "minilm+lexical",
            (Some(_), None) => "minilm",
            _ => "lexical",
        }
    }

    /// Uncalibrated mixed logits for one input.
    fn logits(&self, input: Input<'_>) -> Result<Vec<f32>> {
        Ok(mix_logits(
            &self.head_logits(input)?,
            self.mix,
            self.knn_mix,
        ))
    }

    /// Each head's logits for one input (embedding head, lexical head).
    fn head_logits(&self, input: Input<'_>) -> Result<HeadLogits> {
        let d = match (&self.dense, input.embedding) {
            (Some(h), Some(e)) if e.len() != h.dim => {
                return Err(IntakeError::Model(format!(
                    "the embedding has {} floats but this classifier's embedding head reads {} \
                     (vectors from another pooling or encoder)",
                    e.len(),
                    h.dim
                )))
            }
            (Some(h), Some(e)) => Some(h.logits_dense(&self.dense_input(e))),
            (Some(_), None) => {
                return Err(IntakeError::Model(
                    "this classifier needs sentence embeddings and none were given".into(),
                ))
            }
            _ => None,
        };
        let l = self
            .lexical
            .as_ref()
            .map(|(v, h)| h.logits_sparse(&self.lexical_row(v, input)));
        let k = self.knn_part(input.embedding);
        Ok((d, l, k))
    }

    /// The nearest-example component's logits, when this classifier has it.
    fn knn_part(&self, embedding: Option<&[f32]>) -> Option<Vec<f32>> {
        let (ex, e) = (self.knn.as_ref()?, embedding?);
        Some(knn_logits(
            ex,
            self.labels.len(),
            &sentence_part(e),
            self.config.knn_shortlist,
            self.config.knn_tau as f32,
        ))
    }

    /// Calibrated probabilities over [`Classifier::labels`].
    pub fn probabilities(&self, input: Input<'_>) -> Result<Vec<f32>> {
        Ok(probabilities(&self.logits(input)?, self.temperature))
    }

    /// The verdict for one input.
    pub fn classify(&self, input: Input<'_>) -> Result<Verdict> {
        let h = self.head_logits(input)?;
        let z = mix_logits(&h, self.mix, self.knn_mix);
        let mut v = self.verdict(&probabilities(&z, self.temperature));
        if let Some(d) = &h.0 {
            v.oos_score = energy(d, self.oos_index());
        }
        Ok(v)
    }

    /// The verdict from calibrated probabilities.
    pub fn verdict(&self, probs: &[f32]) -> Verdict {
        let oos = self.oos_index();
        let (best, best_in) = top(probs, oos);
        let p = probs[best_in];
        let t = &self.thresholds;
        let rejected = Some(best) == oos || p < t.reject;
        let (label, confidence, band) = if rejected {
            (OOS.to_string(), 1.0 - p, Band::Escalate)
        } else if p >= t.high {
            (self.labels[best_in].clone(), p, Band::High)
        } else if p >= t.medium {
            (self.labels[best_in].clone(), p, Band::Medium)
        } else {
            (self.labels[best_in].clone(), p, Band::Low)
        };
        Verdict {
            label,
            best_in_scope: self.labels[best_in].clone(),
            confidence,
            band,
            top_probability: p,
            oos_score: 1.0 - p,
        }
    }

    /// Sentence embeddings of texts as this classifier's embedding head reads them: from the
    /// fine-tuned encoder when it has one, else with the configured pooling.
    pub fn embed(
        &self,
        embedder: &signoff_embed::Embedder,
        texts: &[&str],
    ) -> Result<Vec<Vec<f32>>> {
        match &self.tuned {
            Some(t) => crate::tune::sentence_vectors(embedder, texts, Some(t)),
            None => Ok(embedder.embed_with(texts, self.config.pooling)?),
        }
    }

    /// Trains on labelled examples. `embeddings`, when given, holds one sentence embedding per
    /// example; without them (or with `config.embeddings` off) only the lexical head is
    /// trained. A configuration that fine-tunes the encoder is refused here: it needs the
    /// encoder itself ([`crate::tune::train_tuned`]).
    pub fn train(
        examples: &[Example],
        embeddings: Option<&[Vec<f32>]>,
        config: &Config,
    ) -> Result<Classifier> {
        if config.tune_epochs > 0 && config.embeddings && embeddings.is_some() {
            return Err(IntakeError::Training(format!(
                "{}: fine-tuning needs the sentence encoder itself, not precomputed embeddings \
                 (signoff_intake::tune::train_tuned)",
                config.name
            )));
        }
        Self::train_heads(examples, embeddings, config)
    }

    /// [`Classifier::train`] without the fine-tuning check: the heads on given embeddings.
    pub(crate) fn train_heads(
        examples: &[Example],
        embeddings: Option<&[Vec<f32>]>,
        config: &Config,
    ) -> Result<Classifier> {
        let labels: Vec<String> = examples
            .iter()
            .map(|e| e.label.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if labels.iter().filter(|l| *l != OOS).count() < 2 {
            return Err(IntakeError::Training(
                "need at least two in-scope labels".into(),
            ));
        }
        let y: Vec<usize> = examples
            .iter()
            .map(|e| labels.binary_search(&e.label).expect("label listed"))
            .collect();
        let use_dense = config.embeddings && embeddings.is_some();
        let use_lex = config.lexical || !use_dense;
        let joint = use_dense && config.joint_scale > 0.0;
        let standardize = match embeddings {
            Some(emb) if use_dense && config.standardize => Some(moments(emb)),
            _ => None,
        };
        let names: Vec<&str> = examples.iter().map(|e| e.label.as_str()).collect();
        let (fit, cal) = stratified_split(&names, config.calibration_fraction, config.seed);
        if cal.is_empty() {
            return Err(IntakeError::Training("calibration split is empty".into()));
        }
        let classes = labels.len();
        let heads = |rows: &[usize],
                     warm: Option<(&Option<Linear>, &Option<LexicalHead>)>|
         -> Result<(Option<Linear>, Option<LexicalHead>)> {
            let yy: Vec<usize> = rows.iter().map(|&i| y[i]).collect();
            let dense = match (use_dense, embeddings) {
                (true, Some(emb)) => {
                    let dim = emb[0].len();
                    let x: Vec<f32> = rows
                        .iter()
                        .flat_map(|&i| standardized(&emb[i], standardize.as_ref()))
                        .collect();
                    let opts = TrainOptions {
                        c: config.c_dense,
                        max_iter: config.max_iter,
                    };
                    let init = warm.and_then(|w| w.0.as_ref());
                    Some(train_dense(&x, dim, &yy, classes, opts, init)?)
                }
                _ => None,
            };
            let lexical = if use_lex {
                let texts: Vec<&str> = rows.iter().map(|&i| examples[i].text.as_str()).collect();
                // A refit keeps the vocabulary and starts from the first fit's weights.
                let warm_lex = warm.and_then(|w| w.1.as_ref());
                let vocab = match warm_lex {
                    Some((v, _)) => v.clone(),
                    None => Tfidf::fit(&texts, config.min_df),
                };
                let x: Vec<SparseRow> = rows
                    .iter()
                    .map(|&i| {
                        let e = embeddings.filter(|_| use_dense).map(|e| e[i].as_slice());
                        lexical_row(&vocab, &examples[i].text, e, config.joint_scale)
                    })
                    .collect();
                let dim = vocab.dim()
                    + if joint {
                        embeddings.map_or(0, |e| e[0].len())
                    } else {
                        0
                    };
                let opts = TrainOptions {
                    c: config.c_lexical,
                    max_iter: config.max_iter,
                };
                let head = train_sparse(&x, dim, &yy, classes, opts, warm_lex.map(|w| &w.1))?;
                Some((vocab, head))
            } else {
                None
            };
            Ok((dense, lexical))
        };
        // The nearest-example component compares with these rows' sentence vectors.
        let use_knn = use_dense && config.knn && config.tune_epochs == 0;
        let exemplars = |rows: &[usize]| -> Option<Exemplars> {
            let emb = embeddings.filter(|_| use_knn)?;
            Some(Exemplars::new(
                rows.iter().map(|&i| examples[i].text.clone()).collect(),
                rows.iter().map(|&i| y[i] as u32).collect(),
                &rows
                    .iter()
                    .map(|&i| sentence_part(&emb[i]))
                    .collect::<Vec<_>>(),
            ))
        };
        let (dense, lexical) = heads(&fit, None)?;
        let mut clf = Classifier {
            config: config.clone(),
            labels,
            dense,
            standardize: standardize.clone(),
            lexical,
            mix: 1.0,
            knn_mix: 0.0,
            knn: exemplars(&fit),
            temperature: 1.0,
            thresholds: Thresholds {
                high: 1.0,
                medium: 1.0,
                reject: 0.0,
            },
            tuned: None,
        };
        // Calibration split: per-head logits once, then the mix weight and T by NLL.
        let input = |i: usize| Input {
            embedding: embeddings.map(|e| e[i].as_slice()),
            text: &examples[i].text,
        };
        let head_logits: Vec<HeadLogits> = cal
            .iter()
            .map(|&i| {
                let d = clf.dense.as_ref().map(|h| {
                    h.logits_dense(&clf.dense_input(input(i).embedding.expect("embedding")))
                });
                let l = clf
                    .lexical
                    .as_ref()
                    .map(|(v, h)| h.logits_sparse(&clf.lexical_row(v, input(i))));
                (d, l, clf.knn_part(input(i).embedding))
            })
            .collect();
        let cal_y: Vec<usize> = cal.iter().map(|&i| y[i]).collect();
        // (embedding weight, nearest-example weight) pairs in tenths; the lexical head gets
        // the rest.
        let tenths = |k: u32| k as f32 / 10.0;
        let grid: Vec<(f32, f32)> = match (clf.dense.is_some(), clf.lexical.is_some()) {
            (true, true) if clf.knn.is_some() => (0..=10)
                .flat_map(|a| (0..=10 - a).map(move |c| (tenths(a), tenths(c))))
                .collect(),
            (true, true) => (0..=10).map(|a| (tenths(a), 0.0)).collect(),
            (true, false) if clf.knn.is_some() => {
                (0..=10).map(|c| (1.0 - tenths(c), tenths(c))).collect()
            }
            _ => vec![(1.0, 0.0)],
        };
        let mut best = (f64::INFINITY, 1.0f32, 0.0f32, 1.0f32);
        for (a, c) in grid {
            let z: Vec<Vec<f32>> = head_logits.iter().map(|h| mix_logits(h, a, c)).collect();
            let t = fit_temperature(&z, &cal_y);
            let nll = crate::calibrate::nll(&z, &cal_y, t);
            if nll < best.0 {
                best = (nll, a, c, t);
            }
        }
        clf.mix = best.1;
        clf.knn_mix = best.2;
        clf.temperature = best.3;
        // Thresholds from the calibrated calibration split.
        let oos = clf.oos_index();
        let mut in_scope_top: Vec<f32> = Vec::new();
        let mut accepted: Vec<(f32, bool)> = Vec::new();
        let scored: Vec<(usize, usize, f32)> = head_logits
            .iter()
            .zip(&cal_y)
            .map(|(h, &yy)| {
                let p = probabilities(&mix_logits(h, clf.mix, clf.knn_mix), clf.temperature);
                let (b, bi) = top(&p, oos);
                if Some(yy) != oos {
                    in_scope_top.push(p[bi]);
                }
                (b, bi, p[bi])
            })
            .collect();
        in_scope_top.sort_by(f32::total_cmp);
        let k = ((in_scope_top.len() as f64) * config.reject_rate).floor() as usize;
        // Without out-of-scope rows the label set is declared closed: nothing is rejected as
        // out of scope and uncertain cases land in the low band instead.
        let reject = if oos.is_none() {
            0.0
        } else if let Some(p) = config.reject_p {
            p as f32
        } else if config.reject_rate <= 0.0 || in_scope_top.is_empty() {
            0.0
        } else {
            in_scope_top[k.min(in_scope_top.len() - 1)]
        };
        for (&(b, bi, p), &yy) in scored.iter().zip(&cal_y) {
            if Some(b) != oos && p >= reject {
                accepted.push((p, bi == yy));
            }
        }
        let high = threshold_for_precision(&accepted, config.bands.high).max(reject);
        let medium = threshold_for_precision(&accepted, config.bands.medium)
            .max(reject)
            .min(high);
        clf.thresholds = Thresholds {
            high,
            medium,
            reject,
        };
        if config.refit {
            let all: Vec<usize> = (0..examples.len()).collect();
            let (dense, lexical) = heads(&all, Some((&clf.dense, &clf.lexical)))?;
            clf.dense = dense;
            clf.lexical = lexical;
            clf.knn = exemplars(&all);
        }
        Ok(clf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Twenty rows of two labels with two-float vectors that tell them apart.
    fn two_labels() -> (Vec<Example>, Vec<Vec<f32>>) {
        let rows = (0..20)
            .map(|i| Example {
                text: format!("text {i}"),
                label: ["a", "b"][i % 2].into(),
            })
            .collect();
        let emb = (0..20).map(|i| vec![(i % 2) as f32, 1.0]).collect();
        (rows, emb)
    }

    #[test]
    fn a_fine_tuning_configuration_needs_the_encoder_not_precomputed_vectors() {
        let c = Config::parse("tuned:tune_epochs=3:tune_from=5:tune_lr=2e-4").unwrap();
        assert_eq!((c.tune_epochs, c.tune_from, c.tune_lr), (3, 5, 2e-4));
        assert_eq!(Config::parse("ensemble").unwrap().tune_epochs, 0);
        let (rows, emb) = two_labels();
        let err = Classifier::train(&rows, Some(&emb), &c)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("fine-tuning needs the sentence encoder"),
            "{err}"
        );
        // Without the encoder it falls back to the lexical model, as every configuration does.
        assert_eq!(
            Classifier::train(&rows, None, &c).unwrap().heads(),
            "lexical"
        );
    }

    #[test]
    fn an_embedding_of_the_wrong_width_is_an_error_not_a_panic() {
        let (rows, emb) = two_labels();
        let c = Config::parse("minilm:max_iter=20").unwrap();
        let clf = Classifier::train(&rows, Some(&emb), &c).unwrap();
        let input = |e: &'static [f32]| Input {
            embedding: Some(e),
            text: "text",
        };
        assert!(clf.classify(input(&[1.0, 1.0])).is_ok());
        let err = clf
            .classify(input(&[1.0, 1.0, 0.0]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("has 3 floats") && err.contains("reads 2"),
            "{err}"
        );
    }

    #[test]
    fn knn_logits_take_each_labels_best_similarity_in_the_shortlist() {
        let unit = |v: [f32; 3]| {
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.map(|x| x / n).to_vec()
        };
        let rows = [
            unit([1.0, 0.0, 0.0]),
            unit([1.0, 1.0, 0.0]),
            unit([0.0, 1.0, 0.0]),
            unit([0.0, 0.0, 1.0]),
        ];
        let ex = Exemplars::new(
            (0..4).map(|i| format!("row {i}")).collect(),
            vec![0, 1, 1, 2],
            &rows,
        );
        let q = unit([1.0, 0.2, 0.0]);
        let cos = |r: &[f32]| r.iter().zip(&q).map(|(a, b)| a * b).sum::<f32>();
        // Shortlist 3: rows 0, 1, 2 (row 3 is orthogonal). Label 1 takes row 1 over row 2;
        // label 2, absent, gets the shortlist's lowest similarity (row 2's).
        let z = knn_logits(&ex, 3, &q, 3, 0.5);
        let want = [
            cos(&rows[0]) / 0.5,
            cos(&rows[1]) / 0.5,
            cos(&rows[2]) / 0.5,
        ];
        for (got, want) in z.iter().zip(want) {
            assert!((got - want).abs() < 0.02, "{z:?} vs {want:?}");
        }
        // A shortlist of one: only the nearest label stands out.
        let z = knn_logits(&ex, 3, &q, 1, 1.0);
        assert!(z[0] > 0.9 && z[1] == z[0] && z[2] == z[0], "{z:?}");
    }

    /// Two clusters per label on a circle, interleaved: no linear head separates them, the
    /// nearest training row does.
    fn islands() -> (Vec<Example>, Vec<Vec<f32>>) {
        let mut rows = Vec::new();
        let mut emb = Vec::new();
        for i in 0..160 {
            let island = i % 4;
            let angle = island as f32 * std::f32::consts::FRAC_PI_2 + (i / 4) as f32 * 0.004;
            rows.push(Example {
                text: format!("row {i}"),
                label: ["a", "b"][island % 2].into(),
            });
            emb.push(vec![angle.cos(), angle.sin(), 0.3]);
        }
        (rows, emb)
    }

    #[test]
    fn the_nearest_example_component_is_weighted_on_the_calibration_split() {
        let (rows, emb) = islands();
        let emb: Vec<Vec<f32>> = emb.iter().map(|e| sentence_part(e)).collect();
        let with = Classifier::train(&rows, Some(&emb), &Config::parse("minilm").unwrap()).unwrap();
        let without =
            Classifier::train(&rows, Some(&emb), &Config::parse("minilm:knn=0").unwrap()).unwrap();
        assert_eq!(with.knn.as_ref().map(Exemplars::len), Some(rows.len()));
        assert!(without.knn.is_none() && without.knn_mix == 0.0);
        assert!(with.knn_mix > 0.5, "knn weight {}", with.knn_mix);
        let right = |c: &Classifier| {
            (0..4)
                .filter(|&island| {
                    let a = island as f32 * std::f32::consts::FRAC_PI_2 + 0.1;
                    let e = sentence_part(&[a.cos(), a.sin(), 0.3]);
                    let v = c
                        .classify(Input {
                            embedding: Some(&e),
                            text: "",
                        })
                        .unwrap();
                    v.label == ["a", "b"][island % 2]
                })
                .count()
        };
        assert_eq!(right(&with), 4);
        assert!(right(&without) < 4);
    }

    #[test]
    fn energy_ignores_the_oos_class() {
        let z = [0.0, 0.0, 50.0];
        assert!((energy(&z, Some(2)) + 2f32.ln()).abs() < 1e-6);
        assert!(energy(&z, None) < -49.9);
    }

    #[test]
    fn band_threshold_is_the_lowest_confidence_keeping_the_target_precision() {
        // Sorted: 0.9 ok, 0.8 ok, 0.7 wrong, 0.6 ok. Precision of the top 1, 2, 3, 4 rows:
        // 1, 1, 2/3, 3/4. Target 0.75 → down to 0.6 (3/4); target 0.9 → 0.8.
        let rows = [(0.7, false), (0.9, true), (0.6, true), (0.8, true)];
        assert_eq!(threshold_for_precision(&rows, 0.75), 0.6);
        assert_eq!(threshold_for_precision(&rows, 0.9), 0.8);
        assert_eq!(threshold_for_precision(&[(0.5, false)], 0.9), 1.0);
    }
}
