//! Measuring the support scorer on claim/passage pairs (`signoff eval citations`): loading
//! pair files with line-numbered errors, precision/recall/F1/AUROC with unsupported as the
//! positive class, flag rates per kind, and training a model file from pairs.

use crate::error::{ActionError, Result};
use crate::support::{
    self, Gazetteer, SupportModel, WeightSet, EMBED_FEATURES, FEATURES, MODEL_VERSION,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// One labelled pair: `{"claim","passage","supported","kind"?}` (other fields are ignored).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Pair {
    /// The claim text.
    pub claim: String,
    /// The passage it is checked against.
    pub passage: String,
    /// Whether the passage supports the claim.
    pub supported: bool,
    /// What kind of pair this is (e.g. `number_change`), for per-kind flag rates.
    #[serde(default)]
    pub kind: Option<String>,
}

/// Reads a JSONL pair file; a bad row is an error naming file:line and the field.
pub fn load_pairs(path: &Path) -> Result<Vec<Pair>> {
    let text = std::fs::read_to_string(path).map_err(|source| ActionError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: Pair = serde_json::from_str(line).map_err(|e| ActionError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            message: e.to_string(),
        })?;
        out.push(row);
    }
    if out.is_empty() {
        return Err(ActionError::Input(format!("{}: no pairs", path.display())));
    }
    Ok(out)
}

/// What `signoff eval citations` prints.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CitationReport {
    /// Pairs scored.
    pub n: usize,
    /// Of the flagged pairs, the share that are unsupported.
    pub precision: f64,
    /// Of the unsupported pairs, the share flagged.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Area under the ROC curve of the unsupported probability.
    pub auroc: f64,
    /// Share of supported pairs flagged (false alarms).
    pub supported_flag_rate: f64,
    /// Share flagged, per `kind` (present when rows carry one).
    pub flag_rate_by_kind: BTreeMap<String, f64>,
    /// Whether the embedding features were used.
    pub embedding: bool,
    /// The decision threshold used.
    pub threshold: f64,
}

/// AUROC of scores for the positive class (ties count half).
pub fn auroc(scores: &[f64], positive: &[bool]) -> f64 {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if positive[k] {
                rank_sum += avg;
            }
        }
        i = j + 1;
    }
    let p = positive.iter().filter(|x| **x).count() as f64;
    let n = positive.len() as f64 - p;
    if p == 0.0 || n == 0.0 {
        return f64::NAN;
    }
    (rank_sum - p * (p + 1.0) / 2.0) / (p * n)
}

/// Builds the report from scores, flags and the rows they belong to.
pub fn report(
    rows: &[Pair],
    scores: &[f64],
    flagged: &[bool],
    embedding: bool,
    threshold: f64,
) -> CitationReport {
    let pos: Vec<bool> = rows.iter().map(|r| !r.supported).collect();
    let (mut tp, mut fp, mut fneg) = (0.0, 0.0, 0.0);
    for (&f, &p) in flagged.iter().zip(&pos) {
        match (f, p) {
            (true, true) => tp += 1.0,
            (true, false) => fp += 1.0,
            (false, true) => fneg += 1.0,
            _ => {}
        }
    }
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fneg);
    let mut kinds: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (r, &f) in rows.iter().zip(flagged) {
        if let Some(k) = &r.kind {
            let e = kinds.entry(k.clone()).or_default();
            e.0 += 1;
            e.1 += usize::from(f);
        }
    }
    let n_sup = pos.iter().filter(|p| !**p).count() as f64;
    CitationReport {
        n: rows.len(),
        precision,
        recall,
        f1: ratio(2.0 * precision * recall, precision + recall),
        auroc: auroc(scores, &pos),
        supported_flag_rate: ratio(fp, n_sup),
        flag_rate_by_kind: kinds
            .into_iter()
            .map(|(k, (n, f))| (k, f as f64 / n as f64))
            .collect(),
        embedding,
        threshold,
    }
}

/// Scores pairs with a model (embedding features when `vecs` is given) and reports.
pub fn evaluate(
    model: &SupportModel,
    rows: &[Pair],
    gazetteer: &Gazetteer,
    vecs: Option<&HashMap<String, Vec<f32>>>,
) -> CitationReport {
    let w = model.weights(vecs.is_some());
    let scores: Vec<f64> = feature_rows(rows, gazetteer, vecs)
        .iter()
        .map(|f| support::score(w, f))
        .collect();
    let flagged: Vec<bool> = scores.iter().map(|s| *s > w.threshold).collect();
    report(rows, &scores, &flagged, vecs.is_some(), w.threshold)
}

/// The feature vectors of rows.
pub fn feature_rows(
    rows: &[Pair],
    gazetteer: &Gazetteer,
    vecs: Option<&HashMap<String, Vec<f32>>>,
) -> Vec<Vec<f64>> {
    rows.iter()
        .map(|r| match vecs {
            Some(v) => {
                let look = |t: &str| v.get(t).cloned();
                support::features(&r.claim, &r.passage, gazetteer, Some(&look))
            }
            None => support::features(&r.claim, &r.passage, gazetteer, None),
        })
        .collect()
}

/// The share of supported training rows the trained threshold may flag.
pub const TRAIN_SUPPORTED_FLAG_CAP: f64 = 0.025;

/// Trains both weight sets (with embedding features when `vecs` is given; otherwise the
/// embedding set copies zero weights for them) on rows.
pub fn train(
    rows: &[Pair],
    gazetteer: &Gazetteer,
    vecs: Option<&HashMap<String, Vec<f32>>>,
) -> Result<SupportModel> {
    let y: Vec<bool> = rows.iter().map(|r| !r.supported).collect();
    if y.iter().all(|v| *v) || y.iter().all(|v| !*v) {
        return Err(ActionError::Input(
            "training pairs need both supported and unsupported rows".into(),
        ));
    }
    let lexical_x = feature_rows(rows, gazetteer, None);
    let fit_set = |x: &[Vec<f64>]| {
        let (weights, bias) = support::fit(x, &y, 1e-4);
        let mut ws = WeightSet {
            weights,
            bias,
            threshold: 0.5,
        };
        let s: Vec<f64> = x.iter().map(|f| support::score(&ws, f)).collect();
        ws.threshold = support::pick_threshold(&s, &y, TRAIN_SUPPORTED_FLAG_CAP);
        ws
    };
    let lexical = fit_set(&lexical_x);
    let with_embedding = match vecs {
        Some(_) => fit_set(&feature_rows(rows, gazetteer, vecs)),
        None => {
            let mut w = lexical.clone();
            w.weights.extend(std::iter::repeat_n(0.0, EMBED_FEATURES));
            w
        }
    };
    let mut h = Sha256::new();
    for r in rows {
        h.update(r.claim.as_bytes());
        h.update([0]);
        h.update(r.passage.as_bytes());
        h.update([u8::from(r.supported)]);
    }
    Ok(SupportModel {
        version: MODEL_VERSION,
        features: FEATURES.iter().map(|s| s.to_string()).collect(),
        with_embedding,
        lexical,
        trained_on: hex::encode(h.finalize()),
        rows: rows.len(),
    })
}

/// Embeddings of every text the features of `rows` need, through an on-disk cache.
pub fn embed_rows(
    e: &signoff_embed::Embedder,
    cache: &mut signoff_embed::EmbeddingCache,
    rows: &[&Pair],
) -> Result<HashMap<String, Vec<f32>>> {
    let mut texts: Vec<String> = rows
        .iter()
        .flat_map(|r| support::embedding_texts(&r.claim, &r.passage))
        .collect();
    texts.sort();
    texts.dedup();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vecs = cache.embed(e, &refs)?;
    Ok(texts.into_iter().zip(vecs).collect())
}

/// One JSON line per row (kind, label, score, flag, named features, texts): error analysis.
pub fn dump_rows(
    model: &SupportModel,
    rows: &[Pair],
    gazetteer: &Gazetteer,
    vecs: Option<&HashMap<String, Vec<f32>>>,
) -> String {
    let w = model.weights(vecs.is_some());
    let mut text = String::new();
    for (r, f) in rows.iter().zip(feature_rows(rows, gazetteer, vecs)) {
        let s = support::score(w, &f);
        let named: serde_json::Map<String, serde_json::Value> = FEATURES
            .iter()
            .zip(&f)
            .map(|(n, v)| (n.to_string(), (*v).into()))
            .collect();
        let row = serde_json::json!({
            "kind": r.kind, "supported": r.supported, "score": s, "flagged": s > w.threshold,
            "claim": r.claim, "passage": r.passage, "features": named,
        });
        text += &row.to_string();
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_counts_ties_half() {
        assert_eq!(auroc(&[0.1, 0.9], &[false, true]), 1.0);
        assert_eq!(auroc(&[0.5, 0.5], &[false, true]), 0.5);
    }

    #[test]
    fn bad_row_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pairs.jsonl");
        std::fs::write(
            &p,
            "{\"claim\":\"a\",\"passage\":\"b\",\"supported\":true}\n{\"claim\":\"a\"}\n",
        )
        .unwrap();
        let e = load_pairs(&p).unwrap_err().to_string();
        assert!(e.contains("pairs.jsonl:2:") && e.contains("passage"), "{e}");
    }

    #[test]
    fn report_counts_flags_per_kind() {
        let row = |s: bool, k: &str| Pair {
            claim: String::new(),
            passage: String::new(),
            supported: s,
            kind: Some(k.into()),
        };
        let rows = [row(true, "ok"), row(false, "num"), row(false, "num")];
        let r = report(&rows, &[0.1, 0.9, 0.2], &[false, true, false], false, 0.5);
        assert_eq!((r.precision, r.recall), (1.0, 0.5));
        assert_eq!(r.flag_rate_by_kind["num"], 0.5);
    }
}
