//! Lexical features: TF-IDF over word uni- and bigrams and character 2–5-grams inside word
//! boundaries (scikit-learn's `char_wb`), sublinear term frequency, each block L2-normalised.
//! It is the model that runs when the embedding model is absent, and a second opinion in the
//! ensemble: it catches exact wording that sentence embeddings smooth over.

use crate::linear::SparseRow;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A fitted vocabulary with inverse document frequencies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tfidf {
    /// Feature strings in index order (`w:` word n-grams, `c:` character n-grams).
    pub terms: Vec<String>,
    /// Inverse document frequency per feature.
    pub idf: Vec<f32>,
    #[serde(skip)]
    index: HashMap<String, u32>,
}

/// Lower-cased word tokens (letters, digits and apostrophes).
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The distinct features of a text with their raw counts.
fn features(text: &str) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    let ws = words(text);
    for w in &ws {
        *out.entry(format!("w:{w}")).or_insert(0) += 1;
    }
    for pair in ws.windows(2) {
        *out.entry(format!("w:{} {}", pair[0], pair[1])).or_insert(0) += 1;
    }
    for w in &ws {
        let padded: Vec<char> = std::iter::once(' ')
            .chain(w.chars())
            .chain(std::iter::once(' '))
            .collect();
        for n in 2..=5 {
            for g in padded.windows(n) {
                let s: String = g.iter().collect();
                *out.entry(format!("c:{s}")).or_insert(0) += 1;
            }
            if padded.len() < n {
                break;
            }
        }
    }
    out
}

impl Tfidf {
    /// Fits the vocabulary on texts, keeping features seen in at least `min_df` of them.
    pub fn fit<S: AsRef<str>>(texts: &[S], min_df: u32) -> Self {
        let mut df: BTreeMap<String, u32> = BTreeMap::new();
        for t in texts {
            for f in features(t.as_ref()).into_keys() {
                *df.entry(f).or_insert(0) += 1;
            }
        }
        let n = texts.len() as f32;
        let (terms, idf): (Vec<String>, Vec<f32>) = df
            .into_iter()
            .filter(|(_, d)| *d >= min_df)
            .map(|(t, d)| (t, ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0))
            .unzip();
        Self::from_parts(terms, idf)
    }

    /// Rebuilds the lookup table after deserialising.
    pub fn from_parts(terms: Vec<String>, idf: Vec<f32>) -> Self {
        let index = terms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        Tfidf { terms, idf, index }
    }

    /// Number of features.
    pub fn dim(&self) -> usize {
        self.terms.len()
    }

    /// The feature vector of a text (word and character blocks each of unit length).
    pub fn transform(&self, text: &str) -> SparseRow {
        let mut word: Vec<(u32, f32)> = Vec::new();
        let mut chars: Vec<(u32, f32)> = Vec::new();
        for (f, tf) in features(text) {
            if let Some(&i) = self.index.get(&f) {
                let v = (1.0 + (tf as f32).ln()) * self.idf[i as usize];
                if f.starts_with("w:") {
                    word.push((i, v));
                } else {
                    chars.push((i, v));
                }
            }
        }
        let mut all = Vec::with_capacity(word.len() + chars.len());
        for block in [word, chars] {
            let norm = block.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                all.extend(block.into_iter().map(|(i, v)| (i, v / norm)));
            }
        }
        all.sort_unstable_by_key(|p| p.0);
        SparseRow {
            idx: all.iter().map(|p| p.0).collect(),
            val: all.iter().map(|p| p.1).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_lowercase_and_split_on_punctuation() {
        assert_eq!(words("Where's my CARD?!"), vec!["where's", "my", "card"]);
    }

    #[test]
    fn unseen_text_has_no_features_and_blocks_are_unit_length() {
        let t = Tfidf::fit(&["my card is lost", "lost my card", "card arrived"], 2);
        assert!(t.transform("zzz qqq").idx.is_empty());
        let r = t.transform("my card is lost");
        let (mut w, mut c) = (0f32, 0f32);
        for (&i, &v) in r.idx.iter().zip(&r.val) {
            if t.terms[i as usize].starts_with("w:") {
                w += v * v
            } else {
                c += v * v
            }
        }
        assert!((w - 1.0).abs() < 1e-5 && (c - 1.0).abs() < 1e-5, "{w} {c}");
        assert!(t.terms.contains(&"w:my card".to_string()));
        assert!(t.terms.contains(&"c: ca".to_string()));
    }
}
