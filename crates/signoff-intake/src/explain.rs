//! Why a case got its label: which path ran (a rule, with its id, file version and matched
//! text; or the model, with its id and embedding-model version), the calibrated confidence
//! and band, and the nearest labelled examples with their labels, so the reviewer can see
//! comparable prior cases.

use crate::classifier::{Band, Verdict};
use crate::rules::RuleMatch;
use serde::Serialize;

/// Which path decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Path {
    /// A rule decided.
    Rule(RuleMatch),
    /// The learned classifier decided.
    Model {
        /// Content-hashed model id (`intake-…`).
        model_id: String,
        /// Heads that ran (`minilm+lexical`, `minilm`, `lexical`).
        heads: String,
        /// Version of the embedding weights, when they ran.
        embedding_version: Option<String>,
    },
}

/// A labelled example near the case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Neighbour {
    /// Index of the example in the labelled set it came from.
    pub index: usize,
    /// Its label.
    pub label: String,
    /// Cosine similarity to the case.
    pub similarity: f32,
    /// The example's text, when the model keeps its exemplars.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A recorded classification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// Which path ran.
    pub path: Path,
    /// The label (`oos` when escalated as out of scope).
    pub label: String,
    /// Calibrated confidence (1.0 for a rule).
    pub confidence: f32,
    /// The band.
    pub band: Band,
    /// Nearest labelled examples, most similar first.
    pub neighbours: Vec<Neighbour>,
    /// The calibrated top in-scope probability the thresholds were applied to (model path),
    /// kept so a threshold change can be replayed without the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_probability: Option<f32>,
    /// The best in-scope label, also when the case was escalated as out of scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_in_scope: Option<String>,
}

/// The `k` labelled examples most similar (cosine of unit vectors) to `query`; ties keep
/// the earlier example first.
pub fn nearest(
    query: &[f32],
    examples: &[Vec<f32>],
    labels: &[String],
    k: usize,
) -> Vec<Neighbour> {
    let scored: Vec<(usize, f32)> = examples
        .iter()
        .enumerate()
        .map(|(i, e)| (i, e.iter().zip(query).map(|(a, b)| a * b).sum()))
        .collect();
    crate::scan::top_k(scored, k)
        .into_iter()
        .map(|(index, similarity)| Neighbour {
            index,
            label: labels[index].clone(),
            similarity,
            text: None,
        })
        .collect()
}

/// The `k` exemplars of a model artefact most similar to the unit vector `query`, with their
/// texts and labels; ties keep the earlier exemplar first.
pub fn nearest_exemplars(
    query: &[f32],
    exemplars: &crate::artefact::Exemplars,
    labels: &[String],
    k: usize,
) -> Vec<Neighbour> {
    if exemplars.dim != query.len() {
        return vec![];
    }
    exemplars
        .nearest(query, k)
        .into_iter()
        .map(|(index, similarity)| Neighbour {
            index,
            label: labels
                .get(exemplars.labels[index] as usize)
                .cloned()
                .unwrap_or_default(),
            similarity,
            text: exemplars.texts.get(index).cloned(),
        })
        .collect()
}

/// The explanation of a rule decision.
pub fn from_rule(m: RuleMatch, neighbours: Vec<Neighbour>) -> Explanation {
    let band = match m.band {
        crate::rules::RuleBand::High => Band::High,
        crate::rules::RuleBand::Medium => Band::Medium,
        crate::rules::RuleBand::Low => Band::Low,
    };
    let band = if m.route == Some(crate::rules::Route::Escalate) {
        Band::Escalate
    } else {
        band
    };
    Explanation {
        label: m.label.clone(),
        path: Path::Rule(m),
        confidence: 1.0,
        band,
        neighbours,
        top_probability: None,
        best_in_scope: None,
    }
}

/// The explanation of a model decision.
pub fn from_model(
    v: &Verdict,
    model_id: &str,
    heads: &str,
    embedding_version: Option<&str>,
    neighbours: Vec<Neighbour>,
) -> Explanation {
    Explanation {
        path: Path::Model {
            model_id: model_id.to_string(),
            heads: heads.to_string(),
            embedding_version: embedding_version.map(str::to_string),
        },
        label: v.label.clone(),
        confidence: v.confidence,
        band: v.band,
        neighbours,
        top_probability: Some(v.top_probability),
        best_in_scope: Some(v.best_in_scope.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Route, RuleBand};

    #[test]
    fn nearest_orders_by_cosine_and_keeps_labels() {
        let ex = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![0.6, 0.8]];
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let n = nearest(&[0.8, 0.6], &ex, &labels, 2);
        assert_eq!(
            n.iter().map(|x| x.label.as_str()).collect::<Vec<_>>(),
            ["c", "a"]
        );
        assert!((n[0].similarity - 0.96).abs() < 1e-6);
    }

    #[test]
    fn an_escalating_rule_is_explained_by_its_id_and_escalates() {
        let m = RuleMatch {
            rule_id: "legal-threat".into(),
            rules_version: "ab".into(),
            label: "complaint".into(),
            band: RuleBand::High,
            route: Some(Route::Escalate),
            why: "keyword \"lawyer\" in body".into(),
        };
        let e = from_rule(m, vec![]);
        assert_eq!(e.band, Band::Escalate);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["path"]["kind"], "rule");
        assert_eq!(json["path"]["rule_id"], "legal-threat");
    }
}
