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

/// One tensor of an encoder layer: its Hugging Face name inside the layer (e.g.
/// `attention.self.query.weight`), its shape and its values, row-major.
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

/// The tensor names of one encoder layer, with their shapes for a hidden width `h` and an
/// intermediate width `i`, in the order [`Bert::layer_tensors`] returns them.
pub fn layer_shapes(h: usize, i: usize) -> Vec<(&'static str, Vec<usize>)> {
    vec![
        ("attention.self.query.weight", vec![h, h]),
        ("attention.self.query.bias", vec![h]),
        ("attention.self.key.weight", vec![h, h]),
        ("attention.self.key.bias", vec![h]),
        ("attention.self.value.weight", vec![h, h]),
        ("attention.self.value.bias", vec![h]),
        ("attention.output.dense.weight", vec![h, h]),
        ("attention.output.dense.bias", vec![h]),
        ("attention.output.LayerNorm.weight", vec![h]),
        ("attention.output.LayerNorm.bias", vec![h]),
        ("intermediate.dense.weight", vec![i, h]),
        ("intermediate.dense.bias", vec![i]),
        ("output.dense.weight", vec![h, i]),
        ("output.dense.bias", vec![h]),
        ("output.LayerNorm.weight", vec![h]),
        ("output.LayerNorm.bias", vec![h]),
    ]
}

/// Replacement weights for the top encoder layers (e.g. fine-tuned ones): layers
/// `from + 1 ..` run with these instead of the model's own (see [`Bert::forward_top`]).
pub struct TopLayers {
    from: usize,
    layers: Vec<Layer>,
}

impl TopLayers {
    /// The number of the model's own layers that run below these.
    pub fn from(&self) -> usize {
        self.from
    }
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

    /// The tensors of encoder layer `k` (counting from 1) by their Hugging Face names, in
    /// the order of [`layer_shapes`].
    pub fn layer_tensors(&self, k: usize) -> candle_core::Result<Vec<NamedTensor>> {
        let Some(l) = k.checked_sub(1).and_then(|i| self.layers.get(i)) else {
            candle_core::bail!(
                "layer {k} asked for; the model has {} layers",
                self.layers.len()
            )
        };
        let hh = self.hidden * self.hidden;
        let h = self.hidden;
        let values: Vec<Vec<f32>> = vec![
            l.qkv.w[..hh].to_vec(),
            l.qkv.b[..h].to_vec(),
            l.qkv.w[hh..2 * hh].to_vec(),
            l.qkv.b[h..2 * h].to_vec(),
            l.qkv.w[2 * hh..].to_vec(),
            l.qkv.b[2 * h..].to_vec(),
            l.attn_out.w.clone(),
            l.attn_out.b.clone(),
            l.attn_norm.g.clone(),
            l.attn_norm.b.clone(),
            l.inter.w.clone(),
            l.inter.b.clone(),
            l.out.w.clone(),
            l.out.b.clone(),
            l.out_norm.g.clone(),
            l.out_norm.b.clone(),
        ];
        Ok(layer_shapes(h, l.inter.out)
            .into_iter()
            .zip(values)
            .map(|((name, shape), v)| (name.to_string(), shape, v))
            .collect())
    }

    /// Replacement layers `from + 1 ..= self.layers()` from their tensors (one list per
    /// layer, named and shaped as [`Bert::layer_tensors`] returns them). A missing tensor or a
    /// wrong shape is an error naming the layer and tensor.
    pub fn top_layers(
        &self,
        from: usize,
        tensors: &[Vec<NamedTensor>],
    ) -> candle_core::Result<TopLayers> {
        if from + tensors.len() != self.layers.len() {
            candle_core::bail!(
                "{} replacement layers above layer {from}; the model has {} layers",
                tensors.len(),
                self.layers.len()
            );
        }
        let (h, eps) = (self.hidden, self.emb_norm.eps);
        let mut layers = Vec::with_capacity(tensors.len());
        for (n, list) in tensors.iter().enumerate() {
            let inter = self.layers[from + n].inter.out;
            let mut vals: Vec<Vec<f32>> = Vec::new();
            for (name, shape) in layer_shapes(h, inter) {
                let Some((_, s, v)) = list.iter().find(|t| t.0 == name) else {
                    candle_core::bail!("layer {}: tensor {name} is missing", from + n + 1)
                };
                if *s != shape || v.len() != shape.iter().product::<usize>() {
                    candle_core::bail!(
                        "layer {}: tensor {name} has shape {s:?} ({} values), expected {shape:?}",
                        from + n + 1,
                        v.len()
                    );
                }
                vals.push(v.clone());
            }
            let mut it = vals.into_iter();
            let mut next = || it.next().expect("16 tensors");
            let (qw, qb, kw, kb, vw, vb) = (next(), next(), next(), next(), next(), next());
            let mut dense = |inp: usize, out: usize| Dense {
                w: next(),
                b: next(),
                inp,
                out,
            };
            let attn_out = dense(h, h);
            let (g, b) = (next(), next());
            let attn_norm = Norm { g, b, eps };
            let inter_d = Dense {
                w: next(),
                b: next(),
                inp: h,
                out: inter,
            };
            let out = Dense {
                w: next(),
                b: next(),
                inp: inter,
                out: h,
            };
            let (g, b) = (next(), next());
            layers.push(Layer {
                qkv: Dense {
                    w: [qw, kw, vw].concat(),
                    b: [qb, kb, vb].concat(),
                    inp: h,
                    out: 3 * h,
                },
                attn_out,
                attn_norm,
                inter: inter_d,
                out,
                out_norm: Norm { g, b, eps },
            });
        }
        Ok(TopLayers { from, layers })
    }

    /// Like [`Bert::forward`], with the layers above `top.from()` replaced by `top`'s.
    pub fn forward_top(
        &self,
        texts: &[&[u32]],
        top: &TopLayers,
    ) -> candle_core::Result<(Vec<f32>, Vec<usize>)> {
        let stack: Vec<&Layer> = self.layers[..top.from].iter().chain(&top.layers).collect();
        self.run_stack(texts, &stack, |_, _| {})
    }

    /// Number of attention heads.
    pub fn heads(&self) -> usize {
        self.heads
    }

    /// The layer normalisations' epsilon.
    pub fn layer_norm_eps(&self) -> f32 {
        self.emb_norm.eps
    }

    /// Width of a hidden state.
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// The last hidden states of `texts` (token ids each), packed: text `i` owns rows
    /// `offsets[i]..offsets[i + 1]` of the returned `(rows, hidden)` buffer, where `offsets`
    /// is returned alongside.
    pub fn forward(&self, texts: &[&[u32]]) -> candle_core::Result<(Vec<f32>, Vec<usize>)> {
        self.run(texts, self.layers.len(), |_, _| {})
    }

    /// Number of encoder layers.
    pub fn layers(&self) -> usize {
        self.layers.len()
    }

    /// The hidden states after each layer in `keep` (0 = the embedding layer's output, `k` =
    /// after encoder layer `k`, counting from 1), packed as [`Bert::forward`] packs its
    /// output, in the order of `keep`, and the offsets. Runs only as far as the deepest
    /// layer asked for; the last layer's states are the ones `forward` returns, bit for bit.
    pub fn forward_layers(
        &self,
        texts: &[&[u32]],
        keep: &[usize],
    ) -> candle_core::Result<(Vec<Vec<f32>>, Vec<usize>)> {
        let upto = keep.iter().copied().max().unwrap_or(0);
        if upto > self.layers.len() {
            candle_core::bail!(
                "layer {upto} asked for; the model has {} layers",
                self.layers.len()
            );
        }
        let mut states = vec![Vec::new(); keep.len()];
        let (last, offsets) = self.run(texts, upto, |layer, x| {
            for (slot, &k) in states.iter_mut().zip(keep) {
                if k == layer && k != upto {
                    *slot = x.to_vec();
                }
            }
        })?;
        for (slot, &k) in states.iter_mut().zip(keep) {
            if k == upto {
                *slot = last.clone();
            }
        }
        Ok((states, offsets))
    }

    /// Embeds `texts` and runs layers `1..=upto`, calling `visit(k, states)` after layer `k`
    /// (0 = the embeddings); returns the states after layer `upto` and the offsets.
    fn run(
        &self,
        texts: &[&[u32]],
        upto: usize,
        visit: impl FnMut(usize, &[f32]),
    ) -> candle_core::Result<(Vec<f32>, Vec<usize>)> {
        let stack: Vec<&Layer> = self.layers[..upto].iter().collect();
        self.run_stack(texts, &stack, visit)
    }

    /// Embeds `texts` and runs the layers of `stack` in order, calling `visit(k, states)`
    /// after the `k`-th (0 = the embeddings); returns the last states and the offsets.
    fn run_stack(
        &self,
        texts: &[&[u32]],
        stack: &[&Layer],
        mut visit: impl FnMut(usize, &[f32]),
    ) -> candle_core::Result<(Vec<f32>, Vec<usize>)> {
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
        visit(0, &x);
        let (mut qkv, mut ctx, mut a, mut inter) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (k, l) in stack.iter().enumerate() {
            l.qkv.apply(&x, rows, None, &mut qkv, par);
            attention(&qkv, &offsets, self.heads, h, nt, &mut ctx);
            l.attn_out.apply(&ctx, rows, Some(&x), &mut a, par);
            l.attn_norm.apply(&mut a);
            l.inter.apply(&a, rows, None, &mut inter, par);
            gelu_in_place(&mut inter, nt);
            l.out.apply(&inter, rows, Some(&a), &mut x, par);
            l.out_norm.apply(&mut x);
            visit(k + 1, &x);
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

    /// A random 2-layer encoder (hidden 4, 2 heads, intermediate 8, vocabulary 10).
    fn tiny() -> Bert {
        let mut seed = 1u64;
        let mut r = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.8
                })
                .collect()
        };
        let (h, i) = (4, 8);
        let mut dense = |inp: usize, out: usize| Dense {
            w: r(inp * out),
            b: r(out),
            inp,
            out,
        };
        let norm = |g: Vec<f32>| Norm {
            b: g.iter().map(|v| v * 0.1).collect(),
            g: g.iter().map(|v| 1.0 + v).collect(),
            eps: 1e-12,
        };
        let mut layers = Vec::new();
        for _ in 0..2 {
            layers.push(Layer {
                qkv: dense(h, 3 * h),
                attn_out: dense(h, h),
                attn_norm: norm(dense(1, h).b),
                inter: dense(h, i),
                out: dense(i, h),
                out_norm: norm(dense(1, h).b),
            });
        }
        Bert {
            words: dense(10, h).w,
            vocab: 10,
            positions: dense(16, h).w,
            max_positions: 16,
            type0: dense(1, h).b,
            emb_norm: norm(dense(1, h).b),
            layers,
            heads: 2,
            hidden: h,
        }
    }

    #[test]
    fn layer_states_and_replacement_layers_reproduce_the_forward_pass() {
        let m = tiny();
        let texts: [&[u32]; 2] = [&[1, 4, 2], &[3, 9, 9, 0, 5]];
        let (want, offsets) = m.forward(&texts).unwrap();
        let (states, off2) = m.forward_layers(&texts, &[1, 2, 0]).unwrap();
        assert_eq!((&states[1], &off2), (&want, &offsets));
        assert_eq!(states[2].len(), want.len());
        assert_ne!(states[0], want);
        // Layer 2 rebuilt from its own tensors computes the same thing, bit for bit.
        let own = m.layer_tensors(2).unwrap();
        let top = m.top_layers(1, std::slice::from_ref(&own)).unwrap();
        assert_eq!(m.forward_top(&texts, &top).unwrap().0, want);
        // Changed weights change the output; a wrong shape or missing tensor is named.
        let mut other = own.clone();
        other[13].2[0] += 1.0;
        let top = m.top_layers(1, &[other]).unwrap();
        assert_ne!(m.forward_top(&texts, &top).unwrap().0, want);
        let mut bad = own.clone();
        bad[10].1 = vec![4, 8];
        let err = m.top_layers(1, &[bad]).err().unwrap().to_string();
        assert!(
            err.contains("layer 2: tensor intermediate.dense.weight"),
            "{err}"
        );
        let err = m
            .top_layers(1, &[own[1..].to_vec()])
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("attention.self.query.weight is missing"),
            "{err}"
        );
        assert!(m.top_layers(0, &[own]).is_err());
        assert!(m.forward_layers(&texts, &[3]).is_err());
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
