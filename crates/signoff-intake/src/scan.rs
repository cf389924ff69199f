//! The nearest-exemplar scan behind explanations: the query is quantised to i8 and dotted
//! with every exemplar's i8 row (16 lanes per step with AVX2 when the CPU has it, chosen at
//! run time; a plain loop otherwise, giving the same integers). The best rows by that
//! approximate cosine are picked with a partial selection, not a full sort, and a shortlist
//! of them is rescored exactly against the f32 query, so the order and the similarities are
//! those of the exact scan unless quantisation moves a row across the shortlist boundary.

/// Rows rescored exactly per neighbour asked for (plus [`SHORTLIST_EXTRA`]).
pub const SHORTLIST_PER_K: usize = 4;
/// Rows rescored exactly beyond `SHORTLIST_PER_K × k`.
pub const SHORTLIST_EXTRA: usize = 16;

/// Quantises a vector to i8 by its largest magnitude (scaled to 127).
pub fn quantise(v: &[f32]) -> Vec<i8> {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { 127.0 / max } else { 0.0 };
    v.iter()
        .map(|x| (x * scale).round().clamp(-127.0, 127.0) as i8)
        .collect()
}

/// Dot product of two i8 vectors of equal length, in i32, one element at a time.
pub fn dot_i8_scalar(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| i32::from(*x) * i32::from(*y))
        .sum()
}

/// Dot product of two i8 vectors with AVX2: 16 lanes widened to i16, multiplied and summed
/// in pairs into i32 (`vpmaddwd`; a pair of products is at most 2·127², far from overflow).
///
/// # Safety
/// The CPU must support AVX2, and `a.len() == b.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i32 {
    use std::arch::x86_64::*;
    let whole = a.len() / 16 * 16;
    let mut acc = _mm256_setzero_si256();
    let mut i = 0;
    while i < whole {
        // SAFETY: i + 16 <= len of both slices; unaligned loads.
        let va = _mm256_cvtepi8_epi16(_mm_loadu_si128(a.as_ptr().add(i) as *const __m128i));
        let vb = _mm256_cvtepi8_epi16(_mm_loadu_si128(b.as_ptr().add(i) as *const __m128i));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(va, vb));
        i += 16;
    }
    let s = _mm_add_epi32(
        _mm256_castsi256_si128(acc),
        _mm256_extracti128_si256::<1>(acc),
    );
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s) + dot_i8_scalar(&a[whole..], &b[whole..])
}

/// `out[i]` = the i8 dot product of row `i` of `rows` (`dim` wide) with `q`, with AVX2.
///
/// # Safety
/// The CPU must support AVX2; `q.len() == dim`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scan_avx2(rows: &[i8], dim: usize, q: &[i8], out: &mut Vec<i32>) {
    for row in rows.chunks_exact(dim) {
        out.push(dot_i8_avx2(row, q));
    }
}

/// `out[i]` = the i8 dot product of row `i` of `rows` (`dim` wide) with `q`, without SIMD
/// intrinsics (the reference the AVX2 path is tested against).
pub fn scan_scalar(rows: &[i8], dim: usize, q: &[i8], out: &mut Vec<i32>) {
    out.extend(rows.chunks_exact(dim).map(|row| dot_i8_scalar(row, q)));
}

/// The i8 dot product of every row with `q`, by the fastest path this CPU has.
pub fn scan(rows: &[i8], dim: usize, q: &[i8]) -> Vec<i32> {
    let mut out = Vec::with_capacity(rows.len() / dim.max(1));
    if dim == 0 || q.len() != dim {
        return out;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present and q.len() == dim, as checked above.
        unsafe { scan_avx2(rows, dim, q, &mut out) };
        return out;
    }
    scan_scalar(rows, dim, q, &mut out);
    out
}

/// The `k` best `(index, score)` pairs, best first; ties keep the lower index first. A
/// partial selection (`select_nth_unstable_by`) and a sort of the `k` kept.
pub fn top_k(mut all: Vec<(usize, f32)>, k: usize) -> Vec<(usize, f32)> {
    let cmp = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if k == 0 {
        return vec![];
    }
    if all.len() > k {
        all.select_nth_unstable_by(k - 1, cmp);
        all.truncate(k);
    }
    all.sort_by(cmp);
    all
}

/// The `k` rows most similar to the unit vector `query`: an i8 scan (row `i`'s approximate
/// cosine is its dot product times `inv_norm[i]`) picks a shortlist, then `exact(i)` scores
/// the shortlist. Best first; ties keep the lower index first.
pub fn nearest(
    rows: &[i8],
    dim: usize,
    inv_norm: &[f32],
    query: &[f32],
    k: usize,
    exact: impl Fn(usize) -> f32,
) -> Vec<(usize, f32)> {
    if k == 0 || dim == 0 || query.len() != dim {
        return vec![];
    }
    let dots = scan(rows, dim, &quantise(query));
    let approx: Vec<(usize, f32)> = dots
        .iter()
        .zip(inv_norm)
        .enumerate()
        .map(|(i, (d, n))| (i, *d as f32 * n))
        .collect();
    let shortlist = top_k(approx, SHORTLIST_PER_K * k + SHORTLIST_EXTRA);
    top_k(
        shortlist.into_iter().map(|(i, _)| (i, exact(i))).collect(),
        k,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random i8 stream (xorshift).
    fn noise(n: usize, mut s: u64) -> Vec<i8> {
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s % 255) as i8
            })
            .collect()
    }

    #[test]
    fn the_simd_path_gives_the_scalar_integers() {
        // Widths with and without a tail of fewer than 16, extremes included.
        for dim in [1usize, 15, 16, 17, 384, 391] {
            let mut rows = noise(dim * 50, dim as u64 + 1);
            rows[..dim].fill(-127);
            let mut q = noise(dim, 99);
            q[0] = -127;
            let mut want = Vec::new();
            scan_scalar(&rows, dim, &q, &mut want);
            assert_eq!(scan(&rows, dim, &q), want, "dim {dim}");
            // The extremes really are extremes: row 0 against q[0] = -127.
            assert_eq!(want[0], q.iter().map(|v| -127 * i32::from(*v)).sum::<i32>());
        }
        assert!(scan(&[1, 2, 3], 3, &[1, 2]).is_empty(), "wrong query width");
    }

    #[test]
    fn top_k_is_a_sorted_prefix_with_ties_by_index() {
        let all = vec![(0, 0.5), (1, 0.9), (2, 0.5), (3, 0.1), (4, 0.9)];
        assert_eq!(top_k(all.clone(), 3), vec![(1, 0.9), (4, 0.9), (0, 0.5)]);
        assert_eq!(top_k(all.clone(), 9).len(), 5);
        assert!(top_k(all, 0).is_empty());
    }

    #[test]
    fn the_shortlisted_search_matches_the_exact_scan() {
        let dim = 64;
        let n = 2000;
        let raw = noise(n * dim, 7);
        // Unit f32 rows and their i8 copies as the artefact stores them.
        let units: Vec<Vec<f32>> = raw
            .chunks(dim)
            .map(|r| {
                let n = r.iter().map(|v| (*v as f32).powi(2)).sum::<f32>().sqrt();
                r.iter().map(|v| *v as f32 / n).collect()
            })
            .collect();
        let rows: Vec<i8> = units
            .iter()
            .flat_map(|u| u.iter().map(|v| (v * 127.0).round() as i8))
            .collect();
        let inv: Vec<f32> = rows
            .chunks(dim)
            .map(|r| 1.0 / r.iter().map(|v| (*v as f32).powi(2)).sum::<f32>().sqrt())
            .collect();
        let exact = |q: &[f32], i: usize| -> f32 {
            rows[i * dim..(i + 1) * dim]
                .iter()
                .zip(q)
                .map(|(a, b)| *a as f32 * b)
                .sum::<f32>()
                * inv[i]
        };
        for probe in [3usize, 500, 1999] {
            // A query near row `probe`, plus noise.
            let q: Vec<f32> = units[probe]
                .iter()
                .zip(noise(dim, probe as u64 + 5))
                .map(|(a, b)| a + b as f32 / 2000.0)
                .collect();
            let norm = q.iter().map(|v| v * v).sum::<f32>().sqrt();
            let q: Vec<f32> = q.iter().map(|v| v / norm).collect();
            let mut brute: Vec<(usize, f32)> = (0..n).map(|i| (i, exact(&q, i))).collect();
            brute.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            brute.truncate(5);
            let got = nearest(&rows, dim, &inv, &q, 5, |i| exact(&q, i));
            assert_eq!(got, brute, "probe {probe}");
            assert_eq!(got[0].0, probe);
        }
    }
}
