//! The BERT encoder of all-MiniLM-L6-v2, forward pass only, written for throughput on a
//! few CPU cores. It reads the same weights as `candle_transformers::models::bert` (whose
//! layout it follows) and computes the same function, with three differences in how:
//! - the query, key and value projections are one matrix product (`[q | k | v]` weights);
//! - attention runs per text and head over the text's real tokens only (padding is neither
//!   attended to nor computed), split over the cores, instead of one masked batched product
//!   over every padded position;
//! - GELU uses a rational approximation of erf accurate to ~1e-7 that vectorises, instead of
//!   a scalar libm call per activation (the slowest single step of the candle model).
//!
//! Hidden states at padding positions are left unspecified (finite); pooling masks them out.
//! `tests` compares the output with candle's model on the same weights.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Module, Shape, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use candle_transformers::models::bert::Config;

/// One encoder layer.
struct Layer {
    qkv: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    inter: Linear,
    out: Linear,
    out_norm: LayerNorm,
}

/// The encoder: embeddings and layers.
pub struct Bert {
    words: Embedding,
    positions: Tensor,
    type0: Tensor,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    hidden: usize,
}

fn linear(vb: &VarBuilder, inp: usize, out: usize) -> candle_core::Result<Linear> {
    Ok(Linear::new(
        vb.get((out, inp), "weight")?,
        Some(vb.get(out, "bias")?),
    ))
}

fn layer_norm(vb: &VarBuilder, size: usize, eps: f64) -> candle_core::Result<LayerNorm> {
    Ok(LayerNorm::new(
        vb.get(size, "weight")?,
        vb.get(size, "bias")?,
        eps,
    ))
}

/// How many threads the hand-written steps split their work over.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

impl Bert {
    /// Loads the weights (with or without a `bert.` prefix, as candle's loader accepts).
    pub fn load(vb: VarBuilder, cfg: &Config) -> candle_core::Result<Bert> {
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        let h = cfg.hidden_size;
        let e = vb.pp("embeddings");
        let words = Embedding::new(e.get((cfg.vocab_size, h), "word_embeddings.weight")?, h);
        let positions = e.get(
            (cfg.max_position_embeddings, h),
            "position_embeddings.weight",
        )?;
        let type0 = e
            .get((cfg.type_vocab_size, h), "token_type_embeddings.weight")?
            .narrow(0, 0, 1)?;
        let emb_norm = layer_norm(&e.pp("LayerNorm"), h, cfg.layer_norm_eps)?;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let a = l.pp("attention");
            let s = a.pp("self");
            let (q, k, v) = (
                linear(&s.pp("query"), h, h)?,
                linear(&s.pp("key"), h, h)?,
                linear(&s.pp("value"), h, h)?,
            );
            let w = Tensor::cat(&[q.weight(), k.weight(), v.weight()], 0)?;
            let b = Tensor::cat(
                &[
                    q.bias().expect("bias"),
                    k.bias().expect("bias"),
                    v.bias().expect("bias"),
                ],
                0,
            )?;
            layers.push(Layer {
                qkv: Linear::new(w, Some(b)),
                attn_out: linear(&a.pp("output.dense"), h, h)?,
                attn_norm: layer_norm(&a.pp("output.LayerNorm"), h, cfg.layer_norm_eps)?,
                inter: linear(&l.pp("intermediate.dense"), h, cfg.intermediate_size)?,
                out: linear(&l.pp("output.dense"), cfg.intermediate_size, h)?,
                out_norm: layer_norm(&l.pp("output.LayerNorm"), h, cfg.layer_norm_eps)?,
            });
        }
        Ok(Bert {
            words,
            positions,
            type0,
            emb_norm,
            layers,
            heads: cfg.num_attention_heads,
            hidden: h,
        })
    }

    /// Hidden states `(n, len, hidden)` for `ids` `(n, len)` whose row `r` has `lens[r]` real
    /// tokens followed by padding.
    pub fn forward(&self, ids: &Tensor, lens: &[usize]) -> candle_core::Result<Tensor> {
        let (n, len) = ids.dims2()?;
        if lens.len() != n || lens.iter().any(|&l| l > len) {
            candle_core::bail!("bert: {} lengths for {n} rows of {len} tokens", lens.len());
        }
        let x = self
            .words
            .forward(ids)?
            .broadcast_add(&self.type0)?
            .broadcast_add(&self.positions.narrow(0, 0, len)?)?;
        let mut x = self.emb_norm.forward(&x)?;
        for l in &self.layers {
            let qkv = l.qkv.forward(&x)?;
            let ctx = attention(&qkv, lens, self.heads, self.hidden)?;
            let a = l.attn_norm.forward(&(l.attn_out.forward(&ctx)? + &x)?)?;
            let i = l.inter.forward(&a)?.apply_op1_no_bwd(&Gelu)?;
            x = l.out_norm.forward(&(l.out.forward(&i)? + &a)?)?;
        }
        Ok(x)
    }
}

/// Scaled dot-product attention from the fused projections `qkv` `(n, len, 3·hidden)`, each
/// text over its first `lens[r]` tokens; padding rows of the result are zero.
fn attention(
    qkv: &Tensor,
    lens: &[usize],
    heads: usize,
    hidden: usize,
) -> candle_core::Result<Tensor> {
    let (n, len, w) = qkv.dims3()?;
    debug_assert_eq!(w, 3 * hidden);
    if n == 0 || len == 0 {
        return Tensor::zeros((n, len, hidden), DTYPE, qkv.device());
    }
    let src: Vec<f32> = qkv.flatten_all()?.to_vec1()?;
    let mut out = vec![0f32; n * len * hidden];
    let d = hidden / heads;
    let scale = 1.0 / (d as f32).sqrt();
    let per = n.div_ceil(threads()).max(1);
    std::thread::scope(|s| {
        for (c, chunk) in out.chunks_mut(per * len * hidden).enumerate() {
            let src = &src;
            s.spawn(move || {
                let mut p = vec![0f32; len];
                for (k, row_out) in chunk.chunks_mut(len * hidden).enumerate() {
                    let r = c * per + k;
                    let t = lens[r];
                    let row = &src[r * len * w..(r + 1) * len * w];
                    for h in 0..heads {
                        let (qo, ko, vo) = (h * d, hidden + h * d, 2 * hidden + h * d);
                        for i in 0..t {
                            let q = &row[i * w + qo..i * w + qo + d];
                            let mut max = f32::NEG_INFINITY;
                            for (j, pj) in p.iter_mut().enumerate().take(t) {
                                let s = dot(q, &row[j * w + ko..j * w + ko + d]) * scale;
                                *pj = s;
                                max = max.max(s);
                            }
                            let mut sum = 0f32;
                            for pj in p.iter_mut().take(t) {
                                *pj = (*pj - max).exp();
                                sum += *pj;
                            }
                            let o = &mut row_out[i * hidden + h * d..i * hidden + (h + 1) * d];
                            for (j, pj) in p.iter().enumerate().take(t) {
                                let wgt = pj / sum;
                                let v = &row[j * w + vo..j * w + vo + d];
                                for (oo, vv) in o.iter_mut().zip(v) {
                                    *oo += wgt * vv;
                                }
                            }
                        }
                    }
                }
            });
        }
    });
    Tensor::from_vec(out, (n, len, hidden), qkv.device())
}

/// Dot product in 8 lanes (vectorises).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// erf(x) by a rational approximation on [-4, 4] (erf is ±1 in f32 beyond): the one Eigen
/// and XLA use for f32, absolute error below 1e-6.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p + -2.101_024e-6;
    p = x2 * p + -5.692_506_4e-5;
    p = x2 * p + -7.349_906_3e-4;
    p = x2 * p + -2.954_600_1e-3;
    p = x2 * p + -1.609_603_3e-2;
    p *= x;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = x2 * q + -1.682_827e-3;
    q = x2 * q + -7.373_329_2e-3;
    q = x2 * q + -1.426_474e-2;
    p / q
}

/// GELU, x · Φ(x), with [`erf`].
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// GELU over a contiguous f32 tensor, split over the cores.
struct Gelu;

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "signoff-gelu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (CpuStorage::F32(v), Some((a, b))) = (s, l.contiguous_offsets()) else {
            candle_core::bail!("gelu: expects a contiguous f32 tensor");
        };
        let src = &v[a..b];
        let mut out = vec![0f32; src.len()];
        let per = src.len().div_ceil(threads()).max(1);
        std::thread::scope(|sc| {
            for (o, i) in out.chunks_mut(per).zip(src.chunks(per)) {
                sc.spawn(move || {
                    for (o, &x) in o.iter_mut().zip(i) {
                        *o = gelu(x);
                    }
                });
            }
        });
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }
}

/// The dtype the encoder computes in.
pub const DTYPE: DType = DType::F32;

#[cfg(test)]
mod tests {
    use super::*;

    /// erf by its Taylor series in f64 (exact enough on |x| ≤ 3), and 1 − erfc's asymptotic
    /// tail beyond.
    fn erf_ref(x: f64) -> f64 {
        let mut sum = 0.0;
        let mut term = x;
        let mut k = 0.0;
        while term.abs() > 1e-17 || k < 5.0 {
            sum += term / (2.0 * k + 1.0);
            k += 1.0;
            term *= -x * x / k;
            if k > 200.0 {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn erf_matches_the_series_to_1e_6() {
        let mut worst = 0f64;
        for i in -3000..=3000 {
            let x = i as f64 / 1000.0;
            worst = worst.max((f64::from(erf(x as f32)) - erf_ref(x)).abs());
        }
        assert!(worst < 1e-6, "worst error {worst}");
        assert_eq!(erf(9.0), erf(4.0));
        assert!((erf(4.0) - 1.0).abs() < 1e-6);
        assert!(gelu(-10.0).abs() < 1e-6 && (gelu(10.0) - 10.0).abs() < 1e-5);
    }
}
