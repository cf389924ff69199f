//! Entity awareness: which of the corpus's entities (the hotel, restaurant, product or policy a
//! passage is about: its title) a case is talking about. Everything is derived from the corpus;
//! no name is written down here.
//!
//! - Names are normalised (lowercase, `&` → `and`, apostrophes dropped, split on anything not a
//!   letter or digit, a leading `the` dropped) and compared with spaces removed, so
//!   `guesthouse` matches `Guest House`.
//! - Each name token gets a *specificity* for its entity: the share of the corpus passages
//!   containing the token that belong to that entity. `nirala` (only in its own passages) is
//!   near 1; `house` or `good` (everywhere) near 0. Tokens with specificity ≥
//!   [`DISTINCT_MIN`] are the name's distinctive part (`Nandos City Centre` → `nandos`).
//! - A turn matches an entity by its whole name (strongest), by its distinctive part as one
//!   phrase, or by some distinctive tokens (weakest, scaled by their specificity).
//! - Turns are weighted by recency (the last turn 1, each earlier one × [`RECENCY`]) and the
//!   matches of all turns add up, so an entity named twice beats one named once.

use crate::beir::Passage;
use std::collections::{HashMap, HashSet};

/// A name token is distinctive for its entity at this specificity or above.
pub const DISTINCT_MIN: f32 = 0.3;
/// Weight of a turn relative to the one after it.
pub const RECENCY: f32 = 0.75;
/// Longest name phrase looked for, in tokens.
const MAX_GRAM: usize = 6;

/// Normalised tokens of a name or a turn.
pub fn normalise(s: &str) -> Vec<String> {
    let lower = s.to_lowercase().replace('&', " and ");
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in lower.chars() {
        if c.is_alphanumeric() {
            cur.push(c);
        } else if c == '\'' || c == '’' {
            // "Rosa's" → "rosas"
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The turns of a case text: its non-blank lines, oldest first.
pub fn turns(query: &str) -> Vec<&str> {
    query
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Words of a courtesy line ("Thanks in advance for your help!", "Kind regards,").
const COURTESY: [&str; 24] = [
    "thanks",
    "thank",
    "you",
    "very",
    "much",
    "many",
    "in",
    "advance",
    "for",
    "your",
    "help",
    "regards",
    "kind",
    "best",
    "warm",
    "cheers",
    "sincerely",
    "yours",
    "faithfully",
    "truly",
    "all",
    "the",
    "appreciated",
    "greatly",
];

/// Whether a line is a sign-off: a courtesy line, or a short line (at most four words) that
/// asks nothing, such as the sender's name.
fn sign_off(line: &str) -> bool {
    let words: Vec<String> = line
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    !line.contains('?')
        && (words.len() <= 4 || words.iter().all(|w| COURTESY.contains(&w.as_str())))
}

/// A case text without its trailing sign-off lines (the closing courtesy, the sender's name),
/// so the last turn — the question the retriever embeds — is the message itself. Lines are
/// dropped from the end only while a line longer than a sign-off remains before them; a text
/// that is all short lines is returned whole.
pub fn without_sign_off(text: &str) -> &str {
    let mut end = text.trim_end().len();
    while let Some(nl) = text[..end].rfind('\n') {
        if !sign_off(text[nl + 1..end].trim()) {
            break;
        }
        let rest = text[..nl].trim_end();
        if !rest.lines().any(|l| !sign_off(l.trim())) {
            break;
        }
        end = rest.len();
    }
    &text[..end]
}

/// One entity of the corpus.
#[derive(Debug, Clone)]
pub struct Entity {
    /// The title as the corpus spells it.
    pub name: String,
    /// Normalised name tokens (a leading `the` dropped).
    pub tokens: Vec<String>,
    /// The distinctive tokens with their specificity.
    pub distinct: Vec<(String, f32)>,
    /// Indices of its passages.
    pub passages: Vec<usize>,
}

/// An entity a case mentions.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityMatch {
    /// Index into [`EntityIndex::entities`].
    pub entity: usize,
    /// Summed, recency-weighted match strength.
    pub score: f32,
    /// Whether the last turn names it.
    pub in_last_turn: bool,
}

/// How strongly a phrase key identifies an entity.
#[derive(Debug, Clone, Copy)]
enum KeyKind {
    Full,
    Distinct,
}

/// The entities of a corpus and the phrases that name them.
#[derive(Debug, Clone, Default)]
pub struct EntityIndex {
    entities: Vec<Entity>,
    /// Entity of each passage (None for an untitled passage).
    of_passage: Vec<Option<usize>>,
    /// Joined phrase → entities it names.
    phrases: HashMap<String, Vec<(usize, KeyKind)>>,
    /// Distinctive token → (entity, specificity).
    tokens: HashMap<String, Vec<(usize, f32)>>,
}

impl EntityIndex {
    /// Builds the index from the passages' titles (one entity per distinct normalised title)
    /// and their texts (for token specificity).
    pub fn build(passages: &[Passage]) -> EntityIndex {
        let mut by_key: HashMap<String, usize> = HashMap::new();
        let mut entities: Vec<Entity> = Vec::new();
        let mut of_passage = Vec::with_capacity(passages.len());
        for (i, p) in passages.iter().enumerate() {
            let mut toks = normalise(&p.title);
            if toks.len() > 1 && toks[0] == "the" {
                toks.remove(0);
            }
            if toks.is_empty() {
                of_passage.push(None);
                continue;
            }
            let key = toks.join(" ");
            let e = *by_key.entry(key).or_insert_with(|| {
                entities.push(Entity {
                    name: p.title.clone(),
                    tokens: toks,
                    distinct: Vec::new(),
                    passages: Vec::new(),
                });
                entities.len() - 1
            });
            entities[e].passages.push(i);
            of_passage.push(Some(e));
        }
        // Specificity: passages containing each name token, overall and per entity.
        let name_tokens: HashSet<&str> = entities
            .iter()
            .flat_map(|e| e.tokens.iter().map(String::as_str))
            .collect();
        let mut total: HashMap<&str, u32> = HashMap::new();
        let mut own: HashMap<(&str, usize), u32> = HashMap::new();
        let normalised: Vec<Vec<String>> = passages
            .iter()
            .map(|p| normalise(&format!("{} {}", p.title, p.text)))
            .collect();
        for (i, toks) in normalised.iter().enumerate() {
            let set: HashSet<&str> = toks
                .iter()
                .map(String::as_str)
                .filter(|t| name_tokens.contains(t))
                .collect();
            for t in set {
                *total.entry(t).or_default() += 1;
                if let Some(e) = of_passage[i] {
                    *own.entry((t, e)).or_default() += 1;
                }
            }
        }
        let mut phrases: HashMap<String, Vec<(usize, KeyKind)>> = HashMap::new();
        let mut tokens: HashMap<String, Vec<(usize, f32)>> = HashMap::new();
        for (e, ent) in entities.iter_mut().enumerate() {
            let mut distinct = Vec::new();
            for t in &ent.tokens {
                let all = total.get(t.as_str()).copied().unwrap_or(0);
                let mine = own.get(&(t.as_str(), e)).copied().unwrap_or(0);
                let spec = if all == 0 {
                    0.0
                } else {
                    mine as f32 / all as f32
                };
                if spec >= DISTINCT_MIN && !distinct.iter().any(|(d, _)| d == t) {
                    distinct.push((t.clone(), spec));
                }
            }
            phrases
                .entry(ent.tokens.concat())
                .or_default()
                .push((e, KeyKind::Full));
            if !distinct.is_empty() {
                let d: String = distinct.iter().map(|(t, _)| t.as_str()).collect();
                if d != ent.tokens.concat() {
                    phrases.entry(d).or_default().push((e, KeyKind::Distinct));
                }
                for (t, s) in &distinct {
                    tokens.entry(t.clone()).or_default().push((e, *s));
                }
            }
            ent.distinct = distinct;
        }
        EntityIndex {
            entities,
            of_passage,
            phrases,
            tokens,
        }
    }

    /// The entities, in order of first appearance in the corpus.
    pub fn entities(&self) -> &[Entity] {
        &self.entities
    }

    /// The entity of passage `i`, if it has a title.
    pub fn of_passage(&self, i: usize) -> Option<usize> {
        self.of_passage.get(i).copied().flatten()
    }

    /// How strongly one turn names each entity.
    fn match_turn(&self, turn: &str) -> HashMap<usize, f32> {
        let toks = normalise(turn);
        let mut best: HashMap<usize, f32> = HashMap::new();
        let mut put = |e: usize, s: f32| {
            let b = best.entry(e).or_insert(0.0);
            if s > *b {
                *b = s;
            }
        };
        for i in 0..toks.len() {
            let mut gram = String::new();
            for (n, t) in toks[i..].iter().take(MAX_GRAM).enumerate() {
                gram.push_str(t);
                if let Some(es) = self.phrases.get(&gram) {
                    for &(e, kind) in es {
                        let ent = &self.entities[e];
                        let s = match kind {
                            KeyKind::Full => 1.0 + 0.1 * ent.tokens.len() as f32,
                            KeyKind::Distinct => {
                                let spec: f32 = ent.distinct.iter().map(|(_, s)| s).sum();
                                0.5 + 0.5 * spec / ent.tokens.len() as f32 + 0.1 * (n + 1) as f32
                            }
                        };
                        put(e, s);
                    }
                }
            }
        }
        // Partial matches: some distinctive tokens present.
        let present: HashSet<&str> = toks.iter().map(String::as_str).collect();
        let mut partial: HashMap<usize, f32> = HashMap::new();
        for t in present {
            if let Some(es) = self.tokens.get(t) {
                for &(e, s) in es {
                    *partial.entry(e).or_default() += s;
                }
            }
        }
        for (e, s) in partial {
            put(e, 0.6 * s / self.entities[e].tokens.len() as f32);
        }
        best
    }

    /// The entities `query` (a case text, one turn a line, oldest first) mentions, strongest
    /// first (equal scores by entity index).
    pub fn detect(&self, query: &str) -> Vec<EntityMatch> {
        let ts = turns(query);
        let n = ts.len();
        let mut acc: HashMap<usize, (f32, bool)> = HashMap::new();
        for (i, t) in ts.iter().enumerate() {
            let w = RECENCY.powi((n - 1 - i) as i32);
            for (e, s) in self.match_turn(t) {
                let a = acc.entry(e).or_insert((0.0, false));
                a.0 += w * s;
                a.1 |= i + 1 == n;
            }
        }
        let mut out: Vec<EntityMatch> = acc
            .into_iter()
            .map(|(entity, (score, in_last_turn))| EntityMatch {
                entity,
                score,
                in_last_turn,
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.entity.cmp(&b.entity)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_offs_are_dropped_while_the_message_remains() {
        let mail = "Refund for order 123\n\nMy jeans arrived torn at the knee, can I get a refund?\nThanks in advance for your help!\nJane Doe\n";
        assert_eq!(
            without_sign_off(mail),
            "Refund for order 123\n\nMy jeans arrived torn at the knee, can I get a refund?"
        );
        let t = turns(without_sign_off(mail));
        assert!(t.last().unwrap().starts_with("My jeans"), "{t:?}");
        // A short question is the message, not a sign-off.
        assert_eq!(
            without_sign_off("Shipping\n\nIs it free?"),
            "Shipping\n\nIs it free?"
        );
        // Nothing but short lines: kept whole.
        assert_eq!(
            without_sign_off("Refund\n\nWhere is it\nJane"),
            "Refund\n\nWhere is it\nJane"
        );
        // One line, and an empty text.
        assert_eq!(
            without_sign_off("Where is my parcel from last week"),
            "Where is my parcel from last week"
        );
        assert_eq!(without_sign_off(""), "");
        // Non-ASCII text is cut on line boundaries only.
        assert_eq!(
            without_sign_off("Rückgabe\nMeine Jacke ist zu klein, wie kann ich sie umtauschen bitte\nGrüße\nJürgen"),
            "Rückgabe\nMeine Jacke ist zu klein, wie kann ich sie umtauschen bitte"
        );
    }

    fn p(id: &str, title: &str, text: &str) -> Passage {
        Passage {
            id: id.into(),
            title: title.into(),
            text: text.into(),
        }
    }

    fn corpus() -> Vec<Passage> {
        vec![
            p(
                "a1",
                "Acorn Guest House",
                "The rooms at Acorn Guest House are clean.",
            ),
            p(
                "a2",
                "Acorn Guest House",
                "Free parking; the house is quiet.",
            ),
            p(
                "b1",
                "The Lucky Star",
                "Good food at Lucky Star, a lucky find.",
            ),
            p(
                "b2",
                "The Lucky Star",
                "Star dishes, good value, house wine.",
            ),
            p(
                "c1",
                "Nandos City Centre",
                "Nandos serves chicken in the city centre; the house special.",
            ),
            p("d1", "Nandos", "Nandos by the river, in an old house."),
            p(
                "e1",
                "City Centre North B&B",
                "A house in the city centre north.",
            ),
            p("x1", "", "An untitled passage about a good house."),
        ]
    }

    fn names(idx: &EntityIndex, m: &[EntityMatch]) -> Vec<String> {
        m.iter()
            .map(|m| idx.entities()[m.entity].name.clone())
            .collect()
    }

    #[test]
    fn entities_come_from_titles_with_their_passages() {
        let idx = EntityIndex::build(&corpus());
        assert_eq!(idx.entities().len(), 5);
        assert_eq!(idx.entities()[0].passages, vec![0, 1]);
        assert_eq!(idx.of_passage(2), Some(1));
        assert_eq!(idx.of_passage(7), None);
        assert_eq!(idx.entities()[1].tokens, ["lucky", "star"]);
        // "house" occurs in other entities' passages: not distinctive of Acorn Guest House.
        let acorn: Vec<&str> = idx.entities()[0]
            .distinct
            .iter()
            .map(|(t, _)| t.as_str())
            .collect();
        assert!(
            acorn.contains(&"acorn") && !acorn.contains(&"house"),
            "{acorn:?}"
        );
    }

    #[test]
    fn names_match_without_case_spaces_or_articles() {
        let idx = EntityIndex::build(&corpus());
        let m = idx.detect("I booked the acorn guesthouse.\nGreat.\nIs it quiet?");
        assert_eq!(names(&idx, &m)[0], "Acorn Guest House");
        assert!(!m[0].in_last_turn);
        let m = idx.detect("What about THE LUCKY STAR?");
        assert_eq!(names(&idx, &m)[0], "The Lucky Star");
        assert!(m[0].in_last_turn);
        let m = idx.detect("Is City Centre North B & B near?");
        assert_eq!(names(&idx, &m)[0], "City Centre North B&B");
    }

    #[test]
    fn the_longer_name_wins_and_recent_turns_weigh_more() {
        let idx = EntityIndex::build(&corpus());
        let m = idx.detect("Nandos City Centre has a table at 7.");
        assert_eq!(names(&idx, &m)[0], "Nandos City Centre");
        let m =
            idx.detect("Acorn Guest House is full.\nThen the Lucky Star?\nDo they have parking?");
        assert_eq!(
            names(&idx, &m)[..2],
            ["The Lucky Star", "Acorn Guest House"]
        );
        assert!(m[0].score > m[1].score);
    }

    #[test]
    fn common_words_name_nothing() {
        let idx = EntityIndex::build(&corpus());
        assert!(idx.detect("Is the house good value?").is_empty());
        assert!(idx.detect("").is_empty());
    }
}
