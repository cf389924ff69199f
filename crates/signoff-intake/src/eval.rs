//! Scoring a trained classifier on a labelled test set, with the definitions of the
//! `signoff eval intake` contract: in-scope accuracy counts an escalation as wrong; OOS recall
//! and precision treat escalation as the out-of-scope prediction; AUROC ranks rows by the
//! out-of-scope score ([`crate::Verdict::oos_score`]); ECE uses 15 bins over every row, an
//! escalated OOS row counting as right.

use crate::classifier::{Band, Classifier, Input};
use crate::data::{Example, OOS};
use crate::error::Result;
use crate::metrics::{auroc, ece, reliability, Bin};
use serde::Serialize;
use std::collections::BTreeMap;

/// Bins of the expected calibration error and the reliability diagram.
pub const ECE_BINS: usize = 15;

/// Rows and accuracy of one band.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BandStat {
    /// Rows in the band.
    pub n: usize,
    /// Share of them given the right label (escalations: share truly out of scope).
    pub accuracy: f64,
}

/// The contract's JSON object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Test rows.
    pub n: usize,
    /// Share of in-scope rows given the right label.
    pub accuracy_in_scope: f64,
    /// Share of OOS rows escalated (null without OOS rows).
    pub oos_recall: Option<f64>,
    /// Share of escalated rows that are OOS (null without OOS rows).
    pub oos_precision: Option<f64>,
    /// AUROC of the out-of-scope score for OOS rows (null without OOS rows).
    pub auroc: Option<f64>,
    /// Expected calibration error, 15 bins.
    pub ece: f64,
    /// Rows and accuracy per band.
    pub bands: BTreeMap<String, BandStat>,
}

/// The report and the reliability bins behind its ECE.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The figures.
    pub report: Report,
    /// Reliability bins (for the diagram).
    pub bins: Vec<Bin>,
    /// The trade-off at other out-of-scope thresholds: (threshold, in-scope accuracy, OOS
    /// recall), for choosing the operating point on validation data.
    pub curve: Vec<(f32, f64, f64)>,
}

/// Scores `clf` on `test` (with one embedding per row when the classifier uses them).
pub fn evaluate(
    clf: &Classifier,
    test: &[Example],
    embeddings: Option<&[Vec<f32>]>,
) -> Result<Evaluation> {
    let (mut conf, mut correct, mut score, mut is_oos) = (vec![], vec![], vec![], vec![]);
    let (mut in_n, mut in_right, mut oos_n, mut oos_caught, mut escalated) = (0, 0, 0, 0, 0);
    let mut bands: BTreeMap<Band, (usize, usize)> = BTreeMap::new();
    // (top in-scope probability, best in-scope right, truly OOS, argmax is the OOS class)
    let mut raw: Vec<(f32, bool, bool, bool)> = Vec::new();
    for (i, ex) in test.iter().enumerate() {
        let v = clf.classify(Input {
            embedding: embeddings.map(|e| e[i].as_slice()),
            text: &ex.text,
        })?;
        let truth_oos = ex.label == OOS;
        let right = v.label == ex.label;
        raw.push((
            v.top_probability,
            v.best_in_scope == ex.label,
            truth_oos,
            v.band == Band::Escalate && v.top_probability >= clf.thresholds.reject,
        ));
        if truth_oos {
            oos_n += 1;
            oos_caught += (v.band == Band::Escalate) as usize;
        } else {
            in_n += 1;
            in_right += right as usize;
        }
        escalated += (v.band == Band::Escalate) as usize;
        let b = bands.entry(v.band).or_default();
        b.0 += 1;
        b.1 += right as usize;
        conf.push(v.confidence as f64);
        correct.push(right);
        score.push(v.oos_score as f64);
        is_oos.push(truth_oos);
    }
    let frac = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let has_oos = oos_n > 0;
    let report = Report {
        n: test.len(),
        accuracy_in_scope: frac(in_right, in_n),
        oos_recall: has_oos.then(|| frac(oos_caught, oos_n)),
        oos_precision: has_oos.then(|| frac(oos_caught, escalated)),
        auroc: if has_oos {
            auroc(&score, &is_oos)
        } else {
            None
        },
        ece: ece(&conf, &correct, ECE_BINS),
        bands: bands
            .into_iter()
            .map(|(b, (n, k))| {
                (
                    b.as_str().to_string(),
                    BandStat {
                        n,
                        accuracy: frac(k, n),
                    },
                )
            })
            .collect(),
    };
    let curve = (0..=19)
        .map(|k| {
            let t = k as f32 * 0.05;
            let (mut ir, mut oc) = (0usize, 0usize);
            for &(p, best_right, truth_oos, class_oos) in &raw {
                let rejected = class_oos || p < t;
                if truth_oos {
                    oc += rejected as usize;
                } else {
                    ir += (!rejected && best_right) as usize;
                }
            }
            (t, frac(ir, in_n), frac(oc, oos_n))
        })
        .collect();
    Ok(Evaluation {
        report,
        bins: reliability(&conf, &correct, ECE_BINS),
        curve,
    })
}
