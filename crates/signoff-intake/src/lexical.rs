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

/// Word tokens (letters, digits and apostrophes) of already lower-cased text.
fn word_slices(lower: &str) -> impl Iterator<Item = &str> {
    lower
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
}

/// Lower-cased word tokens (letters, digits and apostrophes).
pub fn words(text: &str) -> Vec<String> {
    word_slices(&text.to_lowercase())
        .map(str::to_string)
        .collect()
}

/// Calls `f(is_word, feature)` for every feature occurrence of a text (repeats included):
/// word uni- and bigrams (`w:…`), then character 2–5-grams of each word padded with a space
/// on both sides (`c:…`). One key buffer is reused, so no string is allocated per feature.
fn each_feature(text: &str, mut f: impl FnMut(bool, &str)) {
    let lower = text.to_lowercase();
    let ws: Vec<&str> = word_slices(&lower).collect();
    let mut key = String::with_capacity(64);
    for w in &ws {
        key.clear();
        key.push_str("w:");
        key.push_str(w);
        f(true, &key);
    }
    for pair in ws.windows(2) {
        key.clear();
        key.push_str("w:");
        key.push_str(pair[0]);
        key.push(' ');
        key.push_str(pair[1]);
        f(true, &key);
    }
    let mut padded: Vec<char> = Vec::with_capacity(32);
    for w in &ws {
        padded.clear();
        padded.push(' ');
        padded.extend(w.chars());
        padded.push(' ');
        for n in 2..=5 {
            for g in padded.windows(n) {
                key.clear();
                key.push_str("c:");
                key.extend(g);
                f(false, &key);
            }
            if padded.len() < n {
                break;
            }
        }
    }
}

/// The distinct features of a text with their raw counts.
fn features(text: &str) -> BTreeMap<String, u32> {
    let mut out: BTreeMap<String, u32> = BTreeMap::new();
    each_feature(text, |_, key| match out.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            out.insert(key.to_string(), 1);
        }
    });
    out
}

/// The features of a text as they were first computed (a `format!` per occurrence); the
/// reference [`each_feature`] is tested against.
#[cfg(test)]
fn features_reference(text: &str) -> BTreeMap<String, u32> {
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

/// Sorted feature indices with repeats → (index, sublinear TF-IDF weight), L2-normalised.
fn weigh_block(mut ids: Vec<u32>, idf: &[f32]) -> Vec<(u32, f32)> {
    ids.sort_unstable();
    let mut block: Vec<(u32, f32)> = Vec::with_capacity(ids.len());
    let mut k = 0;
    while k < ids.len() {
        let i = ids[k];
        let run = ids[k..].iter().take_while(|&&j| j == i).count();
        block.push((i, (1.0 + (run as f32).ln()) * idf[i as usize]));
        k += run;
    }
    let norm = block.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        for p in &mut block {
            p.1 /= norm;
        }
    } else {
        block.clear();
    }
    block
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
        let (mut word, mut chars) = (Vec::new(), Vec::new());
        each_feature(text, |is_word, key| {
            if let Some(&i) = self.index.get(key) {
                if is_word {
                    word.push(i)
                } else {
                    chars.push(i)
                }
            }
        });
        let mut all = weigh_block(word, &self.idf);
        all.extend(weigh_block(chars, &self.idf));
        all.sort_unstable_by_key(|p| p.0);
        SparseRow {
            idx: all.iter().map(|p| p.0).collect(),
            val: all.iter().map(|p| p.1).collect(),
        }
    }

    /// [`Tfidf::transform`] as it was first written (a map of owned feature strings); the
    /// reference the allocation-free path is tested against.
    #[cfg(test)]
    fn transform_reference(&self, text: &str) -> SparseRow {
        let mut word: Vec<(u32, f32)> = Vec::new();
        let mut chars: Vec<(u32, f32)> = Vec::new();
        for (f, tf) in features_reference(text) {
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

    #[test]
    fn the_allocation_free_transform_gives_the_reference_vector() {
        let texts = [
            "My card was declined twice at the ATM, twice!",
            "card card card declined",
            "Où est ma carte ? Я потерял карту, 我的卡丢了",
            "it's 'quoted' and don't",
            "a",
            "",
        ];
        let t = Tfidf::fit(&texts, 1);
        for text in texts.iter().chain(&["declined card at ATM", "zzz"]) {
            assert_eq!(features(text), features_reference(text), "{text:?}");
            assert_eq!(t.transform(text), t.transform_reference(text), "{text:?}");
        }
        assert!(!t.transform(texts[0]).idx.is_empty());
    }
}
