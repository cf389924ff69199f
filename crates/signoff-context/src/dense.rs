//! The dense half of context retrieval: one unit-length sentence vector per passage, searched
//! exactly (brute-force cosine, i.e. dot products of unit vectors). At 10k passages × 384 dims
//! a full scan is ~4M multiply-adds (about a millisecond), and at 100k still a few
//! milliseconds on one core, so no approximate index is needed and results are exact and
//! reproducible. The index is derived data, rebuilt from the passages' vectors.

use crate::error::{ContextError, Result};

/// Passage vectors in one flat row-major buffer.
#[derive(Debug, Clone)]
pub struct DenseIndex {
    dim: usize,
    vecs: Vec<f32>,
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
        Ok(DenseIndex { dim, vecs })
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
        self.vecs.len() * 4
    }

    /// Cosine of passage `i` with the unit query vector `q`.
    pub fn cosine(&self, i: usize, q: &[f32]) -> f32 {
        dot(&self.vecs[i * self.dim..(i + 1) * self.dim], q)
    }

    /// The `k` passages nearest to `q` as (passage index, cosine), best first, equal scores by
    /// index. Exact.
    pub fn search(&self, q: &[f32], k: usize) -> Vec<(usize, f32)> {
        if q.len() != self.dim || k == 0 {
            return Vec::new();
        }
        let mut all: Vec<(usize, f32)> = self
            .vecs
            .chunks_exact(self.dim)
            .map(|v| dot(v, q))
            .enumerate()
            .collect();
        let cmp = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if all.len() > k {
            all.select_nth_unstable_by(k - 1, cmp);
            all.truncate(k);
        }
        all.sort_by(cmp);
        all
    }
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
}
