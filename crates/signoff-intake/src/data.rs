//! Labelled examples (`{"text","label"}` JSONL, the eval format) and seeded, stratified splits.

use crate::error::{IntakeError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The label that means "none of the known labels" (out of scope).
pub const OOS: &str = "oos";

/// One labelled text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// The text to classify.
    pub text: String,
    /// Its label; [`OOS`] for out of scope.
    pub label: String,
}

/// Reads a JSONL file of `{"text","label"}` rows; errors name `file:line`.
pub fn read_jsonl(path: &Path) -> Result<Vec<Example>> {
    let raw = std::fs::read_to_string(path).map_err(|source| IntakeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in raw.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let ex: Example = serde_json::from_str(line).map_err(|e| IntakeError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            message: e.to_string(),
        })?;
        out.push(ex);
    }
    Ok(out)
}

/// A small, seeded generator (SplitMix64): reproducible shuffles without a dependency.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// Splits indices `0..labels.len()` into (kept, held out), holding out `fraction` of each label
/// (rounded, at least one when a label has two or more rows), seeded. Both lists are sorted.
pub fn stratified_split(labels: &[&str], fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut by_label: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, l) in labels.iter().enumerate() {
        by_label.entry(l).or_default().push(i);
    }
    let mut rng = SplitMix64::new(seed);
    let (mut kept, mut held) = (Vec::new(), Vec::new());
    for (_, mut idx) in by_label {
        rng.shuffle(&mut idx);
        let mut k = (idx.len() as f64 * fraction).round() as usize;
        if k == 0 && idx.len() >= 2 && fraction > 0.0 {
            k = 1;
        }
        held.extend_from_slice(&idx[..k]);
        kept.extend_from_slice(&idx[k..]);
    }
    kept.sort_unstable();
    held.sort_unstable();
    (kept, held)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_stratified_seeded_and_disjoint() {
        let labels: Vec<&str> = (0..100)
            .map(|i| if i % 4 == 0 { "a" } else { "b" })
            .collect();
        let (k1, h1) = stratified_split(&labels, 0.2, 7);
        let (k2, h2) = stratified_split(&labels, 0.2, 7);
        assert_eq!((k1.clone(), h1.clone()), (k2, h2));
        assert_eq!(h1.iter().filter(|&&i| labels[i] == "a").count(), 5);
        assert_eq!(h1.iter().filter(|&&i| labels[i] == "b").count(), 15);
        assert_eq!(k1.len() + h1.len(), 100);
        assert!(h1.iter().all(|i| !k1.contains(i)));
        let (_, h3) = stratified_split(&labels, 0.2, 8);
        assert_ne!(h1, h3);
    }

    #[test]
    fn bad_jsonl_row_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.jsonl");
        std::fs::write(&p, "{\"text\":\"a\",\"label\":\"b\"}\n\n{\"text\":1}\n").unwrap();
        let e = read_jsonl(&p).unwrap_err().to_string();
        assert!(e.contains("x.jsonl:3:"), "{e}");
    }
}
