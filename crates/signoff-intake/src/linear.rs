//! Multinomial logistic regression (softmax over a linear map) trained in Rust by full-batch
//! L-BFGS: deterministic (no sampling), so the same data give the same weights. Dense inputs
//! (embeddings) use candle's matrix product; sparse inputs (lexical features) plain loops on
//! two threads. The penalty matches scikit-learn's `C`: mean loss + ||W||² / (2·C·n).

use crate::error::{IntakeError, Result};
use candle_core::{Device, Tensor, D};
use serde::{Deserialize, Serialize};

/// A sparse feature vector: sorted indices and their values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SparseRow {
    /// Feature indices.
    pub idx: Vec<u32>,
    /// Values, one per index.
    pub val: Vec<f32>,
}

/// Weights of a trained softmax classifier: `w[j * classes + k]` is feature `j`'s weight for
/// class `k`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Linear {
    /// Number of input features.
    pub dim: usize,
    /// Number of classes.
    pub classes: usize,
    /// Weights, `dim × classes`, row-major.
    pub w: Vec<f32>,
    /// Biases, one per class.
    pub b: Vec<f32>,
}

/// Training settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Inverse regularisation strength (scikit-learn's `C`).
    pub c: f64,
    /// Most L-BFGS iterations.
    pub max_iter: usize,
}

impl Linear {
    /// Logits for a dense input.
    pub fn logits_dense(&self, x: &[f32]) -> Vec<f32> {
        let mut z = self.b.clone();
        for (j, &xj) in x.iter().enumerate() {
            if xj != 0.0 {
                let row = &self.w[j * self.classes..(j + 1) * self.classes];
                for (zk, wk) in z.iter_mut().zip(row) {
                    *zk += xj * wk;
                }
            }
        }
        z
    }

    /// Logits for a sparse input.
    pub fn logits_sparse(&self, x: &SparseRow) -> Vec<f32> {
        let mut z = self.b.clone();
        for (&j, &xj) in x.idx.iter().zip(&x.val) {
            let j = j as usize;
            if j < self.dim {
                let row = &self.w[j * self.classes..(j + 1) * self.classes];
                for (zk, wk) in z.iter_mut().zip(row) {
                    *zk += xj * wk;
                }
            }
        }
        z
    }
}

/// Numerically stable log-softmax.
pub fn log_softmax(z: &[f32]) -> Vec<f32> {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lse = m + z.iter().map(|v| (v - m).exp()).sum::<f32>().ln();
    z.iter().map(|v| v - lse).collect()
}

fn check(n: usize, y: &[usize], classes: usize) -> Result<()> {
    if n == 0 || n != y.len() {
        return Err(IntakeError::Training(format!(
            "{n} inputs for {} labels",
            y.len()
        )));
    }
    if let Some(bad) = y.iter().find(|&&k| k >= classes) {
        return Err(IntakeError::Training(format!(
            "label index {bad} out of {classes} classes"
        )));
    }
    Ok(())
}

/// Starting weights: `init`'s when its shape fits (a warm start), else zeros.
fn start(init: Option<&Linear>, dim: usize, classes: usize) -> Vec<f32> {
    match init {
        Some(l) if l.dim == dim && l.classes == classes => {
            let mut p = l.w.clone();
            p.extend_from_slice(&l.b);
            p
        }
        _ => vec![0f32; dim * classes + classes],
    }
}

/// Trains on dense rows (`x` holds `n × dim` values, row-major), from `init` when given.
pub fn train_dense(
    x: &[f32],
    dim: usize,
    y: &[usize],
    classes: usize,
    opts: TrainOptions,
    init: Option<&Linear>,
) -> Result<Linear> {
    let n = y.len();
    check(x.len() / dim.max(1), y, classes)?;
    let dev = Device::Cpu;
    let xt = Tensor::from_slice(x, (n, dim), &dev)?;
    let xt_t = xt.t()?.contiguous()?;
    let mut onehot = vec![0f32; n * classes];
    for (i, &k) in y.iter().enumerate() {
        onehot[i * classes + k] = 1.0;
    }
    let yt = Tensor::from_vec(onehot, (n, classes), &dev)?;
    let lambda = 1.0 / (opts.c * n as f64);
    let nw = dim * classes;
    let eval = |p: &[f32]| -> Result<(f64, Vec<f32>)> {
        let w = Tensor::from_slice(&p[..nw], (dim, classes), &dev)?;
        let b = Tensor::from_slice(&p[nw..], (1, classes), &dev)?;
        let z = xt.matmul(&w)?.broadcast_add(&b)?;
        let logp = candle_nn::ops::log_softmax(&z, D::Minus1)?;
        let nll = -(logp.mul(&yt)?.sum_all()?.to_scalar::<f32>()? as f64) / n as f64;
        let reg = dot(&p[..nw], &p[..nw]);
        let d = ((logp.exp()? - &yt)? / n as f64)?;
        let gw = xt_t.matmul(&d)?.flatten_all()?.to_vec1::<f32>()?;
        let gb = d.sum(0)?.to_vec1::<f32>()?;
        let mut g = Vec::with_capacity(nw + classes);
        g.extend(gw.iter().zip(&p[..nw]).map(|(g, w)| g + lambda as f32 * w));
        g.extend(gb);
        Ok((nll + 0.5 * lambda * reg, g))
    };
    let p = lbfgs(start(init, dim, classes), eval, opts.max_iter)?;
    Ok(Linear {
        dim,
        classes,
        w: p[..nw].to_vec(),
        b: p[nw..].to_vec(),
    })
}

/// Trains on sparse rows with feature indices below `dim`, from `init` when given.
pub fn train_sparse(
    x: &[SparseRow],
    dim: usize,
    y: &[usize],
    classes: usize,
    opts: TrainOptions,
    init: Option<&Linear>,
) -> Result<Linear> {
    let n = y.len();
    check(x.len(), y, classes)?;
    let lambda = 1.0 / (opts.c * n as f64);
    let nw = dim * classes;
    let eval = |p: &[f32]| -> Result<(f64, Vec<f32>)> {
        let half = n.div_ceil(2);
        let part = |lo: usize, hi: usize| -> (f64, Vec<f32>) {
            let mut g = vec![0f32; nw + classes];
            let mut loss = 0f64;
            for i in lo..hi {
                let row = &x[i];
                let mut z = p[nw..].to_vec();
                for (&j, &v) in row.idx.iter().zip(&row.val) {
                    let w = &p[j as usize * classes..(j as usize + 1) * classes];
                    for (zk, wk) in z.iter_mut().zip(w) {
                        *zk += v * wk;
                    }
                }
                let logp = log_softmax(&z);
                loss -= logp[y[i]] as f64;
                let mut d: Vec<f32> = logp.iter().map(|l| l.exp()).collect();
                d[y[i]] -= 1.0;
                for (&j, &v) in row.idx.iter().zip(&row.val) {
                    let gj = &mut g[j as usize * classes..(j as usize + 1) * classes];
                    for (gk, dk) in gj.iter_mut().zip(&d) {
                        *gk += v * dk;
                    }
                }
                for (gk, dk) in g[nw..].iter_mut().zip(&d) {
                    *gk += dk;
                }
            }
            (loss, g)
        };
        let ((l1, g1), (l2, g2)) = std::thread::scope(|s| {
            let a = s.spawn(|| part(0, half));
            let b = part(half, n);
            (a.join().expect("training thread"), b)
        });
        let inv_n = 1.0 / n as f32;
        let reg = dot(&p[..nw], &p[..nw]);
        let mut g = g1;
        for (a, b) in g.iter_mut().zip(&g2) {
            *a = (*a + b) * inv_n;
        }
        for (a, w) in g[..nw].iter_mut().zip(&p[..nw]) {
            *a += lambda as f32 * w;
        }
        Ok(((l1 + l2) / n as f64 + 0.5 * lambda * reg, g))
    };
    let p = lbfgs(start(init, dim, classes), eval, opts.max_iter)?;
    Ok(Linear {
        dim,
        classes,
        w: p[..nw].to_vec(),
        b: p[nw..].to_vec(),
    })
}

/// Dot product in f64 over 8 independent partial sums, so it vectorises instead of waiting
/// on one long chain of dependent additions (L-BFGS takes ~20 of these per iteration over
/// every weight).
fn dot(a: &[f32], b: &[f32]) -> f64 {
    let mut acc = [0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| *x as f64 * *y as f64)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] as f64 * y[i] as f64;
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// Minimises a smooth function by L-BFGS (memory 8) with a backtracking Armijo line search.
/// `f` returns the value and the gradient at a point.
pub fn lbfgs<F>(mut x: Vec<f32>, mut f: F, max_iter: usize) -> Result<Vec<f32>>
where
    F: FnMut(&[f32]) -> Result<(f64, Vec<f32>)>,
{
    const M: usize = 8;
    let (mut fx, mut g) = f(&x)?;
    let mut s_hist: Vec<Vec<f32>> = Vec::new();
    let mut y_hist: Vec<Vec<f32>> = Vec::new();
    let mut rho: Vec<f64> = Vec::new();
    for iter in 0..max_iter {
        let gmax = g.iter().fold(0f32, |m, v| m.max(v.abs()));
        if gmax < 1e-5 {
            break;
        }
        // Two-loop recursion: d = -H g.
        let mut q = g.clone();
        let mut alpha = vec![0f64; s_hist.len()];
        for i in (0..s_hist.len()).rev() {
            alpha[i] = rho[i] * dot(&s_hist[i], &q);
            for (qv, yv) in q.iter_mut().zip(&y_hist[i]) {
                *qv -= alpha[i] as f32 * yv;
            }
        }
        let gamma = match (s_hist.last(), y_hist.last()) {
            (Some(s), Some(y)) => dot(s, y) / dot(y, y),
            _ => 1.0 / dot(&g, &g).sqrt().max(1e-12),
        };
        for qv in q.iter_mut() {
            *qv *= gamma as f32;
        }
        for i in 0..s_hist.len() {
            let beta = rho[i] * dot(&y_hist[i], &q);
            for (qv, sv) in q.iter_mut().zip(&s_hist[i]) {
                *qv += (alpha[i] - beta) as f32 * sv;
            }
        }
        let d: Vec<f32> = q.iter().map(|v| -v).collect();
        let slope = dot(&g, &d);
        if slope >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            rho.clear();
            continue;
        }
        let mut step = 1.0f32;
        let (x_new, f_new, g_new) = loop {
            let xn: Vec<f32> = x.iter().zip(&d).map(|(a, b)| a + step * b).collect();
            let (fn_, gn) = f(&xn)?;
            if fn_ <= fx + 1e-4 * step as f64 * slope || step < 1e-10 {
                break (xn, fn_, gn);
            }
            step *= 0.5;
        };
        let s: Vec<f32> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
        let yv: Vec<f32> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &yv);
        let converged = (fx - f_new).abs() <= 1e-9 * fx.abs().max(1.0) && iter > 0;
        x = x_new;
        g = g_new;
        fx = f_new;
        if sy > 1e-12 {
            if s_hist.len() == M {
                s_hist.remove(0);
                y_hist.remove(0);
                rho.remove(0);
            }
            s_hist.push(s);
            y_hist.push(yv);
            rho.push(1.0 / sy);
        }
        if converged {
            break;
        }
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lbfgs_finds_the_minimum_of_a_quadratic() {
        let f = |p: &[f32]| -> Result<(f64, Vec<f32>)> {
            let (a, b) = (p[0] as f64 - 3.0, p[1] as f64 + 1.0);
            Ok((
                a * a + 10.0 * b * b,
                vec![(2.0 * a) as f32, (20.0 * b) as f32],
            ))
        };
        let p = lbfgs(vec![0.0, 0.0], f, 100).unwrap();
        assert!(
            (p[0] - 3.0).abs() < 1e-3 && (p[1] + 1.0).abs() < 1e-3,
            "{p:?}"
        );
    }

    fn toy() -> (Vec<f32>, Vec<SparseRow>, Vec<usize>) {
        // Three separable clusters in 2-D.
        let pts = [
            (1.0, 0.1, 0),
            (0.9, -0.1, 0),
            (-1.0, 0.2, 1),
            (-0.8, 0.0, 1),
            (0.0, 1.0, 2),
            (0.1, 0.9, 2),
        ];
        let dense: Vec<f32> = pts.iter().flat_map(|p| [p.0, p.1]).collect();
        let sparse = pts
            .iter()
            .map(|p| SparseRow {
                idx: vec![0, 1],
                val: vec![p.0, p.1],
            })
            .collect();
        (dense, sparse, pts.iter().map(|p| p.2).collect())
    }

    #[test]
    fn dense_and_sparse_training_agree_and_fit_separable_data() {
        let (dense, sparse, y) = toy();
        let opts = TrainOptions {
            c: 10.0,
            max_iter: 200,
        };
        let a = train_dense(&dense, 2, &y, 3, opts, None).unwrap();
        let b = train_sparse(&sparse, 2, &y, 3, opts, None).unwrap();
        for (i, row) in sparse.iter().enumerate() {
            let za = a.logits_dense(&dense[i * 2..i * 2 + 2]);
            let zb = b.logits_sparse(row);
            let arg = |z: &[f32]| (0..3).max_by(|&p, &q| z[p].total_cmp(&z[q])).unwrap();
            assert_eq!(arg(&za), y[i]);
            assert_eq!(arg(&zb), y[i]);
        }
        for (wa, wb) in a.w.iter().zip(&b.w) {
            assert!((wa - wb).abs() < 0.05, "{wa} vs {wb}");
        }
    }
}
