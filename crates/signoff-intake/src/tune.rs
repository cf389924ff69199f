//! Fine-tuning the top layers of the sentence encoder on the labelled rows. The model's own
//! layers `1..=from` run once, frozen, in plain Rust, and their token states are kept; layers
//! `from + 1 ..` are trained under a cosine-softmax head whose class vectors start at the class
//! centroids of the frozen sentence embeddings (AdamW, linear warm-up then linear decay, seeded
//! shuffling, batches of similar length).
//!
//! The forward pass here is written out in candle operations that all have a backward pass:
//! candle-nn's fused `layer_norm` has none, so gradients through `candle_transformers`' BERT
//! stop there without an error. After training, the plain-Rust encoder runs the tuned layers
//! ([`signoff_embed::bert::Bert::forward_top`]) for every embedding — training rows and new
//! cases alike — so what the heads are trained on is what they see at inference.

use crate::classifier::{Classifier, Config};
use crate::data::{stratified_split, Example};
use crate::error::{IntakeError, Result};
use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::Optimizer;
use serde::{Deserialize, Serialize};
use signoff_embed::bert::{Bert, NamedTensor, TopLayers};
use signoff_embed::embed::BATCH_TOKENS;
use signoff_embed::Embedder;
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// Fine-tuned top layers of the encoder, as a classifier carries them (and its artefact
/// stores them): layers `from + 1 ..` by their named tensors.
pub struct TunedLayers {
    /// Layers of the model's own that run below these.
    pub from: usize,
    /// Per layer, its tensors named and shaped as [`Bert::layer_tensors`] gives them.
    pub layers: Vec<Vec<NamedTensor>>,
    /// The layers in the plain-Rust encoder's form, built on first use.
    built: OnceLock<TopLayers>,
}

impl TunedLayers {
    /// Tuned layers above layer `from`.
    pub fn new(from: usize, layers: Vec<Vec<NamedTensor>>) -> Self {
        TunedLayers {
            from,
            layers,
            built: OnceLock::new(),
        }
    }

    /// The layers for the plain-Rust encoder (built once; a shape that does not fit the
    /// encoder is an error naming the layer and tensor).
    pub fn top(&self, bert: &Bert) -> Result<&TopLayers> {
        if let Some(t) = self.built.get() {
            return Ok(t);
        }
        let t = bert
            .top_layers(self.from, &self.layers)
            .map_err(|e| IntakeError::Model(format!("fine-tuned layers: {e}")))?;
        Ok(self.built.get_or_init(|| t))
    }
}

impl Clone for TunedLayers {
    fn clone(&self) -> Self {
        TunedLayers::new(self.from, self.layers.clone())
    }
}

impl PartialEq for TunedLayers {
    fn eq(&self, other: &Self) -> bool {
        self.from == other.from && self.layers == other.layers
    }
}

impl std::fmt::Debug for TunedLayers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunedLayers")
            .field("from", &self.from)
            .field("layers", &self.layers.len())
            .finish()
    }
}

/// Mean over the rows of `states` (`tokens × h`), then unit length — the same arithmetic as
/// the embedder's mean pooling.
fn mean_unit(states: &[f32], h: usize) -> Vec<f32> {
    let count = (states.len() / h).max(1) as f32;
    let mut mean = vec![0f32; h];
    for row in states.chunks_exact(h) {
        mean.iter_mut().zip(row).for_each(|(m, x)| *m += x);
    }
    mean.iter_mut().for_each(|m| *m /= count);
    let n = mean.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        mean.iter_mut().for_each(|x| *x /= n);
    }
    mean
}

/// Runs `f` over token-id lists in batches of at most [`BATCH_TOKENS`] tokens; `f` returns
/// one item per text of its batch.
fn batched<T>(ids: &[Vec<u32>], mut f: impl FnMut(&[&[u32]]) -> Result<Vec<T>>) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(ids.len());
    let mut batch: Vec<&[u32]> = Vec::new();
    let mut tokens = 0;
    for t in ids {
        if !batch.is_empty() && tokens + t.len() > BATCH_TOKENS {
            out.extend(f(&batch)?);
            batch.clear();
            tokens = 0;
        }
        tokens += t.len();
        batch.push(t);
    }
    if !batch.is_empty() {
        out.extend(f(&batch)?);
    }
    Ok(out)
}

/// Mean-pooled, unit-length sentence vectors of texts: with the fine-tuned top layers when
/// `tuned` is given, else the embedder's own vectors.
pub fn sentence_vectors(
    embedder: &Embedder,
    texts: &[&str],
    tuned: Option<&TunedLayers>,
) -> Result<Vec<Vec<f32>>> {
    let Some(t) = tuned else {
        return Ok(embedder.embed(texts)?);
    };
    let bert = embedder.encoder();
    let top = t.top(bert)?;
    let h = bert.hidden();
    let ids = embedder.token_ids(texts)?;
    batched(&ids, |batch| {
        let (x, off) = bert
            .forward_top(batch, top)
            .map_err(|e| IntakeError::Model(e.to_string()))?;
        Ok(off
            .windows(2)
            .map(|w| mean_unit(&x[w[0] * h..w[1] * h], h))
            .collect())
    })
}

/// Trains a classifier on an encoder whose top layers are first fine-tuned on the rows
/// (`config.tune_epochs` passes above layer `config.tune_from`). The encoder is tuned on the
/// rows the heads are fitted on, not on the calibration split, so the mix weight and the
/// temperature are set on rows the encoder has not seen. Returns the classifier (carrying
/// the tuned layers) and the training rows' tuned embeddings.
pub fn train_tuned(
    examples: &[Example],
    embedder: &Embedder,
    config: &Config,
) -> Result<(Classifier, Vec<Vec<f32>>)> {
    let bert = embedder.encoder();
    let from = config.tune_from;
    if from >= bert.layers() {
        return Err(IntakeError::Training(format!(
            "{}: tune_from {from} leaves no layer to fine-tune (the encoder has {})",
            config.name,
            bert.layers()
        )));
    }
    let labels: Vec<&str> = examples
        .iter()
        .map(|e| e.label.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let y: Vec<usize> = examples
        .iter()
        .map(|e| {
            labels
                .binary_search(&e.label.as_str())
                .expect("label listed")
        })
        .collect();
    let names: Vec<&str> = examples.iter().map(|e| e.label.as_str()).collect();
    let (fit, _) = stratified_split(&names, config.calibration_fraction, config.seed);
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let ids = embedder.token_ids(&texts)?;
    let h = bert.hidden();
    // The frozen layers once: each row's states after layer `from`, and its frozen
    // sentence vector (for the head's starting class vectors).
    let rows: Vec<(Vec<f32>, Vec<f32>)> = batched(&ids, |batch| {
        let (st, off) = bert
            .forward_layers(batch, &[from, bert.layers()])
            .map_err(|e| IntakeError::Model(e.to_string()))?;
        Ok(off
            .windows(2)
            .map(|w| {
                let (a, b) = (w[0] * h, w[1] * h);
                (st[0][a..b].to_vec(), mean_unit(&st[1][a..b], h))
            })
            .collect())
    })?;
    let classes = labels.len();
    let mut centroids = vec![0f32; classes * h];
    for &i in &fit {
        let c = &mut centroids[y[i] * h..(y[i] + 1) * h];
        c.iter_mut().zip(&rows[i].1).for_each(|(a, b)| *a += b);
    }
    for c in centroids.chunks_mut(h) {
        let n = c.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        c.iter_mut().for_each(|x| *x /= n);
    }
    let layers = (from + 1..=bert.layers())
        .map(|k| bert.layer_tensors(k))
        .collect::<candle_core::Result<Vec<_>>>()?;
    let opts = TuneOptions {
        from,
        epochs: config.tune_epochs,
        lr: config.tune_lr,
        seed: config.seed,
        ..TuneOptions::default()
    };
    let states: Vec<&[f32]> = fit.iter().map(|&i| rows[i].0.as_slice()).collect();
    let fit_y: Vec<usize> = fit.iter().map(|&i| y[i]).collect();
    drop(ids);
    let (tuned, _head) = fine_tune(
        &layers,
        bert.heads(),
        bert.layer_norm_eps() as f64,
        &states,
        &fit_y,
        &centroids,
        classes,
        &opts,
    )?;
    drop(states);
    drop(rows);
    let tuned = TunedLayers::new(from, tuned);
    let emb = sentence_vectors(embedder, &texts, Some(&tuned))?;
    let mut clf = Classifier::train_heads(examples, Some(&emb), config)?;
    clf.tuned = Some(tuned);
    Ok((clf, emb))
}

/// How to fine-tune.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TuneOptions {
    /// Layers `1..=from` stay frozen; the ones above are trained.
    pub from: usize,
    /// Passes over the rows.
    pub epochs: usize,
    /// Peak learning rate of the encoder layers.
    pub lr: f64,
    /// Peak learning rate of the head's class vectors.
    pub head_lr: f64,
    /// Scale of the cosine logits (a fixed inverse temperature).
    pub scale: f64,
    /// Rows per step.
    pub batch: usize,
    /// Seed of the shuffling.
    pub seed: u64,
}

impl Default for TuneOptions {
    fn default() -> Self {
        TuneOptions {
            from: 4,
            epochs: 2,
            lr: 1e-4,
            head_lr: 1e-2,
            scale: 20.0,
            batch: 32,
            seed: 7,
        }
    }
}

/// Where each tensor of a layer sits in the order of [`signoff_embed::bert::layer_shapes`].
mod at {
    pub const Q: usize = 0;
    pub const K: usize = 2;
    pub const V: usize = 4;
    pub const ATT_OUT: usize = 6;
    pub const ATT_NORM: usize = 8;
    pub const INTER: usize = 10;
    pub const OUT: usize = 12;
    pub const OUT_NORM: usize = 14;
}

/// Layer normalisation over the last dimension from plain operations (all differentiable).
fn layer_norm(x: &Tensor, g: &Tensor, b: &Tensor, eps: f64) -> candle_core::Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
    xc.broadcast_div(&(var + eps)?.sqrt()?)?
        .broadcast_mul(g)?
        .broadcast_add(b)
}

/// `x · Wᵀ + b` with `W` and `b` at `w` and `w + 1` of `t`.
fn linear(x: &Tensor, t: &[Tensor], w: usize) -> candle_core::Result<Tensor> {
    x.broadcast_matmul(&t[w].t()?)?.broadcast_add(&t[w + 1])
}

/// A stack of encoder layers as differentiable tensors.
pub struct Stack {
    /// Per layer, its 16 tensors in the order of `layer_shapes`.
    layers: Vec<Vec<Var>>,
    heads: usize,
    eps: f64,
}

impl Stack {
    /// The stack from named tensors (one list per layer, in `layer_shapes` order), as `dtype`.
    pub fn new(layers: &[Vec<NamedTensor>], heads: usize, eps: f64, dtype: DType) -> Result<Stack> {
        let dev = Device::Cpu;
        let layers = layers
            .iter()
            .map(|l| {
                l.iter()
                    .map(|(_, shape, v)| {
                        let t = Tensor::from_slice(v, shape.as_slice(), &dev)?.to_dtype(dtype)?;
                        Var::from_tensor(&t)
                    })
                    .collect::<candle_core::Result<Vec<Var>>>()
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Stack { layers, heads, eps })
    }

    /// All trainable tensors.
    pub fn vars(&self) -> Vec<Var> {
        self.layers.iter().flatten().cloned().collect()
    }

    /// The tensors back as named f32 values, names and shapes as in `like`.
    pub fn export(&self, like: &[Vec<NamedTensor>]) -> Result<Vec<Vec<NamedTensor>>> {
        let mut out = Vec::with_capacity(self.layers.len());
        for (vars, names) in self.layers.iter().zip(like) {
            let mut layer = Vec::with_capacity(vars.len());
            for (v, (name, shape, _)) in vars.iter().zip(names) {
                let vals = v
                    .as_tensor()
                    .to_dtype(DType::F32)?
                    .flatten_all()?
                    .to_vec1::<f32>()?;
                layer.push((name.clone(), shape.clone(), vals));
            }
            out.push(layer);
        }
        Ok(out)
    }

    /// The states after the stack for padded inputs `x` (`n × len × hidden`) with `mask`
    /// (`n × len`, 1 for a real token, 0 for padding).
    pub fn forward(&self, x: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        let (n, len, hidden) = x.dims3()?;
        let (heads, d) = (self.heads, hidden / self.heads);
        // Padding gets a large negative score, as in BERT's extended attention mask.
        let ext = ((mask - 1.0)? * 10000.0)?.reshape((n, 1, 1, len))?;
        let mut h = x.clone();
        for vars in &self.layers {
            let t: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
            let split = |y: Tensor| y.reshape((n, len, heads, d))?.transpose(1, 2)?.contiguous();
            let q = split(linear(&h, &t, at::Q)?)?;
            let k = split(linear(&h, &t, at::K)?)?;
            let v = split(linear(&h, &t, at::V)?)?;
            let scores = (q.matmul(&k.t()?.contiguous()?)? / (d as f64).sqrt())?;
            // `softmax`, not `softmax_last_dim`: the fused one has no backward pass either.
            let p = candle_nn::ops::softmax(&scores.broadcast_add(&ext)?, D::Minus1)?;
            let ctx = p
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((n, len, hidden))?;
            let a = (linear(&ctx, &t, at::ATT_OUT)? + &h)?;
            let a = layer_norm(&a, &t[at::ATT_NORM], &t[at::ATT_NORM + 1], self.eps)?;
            let inter = linear(&a, &t, at::INTER)?.gelu_erf()?;
            let o = (linear(&inter, &t, at::OUT)? + &a)?;
            h = layer_norm(&o, &t[at::OUT_NORM], &t[at::OUT_NORM + 1], self.eps)?;
        }
        Ok(h)
    }

    /// Mean-pooled, unit-length sentence vectors (`n × hidden`) of texts given as their token
    /// states below the stack (each `tokens × hidden`, row-major), padded into one batch.
    pub fn pool(&self, states: &[&[f32]], hidden: usize, dtype: DType) -> Result<Tensor> {
        let dev = Device::Cpu;
        let n = states.len();
        let len = states
            .iter()
            .map(|s| s.len() / hidden)
            .max()
            .unwrap_or(0)
            .max(1);
        let mut x = vec![0f32; n * len * hidden];
        let mut m = vec![0f32; n * len];
        for (i, s) in states.iter().enumerate() {
            x[i * len * hidden..i * len * hidden + s.len()].copy_from_slice(s);
            m[i * len..i * len + s.len() / hidden].fill(1.0);
        }
        let x = Tensor::from_vec(x, (n, len, hidden), &dev)?.to_dtype(dtype)?;
        let mask = Tensor::from_vec(m, (n, len), &dev)?.to_dtype(dtype)?;
        let h = self.forward(&x, &mask)?;
        let mm = mask.unsqueeze(2)?;
        let mean = h
            .broadcast_mul(&mm)?
            .sum(1)?
            .broadcast_div(&mm.sum(1)?.clamp(1.0, f64::MAX)?)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        Ok(mean.broadcast_div(&norm)?)
    }
}

/// Logits of the cosine head: `scale · cos(x, w_k)` for unit rows `x`.
fn cosine_logits(x: &Tensor, w: &Tensor, scale: f64) -> candle_core::Result<Tensor> {
    let wn = w.broadcast_div(&w.sqr()?.sum_keepdim(1)?.sqrt()?)?;
    x.matmul(&wn.t()?)? * scale
}

/// A splitmix64 step (the shuffles are seeded and reproducible).
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn shuffle<T>(v: &mut [T], state: &mut u64) {
    for i in (1..v.len()).rev() {
        v.swap(i, (next(state) % (i as u64 + 1)) as usize);
    }
}

/// Fine-tunes `layers` (the model's layers above `opts.from`, named tensors) on rows given as
/// their token states below them (`states[i]`: `tokens × hidden`) with labels `y` (indices
/// below `classes`), the head starting at `centroids` (`classes × hidden`, one class vector
/// per row). Returns the tuned layers, named and shaped as given, and the head's class
/// vectors.
#[allow(clippy::too_many_arguments)]
pub fn fine_tune(
    layers: &[Vec<NamedTensor>],
    heads: usize,
    eps: f64,
    states: &[&[f32]],
    y: &[usize],
    centroids: &[f32],
    classes: usize,
    opts: &TuneOptions,
) -> Result<(Vec<Vec<NamedTensor>>, Vec<f32>)> {
    if states.is_empty() || states.len() != y.len() {
        return Err(IntakeError::Training(format!(
            "fine-tuning: {} rows for {} labels",
            states.len(),
            y.len()
        )));
    }
    let hidden = centroids.len() / classes.max(1);
    if hidden == 0 || centroids.len() != classes * hidden || y.iter().any(|&k| k >= classes) {
        return Err(IntakeError::Training(
            "fine-tuning: class vectors do not fit the labels".into(),
        ));
    }
    let dev = Device::Cpu;
    let stack = Stack::new(layers, heads, eps, DType::F32)?;
    let w = Var::from_tensor(&Tensor::from_slice(centroids, (classes, hidden), &dev)?)?;
    let adamw = |vars: Vec<Var>, lr: f64, weight_decay: f64| {
        candle_nn::AdamW::new(
            vars,
            candle_nn::ParamsAdamW {
                lr,
                weight_decay,
                ..Default::default()
            },
        )
    };
    let mut opt = adamw(stack.vars(), opts.lr, 0.01)?;
    let mut opt_head = adamw(vec![w.clone()], opts.head_lr, 0.0)?;
    let batch = opts.batch.max(1);
    let total = y.len().div_ceil(batch) * opts.epochs;
    let mut rng = opts.seed;
    let mut order: Vec<usize> = (0..y.len()).collect();
    let mut step = 0usize;
    for _ in 0..opts.epochs {
        shuffle(&mut order, &mut rng);
        // Batches of similar length (less padding): sort windows of 50 batches by length,
        // then shuffle the batches.
        let mut batches: Vec<Vec<usize>> = Vec::new();
        for window in order.chunks(batch * 50) {
            let mut w = window.to_vec();
            w.sort_by_key(|&i| states[i].len());
            batches.extend(w.chunks(batch).map(<[usize]>::to_vec));
        }
        shuffle(&mut batches, &mut rng);
        for b in &batches {
            // Linear warm-up over the first 6% of steps, then linear decay towards zero,
            // taken at the middle of each step (so neither the first nor the last is zero).
            let frac = (step as f64 + 0.5) / total.max(1) as f64;
            let sched = if frac < 0.06 {
                frac / 0.06
            } else {
                (1.0 - frac) / 0.94
            };
            opt.set_learning_rate(opts.lr * sched.max(0.0));
            opt_head.set_learning_rate(opts.head_lr * sched.max(0.0));
            let st: Vec<&[f32]> = b.iter().map(|&i| states[i]).collect();
            let yy: Vec<u32> = b.iter().map(|&i| y[i] as u32).collect();
            let target = Tensor::new(yy.as_slice(), &dev)?;
            let x = stack.pool(&st, hidden, DType::F32)?;
            let z = cosine_logits(&x, w.as_tensor(), opts.scale)?;
            let loss = candle_nn::loss::cross_entropy(&z, &target)?;
            let grads = loss.backward()?;
            opt.step(&grads)?;
            opt_head.step(&grads)?;
            step += 1;
        }
    }
    let head = w.as_tensor().flatten_all()?.to_vec1::<f32>()?;
    Ok((stack.export(layers)?, head))
}

#[cfg(test)]
mod tests {
    use super::*;
    use signoff_embed::bert::layer_shapes;

    /// Random tensors of one layer (hidden 4, intermediate 8), layer norms near identity.
    pub(crate) fn random_layer(seed: u64) -> Vec<NamedTensor> {
        let mut s = seed;
        layer_shapes(4, 8)
            .into_iter()
            .map(|(name, shape)| {
                let n: usize = shape.iter().product();
                let v = (0..n)
                    .map(|_| {
                        let r = (next(&mut s) >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                        if name.ends_with("LayerNorm.weight") {
                            1.0 + 0.2 * r
                        } else {
                            0.8 * r
                        }
                    })
                    .collect();
                (name.to_string(), shape, v)
            })
            .collect()
    }

    fn states() -> Vec<Vec<f32>> {
        let mut s = 99u64;
        [3usize, 5, 1]
            .iter()
            .map(|&t| {
                (0..t * 4)
                    .map(|_| (next(&mut s) >> 40) as f32 / (1u64 << 23) as f32 - 1.0)
                    .collect()
            })
            .collect()
    }

    /// Σ pooled · r, a scalar that depends on every weight of the stack.
    fn objective(stack: &Stack, st: &[&[f32]]) -> Tensor {
        let pooled = stack.pool(st, 4, DType::F64).unwrap();
        let r: Vec<f64> = (0..pooled.elem_count())
            .map(|i| ((i * 7 % 5) as f64 - 2.0) / 3.0)
            .collect();
        let r = Tensor::from_vec(r, pooled.shape(), &Device::Cpu).unwrap();
        (pooled * r).unwrap().sum_all().unwrap()
    }

    #[test]
    fn the_backward_pass_matches_finite_differences() {
        let layers = vec![random_layer(1), random_layer(2)];
        let stack = Stack::new(&layers, 2, 1e-12, DType::F64).unwrap();
        let st = states();
        let st: Vec<&[f32]> = st.iter().map(Vec::as_slice).collect();
        let grads = objective(&stack, &st).backward().unwrap();
        let mut checked = 0;
        // One weight of every tensor of both layers, including both layer norms.
        for (li, layer) in stack.layers.iter().enumerate() {
            for (ti, var) in layer.iter().enumerate() {
                let g = grads.get(var).expect("a gradient for every tensor");
                let g = g.flatten_all().unwrap().to_vec1::<f64>().unwrap();
                let base = var
                    .as_tensor()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f64>()
                    .unwrap();
                let j = (li * 5 + ti * 3) % base.len();
                let at = |delta: f64| {
                    let mut v = base.clone();
                    v[j] += delta;
                    var.set(&Tensor::from_vec(v, var.shape(), &Device::Cpu).unwrap())
                        .unwrap();
                    let f = objective(&stack, &st).to_scalar::<f64>().unwrap();
                    var.set(&Tensor::from_vec(base.clone(), var.shape(), &Device::Cpu).unwrap())
                        .unwrap();
                    f
                };
                let eps = 1e-5;
                let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
                assert!(
                    (numeric - g[j]).abs() < 1e-6 * (1.0 + numeric.abs()),
                    "layer {li} {}: numeric {numeric} vs backward {}",
                    layers[li][ti].0,
                    g[j]
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 32);
    }

    /// A random 2-layer encoder (hidden 4, 2 heads, intermediate 8, vocabulary 12) loaded
    /// through the plain-Rust encoder's own loader.
    fn tiny_bert() -> Bert {
        use candle_transformers::models::bert::Config as BertConfig;
        let cfg = BertConfig {
            vocab_size: 12,
            hidden_size: 4,
            num_hidden_layers: 2,
            num_attention_heads: 2,
            intermediate_size: 8,
            max_position_embeddings: 16,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            ..Default::default()
        };
        let dev = Device::Cpu;
        let mut s = 5u64;
        let mut t = |shape: &[usize], one: bool| {
            let n: usize = shape.iter().product();
            let v: Vec<f32> = (0..n)
                .map(|_| {
                    let r = (next(&mut s) >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                    if one {
                        1.0 + 0.2 * r
                    } else {
                        0.8 * r
                    }
                })
                .collect();
            Tensor::from_vec(v, shape, &dev).unwrap()
        };
        let mut map = std::collections::HashMap::new();
        map.insert(
            "embeddings.word_embeddings.weight".to_string(),
            t(&[12, 4], false),
        );
        map.insert(
            "embeddings.position_embeddings.weight".into(),
            t(&[16, 4], false),
        );
        map.insert(
            "embeddings.token_type_embeddings.weight".into(),
            t(&[2, 4], false),
        );
        map.insert("embeddings.LayerNorm.weight".into(), t(&[4], true));
        map.insert("embeddings.LayerNorm.bias".into(), t(&[4], false));
        for l in 0..2 {
            for (name, shape) in layer_shapes(4, 8) {
                let one = name.ends_with("LayerNorm.weight");
                map.insert(format!("encoder.layer.{l}.{name}"), t(&shape, one));
            }
        }
        let vb = candle_nn::VarBuilder::from_tensors(map, DType::F32, &dev);
        Bert::load(vb, &cfg).unwrap()
    }

    #[test]
    fn the_stored_tuned_model_gives_the_probabilities_of_the_training_time_forward() {
        let bert = tiny_bert();
        let ids: Vec<Vec<u32>> = (0..12u32)
            .map(|i| {
                let mut v = vec![1];
                v.extend((0..1 + i % 4).map(|j| 3 + (i + 2 * j) % 9));
                v.push(2);
                v
            })
            .collect();
        let refs: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
        let (st, off) = bert.forward_layers(&refs, &[1]).unwrap();
        let states: Vec<&[f32]> = off.windows(2).map(|w| &st[0][w[0] * 4..w[1] * 4]).collect();
        let y: Vec<usize> = (0..12).map(|i| (i % 4 == 1) as usize).collect();
        let centroids = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let opts = TuneOptions {
            from: 1,
            epochs: 3,
            lr: 1e-2,
            batch: 4,
            ..TuneOptions::default()
        };
        let layers = vec![bert.layer_tensors(2).unwrap()];
        let (tuned, _) = fine_tune(&layers, 2, 1e-12, &states, &y, &centroids, 2, &opts).unwrap();
        assert_ne!(tuned, layers);
        // Training-time (candle) sentence vectors.
        let stack = Stack::new(&tuned, 2, 1e-12, DType::F32).unwrap();
        let train_time = stack
            .pool(&states, 4, DType::F32)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let examples: Vec<Example> = (0..12)
            .map(|i| Example {
                text: format!("row {i}"),
                label: ["a", "b"][y[i]].into(),
            })
            .collect();
        let config = Config::parse("minilm:max_iter=100:calibration_fraction=0.3").unwrap();
        let mut clf = Classifier::train_heads(&examples, Some(&train_time), &config).unwrap();
        clf.tuned = Some(TunedLayers::new(1, tuned));
        // Inference: the artefact decoded, its layers run by the plain-Rust encoder.
        let (back, _) = crate::artefact::decode(&crate::artefact::encode(&clf).0).unwrap();
        let top = back.tuned.as_ref().unwrap().top(&bert).unwrap();
        let (x, off) = bert.forward_top(&refs, top).unwrap();
        for (i, w) in off.windows(2).enumerate() {
            let inference = mean_unit(&x[w[0] * 4..w[1] * 4], 4);
            for (a, b) in inference.iter().zip(&train_time[i]) {
                assert!(
                    (a - b).abs() < 1e-5,
                    "row {i}: {inference:?} vs {:?}",
                    train_time[i]
                );
            }
            let input = |e| crate::classifier::Input {
                embedding: Some(e),
                text: &examples[i].text,
            };
            let p = back.probabilities(input(&inference)).unwrap();
            let q = clf.probabilities(input(&train_time[i])).unwrap();
            for (a, b) in p.iter().zip(&q) {
                assert!((a - b).abs() < 1e-5, "row {i}: {p:?} vs {q:?}");
            }
        }
    }

    #[test]
    fn fine_tuning_lowers_the_loss_and_is_reproducible() {
        let layers = vec![random_layer(3)];
        let st = states();
        let rows: Vec<&[f32]> = st.iter().cycle().take(12).map(Vec::as_slice).collect();
        let y: Vec<usize> = (0..12).map(|i| i % 3).collect();
        let centroids: Vec<f32> = (0..12).map(|i| ((i % 5) as f32 - 2.0) / 2.0).collect();
        let opts = TuneOptions {
            from: 0,
            epochs: 30,
            lr: 3e-2,
            head_lr: 3e-2,
            scale: 5.0,
            batch: 4,
            seed: 11,
        };
        let loss = |layers: &[Vec<NamedTensor>], head: &[f32]| {
            let stack = Stack::new(layers, 2, 1e-12, DType::F32).unwrap();
            let x = stack.pool(&rows, 4, DType::F32).unwrap();
            let w = Tensor::from_slice(head, (3, 4), &Device::Cpu).unwrap();
            let z = cosine_logits(&x, &w, 5.0).unwrap();
            let t: Vec<u32> = y.iter().map(|&k| k as u32).collect();
            let t = Tensor::new(t.as_slice(), &Device::Cpu).unwrap();
            candle_nn::loss::cross_entropy(&z, &t)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
        };
        let tuned = fine_tune(&layers, 2, 1e-12, &rows, &y, &centroids, 3, &opts).unwrap();
        let (before, after) = (loss(&layers, &centroids), loss(&tuned.0, &tuned.1));
        assert!(after < before * 0.5, "{before} -> {after}");
        let again = fine_tune(&layers, 2, 1e-12, &rows, &y, &centroids, 3, &opts).unwrap();
        assert_eq!(tuned, again);
        assert_eq!(tuned.0[0][0].0, layers[0][0].0);
        assert!(fine_tune(&layers, 2, 1e-12, &rows, &y[..3], &centroids, 3, &opts).is_err());
    }
}
