//! Temperature scaling: one scalar `T` dividing the logits, fitted on held-out rows by
//! minimising negative log-likelihood. It keeps the ranking (and so accuracy) and fixes
//! over- or under-confidence.

use crate::linear::log_softmax;

/// Mean negative log-likelihood of `labels` under `softmax(logits / t)`.
pub fn nll(logits: &[Vec<f32>], labels: &[usize], t: f32) -> f64 {
    let mut sum = 0f64;
    for (z, &y) in logits.iter().zip(labels) {
        let scaled: Vec<f32> = z.iter().map(|v| v / t).collect();
        sum -= log_softmax(&scaled)[y] as f64;
    }
    sum / logits.len().max(1) as f64
}

/// The temperature in [0.05, 20] that minimises [`nll`] (golden-section search on log T; the
/// NLL is unimodal in T).
pub fn fit_temperature(logits: &[Vec<f32>], labels: &[usize]) -> f32 {
    let f = |lt: f64| nll(logits, labels, lt.exp() as f32);
    let (mut a, mut b) = ((0.05f64).ln(), (20f64).ln());
    let phi = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - phi * (b - a);
    let mut d = a + phi * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..60 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - phi * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + phi * (b - a);
            fd = f(d);
        }
    }
    ((a + b) / 2.0).exp() as f32
}

/// Calibrated probabilities: `softmax(logits / t)`.
pub fn probabilities(logits: &[f32], t: f32) -> Vec<f32> {
    let scaled: Vec<f32> = logits.iter().map(|v| v / t).collect();
    log_softmax(&scaled).into_iter().map(f32::exp).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overconfident_logits_get_a_temperature_above_one() {
        // Logit gap 4 but right only 3 times in 4: the best T solves 1/(1+e^(-4/T)) = 0.75,
        // i.e. T = 4 / ln 3.
        let logits = vec![vec![4.0, 0.0]; 4];
        let labels = vec![0, 0, 0, 1];
        let t = fit_temperature(&logits, &labels);
        assert!((t - 4.0 / 3f32.ln()).abs() < 5e-3, "{t}");
        let p = probabilities(&logits[0], t);
        assert!((p[0] - 0.75).abs() < 1e-3);
    }
}
