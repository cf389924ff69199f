//! Fusion of rankings: reciprocal rank fusion over ranked lists, and a convex combination of
//! min-max normalised scores. Pure functions over passage indices.

use std::collections::HashMap;

/// The usual RRF constant (Cormack et al. 2009).
pub const RRF_K: f32 = 60.0;

/// Reciprocal rank fusion: each item scores Σ 1 / (`k` + rank) over the lists it appears in
/// (rank from 1). Best first, equal scores by index.
pub fn rrf(lists: &[&[usize]], k: f32) -> Vec<(usize, f32)> {
    let mut acc: HashMap<usize, f32> = HashMap::new();
    for list in lists {
        for (r, &i) in list.iter().enumerate() {
            *acc.entry(i).or_default() += 1.0 / (k + r as f32 + 1.0);
        }
    }
    sorted(acc.into_iter().collect())
}

/// Scales scores to [0, 1] by min-max over the given values (all equal → all 1, or 0 when the
/// maximum is 0).
pub fn min_max(scores: &[f32]) -> Vec<f32> {
    let (lo, hi) = scores
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &s| {
            (l.min(s), h.max(s))
        });
    if scores.is_empty() {
        return Vec::new();
    }
    if hi - lo <= f32::EPSILON {
        let v = if hi > 0.0 { 1.0 } else { 0.0 };
        return vec![v; scores.len()];
    }
    scores.iter().map(|s| (s - lo) / (hi - lo)).collect()
}

/// Convex combination `alpha · a + (1 − alpha) · b` of two score columns, each min-max
/// normalised first.
pub fn convex(a: &[f32], b: &[f32], alpha: f32) -> Vec<f32> {
    let (na, nb) = (min_max(a), min_max(b));
    na.iter()
        .zip(&nb)
        .map(|(x, y)| alpha * x + (1.0 - alpha) * y)
        .collect()
}

/// Sorts (index, score) pairs best first, equal scores by index.
pub fn sorted(mut v: Vec<(usize, f32)>) -> Vec<(usize, f32)> {
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_sums_reciprocal_ranks() {
        let a = [3, 1, 2];
        let b = [1, 4];
        let f = rrf(&[&a, &b], 60.0);
        // 1: 1/62 + 1/61; 3: 1/61; 4: 1/62; 2: 1/63.
        assert_eq!(f.iter().map(|x| x.0).collect::<Vec<_>>(), [1, 3, 4, 2]);
        assert!((f[0].1 - (1.0 / 62.0 + 1.0 / 61.0)).abs() < 1e-6);
        assert!(rrf(&[], 60.0).is_empty());
    }

    #[test]
    fn min_max_and_convex() {
        assert_eq!(min_max(&[2.0, 4.0, 3.0]), [0.0, 1.0, 0.5]);
        assert_eq!(min_max(&[5.0, 5.0]), [1.0, 1.0]);
        assert_eq!(min_max(&[0.0, 0.0]), [0.0, 0.0]);
        let c = convex(&[0.0, 10.0], &[1.0, 0.0], 0.25);
        assert_eq!(c, [0.75, 0.25]);
    }
}
