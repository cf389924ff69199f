//! The trained classifier as one file: versioned and content-hashed, so every classification
//! can name exactly which model made it. Layout: the magic `SGNFINT1`, a little-endian u32
//! header length, a JSON header (format, configuration, labels, vocabulary, calibration,
//! thresholds, weight shapes, the embedding-model version, the exemplars' texts and labels),
//! then the weights as little-endian f32, then the exemplars' embeddings as i8 (unit vectors
//! scaled by 127). The model id is `intake-` and the first 16 hex digits of the file's SHA-256.
//!
//! Format 2 added the embedding-model version and the exemplars (the labelled training rows
//! an explanation lists as nearest examples). Format 3 adds the fine-tuned top layers of the
//! encoder (names and shapes in the header, their f32 values after the heads' weights) and
//! the SHA-256 of everything after the header, checked on load so a damaged file is refused
//! rather than run. Format 4 adds the nearest-example component (`knn`, `knn_mix` in the
//! header; it compares with the exemplars, so a model with it always carries them); an older
//! Signoff refuses it rather than run the model without that component. Formats 2 to 4 are
//! read; any other is refused with the format it declares.

use crate::classifier::{Classifier, Config, Thresholds};
use crate::error::{IntakeError, Result};
use crate::lexical::Tfidf;
use crate::linear::Linear;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"SGNFINT1";
/// Format version written in the header.
pub const FORMAT_VERSION: u32 = 4;
/// Oldest format still read (no fine-tuned layers, no body checksum).
pub const OLDEST_FORMAT: u32 = 2;

/// Labelled training rows kept with the model so an explanation can list the nearest
/// labelled examples: their texts, label indices and (quantised) sentence embeddings.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplars {
    /// Texts, in training order.
    pub texts: Vec<String>,
    /// Label of each text (index into the classifier's labels).
    pub labels: Vec<u32>,
    /// Embedding width.
    pub dim: usize,
    /// Row-major embeddings, each a unit vector scaled by 127 and rounded.
    pub vectors: Vec<i8>,
    /// 1 / the length of each quantised row (derived from `vectors`, never stored).
    inv_norm: Vec<f32>,
}

/// 1 / the length of each `dim`-wide row (0 for an all-zero row).
fn inverse_norms(vectors: &[i8], dim: usize) -> Vec<f32> {
    if dim == 0 {
        return vec![];
    }
    vectors
        .chunks_exact(dim)
        .map(|row| {
            let norm: f32 = row.iter().map(|a| (*a as f32).powi(2)).sum::<f32>().sqrt();
            if norm == 0.0 {
                0.0
            } else {
                1.0 / norm
            }
        })
        .collect()
}

impl Exemplars {
    /// Builds exemplars from texts, label indices and unit-length embeddings.
    pub fn new(texts: Vec<String>, labels: Vec<u32>, embeddings: &[Vec<f32>]) -> Exemplars {
        let dim = embeddings.first().map_or(0, Vec::len);
        let vectors = embeddings
            .iter()
            .flat_map(|e| {
                e.iter()
                    .map(|v| (v * 127.0).round().clamp(-127.0, 127.0) as i8)
            })
            .collect();
        Exemplars::from_parts(texts, labels, dim, vectors)
    }

    /// Exemplars from their stored parts (quantised rows, `dim` wide).
    pub fn from_parts(texts: Vec<String>, labels: Vec<u32>, dim: usize, vectors: Vec<i8>) -> Self {
        let inv_norm = inverse_norms(&vectors, dim);
        Exemplars {
            texts,
            labels,
            dim,
            vectors,
            inv_norm,
        }
    }

    /// Number of exemplars.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Cosine similarity of exemplar `i` to a unit vector (approximate: quantised).
    pub fn similarity(&self, i: usize, query: &[f32]) -> f32 {
        let row = &self.vectors[i * self.dim..(i + 1) * self.dim];
        let dot: f32 = row.iter().zip(query).map(|(a, b)| *a as f32 * b).sum();
        dot * self.inv_norm[i]
    }

    /// The `k` exemplars most similar to the unit vector `query` as (index, similarity), best
    /// first, ties by index: an i8 scan shortlists, [`Exemplars::similarity`] rescores.
    pub fn nearest(&self, query: &[f32], k: usize) -> Vec<(usize, f32)> {
        crate::scan::nearest(&self.vectors, self.dim, &self.inv_norm, query, k, |i| {
            self.similarity(i, query)
        })
    }
}

/// A model artefact: the classifier plus what provenance and explanations need.
#[derive(Debug, Clone, PartialEq)]
pub struct Artefact {
    /// The classifier.
    pub classifier: Classifier,
    /// Version of the sentence encoder the embedding head was trained with (first 16 hex
    /// digits of the SHA-256 of its weights); `None` for a lexical-only model.
    pub embedding_version: Option<String>,
    /// Labelled examples for explanations, when embeddings were available at training.
    pub exemplars: Option<Exemplars>,
}

/// Fine-tuned layers in a header: the layer they sit above, and per layer its tensors' names
/// and shapes.
type TunedShapes = (usize, Vec<Vec<(String, Vec<usize>)>>);

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
    #[serde(default)]
    embedding_version: Option<String>,
    /// Exemplar texts, label indices and embedding width.
    #[serde(default)]
    exemplars: Option<(Vec<String>, Vec<u32>, usize)>,
    /// Fine-tuned encoder layers: the layer they sit above, and per layer its tensors'
    /// names and shapes (format 3).
    #[serde(default)]
    tuned: Option<TunedShapes>,
    /// Hex SHA-256 of the bytes after the header (format 3).
    #[serde(default)]
    body_sha256: Option<String>,
    /// The classifier mixes in the nearest-example component over the exemplars (format 4).
    #[serde(default)]
    knn: bool,
    /// Its weight (format 4).
    #[serde(default)]
    knn_mix: f32,
}

/// Only the format field, read first so a file of another format is named as such rather
/// than failing on a field this version does not know.
#[derive(Deserialize)]
struct FormatOnly {
    format: u32,
}

fn put(out: &mut Vec<u8>, v: &[f32]) {
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

/// Encodes a classifier without exemplars or encoder version; returns the bytes and the id.
pub fn encode(clf: &Classifier) -> (Vec<u8>, String) {
    encode_artefact(&Artefact {
        classifier: clf.clone(),
        embedding_version: None,
        exemplars: None,
    })
}

/// Encodes an artefact; returns the bytes and the model id.
pub fn encode_artefact(a: &Artefact) -> (Vec<u8>, String) {
    let clf = &a.classifier;
    // The nearest-example component's rows are the exemplars the file carries.
    let exemplars = clf.knn.as_ref().or(a.exemplars.as_ref());
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
        embedding_version: a.embedding_version.clone(),
        exemplars: exemplars.map(|e| (e.texts.clone(), e.labels.clone(), e.dim)),
        tuned: clf.tuned.as_ref().map(|t| {
            let shapes = t
                .layers
                .iter()
                .map(|l| l.iter().map(|(n, s, _)| (n.clone(), s.clone())).collect())
                .collect();
            (t.from, shapes)
        }),
        body_sha256: None,
        knn: clf.knn.is_some(),
        knn_mix: clf.knn_mix,
    };
    let mut body = Vec::new();
    for h in clf.dense.iter().chain(clf.lexical.iter().map(|(_, h)| h)) {
        put(&mut body, &h.w);
        put(&mut body, &h.b);
    }
    if let Some(t) = &clf.tuned {
        for (_, _, v) in t.layers.iter().flatten() {
            put(&mut body, v);
        }
    }
    if let Some(e) = exemplars {
        body.extend(e.vectors.iter().map(|v| *v as u8));
    }
    let header = Header {
        body_sha256: Some(hex::encode(Sha256::digest(&body))),
        ..header
    };
    let json = serde_json::to_vec(&header).expect("header serialises");
    let mut out = Vec::with_capacity(12 + json.len() + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&body);
    let id = model_id(&out);
    (out, id)
}

/// `intake-` and the first 16 hex digits of SHA-256 of the artefact bytes.
pub fn model_id(bytes: &[u8]) -> String {
    format!("intake-{}", hex::encode(&Sha256::digest(bytes)[..8]))
}

/// The format an artefact's header declares (what the file is, whichever Signoff wrote it),
/// without decoding the rest.
pub fn format_of(bytes: &[u8]) -> Result<u32> {
    let bad = |m: &str| IntakeError::Artefact(m.to_string());
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(bad("not a Signoff intake model (bad magic)"));
    }
    let hlen = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    let json = bytes
        .get(12..12 + hlen)
        .ok_or_else(|| bad("truncated header"))?;
    let f: FormatOnly = serde_json::from_slice(json).map_err(|e| bad(&format!("header: {e}")))?;
    Ok(f.format)
}

/// Whether every 32-bit float in the header is finite: a JSON number beyond f32's range reads
/// as infinity, which no trained model holds and the header cannot write back.
fn header_finite(h: &Header) -> bool {
    let t = &h.thresholds;
    let scalars = [h.mix, h.temperature, h.knn_mix, t.high, t.medium, t.reject];
    let standardize = h.standardize.iter().flat_map(|(m, s)| m.iter().chain(s));
    let idf = h.lexical.iter().flat_map(|(_, idf, _, _)| idf);
    scalars
        .iter()
        .chain(standardize)
        .chain(idf)
        .all(|x| x.is_finite())
}

/// Decodes an artefact's classifier; returns it and its model id.
pub fn decode(bytes: &[u8]) -> Result<(Classifier, String)> {
    decode_artefact(bytes).map(|(a, id)| (a.classifier, id))
}

/// Decodes an artefact; returns it and its model id. Refuses other formats, a body whose
/// SHA-256 is not the one in the header (format 3), truncated or padded files, and exemplars
/// that do not fit the labels.
pub fn decode_artefact(bytes: &[u8]) -> Result<(Artefact, String)> {
    let bad = |m: &str| IntakeError::Artefact(m.to_string());
    let f = FormatOnly {
        format: format_of(bytes)?,
    };
    let hlen = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    let json = &bytes[12..12 + hlen];
    if !(OLDEST_FORMAT..=FORMAT_VERSION).contains(&f.format) {
        let why = if f.format < OLDEST_FORMAT {
            "an older Signoff wrote it; retrain with `signoff intake train`"
        } else {
            "a newer Signoff wrote it; upgrade Signoff to use it"
        };
        return Err(bad(&format!(
            "format {} (this Signoff reads formats {OLDEST_FORMAT} to {FORMAT_VERSION}): {why}",
            f.format
        )));
    }
    let h: Header = serde_json::from_slice(json).map_err(|e| bad(&format!("header: {e}")))?;
    if !header_finite(&h) {
        return Err(bad(
            "header: a number is beyond the range of a 32-bit float (the file is damaged)",
        ));
    }
    let body = &bytes[12 + hlen..];
    if f.format >= 3 {
        let want = h
            .body_sha256
            .as_deref()
            .ok_or_else(|| bad("header: body_sha256 is missing"))?;
        let got = hex::encode(Sha256::digest(body));
        if got != want {
            return Err(bad(&format!(
                "checksum mismatch: the weights hash to {got}, the header says {want} (the \
                 file is damaged; retrain or copy it again)"
            )));
        }
    }
    // The heads must fit the labels and the vocabulary: a model that loads must classify.
    let classes = h.labels.len();
    if let Some((terms, idf, d, k)) = &h.lexical {
        if idf.len() != terms.len() || *d != terms.len() || *k != classes {
            return Err(bad(&format!(
                "header: the lexical head ({d} features × {k} classes) does not fit its {} \
                 terms, {} weights and {classes} labels",
                terms.len(),
                idf.len()
            )));
        }
    }
    if let Some((d, k)) = h.dense {
        let std_ok = h
            .standardize
            .as_ref()
            .is_none_or(|(m, s)| m.len() == d && s.len() == d);
        if k != classes || !std_ok {
            return Err(bad(&format!(
                "header: the embedding head ({d} dimensions × {k} classes) does not fit the \
                 {classes} labels or the standardisation"
            )));
        }
    }
    let tuned_floats: usize = h.tuned.as_ref().map_or(0, |(_, layers)| {
        layers
            .iter()
            .flatten()
            .map(|(_, s)| s.iter().product::<usize>())
            .sum()
    });
    let n_floats = h.dense.map_or(0, |(d, k)| d * k + k)
        + h.lexical.as_ref().map_or(0, |(_, _, d, k)| d * k + k)
        + tuned_floats;
    let float_bytes = body
        .get(..n_floats * 4)
        .ok_or_else(|| bad("truncated weights"))?;
    let mut floats = float_bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let mut take = |n: usize| -> Vec<f32> { floats.by_ref().take(n).collect() };
    let mut linear = |dim: usize, classes: usize| Linear {
        dim,
        classes,
        w: take(dim * classes),
        b: take(classes),
    };
    let dense = h.dense.map(|(d, k)| linear(d, k));
    let lexical = h
        .lexical
        .map(|(terms, idf, d, k)| (Tfidf::from_parts(terms, idf), linear(d, k)));
    let tuned = h.tuned.map(|(from, layers)| {
        let layers = layers
            .into_iter()
            .map(|l| {
                l.into_iter()
                    .map(|(name, shape)| {
                        let v = take(shape.iter().product());
                        (name, shape, v)
                    })
                    .collect()
            })
            .collect();
        crate::tune::TunedLayers::new(from, layers)
    });
    let rest = &body[n_floats * 4..];
    let exemplars = match h.exemplars {
        Some((texts, labels, dim)) => {
            if texts.len() != labels.len() {
                return Err(bad("exemplar texts and labels differ in number"));
            }
            if labels.iter().any(|&l| l as usize >= h.labels.len()) {
                return Err(bad("an exemplar has a label the model does not know"));
            }
            let n = labels.len() * dim;
            if rest.len() < n {
                return Err(bad("truncated exemplar embeddings"));
            }
            if rest.len() > n {
                return Err(bad("trailing bytes after the exemplar embeddings"));
            }
            Some(Exemplars::from_parts(
                texts,
                labels,
                dim,
                rest.iter().map(|b| *b as i8).collect(),
            ))
        }
        None if !rest.is_empty() => return Err(bad("trailing bytes after the weights")),
        None => None,
    };
    let knn =
        match (h.knn, &exemplars) {
            (false, _) => None,
            (true, Some(e)) if dense.is_some() => Some(e.clone()),
            (true, _) => return Err(bad(
                "the model mixes in nearest examples but holds no exemplars or no embedding head",
            )),
        };
    let classifier = Classifier {
        config: h.config,
        labels: h.labels,
        dense,
        standardize: h.standardize,
        lexical,
        mix: h.mix,
        knn_mix: h.knn_mix,
        knn,
        temperature: h.temperature,
        thresholds: h.thresholds,
        tuned,
    };
    Ok((
        Artefact {
            classifier,
            embedding_version: h.embedding_version,
            exemplars,
        },
        model_id(bytes),
    ))
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
        // One flipped weight bit fails the checksum; a truncated file is refused.
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let err = decode(&flipped).unwrap_err().to_string();
        assert!(err.contains("checksum mismatch"), "{err}");
        assert!(decode(&bytes[..bytes.len() - 2]).is_err());
        assert!(decode(b"nonsense").is_err());
    }

    #[test]
    fn the_nearest_example_component_travels_with_its_exemplars_under_the_checksum() {
        let rows = examples();
        // Each label's rows around its own direction.
        let emb: Vec<Vec<f32>> = rows
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let a = (e.label.as_bytes()[0] - b'a') as f32 * 2.0 + i as f32 * 0.01;
                vec![a.cos(), a.sin()]
            })
            .collect();
        let config = Config::parse("ensemble:max_iter=50").unwrap();
        let clf = Classifier::train(&rows, Some(&emb), &config).unwrap();
        assert!(clf.knn.is_some());
        // Given no exemplars, the artefact carries the component's own.
        let a = Artefact {
            classifier: clf.clone(),
            embedding_version: None,
            exemplars: None,
        };
        let (bytes, _) = encode_artefact(&a);
        let (back, _) = decode_artefact(&bytes).unwrap();
        assert_eq!(back.classifier, clf);
        assert_eq!(back.exemplars, clf.knn);
        let input = Input {
            embedding: Some(&emb[3]),
            text: &rows[3].text,
        };
        assert_eq!(
            back.classifier.probabilities(input).unwrap(),
            clf.probabilities(input).unwrap()
        );
        // A changed exemplar vector (the last body byte) fails the checksum.
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let err = decode_artefact(&flipped).unwrap_err().to_string();
        assert!(err.contains("checksum mismatch"), "{err}");
        // A header that claims the component without exemplars is refused, naming why.
        let hlen = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        let mut h: serde_json::Value = serde_json::from_slice(&bytes[12..12 + hlen]).unwrap();
        h["exemplars"] = serde_json::Value::Null;
        let cut = clf.knn.as_ref().unwrap().vectors.len();
        let body = &bytes[12 + hlen..bytes.len() - cut];
        h["body_sha256"] = hex::encode(Sha256::digest(body)).into();
        let json = serde_json::to_vec(&h).unwrap();
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(&(json.len() as u32).to_le_bytes());
        file.extend_from_slice(&json);
        file.extend_from_slice(body);
        let err = decode_artefact(&file).unwrap_err().to_string();
        assert!(err.contains("holds no exemplars"), "{err}");
        // A format 3 file (before the component) still loads, without it.
        let old = Classifier::train(
            &rows,
            Some(&emb),
            &Config::parse("ensemble:max_iter=50:knn=0").unwrap(),
        )
        .unwrap();
        let (bytes, _) = encode(&old);
        let hlen = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        let mut h: serde_json::Value = serde_json::from_slice(&bytes[12..12 + hlen]).unwrap();
        h["format"] = 3.into();
        let obj = h.as_object_mut().unwrap();
        obj.remove("knn");
        obj.remove("knn_mix");
        obj["config"].as_object_mut().unwrap().remove("knn");
        let json = serde_json::to_vec(&h).unwrap();
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(&(json.len() as u32).to_le_bytes());
        file.extend_from_slice(&json);
        file.extend_from_slice(&bytes[12 + hlen..]);
        let (back, _) = decode(&file).unwrap();
        assert!(back.knn.is_none() && !back.config.knn);
        assert_eq!(
            back.probabilities(input).unwrap(),
            old.probabilities(input).unwrap()
        );
    }

    #[test]
    fn exemplars_and_encoder_version_round_trip_and_other_formats_are_refused() {
        let config = Config::parse("lexical:max_iter=50").unwrap();
        let rows = examples();
        let clf = Classifier::train(&rows, None, &config).unwrap();
        let emb: Vec<Vec<f32>> = (0..rows.len())
            .map(|i| {
                let a = i as f32 / 7.0;
                vec![a.cos(), a.sin()]
            })
            .collect();
        let labels: Vec<u32> = rows
            .iter()
            .map(|e| clf.labels.iter().position(|l| *l == e.label).unwrap() as u32)
            .collect();
        let texts: Vec<String> = rows.iter().map(|e| e.text.clone()).collect();
        let a = Artefact {
            classifier: clf,
            embedding_version: Some("53aa5117deadbeef".into()),
            exemplars: Some(Exemplars::new(texts, labels, &emb)),
        };
        let (bytes, id) = encode_artefact(&a);
        let (back, id2) = decode_artefact(&bytes).unwrap();
        assert_eq!((back.clone(), id2), (a.clone(), id.clone()));
        let ex = back.exemplars.unwrap();
        assert!((ex.similarity(3, &emb[3]) - 1.0).abs() < 1e-3);
        assert!(decode_artefact(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_artefact(&longer).is_err());
        // The same file claiming another format is refused, naming the format.
        let hlen = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        let header = String::from_utf8(bytes[12..12 + hlen].to_vec()).unwrap();
        for (format, word) in [(1, "older"), (5, "newer")] {
            let other = header.replacen("\"format\":4", &format!("\"format\":{format}"), 1);
            let mut file = bytes[..8].to_vec();
            file.extend_from_slice(&(other.len() as u32).to_le_bytes());
            file.extend_from_slice(other.as_bytes());
            file.extend_from_slice(&bytes[12 + hlen..]);
            let err = decode_artefact(&file).unwrap_err().to_string();
            assert!(
                err.contains(&format!("format {format}")) && err.contains(word),
                "{err}"
            );
        }
    }

    /// The same file as format 2 wrote it: no fine-tuned layers, no body checksum.
    fn as_format_2(bytes: &[u8]) -> Vec<u8> {
        let hlen = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        let mut h: serde_json::Value = serde_json::from_slice(&bytes[12..12 + hlen]).unwrap();
        h["format"] = 2.into();
        let obj = h.as_object_mut().unwrap();
        obj.remove("tuned");
        obj.remove("body_sha256");
        let json = serde_json::to_vec(&h).unwrap();
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(&(json.len() as u32).to_le_bytes());
        file.extend_from_slice(&json);
        file.extend_from_slice(&bytes[12 + hlen..]);
        file
    }

    #[test]
    fn fine_tuned_layers_round_trip_and_a_wrong_checksum_is_refused() {
        let config = Config::parse("lexical:max_iter=50").unwrap();
        let mut clf = Classifier::train(&examples(), None, &config).unwrap();
        let layer: Vec<signoff_embed::bert::NamedTensor> = signoff_embed::bert::layer_shapes(4, 8)
            .into_iter()
            .enumerate()
            .map(|(i, (name, shape))| {
                let n: usize = shape.iter().product();
                let v = (0..n).map(|j| (i * 100 + j) as f32 / 7.0 - 3.0).collect();
                (name.to_string(), shape, v)
            })
            .collect();
        clf.tuned = Some(crate::tune::TunedLayers::new(
            5,
            vec![layer.clone(), layer.clone()],
        ));
        let (bytes, id) = encode(&clf);
        let (back, id2) = decode(&bytes).unwrap();
        assert_eq!((&back, &id2), (&clf, &id));
        assert_eq!(back.tuned.as_ref().unwrap().layers[1], layer);
        // One changed weight of a tuned layer (inside the body) is refused by the checksum,
        // as is a header naming another checksum.
        let hlen = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        let mut damaged = bytes.clone();
        damaged[12 + hlen + 40] ^= 0x10;
        let err = decode(&damaged).unwrap_err().to_string();
        assert!(err.contains("checksum mismatch"), "{err}");
        let want = hex::encode(Sha256::digest(&bytes[12 + hlen..]));
        let header = String::from_utf8(bytes[12..12 + hlen].to_vec()).unwrap();
        assert!(header.contains(&want));
        let other = header.replacen(&want, &"0".repeat(64), 1);
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(&(other.len() as u32).to_le_bytes());
        file.extend_from_slice(other.as_bytes());
        file.extend_from_slice(&bytes[12 + hlen..]);
        assert!(decode(&file)
            .unwrap_err()
            .to_string()
            .contains("checksum mismatch"));
    }

    #[test]
    fn format_2_files_are_still_read() {
        let config = Config::parse("lexical:max_iter=50").unwrap();
        let clf = Classifier::train(&examples(), None, &config).unwrap();
        let old = as_format_2(&encode(&clf).0);
        let (back, id) = decode(&old).unwrap();
        assert_eq!(back, clf);
        assert_eq!(id, model_id(&old));
        // The file's own format is what it declares, not the newest this Signoff writes.
        assert_eq!(format_of(&old).unwrap(), 2);
        assert_eq!(format_of(&encode(&clf).0).unwrap(), FORMAT_VERSION);
        assert!(format_of(b"SGNFINT1").is_err());
        // Without a checksum, format 2 cannot tell a changed weight; it still decodes.
        let mut changed = old.clone();
        *changed.last_mut().unwrap() ^= 1;
        assert_ne!(decode(&changed).unwrap().0, clf);
    }
}
