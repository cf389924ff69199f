//! Evaluation metrics with the definitions the CLI contract names: AUROC (ties count half),
//! expected calibration error over equal-width bins, and the reliability diagram as SVG.

/// Area under the ROC curve of `scores` for telling `positive` rows from the rest (the
/// Mann–Whitney statistic; tied scores count one half). `None` when either class is empty.
pub fn auroc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut n_pos) = (0f64, 0usize);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if positive[k] {
                rank_sum += avg_rank;
                n_pos += 1;
            }
        }
        i = j + 1;
    }
    let n_neg = scores.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let u = rank_sum - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos as f64 * n_neg as f64))
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bin {
    /// Rows in the bin.
    pub n: usize,
    /// Mean confidence of those rows.
    pub confidence: f64,
    /// Share of them that were right.
    pub accuracy: f64,
}

/// Rows grouped into `bins` equal-width confidence bins; bin `b` holds confidences in
/// `(b/bins, (b+1)/bins]` (0 goes to the first).
pub fn reliability(confidence: &[f64], correct: &[bool], bins: usize) -> Vec<Bin> {
    let mut acc = vec![(0usize, 0f64, 0usize); bins];
    for (&c, &ok) in confidence.iter().zip(correct) {
        let b = ((c * bins as f64).ceil() as usize).clamp(1, bins) - 1;
        acc[b].0 += 1;
        acc[b].1 += c;
        acc[b].2 += ok as usize;
    }
    acc.into_iter()
        .map(|(n, cs, k)| Bin {
            n,
            confidence: if n > 0 { cs / n as f64 } else { 0.0 },
            accuracy: if n > 0 { k as f64 / n as f64 } else { 0.0 },
        })
        .collect()
}

/// Expected calibration error: the row-weighted mean of |accuracy − confidence| over bins.
pub fn ece(confidence: &[f64], correct: &[bool], bins: usize) -> f64 {
    let total = confidence.len().max(1) as f64;
    reliability(confidence, correct, bins)
        .iter()
        .map(|b| b.n as f64 / total * (b.accuracy - b.confidence).abs())
        .sum()
}

/// A reliability diagram (accuracy against confidence per bin, with the diagonal) as a
/// standalone SVG document.
pub fn reliability_svg(bins: &[Bin], title: &str) -> String {
    let (w, h, m) = (420.0, 420.0, 40.0);
    let side = w - 2.0 * m;
    let bw = side / bins.len().max(1) as f64;
    let esc = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n\
         <text x=\"{m}\" y=\"24\" font-size=\"13\">{esc}</text>\n\
         <rect x=\"{m}\" y=\"{m}\" width=\"{side}\" height=\"{side}\" fill=\"none\" stroke=\"#888\"/>\n"
    );
    for (i, b) in bins.iter().enumerate() {
        if b.n == 0 {
            continue;
        }
        let x = m + i as f64 * bw;
        let bh = b.accuracy * side;
        s += &format!(
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#4a78b5\" stroke=\"white\"><title>n={} confidence={:.3} accuracy={:.3}</title></rect>\n",
            m + side - bh,
            bw,
            b.n,
            b.confidence,
            b.accuracy
        );
    }
    s += &format!(
        "<line x1=\"{m}\" y1=\"{}\" x2=\"{}\" y2=\"{m}\" stroke=\"#c33\" stroke-dasharray=\"4 3\"/>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">confidence</text>\n\
         <text x=\"12\" y=\"{}\" transform=\"rotate(-90 12 {})\" text-anchor=\"middle\">accuracy</text>\n</svg>\n",
        m + side,
        m + side,
        w / 2.0,
        h - 10.0,
        h / 2.0,
        h / 2.0
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_matches_hand_counted_pairs() {
        // Positives 0.9, 0.4; negatives 0.5, 0.1, 0.4. Pairs won: 0.9 beats all 3, 0.4 beats
        // 0.1 and ties 0.4 (half): (3 + 1.5) / 6 = 0.75.
        let s = [0.9, 0.5, 0.1, 0.4, 0.4];
        let p = [true, false, false, true, false];
        assert!((auroc(&s, &p).unwrap() - 0.75).abs() < 1e-12);
        assert_eq!(auroc(&s, &[false; 5]), None);
    }

    #[test]
    fn ece_matches_a_hand_computed_value() {
        // Two bins of 10: [0.95, 0.95, 0.95, 0.95] with 3 right → |0.75-0.95| = 0.2, weight 4/6;
        // [0.25, 0.25] with 1 right → |0.5-0.25| = 0.25, weight 2/6. ECE = 0.2*4/6 + 0.25*2/6.
        let c = [0.95, 0.95, 0.95, 0.95, 0.25, 0.25];
        let ok = [true, true, true, false, true, false];
        let want = 0.2 * 4.0 / 6.0 + 0.25 * 2.0 / 6.0;
        assert!((ece(&c, &ok, 10) - want).abs() < 1e-12);
        // Bin edges: 0.2 belongs to (0.1, 0.2], the second of ten bins.
        let bins = reliability(&[0.2, 0.0, 1.0], &[true, true, true], 10);
        assert_eq!((bins[0].n, bins[1].n, bins[9].n), (1, 1, 1));
    }

    #[test]
    fn svg_escapes_the_title_and_draws_one_bar_per_filled_bin() {
        let bins = reliability(&[0.95, 0.15], &[true, false], 15);
        let svg = reliability_svg(&bins, "a<b");
        assert!(svg.contains("a&lt;b") && !svg.contains("a<b"));
        assert_eq!(svg.matches("<title>").count(), 2);
    }
}
