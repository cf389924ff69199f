//! The dense half of context retrieval: one unit-length sentence vector per passage, searched
//! by brute force. A full f32 scan at 100k passages × 384 dims reads 154 MB per query and is
//! memory-bound (~15 ms on the CI machine), so the scan reads an i8 copy of the vectors (a
//! quarter of the bytes, one scale per vector) to pick a shortlist of 4k + 64, which is then
//! scored exactly in f32: the results are the exact cosine order unless a passage's i8 error
//! moves it across the shortlist boundary (tested against the exact scan). The index is
//! derived data, rebuilt from the passages' vectors.

use crate::error::{ContextError, Result};

/// Passage vectors in one flat row-major buffer.
#[derive(Debug, Clone)]
pub struct DenseIndex {
    dim: usize,
    vecs: Vec<f32>,
    /// The vectors quantised to i8 (each scaled by 127 / its largest magnitude).
    quant: Vec<i8>,
    /// Per vector: its largest magnitude / 127 (multiplies an i8 dot product back).
    scales: Vec<f32>,
}

/// Quantises a vector to i8, returning the scale that maps it back.
fn quantise(v: &[f32], out: &mut Vec<i8>) -> f32 {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    out.extend(
        v.iter()
            .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8),
    );
    scale
}

/// Dot product, 8 lanes at a time so the compiler vectorises it.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// Dot product of two i8 vectors, accumulated in i32 (16 lanes, so it vectorises).
#[inline(always)]
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = [0i32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..16 {
            acc[i] += i32::from(x[i]) * i32::from(y[i]);
        }
    }
    let tail: i32 = ra
        .iter()
        .zip(rb)
        .map(|(x, y)| i32::from(*x) * i32::from(*y))
        .sum();
    acc.iter().sum::<i32>() + tail
}

/// Approximate scores of every quantised vector against the quantised query.
#[inline(always)]
fn scan_i8(quant: &[i8], scales: &[f32], dim: usize, q: &[i8]) -> Vec<(usize, f32)> {
    // A plain loop, no closures: a closure is its own function and would not inherit the
    // caller's target features.
    let mut out = Vec::with_capacity(scales.len());
    let mut i = 0;
    while i < scales.len() {
        let v = &quant[i * dim..(i + 1) * dim];
        out.push((i, dot_i8(v, q) as f32 * scales[i]));
        i += 1;
    }
    out
}

/// [`scan_i8`] compiled for AVX2 (sign-extending i8 lanes is slow on baseline x86-64: the
/// scan at 100k × 384 takes ~15 ms there and ~5 ms with AVX2).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn scan_i8_avx2(quant: &[i8], scales: &[f32], dim: usize, q: &[i8]) -> Vec<(usize, f32)> {
    scan_i8(quant, scales, dim, q)
}

/// The fastest scan this CPU supports (checked at run time).
fn scan(quant: &[i8], scales: &[f32], dim: usize, q: &[i8]) -> Vec<(usize, f32)> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU reports AVX2, the only requirement of `scan_i8_avx2`.
        return unsafe { scan_i8_avx2(quant, scales, dim, q) };
    }
    scan_i8(quant, scales, dim, q)
}

impl DenseIndex {
    /// An index over `vectors` (one per passage, in passage order), each of `dim` floats.
    pub fn new(dim: usize, vectors: &[Vec<f32>]) -> Result<DenseIndex> {
        let mut vecs = Vec::with_capacity(dim * vectors.len());
        for (i, v) in vectors.iter().enumerate() {
            if v.len() != dim {
                return Err(ContextError::Dense(format!(
                    "vector {i} has {} floats, expected {dim}",
                    v.len()
                )));
            }
            vecs.extend_from_slice(v);
        }
        let mut quant = Vec::with_capacity(vecs.len());
        let scales = vecs
            .chunks_exact(dim.max(1))
            .map(|v| quantise(v, &mut quant))
            .collect();
        Ok(DenseIndex {
            dim,
            vecs,
            quant,
            scales,
        })
    }

    /// Floats per vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// How many vectors the index holds.
    pub fn len(&self) -> usize {
        self.vecs.len().checked_div(self.dim).unwrap_or(0)
    }

    /// Whether the index holds no vector.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held by the vectors.
    pub fn bytes(&self) -> usize {
        self.vecs.len() * 4 + self.quant.len() + self.scales.len() * 4
    }

    /// Cosine of passage `i` with the unit query vector `q`.
    pub fn cosine(&self, i: usize, q: &[f32]) -> f32 {
        dot(&self.vecs[i * self.dim..(i + 1) * self.dim], q)
    }

    /// The `k` passages nearest to `q` as (passage index, cosine), best first, equal scores by
    /// index. Exact.
    pub fn search(&self, q: &[f32], k: usize) -> Vec<(usize, f32)> {
        let shortlist = k.saturating_mul(4).saturating_add(64);
        if q.len() != self.dim || k == 0 || self.len() <= shortlist {
            return self.search_exact(q, k);
        }
        let mut qq = Vec::with_capacity(self.dim);
        quantise(q, &mut qq);
        let approx = top_k(scan(&self.quant, &self.scales, self.dim, &qq), shortlist);
        top_k(
            approx
                .into_iter()
                .map(|(i, _)| (i, self.cosine(i, q)))
                .collect(),
            k,
        )
    }

    /// The exact scan over every f32 vector (what `search` approximates with its shortlist).
    pub fn search_exact(&self, q: &[f32], k: usize) -> Vec<(usize, f32)> {
        if q.len() != self.dim || k == 0 {
            return Vec::new();
        }
        let all = self
            .vecs
            .chunks_exact(self.dim)
            .map(|v| dot(v, q))
            .enumerate()
            .collect();
        top_k(all, k)
    }
}

/// The `k` best (index, score) pairs, best first; ties keep the lower index first.
fn top_k(mut all: Vec<(usize, f32)>, k: usize) -> Vec<(usize, f32)> {
    let cmp = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if all.len() > k {
        all.select_nth_unstable_by(k - 1, cmp);
        all.truncate(k);
    }
    all.sort_by(cmp);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn search_is_exact_cosine_order() {
        let vs: Vec<Vec<f32>> = (0..50)
            .map(|i| {
                unit(&[
                    (i as f32).cos(),
                    (i as f32).sin(),
                    0.1 * i as f32,
                    1.0,
                    0.5,
                    0.2,
                    0.3,
                    0.7,
                    0.9,
                    0.05,
                ])
            })
            .collect();
        let idx = DenseIndex::new(10, &vs).unwrap();
        let q = unit(&[1.0, 0.0, 0.5, 1.0, 0.5, 0.2, 0.3, 0.7, 0.9, 0.05]);
        let mut want: Vec<(usize, f32)> = vs
            .iter()
            .enumerate()
            .map(|(i, v)| (i, v.iter().zip(&q).map(|(a, b)| a * b).sum()))
            .collect();
        want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let got = idx.search(&q, 7);
        assert_eq!(got.len(), 7);
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.0, w.0);
            assert!((g.1 - w.1).abs() < 1e-5);
        }
        assert_eq!(idx.search(&q, 500).len(), 50);
        assert!(idx.search(&q[..3], 5).is_empty());
    }

    #[test]
    fn a_vector_of_the_wrong_width_is_refused() {
        let e = DenseIndex::new(3, &[vec![1.0, 0.0, 0.0], vec![1.0]]).unwrap_err();
        assert!(e.to_string().contains("vector 1"), "{e}");
    }

    #[test]
    fn the_i8_shortlist_finds_the_exact_top_k() {
        // 3,000 pseudo-random unit vectors of MiniLM's width; the shortlisted search must
        // return the exact scan's top 10 for every query.
        let dim = 384;
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 11) as f64 / (1u64 << 53) as f64) as f32 - 0.5
        };
        let vs: Vec<Vec<f32>> = (0..3000)
            .map(|_| unit(&(0..dim).map(|_| next()).collect::<Vec<_>>()))
            .collect();
        let idx = DenseIndex::new(dim, &vs).unwrap();
        for qi in 0..20 {
            // Queries near a stored vector, like a paraphrase of a passage.
            let q = unit(
                &vs[qi * 100]
                    .iter()
                    .map(|v| v + 0.5 * next() / 10.0)
                    .collect::<Vec<_>>(),
            );
            let fast: Vec<usize> = idx.search(&q, 10).iter().map(|h| h.0).collect();
            let exact: Vec<usize> = idx.search_exact(&q, 10).iter().map(|h| h.0).collect();
            assert_eq!(fast, exact, "query {qi}");
        }
    }
}
