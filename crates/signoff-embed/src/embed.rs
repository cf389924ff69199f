//! Sentence embeddings from all-MiniLM-L6-v2 run locally with candle: BERT, mean pooling over
//! real tokens, L2 normalisation. The model is loaded once from a directory that
//! `scripts/setup.sh` filled; nothing is downloaded at run time.

use crate::bert::Bert;
use crate::error::{EmbedError, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::Config;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokenizers::{Tokenizer, TruncationParams};

/// The model's name as recorded in provenance.
pub const MODEL_ID: &str = "all-MiniLM-L6-v2";
/// Embedding width.
pub const DIM: usize = 384;
/// Longest input in word pieces (the model's `max_seq_length`); longer texts are truncated.
pub const MAX_TOKENS: usize = 256;
/// Default budget of padded tokens per forward pass (see [`Embedder::embed_with`]).
pub const BATCH_TOKENS: usize = 2048;
/// Most texts per forward pass, however short they are.
const MAX_BATCH_ROWS: usize = 256;
/// Environment variable naming the directory that holds `all-minilm-l6-v2/`.
pub const MODEL_DIR_ENV: &str = "SIGNOFF_MODEL_DIR";
/// Where `scripts/setup.sh` puts the model when `SIGNOFF_MODEL_DIR` is not set.
pub const DEFAULT_MODEL_ROOT: &str = "/var/cache/signoff-models";

/// The model directory: `$SIGNOFF_MODEL_DIR/all-minilm-l6-v2`, else the default cache path.
/// `env` is the value of `SIGNOFF_MODEL_DIR`, passed in so the caller owns the environment.
pub fn model_dir(env: Option<&str>) -> PathBuf {
    Path::new(env.filter(|s| !s.is_empty()).unwrap_or(DEFAULT_MODEL_ROOT)).join("all-minilm-l6-v2")
}

/// How token vectors become one vector per text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// The model's own pooling: mean over real tokens, unit length ([`DIM`] floats). This is
    /// the sentence embedding used for similarity.
    Mean,
    /// The mean vector followed by the unit-length max over real tokens (2 × [`DIM`] floats):
    /// richer features for the classifier head.
    MeanMax,
}

impl Pooling {
    /// Floats per text.
    pub fn dim(self) -> usize {
        match self {
            Pooling::Mean => DIM,
            Pooling::MeanMax => 2 * DIM,
        }
    }

    /// Short name (cache files, reports).
    pub fn as_str(self) -> &'static str {
        match self {
            Pooling::Mean => "mean",
            Pooling::MeanMax => "meanmax",
        }
    }
}

/// A loaded sentence encoder.
pub struct Embedder {
    model: Bert,
    /// The tokenizer, truncating at [`MAX_TOKENS`] and never padding.
    unpadded: Tokenizer,
    device: Device,
    version: String,
    batch_tokens: usize,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("version", &self.version)
            .finish()
    }
}

impl Embedder {
    /// Loads the model from `dir` (holding `model.safetensors`, `tokenizer.json`,
    /// `config.json`). A missing file is [`EmbedError::ModelMissing`].
    pub fn load(dir: &Path) -> Result<Self> {
        let file = |name: &str| {
            let p = dir.join(name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(EmbedError::ModelMissing(p))
            }
        };
        let (weights_path, tok_path, cfg_path) = (
            file("model.safetensors")?,
            file("tokenizer.json")?,
            file("config.json")?,
        );
        let read = |p: &Path| {
            std::fs::read(p).map_err(|source| EmbedError::Io {
                path: p.to_path_buf(),
                source,
            })
        };
        let config: Config = serde_json::from_slice(&read(&cfg_path)?)
            .map_err(|e| EmbedError::Model(format!("{}: {e}", cfg_path.display())))?;
        let weights = read(&weights_path)?;
        let version = hex::encode(&Sha256::digest(&weights)[..8]);
        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)?;
        let model = Bert::load(vb, &config)?;
        let mut tokenizer = Tokenizer::from_file(&tok_path)
            .map_err(|e| EmbedError::Model(format!("{}: {e}", tok_path.display())))?;
        // No padding here: `embed_with` groups texts of similar length and pads each batch.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| EmbedError::Model(e.to_string()))?;
        Ok(Embedder {
            model,
            unpadded: tokenizer,
            device,
            version,
            batch_tokens: BATCH_TOKENS,
        })
    }

    /// The first 16 hex digits of the SHA-256 of the weights: the model version in provenance.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The most padded tokens (rows × longest row) one forward pass takes.
    pub fn batch_tokens(&self) -> usize {
        self.batch_tokens
    }

    /// Sets the most padded tokens per forward pass (at least [`MAX_TOKENS`], so the longest
    /// text fits); for throughput experiments.
    pub fn set_batch_tokens(&mut self, tokens: usize) {
        self.batch_tokens = tokens.max(MAX_TOKENS);
    }

    /// Embeds texts (any number, in length-grouped batches), each a unit vector of [`DIM`]
    /// floats, in input order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.embed_with(texts, Pooling::Mean)
    }

    /// Embeds texts with the given pooling (see [`Pooling`]). Outputs keep the input order.
    ///
    /// All texts are tokenised first (in parallel), then run through the model in batches of
    /// similar token counts (at most [`Embedder::batch_tokens`] padded tokens each), so
    /// padding stays small whatever order the texts come in.
    pub fn embed_with(&self, texts: &[&str], pooling: Pooling) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let enc = self
            .unpadded
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Model(e.to_string()))?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| (enc[i].get_ids().len(), i));
        let mut slots: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        let mut start = 0;
        while start < order.len() {
            // Sorted by length, so the last row of a batch is its longest.
            let mut end = start + 1;
            while end < order.len() {
                let len = enc[order[end]].get_ids().len().max(1);
                if (end + 1 - start) * len > self.batch_tokens || end - start >= MAX_BATCH_ROWS {
                    break;
                }
                end += 1;
            }
            let rows: Vec<&tokenizers::Encoding> =
                order[start..end].iter().map(|&i| &enc[i]).collect();
            for (&i, v) in order[start..end]
                .iter()
                .zip(self.embed_encoded(&rows, pooling)?)
            {
                slots[i] = Some(v);
            }
            start = end;
        }
        Ok(slots
            .into_iter()
            .map(|s| s.expect("every slot filled"))
            .collect())
    }

    /// Embeds one batch of tokenised texts (padded here to the longest).
    fn embed_encoded(
        &self,
        rows: &[&tokenizers::Encoding],
        pooling: Pooling,
    ) -> Result<Vec<Vec<f32>>> {
        let n = rows.len();
        let len = rows.iter().map(|e| e.get_ids().len()).max().unwrap_or(0);
        let mut ids = vec![0u32; n * len];
        let mut mask = vec![0u32; n * len];
        let mut lens = Vec::with_capacity(n);
        for (r, e) in rows.iter().enumerate() {
            let k = e.get_ids().len();
            ids[r * len..r * len + k].copy_from_slice(e.get_ids());
            mask[r * len..r * len + k].copy_from_slice(e.get_attention_mask());
            lens.push(k);
        }
        self.forward_pool(ids, mask, &lens, len, pooling)
    }

    /// The model over `n` rows of `len` token ids and their attention mask, pooled.
    fn forward_pool(
        &self,
        ids: Vec<u32>,
        mask: Vec<u32>,
        lens: &[usize],
        len: usize,
        pooling: Pooling,
    ) -> Result<Vec<Vec<f32>>> {
        let n = lens.len();
        let ids = Tensor::from_vec(ids, (n, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (n, len), &self.device)?;
        let hidden = self.model.forward(&ids, lens)?; // (n, len, 384)
        let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&m)?.sum(1)?;
        let counts = m.sum(1)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
        let unit = mean.broadcast_div(&norm)?;
        match pooling {
            Pooling::Mean => Ok(unit.to_vec2::<f32>()?),
            Pooling::MeanMax => {
                // Padding positions get a large negative value so they never win the max.
                let neg = ((m.ones_like()? - &m)? * -1e4f64)?;
                let max = hidden.broadcast_add(&neg)?.max(1)?;
                let mnorm = max.sqr()?.sum_keepdim(1)?.sqrt()?;
                let max_unit = max.broadcast_div(&mnorm)?;
                Ok(Tensor::cat(&[&unit, &max_unit], 1)?.to_vec2::<f32>()?)
            }
        }
    }
}
