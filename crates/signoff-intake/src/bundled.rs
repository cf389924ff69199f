//! Sentence embeddings computed ahead of time and shipped with the program (the demo's
//! training rows and cases), so seeding the demo does not run the encoder over ~1,200 texts.
//! Honest by construction: every vector is keyed by SHA-256 of (encoder version, text), the
//! same key as the embedding cache, so a vector is only ever used for the exact text and the
//! exact encoder weights it was computed with; the header names the encoder version and
//! pooling, and carries the SHA-256 of the records, checked when the table is read.
//!
//! Layout: the magic `SGNFEMB1`, a little-endian u32 header length, a JSON header
//! (`format`, `encoder`, `pooling`, `dim`, `rows`, `sha256` of the records), then `rows`
//! records of 32 key bytes + `dim` little-endian f32.

use crate::embed::Pooling;
use crate::error::{IntakeError, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

const MAGIC: &[u8; 8] = b"SGNFEMB1";
/// Format version written in the header; tables of other versions are refused.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    format: u32,
    encoder: String,
    pooling: String,
    dim: usize,
    rows: usize,
    sha256: String,
}

/// A table of precomputed embeddings for one encoder version and pooling.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingTable {
    /// The encoder version the vectors were computed with.
    pub encoder: String,
    /// Their pooling.
    pub pooling: Pooling,
    /// Their width.
    pub dim: usize,
    map: HashMap<[u8; 32], Vec<f32>>,
}

/// The key of a text's vector: SHA-256 of the encoder version, a zero byte and the text.
pub fn key(encoder: &str, text: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(encoder.as_bytes());
    h.update([0]);
    h.update(text.as_bytes());
    h.finalize().into()
}

impl EmbeddingTable {
    /// Encodes the vectors of `texts` (one each, in order; repeated texts stored once).
    pub fn encode(
        encoder: &str,
        pooling: Pooling,
        texts: &[&str],
        vectors: &[Vec<f32>],
    ) -> Result<Vec<u8>> {
        if texts.len() != vectors.len() {
            return Err(IntakeError::Model(format!(
                "{} texts for {} vectors",
                texts.len(),
                vectors.len()
            )));
        }
        let dim = pooling.dim();
        let mut seen = std::collections::HashSet::new();
        let mut records = Vec::new();
        let mut rows = 0;
        for (t, v) in texts.iter().zip(vectors) {
            if v.len() != dim {
                return Err(IntakeError::Model(format!(
                    "a vector of width {} for pooling {} (width {dim})",
                    v.len(),
                    pooling.as_str()
                )));
            }
            let k = key(encoder, t);
            if seen.insert(k) {
                records.extend_from_slice(&k);
                for x in v {
                    records.extend_from_slice(&x.to_le_bytes());
                }
                rows += 1;
            }
        }
        let header = Header {
            format: FORMAT_VERSION,
            encoder: encoder.to_string(),
            pooling: pooling.as_str().to_string(),
            dim,
            rows,
            sha256: hex::encode(Sha256::digest(&records)),
        };
        let json = serde_json::to_vec(&header).expect("header serialises");
        let mut out = Vec::with_capacity(12 + json.len() + records.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        out.extend_from_slice(&records);
        Ok(out)
    }

    /// Decodes a table, checking its magic, format, size and the SHA-256 of its records;
    /// `name` (the file or asset) is named in every error.
    pub fn decode(bytes: &[u8], name: &str) -> Result<Self> {
        let bad = |m: String| IntakeError::Artefact(format!("{name}: {m}"));
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(bad("not a Signoff embedding table (bad magic)".into()));
        }
        let hlen = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
        let json = bytes
            .get(12..12 + hlen)
            .ok_or_else(|| bad("truncated header".into()))?;
        let h: Header = serde_json::from_slice(json).map_err(|e| bad(format!("header: {e}")))?;
        if h.format != FORMAT_VERSION {
            return Err(bad(format!(
                "format {} (this Signoff reads format {FORMAT_VERSION})",
                h.format
            )));
        }
        let pooling = Pooling::parse(&h.pooling)
            .ok_or_else(|| bad(format!("unknown pooling {:?}", h.pooling)))?;
        if h.dim != pooling.dim() {
            return Err(bad(format!(
                "width {} does not fit pooling {}",
                h.dim, h.pooling
            )));
        }
        let records = &bytes[12 + hlen..];
        let record = 32 + h.dim * 4;
        if records.len() != h.rows * record {
            return Err(bad(format!(
                "{} bytes of records for {} rows of {record} bytes",
                records.len(),
                h.rows
            )));
        }
        let sum = hex::encode(Sha256::digest(records));
        if sum != h.sha256 {
            return Err(bad(format!(
                "checksum mismatch (header {}, content {sum})",
                h.sha256
            )));
        }
        let map = records
            .chunks_exact(record)
            .map(|r| {
                let k: [u8; 32] = r[..32].try_into().expect("32 bytes");
                let v = r[32..]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                (k, v)
            })
            .collect();
        Ok(EmbeddingTable {
            encoder: h.encoder,
            pooling,
            dim: h.dim,
            map,
        })
    }

    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The vector of `text` for `encoder` and `pooling`, if the table has it: never a vector
    /// of another encoder version, pooling or text.
    pub fn get(&self, encoder: &str, pooling: Pooling, text: &str) -> Option<&[f32]> {
        if encoder != self.encoder || pooling != self.pooling {
            return None;
        }
        self.map.get(&key(encoder, text)).map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vecs(n: usize) -> Vec<Vec<f32>> {
        (0..n)
            .map(|i| (0..384).map(|j| (i * 384 + j) as f32 / 1e4).collect())
            .collect()
    }

    #[test]
    fn vectors_come_back_only_for_their_text_encoder_and_pooling() {
        let v = vecs(3);
        let bytes =
            EmbeddingTable::encode("enc1", Pooling::Mean, &["a", "b", "a"], &v[..]).unwrap();
        let t = EmbeddingTable::decode(&bytes, "t.bin").unwrap();
        assert_eq!(t.len(), 2, "a repeated text is stored once");
        assert_eq!(t.get("enc1", Pooling::Mean, "b"), Some(&v[1][..]));
        assert_eq!(t.get("enc1", Pooling::Mean, "a"), Some(&v[0][..]));
        assert_eq!(t.get("enc1", Pooling::Mean, "c"), None);
        assert_eq!(t.get("enc2", Pooling::Mean, "a"), None);
        assert_eq!(t.get("enc1", Pooling::MeanMax, "a"), None);
    }

    #[test]
    fn corrupt_truncated_and_foreign_tables_are_refused_by_name() {
        let bytes = EmbeddingTable::encode("enc1", Pooling::Mean, &["a"], &vecs(1)).unwrap();
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let err = EmbeddingTable::decode(&flipped, "demo.bin")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("demo.bin") && err.contains("checksum"),
            "{err}"
        );
        let err = EmbeddingTable::decode(&bytes[..bytes.len() - 4], "demo.bin")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bytes of records"), "{err}");
        assert!(EmbeddingTable::decode(b"SGNFINT1....", "x").is_err());
        assert!(EmbeddingTable::encode("e", Pooling::Mean, &["a"], &[vec![0.0; 3]]).is_err());
    }
}
