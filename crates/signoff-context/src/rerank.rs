//! The reranker over the fused top-k: a learning-to-rank model trained here from judged data
//! (logistic regression over per-candidate features: BM25 and cosine of the whole case and of
//! its last turn, entity match, title-in-last-turn, FAQ vs review, the fused score and rank).
//! Training is full-batch gradient descent from zero weights: deterministic, no randomness.
//!
//! A reranker is a versioned JSON file (`format: signoff-reranker`, `kind`, `version`). The
//! built-in one is `assets/reranker-linear-v1.json`, trained by `signoff eval retrieval
//! --train-reranker`. [`Reranker::load`] dispatches on the file's `kind`, so a real
//! cross-encoder (`kind: cross-encoder`, a directory of safetensors weights) can be added
//! without changing callers; today such a file is refused by name.

use crate::error::{ContextError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The names of the features, in the order [`crate::retriever::Candidate::features`] fills
/// them.
pub const FEATURES: &[&str] = &[
    "bm25_full",
    "bm25_last",
    "cos_last",
    "cos_last_raw",
    "entity",
    "entity_top",
    "entity_in_last_turn",
    "faq",
    "hybrid",
    "hybrid_rank_inv",
    "entity_top_x_cos_last",
    "entity_top_x_bm25_last",
    "log_len",
    "cos_last_rank_inv",
    "bm25_last_rank_inv",
    "faq_x_cos_last",
];

/// The built-in reranker file.
pub const BUILTIN: &str = include_str!("../../../assets/reranker-linear-v1.json");

/// A linear (logistic) reranker: score = bias + Σ wᵢ · (xᵢ − meanᵢ) / stdᵢ.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LinearReranker {
    /// Always `signoff-reranker`.
    pub format: String,
    /// Always `linear` for this type.
    pub kind: String,
    /// File version (1).
    pub version: u32,
    /// Feature names, which must equal [`FEATURES`].
    pub features: Vec<String>,
    /// Per-feature means of the training rows.
    pub mean: Vec<f32>,
    /// Per-feature standard deviations of the training rows (≥ 1e-6).
    pub std: Vec<f32>,
    /// Weights on the standardised features.
    pub weights: Vec<f32>,
    /// Intercept.
    pub bias: f32,
    /// What it was trained on (free text: data set, rows, options).
    pub trained_on: String,
}

/// Training options.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    /// Pairwise (RankNet-style: logistic loss on score differences of a relevant and a
    /// non-relevant candidate of the same query) instead of pointwise logistic regression.
    pub pairwise: bool,
    /// Gradient steps.
    pub iterations: usize,
    /// Step size.
    pub learning_rate: f32,
    /// L2 penalty on the weights.
    pub l2: f32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            pairwise: true,
            iterations: 400,
            learning_rate: 0.5,
            l2: 1e-4,
        }
    }
}

impl LinearReranker {
    /// Trains on `(features, relevant)` rows, one group per query (pairs are formed within a
    /// group only).
    pub fn train(
        groups: &[Vec<(Vec<f32>, bool)>],
        opt: TrainOptions,
        trained_on: &str,
    ) -> Result<Self> {
        let rows: Vec<(Vec<f32>, bool)> = groups.iter().flatten().cloned().collect();
        let mut start = Vec::with_capacity(groups.len() + 1);
        start.push(0usize);
        for g in groups {
            start.push(start.last().copied().unwrap_or(0) + g.len());
        }
        let rows = &rows[..];
        let d = FEATURES.len();
        if rows.is_empty() || !rows.iter().any(|r| r.1) || rows.iter().all(|r| r.1) {
            return Err(ContextError::Input(
                "reranker training needs both relevant and non-relevant candidates".into(),
            ));
        }
        if let Some(r) = rows.iter().find(|r| r.0.len() != d) {
            return Err(ContextError::Input(format!(
                "a training row has {} features, expected {d}",
                r.0.len()
            )));
        }
        let n = rows.len() as f64;
        let mut mean = vec![0f64; d];
        for (x, _) in rows {
            for j in 0..d {
                mean[j] += x[j] as f64 / n;
            }
        }
        let mut var = vec![0f64; d];
        for (x, _) in rows {
            for j in 0..d {
                var[j] += (x[j] as f64 - mean[j]).powi(2) / n;
            }
        }
        let std: Vec<f64> = var.iter().map(|v| v.sqrt().max(1e-6)).collect();
        let z: Vec<Vec<f64>> = rows
            .iter()
            .map(|(x, _)| (0..d).map(|j| (x[j] as f64 - mean[j]) / std[j]).collect())
            .collect();
        let y: Vec<f64> = rows.iter().map(|r| if r.1 { 1.0 } else { 0.0 }).collect();
        let (mut w, mut b) = (vec![0f64; d], 0f64);
        let lr = opt.learning_rate as f64;
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        let pairs: f64 = groups
            .iter()
            .map(|g| {
                let p = g.iter().filter(|r| r.1).count();
                (p * (g.len() - p)) as f64
            })
            .sum();
        for _ in 0..opt.iterations {
            let s: Vec<f64> = z
                .iter()
                .map(|zi| b + zi.iter().zip(&w).map(|(a, c)| a * c).sum::<f64>())
                .collect();
            // Per-row coefficient of the gradient: the gradient is Σ coefᵢ · zᵢ.
            let mut coef = vec![0f64; rows.len()];
            let norm;
            if opt.pairwise {
                for q in 0..groups.len() {
                    let (lo, hi) = (start[q], start[q + 1]);
                    for i in (lo..hi).filter(|&i| y[i] > 0.5) {
                        for k in (lo..hi).filter(|&k| y[k] < 0.5) {
                            let g = sig(-(s[i] - s[k]));
                            coef[i] -= g;
                            coef[k] += g;
                        }
                    }
                }
                norm = pairs.max(1.0);
            } else {
                for i in 0..rows.len() {
                    coef[i] = sig(s[i]) - y[i];
                }
                norm = n;
            }
            let mut gw = vec![0f64; d];
            for (zi, c) in z.iter().zip(&coef) {
                if *c != 0.0 {
                    for j in 0..d {
                        gw[j] += c * zi[j];
                    }
                }
            }
            for j in 0..d {
                w[j] -= lr * (gw[j] / norm + opt.l2 as f64 * w[j]);
            }
            if !opt.pairwise {
                b -= lr * coef.iter().sum::<f64>() / n;
            }
        }
        Ok(LinearReranker {
            format: "signoff-reranker".into(),
            kind: "linear".into(),
            version: 1,
            features: FEATURES.iter().map(|s| s.to_string()).collect(),
            mean: mean.iter().map(|&v| v as f32).collect(),
            std: std.iter().map(|&v| v as f32).collect(),
            weights: w.iter().map(|&v| v as f32).collect(),
            bias: b as f32,
            trained_on: trained_on.into(),
        })
    }

    /// The score of one candidate's features (higher is more relevant).
    pub fn score(&self, x: &[f32]) -> f32 {
        let terms = x
            .iter()
            .zip(&self.weights)
            .zip(self.mean.iter().zip(&self.std))
            .map(|((x, w), (m, sd))| w * (x - m) / sd);
        self.bias + terms.sum::<f32>()
    }

    fn check(self, path: &str) -> Result<Self> {
        let bad = |message: String| ContextError::Reranker {
            path: path.to_string(),
            message,
        };
        if self.features != FEATURES {
            return Err(bad(format!(
                "features: {:?} differ from this build's {:?}; retrain it",
                self.features, FEATURES
            )));
        }
        let d = FEATURES.len();
        if self.mean.len() != d || self.std.len() != d || self.weights.len() != d {
            return Err(bad(format!(
                "mean, std and weights must each have {d} values"
            )));
        }
        if self.std.iter().any(|s| !(s.is_finite() && *s > 0.0))
            || self
                .weights
                .iter()
                .chain(&self.mean)
                .any(|v| !v.is_finite())
        {
            return Err(bad("std must be positive and every value finite".into()));
        }
        Ok(self)
    }
}

/// A reranker of any supported kind.
#[derive(Debug, Clone)]
pub enum Reranker {
    /// The logistic model over hand-made features.
    Linear(LinearReranker),
}

#[derive(Deserialize)]
struct Header {
    format: String,
    kind: String,
    version: u32,
}

impl Reranker {
    /// The reranker built into this binary (`assets/reranker-linear-v1.json`).
    pub fn builtin() -> Result<Reranker> {
        Reranker::parse(BUILTIN, "built-in")
    }

    /// Parses a reranker file's text; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Reranker> {
        let bad = |message: String| ContextError::Reranker {
            path: path.to_string(),
            message,
        };
        let h: Header = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if h.format != "signoff-reranker" {
            return Err(bad(format!(
                "format: {:?}, expected \"signoff-reranker\"",
                h.format
            )));
        }
        match (h.kind.as_str(), h.version) {
            ("linear", 1) => {
                let m: LinearReranker =
                    serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
                Ok(Reranker::Linear(m.check(path)?))
            }
            ("cross-encoder", _) => Err(bad(
                "kind cross-encoder: no cross-encoder runtime in this build yet (the file names \
                 its weights; a candle BERT cross-encoder loader goes here)"
                    .into(),
            )),
            (k, v) => Err(bad(format!("kind {k:?} version {v} is not supported"))),
        }
    }

    /// Loads a reranker file.
    pub fn load(path: &Path) -> Result<Reranker> {
        let text = std::fs::read_to_string(path).map_err(|source| ContextError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Reranker::parse(&text, &path.display().to_string())
    }

    /// The score of one candidate's features.
    pub fn score(&self, x: &[f32]) -> f32 {
        match self {
            Reranker::Linear(m) => m.score(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Vec<(Vec<f32>, bool)>> {
        // Relevant rows have a high feature 3 (cos_last_raw); feature 0 is noise. 10 queries of 20.
        let all: Vec<(Vec<f32>, bool)> = (0..200)
            .map(|i| {
                let rel = i % 4 == 0;
                let mut x = vec![0.0; FEATURES.len()];
                x[0] = ((i * 37) % 11) as f32 / 11.0;
                x[3] = if rel { 0.8 } else { 0.3 } + ((i * 13) % 7) as f32 / 50.0;
                (x, rel)
            })
            .collect();
        all.chunks(20).map(|c| c.to_vec()).collect()
    }

    #[test]
    fn training_learns_the_informative_feature_and_is_reproducible() {
        let pointwise = TrainOptions {
            pairwise: false,
            ..TrainOptions::default()
        };
        for opt in [TrainOptions::default(), pointwise] {
            let m = LinearReranker::train(&rows(), opt, "test").unwrap();
            assert!(m.weights[3] > 0.5, "{:?}", m.weights);
            assert!(m.weights[0].abs() < 0.5 * m.weights[3], "{:?}", m.weights);
        }
        let m = LinearReranker::train(&rows(), TrainOptions::default(), "test").unwrap();
        let mut hi = vec![0.0; FEATURES.len()];
        hi[3] = 0.85;
        let mut lo = hi.clone();
        lo[3] = 0.3;
        assert!(m.score(&hi) > m.score(&lo));
        let again = LinearReranker::train(&rows(), TrainOptions::default(), "test").unwrap();
        assert_eq!(m, again);
    }

    #[test]
    fn files_round_trip_and_bad_ones_are_named() {
        let m = LinearReranker::train(&rows(), TrainOptions::default(), "test").unwrap();
        let text = serde_json::to_string(&m).unwrap();
        let Reranker::Linear(back) = Reranker::parse(&text, "x.json").unwrap();
        assert_eq!(back, m);
        let e = Reranker::parse(&text.replace("\"linear\"", "\"cross-encoder\""), "ce.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("ce.json") && e.contains("cross-encoder"), "{e}");
        let e = Reranker::parse(&text.replace("bm25_full", "bm25"), "old.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("old.json") && e.contains("retrain"), "{e}");
        assert!(Reranker::parse("{", "broken.json").is_err());
        assert!(LinearReranker::train(&[], TrainOptions::default(), "").is_err());
    }

    #[test]
    fn the_builtin_reranker_loads() {
        Reranker::builtin().unwrap();
    }
}
