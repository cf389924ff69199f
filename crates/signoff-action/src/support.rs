//! The claim support scorer: does a passage back a claim? Hand-made features (token overlap,
//! MiniLM cosine, number agreement, negation and yes/no polarity, entity agreement) combined
//! by a logistic regression trained here ([`train`]) and saved as a versioned JSON file. The
//! score is the probability that the claim is **unsupported** (what must be flagged).
//!
//! Two weight sets live in one file: one with the embedding features, one lexical-only for
//! workstations where the MiniLM model is absent (the scorer says which one it used).
//!
//! A model file names the features its weights belong to; [`features`] computes every
//! feature this Signoff knows and the model picks its own by name, so a version-1 file (a
//! subset of today's features) still loads and scores.

use crate::error::{ActionError, Result};
use crate::text;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// Version of the model file layout and feature set written today.
pub const MODEL_VERSION: u32 = 5;

/// Model file versions this Signoff reads.
pub const READABLE_VERSIONS: &[u32] = &[1, 2, 3, 4, 5];

/// Feature names, in order; the embedding features are the last [`EMBED_FEATURES`].
pub const FEATURES: &[&str] = &[
    "token_recall",
    "best_line_recall",
    "unmatched_tokens",
    "digits_unmatched",
    "digits_unmatched_count",
    "number_words_unmatched",
    "yes_vs_passage_no",
    "no_vs_passage_yes",
    "no_vs_negation_free_passage",
    "negation_mismatch_best_line",
    "negated_claim_positive_passage",
    "foreign_entity",
    "own_entity",
    "foreign_without_own",
    "unmatched_capitalised",
    "no_with_unnegated_body",
    "yes_with_negated_body",
    "claim_negates_passage_term",
    "claim_asserts_passage_negated_term",
    "count_exceeds_passages",
    "count_noun_disagrees",
    "no_and_negates_passage_term",
    "yes_and_asserts_negated_term",
    "no_vs_implied_yes",
    "unmatched_name_span",
    "unmatched_namelike_word",
    "number_substituted",
    "lead_vs_best_line",
    "body_vs_best_line",
    "no_with_plain_body",
    "number_conflict",
    "count_unbacked",
    "quantity_grammar",
    "stance_mismatch_line",
    "stance_mismatch_close",
    "lead_vs_line_stance",
    "no_lead_positive_body",
    "yes_lead_negative_body",
    "no_lead_no_negative_line",
    "declared_name_missing",
    "new_name_without_declared",
    "count_conflict",
    "number_form",
    "count_far",
    "answer_body_opposes",
    "answer_negates_stated",
    "no_about_entity_no_negative_line",
    "lead_vs_faq_answer",
    "aspect_absent",
    "aspect_unmentioned",
    "count_two_one_line",
    "cosine_passage",
    "cosine_mean_best_line",
    "cosine_min_best_line",
];

/// How many trailing features need the embedding model.
pub const EMBED_FEATURES: usize = 3;

/// The default weights, trained by `signoff eval citations --train` on the DSTC11 dev part
/// (see `scripts/citation_pairs.py`) and checked in.
pub const DEFAULT_MODEL: &str = include_str!("../models/support-v5.json");

/// One trained weight set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WeightSet {
    /// One weight per feature used.
    pub weights: Vec<f64>,
    /// Intercept.
    pub bias: f64,
    /// Scores above this are flagged as unsupported.
    pub threshold: f64,
    /// Boosted trees added to the linear margin (version 2; none in version-1 files). They
    /// read the same feature vector as the weights.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trees: Vec<crate::boost::Tree>,
}

impl WeightSet {
    /// The log-odds of "unsupported" for a feature vector.
    pub fn margin(&self, f: &[f64]) -> f64 {
        self.bias
            + self.weights.iter().zip(f).map(|(a, b)| a * b).sum::<f64>()
            + self.trees.iter().map(|t| t.eval(f)).sum::<f64>()
    }

    fn check(&self, field: &str) -> Result<()> {
        for (i, t) in self.trees.iter().enumerate() {
            if !t.is_well_formed()
                || t.nodes
                    .iter()
                    .any(|n| n.left != 0 && n.feature >= self.weights.len())
            {
                return Err(ActionError::Model(format!(
                    "{field}.trees[{i}]: child indices or feature out of range"
                )));
            }
        }
        Ok(())
    }
}

/// The support model file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SupportModel {
    /// [`MODEL_VERSION`] when written.
    pub version: u32,
    /// Feature names the weights belong to (a subset of [`FEATURES`], in its order; the
    /// embedding features last).
    pub features: Vec<String>,
    /// Weights over every feature (embedding model present).
    pub with_embedding: WeightSet,
    /// Weights over the lexical features only (embedding model absent).
    pub lexical: WeightSet,
    /// SHA-256 of the training rows (claim, passage, label), for provenance.
    pub trained_on: String,
    /// Training rows.
    pub rows: usize,
    /// Features that flag a claim on their own when set, whatever the weights say: checks
    /// that are certain when they fire (a number the passage contradicts, a count whose
    /// grammar shows it was changed). Version 3; none in older files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hard: Vec<String>,
    /// Column of each hard feature in the full [`features`] vector (filled on load).
    #[serde(skip)]
    hard_columns: Vec<usize>,
    /// Column of each model feature in the full [`features`] vector (filled on load).
    #[serde(skip)]
    columns: Vec<usize>,
}

impl SupportModel {
    /// Parses and checks a model file's text.
    pub fn from_json(s: &str) -> Result<Self> {
        let mut m: SupportModel = serde_json::from_str(s)
            .map_err(|e| ActionError::Model(format!("not a support model: {e}")))?;
        if !READABLE_VERSIONS.contains(&m.version) {
            return Err(ActionError::Model(format!(
                "file version {} but this Signoff reads versions {READABLE_VERSIONS:?}",
                m.version
            )));
        }
        let mut columns = Vec::with_capacity(m.features.len());
        for (i, name) in m.features.iter().enumerate() {
            let Some(col) = FEATURES.iter().position(|f| f == name) else {
                return Err(ActionError::Model(format!(
                    "features[{i}]: unknown feature \"{name}\""
                )));
            };
            if columns.last().is_some_and(|last| *last >= col) {
                return Err(ActionError::Model(format!(
                    "features[{i}]: \"{name}\" is out of order"
                )));
            }
            columns.push(col);
        }
        let embed_start = FEATURES.len() - EMBED_FEATURES;
        let lexical = columns.iter().filter(|c| **c < embed_start).count();
        if m.with_embedding.weights.len() != columns.len() {
            return Err(ActionError::Model(format!(
                "with_embedding.weights: {} weights for {} features",
                m.with_embedding.weights.len(),
                columns.len()
            )));
        }
        if m.lexical.weights.len() != lexical {
            return Err(ActionError::Model(format!(
                "lexical.weights: {} weights for {lexical} lexical features",
                m.lexical.weights.len()
            )));
        }
        m.with_embedding.check("with_embedding")?;
        m.lexical.check("lexical")?;
        m.hard_columns = hard_columns(&m.hard)?;
        m.columns = columns;
        Ok(m)
    }

    /// A model over every feature of this Signoff (what [`train`](crate::eval::train) writes),
    /// with the named hard checks.
    pub fn new_full(
        with_embedding: WeightSet,
        lexical: WeightSet,
        trained_on: String,
        rows: usize,
        hard: &[String],
    ) -> Result<Self> {
        Ok(SupportModel {
            version: MODEL_VERSION,
            features: FEATURES.iter().map(|s| s.to_string()).collect(),
            with_embedding,
            lexical,
            trained_on,
            rows,
            hard: hard.to_vec(),
            hard_columns: hard_columns(hard)?,
            columns: (0..FEATURES.len()).collect(),
        })
    }

    /// Whether a hard check fires on a full feature vector.
    pub fn hard_fires(&self, full: &[f64]) -> bool {
        self.hard_columns
            .iter()
            .any(|c| full.get(*c).is_some_and(|v| *v > 0.5))
    }

    /// The model's own features picked from a full [`features`] vector (lexical-only when
    /// the vector has no embedding features).
    pub fn select(&self, full: &[f64]) -> Vec<f64> {
        self.columns
            .iter()
            .filter_map(|c| full.get(*c).copied())
            .collect()
    }

    /// The probability of "unsupported" for a full feature vector, and whether it is flagged.
    pub fn score_full(&self, full: &[f64]) -> (f64, bool) {
        let embedding = full.len() == FEATURES.len();
        let w = self.weights(embedding);
        let s = score(w, &self.select(full));
        if self.hard_fires(full) {
            // Ranked above every model score that is not itself near certain.
            return (s.max(HARD_SCORE), true);
        }
        (s, s > w.threshold)
    }

    /// The checked-in default model (version 5), parsed once per process (the file is
    /// ~330 KB of JSON; every draft and every approval's re-check asks for it).
    pub fn default_model() -> Self {
        static PARSED: std::sync::OnceLock<SupportModel> = std::sync::OnceLock::new();
        PARSED
            .get_or_init(|| {
                Self::from_json(DEFAULT_MODEL).expect("the checked-in support model parses")
            })
            .clone()
    }

    /// The weight set for a mode.
    pub fn weights(&self, embedding: bool) -> &WeightSet {
        if embedding {
            &self.with_embedding
        } else {
            &self.lexical
        }
    }
}

/// The score a claim caught by a hard check gets at least.
pub const HARD_SCORE: f64 = 0.999;

/// Columns of hard-check feature names; an unknown or embedding feature is an error naming
/// `hard[i]`.
fn hard_columns(hard: &[String]) -> Result<Vec<usize>> {
    let lexical = FEATURES.len() - EMBED_FEATURES;
    hard.iter()
        .enumerate()
        .map(|(i, name)| match FEATURES.iter().position(|f| f == name) {
            Some(c) if c < lexical => Ok(c),
            _ => Err(ActionError::Model(format!(
                "hard[{i}]: \"{name}\" is not a lexical feature"
            ))),
        })
        .collect()
}

/// Known entity names and the ways texts write them.
#[derive(Debug, Clone, Default)]
pub struct Gazetteer {
    names: Vec<(String, Vec<String>)>,
    /// Words seen written in lower case in the known passages: ordinary words, not names.
    common: HashSet<String>,
}

impl Gazetteer {
    /// A gazetteer of the given names (corpus titles), deduplicated case-insensitively.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for n in names {
            let key = text::words(n).join(" ");
            if !key.is_empty() && seen.insert(key) {
                out.push((n.to_string(), text::aliases(n)));
            }
        }
        Gazetteer {
            names: out,
            common: HashSet::new(),
        }
    }

    /// Learns which words are ordinary (seen in lower case) from passage texts.
    pub fn with_vocabulary<'a>(mut self, texts: impl IntoIterator<Item = &'a str>) -> Self {
        for t in texts {
            for w in t.split(|c: char| !c.is_alphanumeric() && c != '\'') {
                if w.chars().next().is_some_and(char::is_lowercase) {
                    self.common.insert(w.to_string());
                }
            }
        }
        self
    }

    /// The names every passage declares (see [`text::declared_names`]).
    pub fn from_passages<'a>(passages: impl IntoIterator<Item = &'a str>) -> Self {
        let passages: Vec<&str> = passages.into_iter().collect();
        let names: Vec<String> = passages
            .iter()
            .copied()
            .flat_map(text::declared_names)
            .collect();
        Self::new(names.iter().map(String::as_str)).with_vocabulary(passages)
    }

    /// How many names it knows.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether it knows no names.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// A claim's text with its questions dropped: questions assert nothing.
pub fn assertion(claim: &str) -> String {
    let kept: Vec<&str> = text::sentences(claim)
        .iter()
        .map(|s| &claim[s.start..s.end])
        .filter(|s| !s.ends_with('?'))
        .collect();
    if kept.is_empty() {
        claim.trim().to_string()
    } else {
        kept.join(" ")
    }
}

/// The passage's lines with any declared-name prefix cut off (the snippet texts).
pub fn passage_lines(passage: &str) -> Vec<String> {
    let names = text::declared_names(passage);
    passage
        .lines()
        .map(|l| {
            for n in &names {
                if let Some(rest) = l.trim_start().strip_prefix(n.as_str()) {
                    let rest = rest.trim_start();
                    for sep in [":", "-", "|", "]"] {
                        if let Some(r) = rest.strip_prefix(sep) {
                            return r.trim().to_string();
                        }
                    }
                }
            }
            l.trim().to_string()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

/// The sentences of the assertion (what the embedding features compare line by line).
pub fn assertion_sentences(assertion: &str) -> Vec<String> {
    text::sentences(assertion)
        .iter()
        .map(|s| assertion[s.start..s.end].to_string())
        .collect()
}

/// The texts [`features`] will ask embeddings for, given a claim and passage.
pub fn embedding_texts(claim: &str, passage: &str) -> Vec<String> {
    let a = assertion(claim);
    let mut out = assertion_sentences(&a);
    out.push(a);
    out.push(passage.to_string());
    out.extend(passage_lines(passage));
    out
}

fn recall(claim: &HashSet<String>, passage: &HashSet<String>) -> f64 {
    if claim.is_empty() {
        return 1.0;
    }
    claim.iter().filter(|t| passage.contains(*t)).count() as f64 / claim.len() as f64
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64) * (*y as f64))
        .sum()
}

/// A claim's text after a leading yes/no word (which answers a question rather than asserting).
fn body_text(a: &str) -> String {
    let w = text::words(a);
    if text::lead_polarity(a).is_some() {
        w[1..].join(" ")
    } else {
        w.join(" ")
    }
}

/// Answer part of a passage line: the text after its question mark, if it has one.
fn answer_part(line: &str) -> &str {
    line.rfind('?').map_or(line, |i| &line[i + 1..])
}

fn capitalised_unmatched(claim: &str, passage_padded: &str) -> usize {
    let mut n = 0;
    for s in text::sentences(claim) {
        let sent = &claim[s.start..s.end];
        for (i, w) in sent.split_whitespace().enumerate() {
            let w = w.trim_matches(|c: char| !c.is_alphanumeric());
            if i > 0 && w.chars().next().is_some_and(char::is_uppercase) && w.len() > 2 && w != "I"
            {
                let low = text::words(w).join(" ");
                if !low.is_empty() && !passage_padded.contains(&format!(" {low} ")) {
                    n += 1;
                }
            }
        }
    }
    n
}

/// Whether the claim holds a capitalised word that is never written in lower case in the
/// known passages (so a name, e.g. "Cityroomz") and that this passage does not contain.
fn namelike_unmatched(claim: &str, passage_padded: &str, common: &HashSet<String>) -> bool {
    if common.is_empty() {
        return false;
    }
    claim
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| w.len() > 2 && w.chars().next().is_some_and(char::is_uppercase))
        .any(|w| {
            let low = w.to_lowercase();
            !common.contains(&low) && !passage_padded.contains(&format!(" {low} "))
        })
}

/// Whether the claim holds a run of two or more capitalised words (a name such as "Hobson's
/// House", "and"/"of"/"the" allowed inside) that the passage does not contain.
fn name_span_unmatched(claim: &str, passage_padded: &str) -> bool {
    let mut runs: Vec<Vec<&str>> = vec![Vec::new()];
    for raw in claim.split_whitespace() {
        let w = raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '&');
        let cap = w.chars().next().is_some_and(char::is_uppercase) && w != "I";
        let joiner =
            matches!(w, "and" | "of" | "the" | "&") && !runs.last().is_some_and(Vec::is_empty);
        if cap || joiner {
            runs.last_mut().expect("one run").push(w);
        } else if !runs.last().is_some_and(Vec::is_empty) {
            runs.push(Vec::new());
        }
        if raw.ends_with(['.', ',', '!', '?', ';', ':']) && !runs.last().is_some_and(Vec::is_empty)
        {
            runs.push(Vec::new());
        }
    }
    runs.iter().any(|r| {
        let mut r: &[&str] = r;
        while r
            .last()
            .is_some_and(|w| matches!(*w, "and" | "of" | "the" | "&"))
        {
            r = &r[..r.len() - 1];
        }
        let caps = r
            .iter()
            .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
            .count();
        if caps < 2 {
            return false;
        }
        let low = text::words(&r.join(" ")).join(" ");
        !passage_padded.contains(&format!(" {low} "))
    })
}

/// Whether the claim holds a word written like a name (capitalised, never seen in lower case
/// in the known passages, not a function word) that the passage does not contain. A
/// sentence's first word counts too, as long as it is not an ordinary word.
fn new_name_like(claim: &str, passage_padded: &str, common: &HashSet<String>) -> bool {
    text::sentences(claim).iter().any(|s| {
        let sentence = &claim[s.start..s.end];
        let question = sentence.ends_with('?');
        sentence
            .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '\u{2019}')
            .filter(|w| !w.is_empty())
            .enumerate()
            .filter(|(i, w)| {
                // A question's or an -ing/-ed/-ly word's capital at the sentence start is
                // grammar ("Ready to book?", "Based on …"), not a name.
                let opener =
                    *i == 0 && (question || ["ing", "ed", "ly"].iter().any(|x| w.ends_with(x)));
                w.chars().next().is_some_and(char::is_uppercase)
                    && !opener
                    && *w != "I"
                    && !w.starts_with("I'")
                    && !w.starts_with("I\u{2019}")
            })
            .map(|(_, w)| w)
            .any(|w| {
                let low = text::words(w).join(" ");
                let low = low.trim_end_matches("'s");
                !low.is_empty()
                    && !common.contains(low)
                    && !text::is_function_word(low)
                    && !passage_padded.contains(&format!(" {low} "))
                    && !passage_padded.contains(&format!(" {low}'s "))
            })
    })
}

/// Tokens stated negatively and positively (see [`text::stance_tokens`]).
type Stance = (HashSet<String>, HashSet<String>);

/// Whether some assertion sentence restates a passage line (at least `min_share` of its
/// content words and two of them, polarity words lined up by their shared word) with the opposite stance
/// on a shared word: negated in one, stated in the other ("pets are prohibited" against
/// "pets are allowed", "the room was not clean" against "the room was clean"), when no line
/// of the passage states the claim's side.
fn stance_mismatch(assertion: &str, lines: &[String], min_share: f64) -> bool {
    let line_sets: Vec<(HashSet<String>, Stance)> = lines
        .iter()
        .map(|l| {
            let ans = text::answer_body(answer_part(l));
            (text::aligned_tokens(ans), text::stance_tokens(ans))
        })
        .collect();
    let all_neg: HashSet<&String> = line_sets.iter().flat_map(|x| &x.1 .0).collect();
    let all_pos: HashSet<&String> = line_sets.iter().flat_map(|x| &x.1 .1).collect();
    assertion_sentences(assertion).iter().any(|s| {
        let body = text::answer_body(s);
        let toks = text::aligned_tokens(body);
        if toks.len() < 2 {
            return false;
        }
        let Some((lt, (lneg, lpos))) = line_sets
            .iter()
            .map(|x| (x, toks.intersection(&x.0).count()))
            .filter(|(_, shared)| *shared >= 2 && *shared as f64 >= min_share * toks.len() as f64)
            .max_by_key(|(_, shared)| *shared)
            .map(|(x, _)| x)
        else {
            return false;
        };
        let (cneg, cpos) = text::stance_tokens(body);
        // A stance some other line states is backed (reviews are often mixed).
        toks.intersection(lt).any(|t| {
            (cneg.contains(t) && !cpos.contains(t) && lpos.contains(t) && !all_neg.contains(t))
                || (cpos.contains(t)
                    && !cneg.contains(t)
                    && lneg.contains(t)
                    && !all_pos.contains(t))
        })
    })
}

/// Whether an answered sentence's statement (after its yes/no) takes the opposite stance
/// to the passage on a word: it negates a word some passage line states and no line
/// negates ("No, guests are not treated to an exquisite view" against "the exquisite view
/// was unlike anything"), or states a word some line negates and no line states. Fee words
/// are left out (a fee question is often asked the other way round).
fn body_opposes_passage(body: &str, lines: &[String]) -> bool {
    let (cneg, cpos) = text::stance_tokens(body);
    let (mut lneg, mut lpos) = (HashSet::new(), HashSet::new());
    for l in lines {
        let (n, p) = text::stance_tokens(text::answer_body(answer_part(l)));
        lneg.extend(n);
        lpos.extend(p);
    }
    let opposes = |mine: &HashSet<String>, theirs: &HashSet<String>, other: &HashSet<String>| {
        mine.iter().any(|t| {
            t != "free" && theirs.contains(t) && !other.contains(t) && !text::is_function_word(t)
        })
    };
    opposes(&cneg.difference(&cpos).cloned().collect(), &lpos, &lneg)
        || opposes(&cpos.difference(&cneg).cloned().collect(), &lneg, &lpos)
}

/// Looks up the unit embedding of a text (None when it was not embedded).
pub type EmbedLookup<'a> = &'a dyn Fn(&str) -> Option<Vec<f32>>;

/// The feature vector of a claim against a passage. `embed` returns the unit vector of a text
/// from [`embedding_texts`], or `None` when there is no embedding model; then the embedding
/// features are left out (the vector is [`EMBED_FEATURES`] shorter).
pub fn features(
    claim: &str,
    passage: &str,
    gazetteer: &Gazetteer,
    embed: Option<EmbedLookup<'_>>,
) -> Vec<f64> {
    let a = assertion(claim);
    let lines = passage_lines(passage);
    let claim_toks = text::token_set(&a);
    let passage_toks = text::token_set(passage);
    let tok_recall = recall(&claim_toks, &passage_toks);
    let (best_line, best_recall) = lines
        .iter()
        .map(|l| (l.as_str(), recall(&claim_toks, &text::token_set(l))))
        .fold(("", 0.0), |acc, x| if x.1 > acc.1 { x } else { acc });
    let unmatched = claim_toks
        .iter()
        .filter(|t| !passage_toks.contains(*t))
        .count();

    let (cd, cw) = text::numbers(&a);
    let (pd, pw) = text::numbers(passage);
    let pnums: HashSet<u64> = pd.iter().chain(&pw).copied().collect();
    let digits_missing = cd.iter().filter(|v| !pnums.contains(v)).count();
    // "one" is mostly an article-like word ("one of the", "one reviewer"): left out.
    let words_missing = cw.iter().filter(|v| **v != 1 && !pnums.contains(v)).count();
    let count_exceeds = cw.iter().any(|v| *v > 1 && *v as usize > lines.len());
    let disagree = text::count_disagreements(&text::unquoted(claim, passage));
    let (c_neg, c_pos) = text::polarised_tokens(&body_text(&a));
    let (p_negt, p_post) = text::polarised_tokens(passage);
    let negates_term = c_neg
        .iter()
        .any(|t| p_post.contains(t) && !p_negt.contains(t));
    let asserts_negated = c_pos
        .iter()
        .any(|t| p_negt.contains(t) && !p_post.contains(t));
    // An FAQ answer without a yes/no still answers its question: positive unless negated.
    let implied_yes = lines.iter().any(|l| {
        l.contains('?')
            && text::lead_polarity(answer_part(l)).is_none()
            && text::negations(answer_part(l)) == 0
    });

    let claim_lead = text::lead_polarity(&a);
    let p_yes = lines
        .iter()
        .any(|l| text::lead_polarity(answer_part(l)) == Some(true));
    let p_no = lines
        .iter()
        .any(|l| text::lead_polarity(answer_part(l)) == Some(false));
    let p_neg = text::negations(passage) > 0;
    // The lead word itself is not a negation of the statement that follows.
    let body = {
        let w = text::words(&a);
        let skip = usize::from(claim_lead.is_some());
        w[skip.min(w.len())..].join(" ")
    };
    let claim_neg = text::negations(&body) > 0;
    // The sentence a yes/no answers is the first one.
    let first = text::sentences(&a)
        .first()
        .map_or(String::new(), |s| a[s.start..s.end].to_string());
    let first_body = body_text(&first);
    let first_neg = text::negations(&first_body) > 0;
    let (f_neg, f_pos) = text::polarised_tokens(&first_body);
    let best_neg = text::negations(best_line) > 0;

    let ppad = text::padded(passage);
    // Entities are looked for in the whole claim, questions included ("... about Rosa's?").
    let cpad = text::padded(claim);
    let declared: Vec<String> = text::declared_names(passage)
        .iter()
        .map(|n| text::words(n).join(" "))
        .collect();
    let mut foreign = false;
    let mut own = false;
    for (name, aliases) in &gazetteer.names {
        let hit: Vec<&String> = aliases
            .iter()
            .filter(|al| cpad.contains(&format!(" {al} ")))
            .collect();
        if hit.is_empty() {
            continue;
        }
        let key = text::words(name).join(" ");
        if declared.contains(&key) || hit.iter().any(|al| ppad.contains(&format!(" {al} "))) {
            own = true;
        } else {
            foreign = true;
        }
    }
    let caps = capitalised_unmatched(&a, &ppad);
    let declared_raw = text::declared_names(passage);
    let names_declared = declared_raw.iter().any(|n| text::names_loosely(claim, n));
    let new_name =
        new_name_like(claim, &ppad, &gazetteer.common) || name_span_unmatched(claim, &ppad);
    // A yes/no answer word (followed by punctuation, not the determiner of "No pets are
    // allowed") and the statement after it.
    let first_answer = text::answer_body(&first);
    let answered_no = first_answer.len() < first.trim_start().len()
        && matches!(
            text::words(&first).first().map(String::as_str),
            Some("no" | "nope")
        );
    let answered_yes = first_answer.len() < first.trim_start().len() && claim_lead == Some(true);
    // A fee question is often asked the other way round ("Do I have to pay?" "No, it is free").
    let about_fees = text::aligned_tokens(first_answer).contains("free");
    // The answered sentence's stance against the passage line it restates (polarity words
    // such as "prohibited" or "free" count as well as negations).
    let first_aligned = text::aligned_tokens(&first_body);
    let lead_line = lines
        .iter()
        .map(|l| {
            let lt = text::aligned_tokens(answer_part(l));
            (l.as_str(), recall(&first_aligned, &lt))
        })
        .fold(("", -1.0), |acc, x| if x.1 > acc.1 { x } else { acc })
        .0;
    let lead_line_neg = text::stance_negative(answer_part(lead_line))
        || text::lead_polarity(answer_part(lead_line)) == Some(false);

    let substituted =
        text::number_substituted(&text::number_mentions(&a), &text::number_mentions(passage));
    // The answered (first) sentence against the passage line that matches it best: a yes/no
    // must agree with that line's stance, and so must the statement after it.
    let first_toks = text::token_set(&first_body);
    let first_line = lines
        .iter()
        .map(|l| (l.as_str(), recall(&first_toks, &text::token_set(l))))
        .fold(("", -1.0), |acc, x| if x.1 > acc.1 { x } else { acc })
        .0;
    let line_neg = text::negations(answer_part(first_line)) % 2 == 1
        || text::lead_polarity(answer_part(first_line)) == Some(false);
    let body_neg = text::negations(&first_body) % 2 == 1;
    let lead_vs_line = claim_lead.is_some_and(|yes| yes == line_neg);
    let body_vs_line = claim_lead.is_some() && body_neg != line_neg;
    // "No, but …", "No, sorry …" answer no and go on; "No, the view is great." contradicts itself.
    let contrast = text::words(&first_body).first().is_some_and(|w| {
        matches!(
            w.as_str(),
            "but" | "however" | "although" | "though" | "sorry" | "unfortunately" | "i"
        )
    });
    // For the v3 features: a reply that goes on with "I …" is not a contrast by itself
    // ("No, I can do that" contradicts itself); an apology or a contrast word anywhere in
    // the answered sentence is.
    let contrast_or_while = text::words(&first_body).iter().enumerate().any(|(i, w)| {
        matches!(
            w.as_str(),
            "but" | "however" | "although" | "though" | "sorry" | "unfortunately" | "afraid"
        ) || (i == 0 && (w == "while" || w == "whilst"))
    });
    let plain_no = claim_lead == Some(false) && !first_neg && !contrast;

    let aspect = text::aspect_mismatch(&a, &lines);

    let b = |x: bool| if x { 1.0 } else { 0.0 };
    let mut f = vec![
        tok_recall,
        best_recall,
        (1.0 + unmatched as f64).ln(),
        b(digits_missing > 0),
        digits_missing.min(3) as f64 / 3.0,
        b(words_missing > 0),
        b(claim_lead == Some(true) && p_no && !p_yes),
        b(claim_lead == Some(false) && p_yes && !p_no),
        b(claim_lead == Some(false) && !p_neg && !p_no),
        b(claim_neg != best_neg),
        b(claim_neg && !p_neg),
        b(foreign),
        b(own),
        b(foreign && !own),
        caps.min(3) as f64 / 3.0,
        b(claim_lead == Some(false) && !first_neg),
        b(claim_lead == Some(true) && first_neg),
        b(negates_term),
        b(asserts_negated),
        b(count_exceeds),
        b(disagree > 0),
        b(claim_lead == Some(false)
            && f_neg
                .iter()
                .any(|t| p_post.contains(t) && !p_negt.contains(t))),
        b(claim_lead == Some(true)
            && f_pos
                .iter()
                .any(|t| p_negt.contains(t) && !p_post.contains(t))),
        b(claim_lead == Some(false) && implied_yes && !p_no),
        b(name_span_unmatched(claim, &ppad)),
        b(namelike_unmatched(claim, &ppad, &gazetteer.common)),
        b(substituted),
        b(lead_vs_line),
        b(body_vs_line),
        b(plain_no),
        b(text::number_conflicts(claim, passage, &lines, true) > 0),
        b(text::number_conflicts(claim, passage, &lines, false) > 0),
        b(text::quantity_grammar_conflicts(claim, passage) > 0),
        b(stance_mismatch(&a, &lines, 0.5)),
        b(stance_mismatch(&a, &lines, 0.8)),
        b(claim_lead.is_some_and(|yes| yes == lead_line_neg)),
        // "No, this is a non-smoking hotel": the "non-" prefix is the statement's negation.
        b(answered_no
            && !text::stance_negative(first_answer)
            && !text::words(first_answer).iter().any(|w| w == "non")
            && !contrast_or_while
            && !about_fees),
        b(answered_yes && text::stance_negative(first_answer) && !about_fees),
        b(answered_no
            && !about_fees
            && lines
                .iter()
                .all(|l| !text::stance_negative(text::answer_body(answer_part(l))))),
        b(!declared.is_empty() && !names_declared),
        b(!declared.is_empty() && !names_declared && new_name),
        b(text::count_conflicts(&a, passage) > 0),
        b(text::number_form_conflicts(claim, passage) > 0),
        b(text::counts_far_above_lines(&a, passage, &lines) > 0),
        b((answered_no || answered_yes) && body_opposes_passage(first_answer, &lines)),
        // A yes/no whose statement disagrees with its line's stance and negates a word
        // the passage states and never negates.
        b(body_vs_line && negates_term),
        // An answering "No" about the passage's own entity where no line says anything
        // negative.
        b(answered_no
            && own
            && !about_fees
            && lines
                .iter()
                .all(|l| !text::stance_negative(text::answer_body(answer_part(l))))),
        // A yes/no against the FAQ answer its statement restates.
        b(claim_lead.is_some_and(|yes| yes == lead_line_neg)
            && lead_line.contains('?')
            && !about_fees),
        // Another place's reply on another aspect ("the views" against snippets about
        // clean rooms), and an aspect most lines talk about that the claim never touches;
        // a claim naming the passage's own entity is about that entity whatever it says.
        b(aspect.0 && !names_declared),
        b(aspect.1 && !names_declared),
        b(text::count_two_from_one_line(&a, passage, &lines) > 0),
    ];
    if let Some(embed) = embed {
        let va = embed(&a);
        let vp = embed(passage);
        let line_vecs: Vec<Vec<f32>> = lines.iter().filter_map(|l| embed(l)).collect();
        let sent_best: Vec<f64> = assertion_sentences(&a)
            .iter()
            .filter_map(|s| embed(s))
            .map(|vs| {
                line_vecs
                    .iter()
                    .map(|vl| cosine(&vs, vl))
                    .fold(0.0, f64::max)
            })
            .collect();
        let cos_p = match (&va, &vp) {
            (Some(x), Some(y)) => cosine(x, y),
            _ => 0.0,
        };
        let mean = if sent_best.is_empty() {
            cos_p
        } else {
            sent_best.iter().sum::<f64>() / sent_best.len() as f64
        };
        let min = sent_best.iter().copied().fold(f64::INFINITY, f64::min);
        f.extend([cos_p, mean, if min.is_finite() { min } else { cos_p }]);
    }
    f
}

/// `1 / (1 + e^-z)`.
pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The probability a weight set gives to "unsupported".
pub fn score(w: &WeightSet, f: &[f64]) -> f64 {
    sigmoid(w.margin(f))
}

/// Fits a logistic regression (full-batch gradient descent with momentum, L2 penalty `l2`,
/// fixed iteration count: deterministic) on rows of features with labels (true = unsupported).
pub fn fit(x: &[Vec<f64>], y: &[bool], l2: f64) -> (Vec<f64>, f64) {
    fit_weighted(x, y, &vec![1.0; x.len()], l2)
}

/// [`fit`] with a weight per row (e.g. so each kind of unsupported pair counts as much as
/// another however many rows it has).
pub fn fit_weighted(x: &[Vec<f64>], y: &[bool], row_w: &[f64], l2: f64) -> (Vec<f64>, f64) {
    let d = x.first().map_or(0, Vec::len);
    let n = row_w.iter().sum::<f64>().max(1e-9);
    let (mut w, mut b) = (vec![0.0; d], 0.0);
    let (mut vw, mut vb) = (vec![0.0; d], 0.0);
    let (lr, mom) = (0.5, 0.9);
    for _ in 0..4000 {
        let mut gw = vec![0.0; d];
        let mut gb = 0.0;
        for ((xi, &yi), &ri) in x.iter().zip(y).zip(row_w) {
            let p = sigmoid(b + w.iter().zip(xi).map(|(a, c)| a * c).sum::<f64>());
            let e = ri * (p - if yi { 1.0 } else { 0.0 });
            for (g, v) in gw.iter_mut().zip(xi) {
                *g += e * v;
            }
            gb += e;
        }
        for j in 0..d {
            let g = gw[j] / n + l2 * w[j];
            vw[j] = mom * vw[j] - lr * g;
            w[j] += vw[j];
        }
        vb = mom * vb - lr * gb / n;
        b += vb;
    }
    (w, b)
}

/// The threshold that maximises F1 (positive = unsupported) on the given scores while flagging
/// at most `max_supported_flagged` of the supported rows.
pub fn pick_threshold(scores: &[f64], unsupported: &[bool], max_supported_flagged: f64) -> f64 {
    pick_threshold_excluding(
        scores,
        unsupported,
        &vec![false; scores.len()],
        max_supported_flagged,
    )
}

/// [`pick_threshold`] where the cap is checked only on the supported rows not marked in
/// `uncapped` (e.g. checked on human-written responses, not on FAQ answers); every row still
/// counts towards F1.
pub fn pick_threshold_excluding(
    scores: &[f64],
    unsupported: &[bool],
    uncapped: &[bool],
    max_supported_flagged: f64,
) -> f64 {
    let mut cands: Vec<f64> = scores.to_vec();
    cands.sort_by(f64::total_cmp);
    cands.dedup();
    let capped = |i: usize| !unsupported[i] && !uncapped.get(i).copied().unwrap_or(false);
    let n_sup = (0..scores.len()).filter(|&i| capped(i)).count().max(1) as f64;
    let mut best = (f64::NEG_INFINITY, 0.5);
    for &t in &cands {
        let (mut tp, mut fp, mut fneg, mut fp_capped) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for (i, (&s, &u)) in scores.iter().zip(unsupported).enumerate() {
            match (s > t, u) {
                (true, true) => tp += 1.0,
                (true, false) => {
                    fp += 1.0;
                    if capped(i) {
                        fp_capped += 1.0;
                    }
                }
                (false, true) => fneg += 1.0,
                _ => {}
            }
        }
        if fp_capped / n_sup > max_supported_flagged {
            continue;
        }
        let f1 = 2.0 * tp / (2.0 * tp + fp + fneg).max(1.0);
        if f1 > best.0 {
            best = (f1, t);
        }
    }
    best.1
}

/// Scores claims against passages with a model, optionally with the embedding model.
pub struct SupportScorer {
    model: SupportModel,
    embedder: Option<std::sync::Arc<signoff_embed::Embedder>>,
    gazetteer: Gazetteer,
}

impl std::fmt::Debug for SupportScorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupportScorer")
            .field("embedding", &self.embedder.is_some())
            .field("names", &self.gazetteer.len())
            .finish()
    }
}

/// One scored claim.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Support {
    /// Probability the claim is unsupported.
    pub score: f64,
    /// Whether it is flagged (score above the threshold).
    pub flagged: bool,
}

impl SupportScorer {
    /// A scorer over a model, an embedder (None = lexical weights) and known entity names.
    pub fn new(
        model: SupportModel,
        embedder: Option<std::sync::Arc<signoff_embed::Embedder>>,
        gazetteer: Gazetteer,
    ) -> Self {
        SupportScorer {
            model,
            embedder,
            gazetteer,
        }
    }

    /// Whether the embedding features are in use.
    pub fn uses_embedding(&self) -> bool {
        self.embedder.is_some()
    }

    /// Scores many (claim, passage) pairs, embedding each distinct text once.
    pub fn score_pairs(&self, pairs: &[(&str, &str)]) -> Result<Vec<Support>> {
        let vecs = match &self.embedder {
            Some(e) => Some(embed_all(e, pairs)?),
            None => None,
        };
        Ok(pairs
            .iter()
            .map(|(c, p)| {
                let f = match &vecs {
                    Some(v) => {
                        let look = |t: &str| v.get(t).cloned();
                        features(c, p, &self.gazetteer, Some(&look))
                    }
                    None => features(c, p, &self.gazetteer, None),
                };
                let (score, flagged) = self.model.score_full(&f);
                Support { score, flagged }
            })
            .collect())
    }
}

/// Embeds every text the features of `pairs` need, once each.
pub fn embed_all(
    e: &signoff_embed::Embedder,
    pairs: &[(&str, &str)],
) -> Result<HashMap<String, Vec<f32>>> {
    let mut texts: Vec<String> = pairs
        .iter()
        .flat_map(|(c, p)| embedding_texts(c, p))
        .collect();
    texts.sort();
    texts.dedup();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vecs = e.embed(&refs)?;
    Ok(texts.into_iter().zip(vecs).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaz() -> Gazetteer {
        Gazetteer::new(["The Nirala", "Backstreet Bistro", "Acorn Guest House"])
    }

    #[test]
    fn changed_number_sets_the_digit_feature() {
        let p = "Acorn Guest House: What time is check-in? Check-in is from 3:30pm.";
        let ok = features("Check-in is from 3:30pm.", p, &gaz(), None);
        let bad = features("Check-in is from 4:30pm.", p, &gaz(), None);
        assert_eq!(ok[3], 0.0);
        assert_eq!(bad[3], 1.0);
    }

    #[test]
    fn flipped_yes_no_sets_a_polarity_feature() {
        let p = "Backstreet Bistro: Do you serve alcohol? Yes, alcohol is served.";
        let ok = features("Yes, alcohol is served.", p, &gaz(), None);
        let bad = features("No, alcohol is served.", p, &gaz(), None);
        assert_eq!(ok[7] + ok[8], 0.0);
        assert_eq!(bad[7], 1.0);
    }

    #[test]
    fn another_entity_is_foreign() {
        let p = "The Nirala: The view from the window was lovely.";
        let own = features("The Nirala has a lovely view.", p, &gaz(), None);
        let swapped = features("Backstreet Bistro has a lovely view.", p, &gaz(), None);
        assert_eq!((own[11], own[12]), (0.0, 1.0));
        assert_eq!((swapped[11], swapped[13]), (1.0, 1.0));
    }

    #[test]
    fn questions_are_not_part_of_the_assertion() {
        assert_eq!(
            assertion("The view is great. Would you like to book?"),
            "The view is great."
        );
    }

    #[test]
    fn fit_separates_a_separable_set_and_threshold_respects_the_cap() {
        let x: Vec<Vec<f64>> = (0..40).map(|i| vec![f64::from(i % 2), 0.5]).collect();
        let y: Vec<bool> = (0..40).map(|i| i % 2 == 1).collect();
        let (w, b) = fit(&x, &y, 1e-4);
        let ws = WeightSet {
            weights: w,
            bias: b,
            threshold: 0.5,
            trees: Vec::new(),
        };
        assert!(score(&ws, &[1.0, 0.5]) > 0.9 && score(&ws, &[0.0, 0.5]) < 0.1);
        let s: Vec<f64> = x.iter().map(|f| score(&ws, f)).collect();
        let t = pick_threshold(&s, &y, 0.0);
        assert!(s.iter().zip(&y).all(|(v, u)| (*v > t) == *u));
    }

    #[test]
    fn default_model_loads() {
        let m = SupportModel::default_model();
        assert_eq!(m.version, MODEL_VERSION);
        assert_eq!(m.features.len(), FEATURES.len());
    }

    #[test]
    fn a_version_1_model_still_loads_and_scores_its_own_features() {
        let v1 = SupportModel::from_json(include_str!("../models/support-v1.json")).unwrap();
        assert_eq!(v1.version, 1);
        let p = "Acorn Guest House: What time is check-in? Check-in is from 3:30pm.";
        let full = features("Check-in is from 4:30pm.", p, &gaz(), None);
        assert_eq!(v1.select(&full).len(), v1.lexical.weights.len());
        let (bad, _) = v1.score_full(&full);
        let (ok, _) = v1.score_full(&features("Check-in is from 3:30pm.", p, &gaz(), None));
        assert!(bad > ok, "{bad} <= {ok}");
    }

    #[test]
    fn a_version_2_model_still_loads_and_has_no_hard_checks() {
        let v2 = SupportModel::from_json(include_str!("../models/support-v2.json")).unwrap();
        assert_eq!(v2.version, 2);
        assert!(v2.hard.is_empty());
        let p = "Acorn Guest House: What time is check-in? Check-in is from 3:30pm.";
        let full = features("Check-in is from 4:30pm.", p, &gaz(), None);
        assert!(!v2.hard_fires(&full));
        assert!(SupportModel::default_model().hard_fires(&full));
    }

    #[test]
    fn a_version_3_model_still_loads_without_the_count_checks() {
        let v3 = SupportModel::from_json(include_str!("../models/support-v3.json")).unwrap();
        assert_eq!(v3.version, 3);
        assert!(!v3.hard.iter().any(|h| h == "count_conflict"));
        let p = "Acorn Guest House: The view was great.\nAcorn Guest House: We loved the view.";
        let full = features("All five guests loved the view.", p, &gaz(), None);
        assert_eq!(v3.select(&full).len(), v3.lexical.weights.len());
    }

    #[test]
    fn a_version_4_model_still_loads_without_the_aspect_features() {
        let v4 = SupportModel::from_json(include_str!("../models/support-v4.json")).unwrap();
        assert_eq!(v4.version, 4);
        assert!(!v4.features.iter().any(|f| f.starts_with("aspect_")));
        let p = "Acorn Guest House: The view was great.";
        let full = features("The rooms were spotless.", p, &gaz(), None);
        assert_eq!(v4.select(&full).len(), v4.lexical.weights.len());
    }

    #[test]
    fn a_reply_about_another_aspect_is_marked_unless_it_names_the_passage_entity() {
        let col = |n: &str| FEATURES.iter().position(|f| *f == n).unwrap();
        let p = "Huntingdon Marriott Hotel: The rooms weren't that clean.\nHuntingdon Marriott Hotel: The bathroom was spotless.";
        let g = Gazetteer::from_passages([p]);
        let other = features(
            "People are very happy with the quiet environment.",
            p,
            &g,
            None,
        );
        assert_eq!(other[col("aspect_absent")], 1.0);
        assert_eq!(other[col("aspect_unmentioned")], 1.0);
        let on_topic = features("Guests found the rooms unclean.", p, &g, None);
        assert_eq!(on_topic[col("aspect_absent")], 0.0);
        assert_eq!(on_topic[col("aspect_unmentioned")], 0.0);
        // Naming the passage's own entity: about that entity, whatever aspect it talks about.
        let named = features("The Huntingdon Marriott Hotel is quiet.", p, &g, None);
        assert_eq!(named[col("aspect_absent")], 0.0);
    }

    #[test]
    fn a_no_before_a_non_word_is_not_an_answer_without_negation() {
        let col = FEATURES
            .iter()
            .position(|f| *f == "no_lead_positive_body")
            .unwrap();
        let p = "Warkworth House: Can I smoke here? No, this is a non-smoking hotel.";
        let g = Gazetteer::from_passages([p]);
        let m = SupportModel::default_model();
        let kept = features("No, this is a non-smoking hotel.", p, &g, None);
        assert_eq!(kept[col], 0.0);
        assert!(!m.hard_fires(&kept));
        let flipped = features("No, this is a smoking hotel.", p, &g, None);
        assert_eq!(flipped[col], 1.0);
    }

    #[test]
    fn the_v5_model_flags_a_count_of_two_that_restates_one_line() {
        let p = "Acorn Guest House: I loved the view.\nAcorn Guest House: I found that the exquisite view was unlike anything I've ever seen before.\nAcorn Guest House: The room provided a great view.";
        let g = Gazetteer::from_passages([p]);
        let m = SupportModel::default_model();
        let two = features(
            "Two found it to be exquisite and something they had seen before.",
            p,
            &g,
            None,
        );
        assert!(m.score_full(&two).1);
        assert!(m.hard_fires(&two));
        let one = features(
            "One found it to be exquisite and something they had seen before.",
            p,
            &g,
            None,
        );
        assert!(!m.hard_fires(&one));
    }

    #[test]
    fn the_default_model_flags_changed_counts_on_their_own() {
        let col = |n: &str| FEATURES.iter().position(|f| *f == n).unwrap();
        let m = SupportModel::default_model();
        let p = "Acorn Guest House: The view was great.\nAcorn Guest House: We loved the view.\nAcorn Guest House: The exquisite view was unlike anything.\nAcorn Guest House: The room was small.\nAcorn Guest House: The stay was quiet.";
        let g = Gazetteer::from_passages([p]);
        for (claim, feature) in [
            (
                "The Acorn has great views and three person said exquisite.",
                "count_noun_disagrees",
            ),
            (
                "At the Acorn, out of three reviews, all loved the view.",
                "count_conflict",
            ),
            ("At the Acorn four said it was exquisite.", "count_far"),
        ] {
            let f = features(claim, p, &g, None);
            assert_eq!(f[col(feature)], 1.0, "{claim}");
            assert_eq!(
                m.score_full(&f),
                (m.score_full(&f).0.max(HARD_SCORE), true),
                "{claim}"
            );
        }
        let ok = features(
            "At the Acorn, out of five reviews, all loved the view.",
            p,
            &g,
            None,
        );
        assert_eq!(ok[col("count_conflict")], 0.0);
        assert!(!m.hard_fires(&ok));
    }

    #[test]
    fn a_flipped_answer_about_the_passage_is_caught_by_a_hard_check() {
        let col = |n: &str| FEATURES.iter().position(|f| *f == n).unwrap();
        let m = SupportModel::default_model();
        let p = "Acorn Guest House: I loved the view.\nAcorn Guest House: The exquisite view was unlike anything.\nAcorn Guest House: The room provided a great view.";
        let g = Gazetteer::from_passages([p]);
        let f = |c: &str| features(c, p, &g, None);
        // "No" about the Acorn where no line says anything negative.
        let flipped = f("No, the Acorn Guest House has rooms with very good views.");
        assert_eq!(flipped[col("no_about_entity_no_negative_line")], 1.0);
        assert!(m.score_full(&flipped).1);
        let kept = f("Yes, the Acorn Guest House has rooms with very good views.");
        assert_eq!(kept[col("no_about_entity_no_negative_line")], 0.0);
        assert!(!m.hard_fires(&kept));
        // A negative line makes a "No" possible.
        let mixed =
            "Acorn Guest House: I loved the view.\nAcorn Guest House: The room was not clean.";
        let g2 = Gazetteer::from_passages([mixed]);
        let no = features(
            "No, the Acorn Guest House rooms are not clean.",
            mixed,
            &g2,
            None,
        );
        assert_eq!(no[col("no_about_entity_no_negative_line")], 0.0);
        // A yes/no whose statement negates what the passage states.
        let negated = f("Yes, the views at the Acorn Guest House are not exquisite.");
        assert_eq!(negated[col("answer_negates_stated")], 1.0);
        assert!(m.score_full(&negated).1);
        assert_eq!(
            f("Yes, the views at the Acorn Guest House are exquisite.")
                [col("answer_negates_stated")],
            0.0
        );
    }

    #[test]
    fn a_yes_or_no_against_the_faq_answer_it_restates_is_caught() {
        let col = FEATURES
            .iter()
            .position(|f| *f == "lead_vs_faq_answer")
            .unwrap();
        let m = SupportModel::default_model();
        let p = "Ask Restaurant: Is there outdoor seating? There is no outdoor seating.";
        let g = Gazetteer::from_passages([p]);
        let f = |c: &str| features(c, p, &g, None);
        let flipped = f("Yes, the Ask Restaurant lacks outdoor seating.");
        assert_eq!(flipped[col], 1.0);
        assert!(m.hard_fires(&flipped));
        assert_eq!(f("No, the Ask Restaurant lacks outdoor seating.")[col], 0.0);
        // A fee question is often asked the other way round.
        let fee = "Acorn Guest House: Is there a charge for wifi? No, the wifi is free.";
        let g = Gazetteer::from_passages([fee]);
        assert_eq!(features("Yes, the wifi is free.", fee, &g, None)[col], 0.0);
    }

    #[test]
    fn an_answer_whose_statement_opposes_the_passage_is_marked() {
        let lines = vec![
            "The exquisite view was unlike anything.".to_string(),
            "Is there a pool? No, there is no pool.".to_string(),
        ];
        assert!(body_opposes_passage(
            "guests are not treated to an exquisite view",
            &lines
        ));
        assert!(!body_opposes_passage(
            "guests are treated to an exquisite view",
            &lines
        ));
        assert!(body_opposes_passage("there is a pool", &lines));
        assert!(!body_opposes_passage("there is no pool", &lines));
        // Mixed lines back either side.
        let mixed = vec![
            "The view was great.".to_string(),
            "The view was not great.".to_string(),
        ];
        assert!(!body_opposes_passage("the view is not great", &mixed));
    }

    #[test]
    fn a_hard_check_flags_whatever_the_weights_say() {
        let col = |n: &str| FEATURES.iter().position(|f| *f == n).unwrap();
        let p = "Allenbell: What time is check-out? Check-out is until 11:00 am.";
        let m = SupportModel::default_model();
        let ok = features("Check-out is until 11 am.", p, &gaz(), None);
        let bad = features("Check-out is until 9 am.", p, &gaz(), None);
        assert_eq!(
            (ok[col("number_conflict")], bad[col("number_conflict")]),
            (0.0, 1.0)
        );
        let (s, flagged) = m.score_full(&bad);
        assert!(flagged && s >= HARD_SCORE, "{s}");
        assert!(!m.score_full(&ok).1);
        // Weights that call everything supported: only the hard check flags.
        let lexical = FEATURES.len() - EMBED_FEATURES;
        let calm = |n: usize| WeightSet {
            weights: vec![0.0; n],
            bias: -10.0,
            threshold: 0.5,
            trees: Vec::new(),
        };
        let hard = vec!["number_conflict".to_string()];
        let quiet =
            SupportModel::new_full(calm(FEATURES.len()), calm(lexical), String::new(), 0, &hard)
                .unwrap();
        assert_eq!(quiet.score_full(&bad), (HARD_SCORE, true));
        assert!(!quiet.score_full(&ok).1);
        let none =
            SupportModel::new_full(calm(FEATURES.len()), calm(lexical), String::new(), 0, &[])
                .unwrap();
        assert!(!none.score_full(&bad).1);
    }

    #[test]
    fn an_answering_no_before_a_plain_statement_is_marked_but_a_determiner_no_is_not() {
        let col = FEATURES
            .iter()
            .position(|f| *f == "no_lead_positive_body")
            .unwrap();
        let p = "Acorn Guest House: The place was quiet so we could relax.";
        let f = |c: &str| features(c, p, &gaz(), None)[col];
        assert_eq!(f("No, the Acorn Guest House is quiet."), 1.0);
        assert_eq!(f("No they do. The place is quiet."), 1.0);
        assert_eq!(f("No, I can book the quiet Acorn Guest House."), 1.0);
        assert_eq!(f("No, sorry, only the Acorn Guest House is quiet."), 0.0);
        assert_eq!(f("No, the Acorn Guest House is not quiet."), 0.0);
        assert_eq!(f("No loud guests were at the Acorn Guest House."), 0.0);
        // A fee question is often asked the other way round.
        assert_eq!(f("No, the wifi is free."), 0.0);
        // A "No" against a passage where no line says no (even with a negated body).
        let none = FEATURES
            .iter()
            .position(|x| *x == "no_lead_no_negative_line")
            .unwrap();
        let g = |c: &str, p: &str| features(c, p, &gaz(), None)[none];
        assert_eq!(g("No, it is not quiet.", p), 1.0);
        assert_eq!(
            g(
                "No, it is not quiet.",
                "Acorn Guest House: It was not quiet."
            ),
            0.0
        );
        assert_eq!(g("Yes, it is quiet.", p), 0.0);
    }

    #[test]
    fn a_name_the_passage_does_not_declare_is_marked() {
        let col = FEATURES
            .iter()
            .position(|f| *f == "new_name_without_declared")
            .unwrap();
        let p = "Acorn Guest House: The place was quiet so we could relax.";
        let g = Gazetteer::from_passages([p]);
        let f = |c: &str| features(c, p, &g, None)[col];
        assert_eq!(f("Cityroomz is quiet and relaxing."), 1.0);
        assert_eq!(f("The Worth House is quiet and relaxing."), 1.0);
        assert_eq!(f("The Acorn Guesthouse is quiet and relaxing."), 0.0);
        assert_eq!(f("It is quiet and relaxing."), 0.0);
        // Capitals that are grammar, not names.
        assert_eq!(f("Based on reviews, it is quiet. Ready to book?"), 0.0);
        assert_eq!(f("Ready for Cityroomz? It is quiet."), 1.0);
    }

    #[test]
    fn a_flipped_polarity_word_against_its_line_is_a_stance_mismatch() {
        let lines = vec!["Pets are allowed in all rooms.".to_string()];
        let m = |c: &str, share: f64| stance_mismatch(c, &lines, share);
        assert!(m("Pets are prohibited in all rooms.", 0.8));
        assert!(m("Pets are not allowed in all rooms.", 0.8));
        assert!(!m("Pets are allowed in all rooms.", 0.5));
        assert!(!m("Pets aren't prohibited in all rooms.", 0.5));
        // A loose restatement is a mismatch at half the words, not at 80%.
        assert!(m(
            "Sadly pets are prohibited in the lovely hotel rooms.",
            0.5
        ));
        assert!(!m(
            "Sadly pets are prohibited in the lovely hotel rooms.",
            0.8
        ));
        let faq = vec!["Is parking free? No, parking is not free.".to_string()];
        assert!(!stance_mismatch("No, parking is not free.", &faq, 0.5));
        assert!(stance_mismatch("Parking is free.", &faq, 0.5));
        // Mixed reviews back either side.
        let mixed = vec![
            "The room was clean.".to_string(),
            "The room was not clean at all.".to_string(),
        ];
        assert!(!stance_mismatch("The room was not clean.", &mixed, 0.5));
    }

    #[test]
    fn bad_model_files_name_the_field() {
        let mut m: serde_json::Value = serde_json::from_str(DEFAULT_MODEL).unwrap();
        m["hard"][0] = "cosine_passage".into();
        let e = SupportModel::from_json(&m.to_string())
            .unwrap_err()
            .to_string();
        assert!(e.contains("hard[0]") && e.contains("cosine_passage"), "{e}");
        let mut m: serde_json::Value = serde_json::from_str(DEFAULT_MODEL).unwrap();
        m["features"][0] = "no_such_feature".into();
        let e = SupportModel::from_json(&m.to_string())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("features[0]") && e.contains("no_such_feature"),
            "{e}"
        );
        let mut m: serde_json::Value = serde_json::from_str(DEFAULT_MODEL).unwrap();
        m["lexical"]["weights"].as_array_mut().unwrap().pop();
        let e = SupportModel::from_json(&m.to_string())
            .unwrap_err()
            .to_string();
        assert!(e.contains("lexical.weights"), "{e}");
        let mut m: serde_json::Value = serde_json::from_str(DEFAULT_MODEL).unwrap();
        m["version"] = 9.into();
        assert!(SupportModel::from_json(&m.to_string()).is_err());
    }

    #[test]
    fn a_no_that_contradicts_its_own_statement_and_the_passage_is_marked() {
        let p = "Acorn Guest House: The place was quiet so we could relax.";
        let col = |n: &str| FEATURES.iter().position(|f| *f == n).unwrap();
        let ok = features("Yes, the Acorn Guest House is quiet.", p, &gaz(), None);
        let flipped = features("No, the Acorn Guest House is quiet.", p, &gaz(), None);
        let both = features("No, the Acorn Guest House is not quiet.", p, &gaz(), None);
        let (lead, body, plain) = (
            col("lead_vs_best_line"),
            col("body_vs_best_line"),
            col("no_with_plain_body"),
        );
        assert_eq!((ok[lead], ok[body], ok[plain]), (0.0, 0.0, 0.0));
        assert_eq!(
            (flipped[lead], flipped[body], flipped[plain]),
            (1.0, 0.0, 1.0)
        );
        assert_eq!((both[lead], both[body], both[plain]), (1.0, 1.0, 0.0));
    }
}
