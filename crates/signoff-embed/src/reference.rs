//! The stock path the fast encoder ([`crate::bert`]) replaced: candle-transformers' BERT over
//! padded batches of 32 texts sorted by length, mean pooled. Kept as the yardstick that tests
//! and the `embed_rate` example compare the fast path with (vectors and speed); nothing in
//! Signoff embeds through it.

use crate::embed::MAX_TOKENS;
use crate::error::{EmbedError, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::path::Path;
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

/// Unit-length mean-pooled vectors of `texts` from the model in `dir`, the stock way.
pub fn reference_embed(dir: &Path, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read(&p).map_err(|source| EmbedError::Io { path: p, source })
    };
    let cfg: Config = serde_json::from_slice(&read("config.json")?)
        .map_err(|e| EmbedError::Model(format!("config.json: {e}")))?;
    let vb = VarBuilder::from_buffered_safetensors(
        read("model.safetensors")?,
        DType::F32,
        &Device::Cpu,
    )?;
    let model = BertModel::load(vb, &cfg)?;
    let mut tok = Tokenizer::from_file(dir.join("tokenizer.json"))
        .map_err(|e| EmbedError::Model(e.to_string()))?;
    tok.with_padding(Some(PaddingParams::default()));
    tok.with_truncation(Some(TruncationParams {
        max_length: MAX_TOKENS,
        ..Default::default()
    }))
    .map_err(|e| EmbedError::Model(e.to_string()))?;
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| texts[i].len());
    let mut out = vec![Vec::new(); texts.len()];
    for chunk in order.chunks(32) {
        let enc = tok
            .encode_batch(chunk.iter().map(|&i| texts[i]).collect::<Vec<_>>(), true)
            .map_err(|e| EmbedError::Model(e.to_string()))?;
        let len = enc[0].get_ids().len();
        let ids: Vec<u32> = enc.iter().flat_map(|e| e.get_ids().to_vec()).collect();
        let mask: Vec<u32> = enc
            .iter()
            .flat_map(|e| e.get_attention_mask().to_vec())
            .collect();
        let ids = Tensor::from_vec(ids, (chunk.len(), len), &Device::Cpu)?;
        let mask = Tensor::from_vec(mask, (chunk.len(), len), &Device::Cpu)?;
        let h = model.forward(&ids, &ids.zeros_like()?, Some(&mask))?;
        let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let mean = h.broadcast_mul(&m)?.sum(1)?.broadcast_div(&m.sum(1)?)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
        for (&i, v) in chunk
            .iter()
            .zip(mean.broadcast_div(&norm)?.to_vec2::<f32>()?)
        {
            out[i] = v;
        }
    }
    Ok(out)
}
