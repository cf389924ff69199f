//! The trained classifier as one file: versioned and content-hashed, so every classification
//! can name exactly which model made it. Layout: the magic `SGNFINT1`, a little-endian u32
//! header length, a JSON header (configuration, labels, vocabulary, calibration, thresholds,
//! weight shapes), then the weights as little-endian f32. The model id is `intake-` and the
//! first 16 hex digits of the file's SHA-256.

use crate::classifier::{Classifier, Config, Thresholds};
use crate::error::{IntakeError, Result};
use crate::lexical::Tfidf;
use crate::linear::Linear;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"SGNFINT1";
/// Format version written in the header; files of other versions are refused.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    format: u32,
    config: Config,
    labels: Vec<String>,
    mix: f32,
    temperature: f32,
    thresholds: Thresholds,
    standardize: Option<(Vec<f32>, Vec<f32>)>,
    dense: Option<(usize, usize)>,
    lexical: Option<(Vec<String>, Vec<f32>, usize, usize)>,
}

fn put(out: &mut Vec<u8>, v: &[f32]) {
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

/// Encodes a classifier; returns the bytes and the model id.
pub fn encode(clf: &Classifier) -> (Vec<u8>, String) {
    let header = Header {
        format: FORMAT_VERSION,
        config: clf.config.clone(),
        labels: clf.labels.clone(),
        mix: clf.mix,
        temperature: clf.temperature,
        thresholds: clf.thresholds,
        standardize: clf.standardize.clone(),
        dense: clf.dense.as_ref().map(|d| (d.dim, d.classes)),
        lexical: clf
            .lexical
            .as_ref()
            .map(|(v, h)| (v.terms.clone(), v.idf.clone(), h.dim, h.classes)),
    };
    let json = serde_json::to_vec(&header).expect("header serialises");
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    for h in clf.dense.iter().chain(clf.lexical.iter().map(|(_, h)| h)) {
        put(&mut out, &h.w);
        put(&mut out, &h.b);
    }
    let id = model_id(&out);
    (out, id)
}

/// `intake-` and the first 16 hex digits of SHA-256 of the artefact bytes.
pub fn model_id(bytes: &[u8]) -> String {
    format!("intake-{}", hex::encode(&Sha256::digest(bytes)[..8]))
}

/// Decodes an artefact; returns the classifier and its model id.
pub fn decode(bytes: &[u8]) -> Result<(Classifier, String)> {
    let bad = |m: &str| IntakeError::Artefact(m.to_string());
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(bad("not a Signoff intake model (bad magic)"));
    }
    let hlen = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    let json = bytes
        .get(12..12 + hlen)
        .ok_or_else(|| bad("truncated header"))?;
    let h: Header = serde_json::from_slice(json).map_err(|e| bad(&format!("header: {e}")))?;
    if h.format != FORMAT_VERSION {
        return Err(bad(&format!(
            "format {} (this Signoff reads {FORMAT_VERSION})",
            h.format
        )));
    }
    let mut floats = bytes[12 + hlen..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let mut take = |n: usize| -> Result<Vec<f32>> {
        let v: Vec<f32> = floats.by_ref().take(n).collect();
        if v.len() == n {
            Ok(v)
        } else {
            Err(bad("truncated weights"))
        }
    };
    let mut linear = |dim: usize, classes: usize| -> Result<Linear> {
        Ok(Linear {
            dim,
            classes,
            w: take(dim * classes)?,
            b: take(classes)?,
        })
    };
    let dense = h.dense.map(|(d, k)| linear(d, k)).transpose()?;
    let lexical = match h.lexical {
        Some((terms, idf, d, k)) => Some((Tfidf::from_parts(terms, idf), linear(d, k)?)),
        None => None,
    };
    if (12 + hlen) % 4 != bytes.len() % 4 || floats.next().is_some() {
        return Err(bad("trailing bytes after the weights"));
    }
    let clf = Classifier {
        config: h.config,
        labels: h.labels,
        dense,
        standardize: h.standardize,
        lexical,
        mix: h.mix,
        temperature: h.temperature,
        thresholds: h.thresholds,
    };
    Ok((clf, model_id(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::Input;
    use crate::data::Example;

    fn examples() -> Vec<Example> {
        let mut v = Vec::new();
        for (label, w) in [
            ("a", "apple pie"),
            ("b", "bank card"),
            ("c", "cold weather"),
        ] {
            for i in 0..10 {
                v.push(Example {
                    text: format!("{w} number {i}"),
                    label: label.into(),
                });
            }
        }
        v
    }

    #[test]
    fn round_trip_keeps_predictions_and_the_id_follows_the_content() {
        let config = Config::parse("lexical:max_iter=50").unwrap();
        let clf = Classifier::train(&examples(), None, &config).unwrap();
        let (bytes, id) = encode(&clf);
        let (back, id2) = decode(&bytes).unwrap();
        assert_eq!(id, id2);
        assert!(id.starts_with("intake-") && id.len() == 23);
        let input = Input {
            embedding: None,
            text: "bank card please",
        };
        assert_eq!(
            clf.probabilities(input).unwrap(),
            back.probabilities(input).unwrap()
        );
        assert_eq!(back.classify(input).unwrap().best_in_scope, "b");
        // Same data and seed: same bytes, same id (training is deterministic).
        let again = Classifier::train(&examples(), None, &config).unwrap();
        assert_eq!(encode(&again).1, id);
        // One flipped weight bit changes the id; a truncated file is refused.
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_ne!(decode(&flipped).unwrap().1, id);
        assert!(decode(&bytes[..bytes.len() - 2]).is_err());
        assert!(decode(b"nonsense").is_err());
    }
}
