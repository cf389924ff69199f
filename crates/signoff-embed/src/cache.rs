//! An on-disk cache of sentence embeddings keyed by SHA-256 of (model version, text), so
//! repeated training and eval runs embed each text once. Append-only records of
//! 32 key bytes + the vector as little-endian f32; a torn last record is ignored.

use crate::embed::{Embedder, Pooling};
use crate::error::{EmbedError, Result};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Embeddings already computed, and the file new ones are appended to.
#[derive(Debug)]
pub struct EmbeddingCache {
    path: PathBuf,
    map: HashMap<[u8; 32], Vec<f32>>,
    pooling: Pooling,
}

fn key(version: &str, text: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(version.as_bytes());
    h.update([0]);
    h.update(text.as_bytes());
    h.finalize().into()
}

impl EmbeddingCache {
    /// Opens (or starts) the cache file for a model version and pooling inside `dir`.
    pub fn open(dir: &Path, model_version: &str, pooling: Pooling) -> Result<Self> {
        let record = 32 + pooling.dim() * 4;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| EmbedError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(format!("minilm-{model_version}-{}.emb", pooling.as_str()));
        let mut map = HashMap::new();
        if path.exists() {
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            for rec in bytes.chunks_exact(record) {
                let mut k = [0u8; 32];
                k.copy_from_slice(&rec[..32]);
                let v = rec[32..]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                map.insert(k, v);
            }
        }
        Ok(EmbeddingCache { path, map, pooling })
    }

    /// Embeddings of `texts`, computing (and appending) only the ones not cached yet.
    pub fn embed(&mut self, embedder: &Embedder, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let version = embedder.version().to_string();
        let keys: Vec<[u8; 32]> = texts.iter().map(|t| key(&version, t)).collect();
        let mut missing: Vec<usize> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, k) in keys.iter().enumerate() {
            if !self.map.contains_key(k) && seen.insert(*k) {
                missing.push(i);
            }
        }
        if !missing.is_empty() {
            let batch: Vec<&str> = missing.iter().map(|&i| texts[i]).collect();
            let vecs = embedder.embed_with(&batch, self.pooling)?;
            let mut buf = Vec::with_capacity(vecs.len() * (32 + self.pooling.dim() * 4));
            for (&i, v) in missing.iter().zip(&vecs) {
                buf.extend_from_slice(&keys[i]);
                for x in v {
                    buf.extend_from_slice(&x.to_le_bytes());
                }
            }
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(|source| EmbedError::Io {
                    path: self.path.clone(),
                    source,
                })?;
            f.write_all(&buf).map_err(|source| EmbedError::Io {
                path: self.path.clone(),
                source,
            })?;
            for (&i, v) in missing.iter().zip(vecs) {
                self.map.insert(keys[i], v);
            }
        }
        Ok(keys.iter().map(|k| self.map[k].clone()).collect())
    }
}
