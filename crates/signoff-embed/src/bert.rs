//! The BERT encoder of all-MiniLM-L6-v2, forward pass only, in plain Rust over the `gemm`
//! kernels, written for throughput on a few CPU cores. It reads the same weights as
//! `candle_transformers::models::bert` and computes the same function; what differs is how:
//! - texts are packed end to end, so no row of any product is padding (a batch's cost is its
//!   real tokens, whatever the mix of lengths);
//! - the query, key and value projections are one product (`[q | k | v]` weights), and every
//!   projection adds its bias and residual by accumulating into a destination that already
//!   holds them;
//! - attention runs per text and head over that text's tokens, split over the cores;
//! - GELU uses a rational approximation of erf accurate to ~1e-7 that vectorises, instead of
//!   a scalar libm call per activation;
//! - small inputs (one query) run on one core: synchronising threads costs more than it saves.
//!
//! `tests/fast_encoder.rs` checks the vectors against candle's model ([`crate::reference`]).

use candle_core::Tensor;
use candle_nn::VarBuilder;
use candle_transformers::models::bert::Config;
use gemm::Parallelism;

/// Rows (tokens) below which a step runs on the calling thread alone.
const PARALLEL_ROWS: usize = 48;

/// A dense layer: `y = x · Wᵀ + b` with `W` stored `(out, inp)` row-major, as in the weights.
struct Dense {
    w: Vec<f32>,
    b: Vec<f32>,
    inp: usize,
    out: usize,
}

impl Dense {
    /// `dst[r] = x[r] · Wᵀ + b (+ residual[r])` for `rows` rows.
    fn apply(
        &self,
        x: &[f32],
        rows: usize,
        residual: Option<&[f32]>,
        dst: &mut Vec<f32>,
        par: Parallelism,
    ) {
        assert_eq!(x.len(), rows * self.inp, "dense input shape");
        dst.clear();
        match residual {
            Some(res) => {
                assert_eq!(res.len(), rows * self.out, "residual shape");
                for row in res.chunks_exact(self.out) {
                    dst.extend(row.iter().zip(&self.b).map(|(r, b)| r + b));
                }
            }
            None => {
                for _ in 0..rows {
                    dst.extend_from_slice(&self.b);
                }
            }
        }
        if rows == 0 {
            return;
        }
        // SAFETY: `dst` holds rows × out floats (row stride out, column stride 1), `x` holds
        // rows × inp (row stride inp), and W read as its transpose is inp × out with row
        // stride 1 and column stride inp — exactly the extents gemm is told; the three
        // buffers do not overlap (dst is a distinct Vec).
        unsafe {
            gemm::gemm(
                rows,
                self.out,
                self.inp,
                dst.as_mut_ptr(),
                1,
                self.out as isize,
                true,
                x.as_ptr(),
                1,
                self.inp as isize,
                self.w.as_ptr(),
                self.inp as isize,
                1,
                1.0f32,
                1.0f32,
                false,
                false,
                false,
                par,
            );
        }
    }
}

/// Layer normalisation weights.
struct Norm {
    g: Vec<f32>,
    b: Vec<f32>,
    eps: f32,
}

impl Norm {
    /// Normalises each row of `x` in place.
    fn apply(&self, x: &mut [f32]) {
        let d = self.g.len();
        for row in x.chunks_exact_mut(d) {
            let mean = row.iter().sum::<f32>() / d as f32;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
            let inv = 1.0 / (var + self.eps).sqrt();
            for ((v, g), b) in row.iter_mut().zip(&self.g).zip(&self.b) {
                *v = (*v - mean) * inv * g + b;
            }
        }
    }
}

/// One encoder layer.
struct Layer {
    qkv: Dense,
    attn_out: Dense,
    attn_norm: Norm,
    inter: Dense,
    out: Dense,
    out_norm: Norm,
}

/// The encoder: embeddings and layers.
pub struct Bert {
    words: Vec<f32>,
    vocab: usize,
    positions: Vec<f32>,
    max_positions: usize,
    type0: Vec<f32>,
    emb_norm: Norm,
    layers: Vec<Layer>,
    heads: usize,
    hidden: usize,
}

fn floats(t: Tensor) -> candle_core::Result<Vec<f32>> {
    t.flatten_all()?.to_vec1::<f32>()
}

fn dense(vb: &VarBuilder, inp: usize, out: usize) -> candle_core::Result<Dense> {
    Ok(Dense {
        w: floats(vb.get((out, inp), "weight")?)?,
        b: floats(vb.get(out, "bias")?)?,
        inp,
        out,
    })
}

fn norm(vb: &VarBuilder, size: usize, eps: f64) -> candle_core::Result<Norm> {
    Ok(Norm {
        g: floats(vb.get(size, "weight")?)?,
        b: floats(vb.get(size, "bias")?)?,
        eps: eps as f32,
    })
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
        if cfg.num_attention_heads == 0 || !h.is_multiple_of(cfg.num_attention_heads) {
            candle_core::bail!(
                "config.json: hidden_size {h} is not a multiple of num_attention_heads {}",
                cfg.num_attention_heads
            );
        }
        let e = vb.pp("embeddings");
        let eps = cfg.layer_norm_eps;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let a = l.pp("attention");
            let s = a.pp("self");
            let (q, k, v) = (
                dense(&s.pp("query"), h, h)?,
                dense(&s.pp("key"), h, h)?,
                dense(&s.pp("value"), h, h)?,
            );
            layers.push(Layer {
                qkv: Dense {
                    w: [q.w, k.w, v.w].concat(),
                    b: [q.b, k.b, v.b].concat(),
                    inp: h,
                    out: 3 * h,
                },
                attn_out: dense(&a.pp("output.dense"), h, h)?,
                attn_norm: norm(&a.pp("output.LayerNorm"), h, eps)?,
                inter: dense(&l.pp("intermediate.dense"), h, cfg.intermediate_size)?,
                out: dense(&l.pp("output.dense"), cfg.intermediate_size, h)?,
                out_norm: norm(&l.pp("output.LayerNorm"), h, eps)?,
            });
        }
        let types = floats(e.get((cfg.type_vocab_size, h), "token_type_embeddings.weight")?)?;
        Ok(Bert {
            words: floats(e.get((cfg.vocab_size, h), "word_embeddings.weight")?)?,
            vocab: cfg.vocab_size,
            positions: floats(e.get(
                (cfg.max_position_embeddings, h),
                "position_embeddings.weight",
            )?)?,
            max_positions: cfg.max_position_embeddings,
            type0: types[..h].to_vec(),
            emb_norm: norm(&e.pp("LayerNorm"), h, eps)?,
            layers,
            heads: cfg.num_attention_heads,
            hidden: h,
        })
    }

    /// Width of a hidden state.
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// The last hidden states of `texts` (token ids each), packed: text `i` owns rows
    /// `offsets[i]..offsets[i + 1]` of the returned `(rows, hidden)` buffer, where `offsets`
    /// is returned alongside.
    pub fn forward(&self, texts: &[&[u32]]) -> candle_core::Result<(Vec<f32>, Vec<usize>)> {
        let h = self.hidden;
        let mut offsets = Vec::with_capacity(texts.len() + 1);
        offsets.push(0);
        for t in texts {
            if t.len() > self.max_positions {
                candle_core::bail!(
                    "a text of {} tokens is longer than the model's {} positions",
                    t.len(),
                    self.max_positions
                );
            }
            offsets.push(offsets.last().copied().unwrap_or(0) + t.len());
        }
        let rows = offsets.last().copied().unwrap_or(0);
        let (par, nt) = if rows >= PARALLEL_ROWS {
            (Parallelism::Rayon(threads()), threads())
        } else {
            (Parallelism::None, 1)
        };
        let mut x = Vec::with_capacity(rows * h);
        for t in texts {
            for (p, &id) in t.iter().enumerate() {
                let id = id as usize;
                if id >= self.vocab {
                    candle_core::bail!("token id {id} is outside the vocabulary of {}", self.vocab);
                }
                let w = &self.words[id * h..(id + 1) * h];
                let pos = &self.positions[p * h..(p + 1) * h];
                x.extend(
                    w.iter()
                        .zip(pos)
                        .zip(&self.type0)
                        .map(|((a, b), c)| a + c + b),
                );
            }
        }
        self.emb_norm.apply(&mut x);
        let (mut qkv, mut ctx, mut a, mut inter) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for l in &self.layers {
            l.qkv.apply(&x, rows, None, &mut qkv, par);
            attention(&qkv, &offsets, self.heads, h, nt, &mut ctx);
            l.attn_out.apply(&ctx, rows, Some(&x), &mut a, par);
            l.attn_norm.apply(&mut a);
            l.inter.apply(&a, rows, None, &mut inter, par);
            gelu_in_place(&mut inter, nt);
            l.out.apply(&inter, rows, Some(&a), &mut x, par);
            l.out_norm.apply(&mut x);
        }
        Ok((x, offsets))
    }
}

/// Scaled dot-product attention from the fused projections `qkv` (`rows × 3·hidden`), each
/// text (rows `offsets[i]..offsets[i + 1]`) attending over its own tokens, written to `out`
/// (`rows × hidden`), the texts split over `nt` threads.
fn attention(
    qkv: &[f32],
    offsets: &[usize],
    heads: usize,
    hidden: usize,
    nt: usize,
    out: &mut Vec<f32>,
) {
    let rows = offsets.last().copied().unwrap_or(0);
    out.clear();
    out.resize(rows * hidden, 0.0);
    if rows == 0 {
        return;
    }
    // Contiguous runs of whole texts of about rows / nt tokens each.
    let mut cuts = vec![0usize];
    for (i, &o) in offsets.iter().enumerate().skip(1) {
        if o * nt >= rows * cuts.len() && cuts.len() < nt && i + 1 < offsets.len() {
            cuts.push(i);
        }
    }
    cuts.push(offsets.len() - 1);
    let mut rest: &mut [f32] = out;
    let mut parts = Vec::new();
    for w in cuts.windows(2) {
        let (from, to) = (w[0], w[1]);
        let n = (offsets[to] - offsets[from]) * hidden;
        let (mine, tail) = rest.split_at_mut(n);
        rest = tail;
        parts.push((from, to, mine));
    }
    let run = |(from, to, mine): (usize, usize, &mut [f32])| {
        let base = offsets[from];
        for t in from..to {
            let (s, e) = (offsets[t], offsets[t + 1]);
            attend(
                &qkv[s * 3 * hidden..e * 3 * hidden],
                &mut mine[(s - base) * hidden..(e - base) * hidden],
                heads,
                hidden,
            );
        }
    };
    if parts.len() == 1 {
        parts.into_iter().for_each(run);
    } else {
        std::thread::scope(|sc| {
            for p in parts {
                sc.spawn(move || run(p));
            }
        });
    }
}

/// Attention within one text: `qkv` is `(t, 3·hidden)`, `out` is `(t, hidden)`.
fn attend(qkv: &[f32], out: &mut [f32], heads: usize, hidden: usize) {
    let w = 3 * hidden;
    let t = qkv.len() / w;
    let d = hidden / heads;
    let scale = 1.0 / (d as f32).sqrt();
    let mut p = vec![0f32; t];
    for h in 0..heads {
        let (qo, ko, vo) = (h * d, hidden + h * d, 2 * hidden + h * d);
        for i in 0..t {
            let q = &qkv[i * w + qo..i * w + qo + d];
            let mut max = f32::NEG_INFINITY;
            for (j, pj) in p.iter_mut().enumerate() {
                *pj = dot(q, &qkv[j * w + ko..j * w + ko + d]) * scale;
                max = max.max(*pj);
            }
            let mut sum = 0f32;
            for pj in p.iter_mut() {
                *pj = (*pj - max).exp();
                sum += *pj;
            }
            let o = &mut out[i * hidden + h * d..i * hidden + (h + 1) * d];
            for (j, pj) in p.iter().enumerate() {
                let wgt = pj / sum;
                let v = &qkv[j * w + vo..j * w + vo + d];
                for (oo, vv) in o.iter_mut().zip(v) {
                    *oo += wgt * vv;
                }
            }
        }
    }
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

/// [`gelu`] over a buffer in place, split over `nt` threads.
fn gelu_in_place(v: &mut [f32], nt: usize) {
    if nt <= 1 {
        v.iter_mut().for_each(|x| *x = gelu(*x));
        return;
    }
    let per = v.len().div_ceil(nt).max(1);
    std::thread::scope(|sc| {
        for part in v.chunks_mut(per) {
            sc.spawn(move || part.iter_mut().for_each(|x| *x = gelu(*x)));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf by its Taylor series in f64 (exact to ~1e-12 on |x| ≤ 3).
    fn erf_ref(x: f64) -> f64 {
        let mut sum = 0.0;
        let mut term = x;
        let mut k = 0.0;
        while k < 200.0 && (term.abs() > 1e-17 || k < 5.0) {
            sum += term / (2.0 * k + 1.0);
            k += 1.0;
            term *= -x * x / k;
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

    #[test]
    fn dense_adds_bias_and_residual_to_the_product() {
        // W = [[1, 2], [3, 4], [5, 6]] (out 3, inp 2), b = [1, 0, -1].
        let d = Dense {
            w: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            b: vec![1.0, 0.0, -1.0],
            inp: 2,
            out: 3,
        };
        let x = [1.0, 1.0, 0.0, 2.0];
        let mut y = Vec::new();
        d.apply(&x, 2, None, &mut y, Parallelism::None);
        assert_eq!(y, vec![4.0, 7.0, 10.0, 5.0, 8.0, 11.0]);
        let res = [1.0; 6];
        d.apply(&x, 2, Some(&res), &mut y, Parallelism::None);
        assert_eq!(y, vec![5.0, 8.0, 11.0, 6.0, 9.0, 12.0]);
    }

    #[test]
    fn attention_keeps_texts_apart_and_splits_work_without_changing_it() {
        // Two heads of width 2 (hidden 4); three texts of 3, 1 and 4 tokens.
        let hidden = 4;
        let offsets = [0, 3, 4, 8];
        let qkv: Vec<f32> = (0..8 * 3 * hidden)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) / 4.0)
            .collect();
        let (mut one, mut two) = (Vec::new(), Vec::new());
        attention(&qkv, &offsets, 2, hidden, 1, &mut one);
        attention(&qkv, &offsets, 2, hidden, 2, &mut two);
        assert_eq!(one, two);
        // A one-token text attends only to itself: its output is its own value vector.
        assert_eq!(&one[3 * hidden..4 * hidden], &qkv[3 * 12 + 8..3 * 12 + 12]);
    }
}
