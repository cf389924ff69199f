//! Small, pure text helpers the support scorer and the drafter share: sentence splitting with
//! character spans, content tokens with a light stemmer, numbers (digits and number words),
//! negation and yes/no polarity, and entity names found by alias.

use std::collections::HashSet;

/// Words that carry no content for overlap purposes.
const STOP: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "but",
    "of",
    "to",
    "in",
    "on",
    "at",
    "for",
    "with",
    "by",
    "from",
    "as",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "it",
    "its",
    "it's",
    "this",
    "that",
    "these",
    "those",
    "there",
    "their",
    "they",
    "them",
    "we",
    "our",
    "us",
    "i",
    "my",
    "me",
    "you",
    "your",
    "he",
    "she",
    "his",
    "her",
    "has",
    "have",
    "had",
    "do",
    "does",
    "did",
    "so",
    "very",
    "also",
    "just",
    "about",
    "which",
    "who",
    "what",
    "would",
    "will",
    "can",
    "could",
    "some",
    "any",
    "all",
    "if",
    "than",
    "then",
    "too",
    "up",
    "out",
    "into",
    "said",
    "says",
    "say",
    "one",
    "get",
    "got",
    "there's",
    "here",
    "really",
    "quite",
    "much",
    "many",
    "most",
    "more",
    "people",
    "guest",
    "guests",
    "review",
    "reviews",
    "reviewer",
    "reviewers",
    "customer",
    "customers",
    "found",
    "felt",
    "like",
    "liked",
    "well",
    "place",
    "yes",
    "no",
    "not",
    "according",
    "other",
    "others",
    "mention",
    "mentioned",
    "think",
    "thought",
];

/// Words that, when they head an entity name, are not part of its core.
const GENERIC: &[&str] = &[
    "the",
    "hotel",
    "guest",
    "house",
    "guesthouse",
    "restaurant",
    "bed",
    "and",
    "breakfast",
    "bar",
    "grill",
    "cafe",
    "lodge",
    "inn",
    "city",
    "centre",
    "center",
    "kitchen",
    "&",
    "b",
    "a",
];

const NUMBER_WORDS: &[(&str, u64)] = &[
    ("zero", 0),
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("fifteen", 15),
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("hundred", 100),
    ("once", 1),
    ("twice", 2),
    ("single", 1),
    ("dozen", 12),
    ("noon", 12),
    ("midnight", 12),
];

const NEGATIONS: &[&str] = &[
    "not",
    "no",
    "never",
    "none",
    "nothing",
    "nobody",
    "without",
    "neither",
    "nor",
    "cannot",
    "isn't",
    "aren't",
    "wasn't",
    "weren't",
    "doesn't",
    "don't",
    "didn't",
    "can't",
    "won't",
    "wouldn't",
    "couldn't",
    "shouldn't",
    "hasn't",
    "haven't",
    "hadn't",
    "lack",
    "lacks",
    "lacking",
    "unavailable",
    "n't",
];

/// Lower-case word tokens (letters, digits, apostrophes inside words).
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in text.chars() {
        let c = if ch == '\u{2019}' { '\'' } else { ch };
        if c.is_alphanumeric() || (c == '\'' && !cur.is_empty()) || (c == '&' && cur.is_empty()) {
            cur.extend(c.to_lowercase());
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur).trim_end_matches('\'').to_string());
        }
    }
    if !cur.is_empty() {
        out.push(cur.trim_end_matches('\'').to_string());
    }
    out
}

/// A light suffix stemmer: enough that "rooms"/"room", "cleaned"/"clean" meet.
pub fn stem(word: &str) -> String {
    let w = word.trim_end_matches("'s");
    for suf in [
        "ingly", "edly", "ness", "ing", "ies", "ied", "ly", "es", "ed", "s",
    ] {
        if w.len() > suf.len() + 3 && w.ends_with(suf) {
            let base = &w[..w.len() - suf.len()];
            return if suf == "ies" || suf == "ied" {
                format!("{base}y")
            } else {
                base.to_string()
            };
        }
    }
    w.to_string()
}

/// Stemmed content tokens (stop words and negations dropped).
pub fn content_tokens(text: &str) -> Vec<String> {
    words(text)
        .into_iter()
        .filter(|w| !STOP.contains(&w.as_str()) && !NEGATIONS.contains(&w.as_str()))
        .map(|w| stem(&w))
        .collect()
}

/// A sentence of a text with its byte span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset one past the last character.
    pub end: usize,
}

/// Splits text into sentences at `.`, `!`, `?` or a newline followed by space/end; spans are
/// trimmed of surrounding whitespace; empty pieces are dropped.
pub fn sentences(text: &str) -> Vec<Sentence> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let push = |s: usize, e: usize, out: &mut Vec<Sentence>| {
        let piece = &text[s..e];
        let lead = piece.len() - piece.trim_start().len();
        let trail = piece.len() - piece.trim_end().len();
        if e - trail > s + lead {
            out.push(Sentence {
                start: s + lead,
                end: e - trail,
            });
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let ends = match b {
            b'\n' => true,
            b'.' | b'!' | b'?' => {
                let next = bytes.get(i + 1).copied();
                // "3.5" and "e.g." stay inside a sentence.
                next.is_none_or(|n| n == b' ' || n == b'\n' || n == b'"' || n == b')')
                    && !(b == b'.'
                        && i > 0
                        && bytes[i - 1].is_ascii_digit()
                        && next.is_some_and(|n| n.is_ascii_digit()))
            }
            _ => false,
        };
        if ends {
            push(start, i + 1, &mut out);
            start = i + 1;
        }
        i += 1;
    }
    push(start, bytes.len(), &mut out);
    out
}

/// Numbers mentioned in a text: digit runs and number words, as values.
pub fn numbers(text: &str) -> (Vec<u64>, Vec<u64>) {
    let mut digits = Vec::new();
    let mut spelled = Vec::new();
    let mut cur = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            cur.push(c);
        } else if !cur.is_empty() {
            if let Ok(v) = cur.parse::<u64>() {
                digits.push(v);
            }
            cur.clear();
        }
    }
    for w in words(text) {
        if let Some((_, v)) = NUMBER_WORDS.iter().find(|(n, _)| *n == w) {
            spelled.push(*v);
        }
    }
    (digits, spelled)
}

/// How many negation words a text holds.
pub fn negations(text: &str) -> usize {
    words(text)
        .iter()
        .filter(|w| NEGATIONS.contains(&w.as_str()) || w.ends_with("n't"))
        .count()
}

/// The leading yes/no of an answer: `Some(true)` for yes, `Some(false)` for no. Sentiment
/// words such as "unfortunately" are not answers ("Unfortunately, the wifi is slow").
pub fn lead_polarity(text: &str) -> Option<bool> {
    match words(text).first().map(String::as_str) {
        Some("yes" | "yeah" | "yep" | "absolutely" | "certainly" | "indeed") => Some(true),
        Some("no" | "nope") => Some(false),
        _ => None,
    }
}

/// One number in a text with the words around it (its context: what it counts or measures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberMention {
    /// The value (digits or a number word).
    pub value: u64,
    /// Whether it was written as a word ("three").
    pub spelled: bool,
    /// The nearest content word before it (stemmed), if any in the same sentence.
    pub before: Option<String>,
    /// The nearest content word (or unit) after it (stemmed), if any in the same sentence.
    pub after: Option<String>,
}

/// Splits text into lower-case tokens for number context: digit runs and letter runs are
/// separate ("30pm" → "30", "pm"), currency and percent signs become words ("£11" → "gbp",
/// "11"), and sentence ends are kept as "." so context stops at them.
fn number_tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    for ch in text.chars() {
        let c = if ch == '\u{2019}' { '\'' } else { ch };
        let kind = |x: char| {
            if x.is_ascii_digit() {
                1
            } else if x.is_alphabetic() || x == '\'' {
                2
            } else {
                0
            }
        };
        let k = kind(c);
        if k != 0 && (cur.is_empty() || kind(cur.chars().last().unwrap_or(' ')) == k) {
            if !(c == '\'' && cur.is_empty()) {
                cur.extend(c.to_lowercase());
            }
            continue;
        }
        flush(&mut cur, &mut out);
        match c {
            '£' => out.push("gbp".into()),
            '$' => out.push("usd".into()),
            '€' => out.push("eur".into()),
            '%' => out.push("percent".into()),
            '.' | '!' | '?' | ';' | '\n' => out.push(".".into()),
            ',' => out.push(",".into()),
            _ => {}
        }
        if k != 0 {
            cur.extend(c.to_lowercase());
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// The numbers of a text with their context words. "one" as a pronoun or article ("one of",
/// "one should") is still listed; callers decide how much to trust a bare "one".
pub fn number_mentions(text: &str) -> Vec<NumberMention> {
    let toks = number_tokens(text);
    let value = |t: &str| -> Option<(u64, bool)> {
        if t.bytes().all(|b| b.is_ascii_digit()) {
            return t.parse().ok().map(|v| (v, false));
        }
        let t = t.trim_end_matches("'s");
        NUMBER_WORDS
            .iter()
            .find(|(n, _)| *n == t)
            .map(|(_, v)| (*v, true))
    };
    // Context is the nearest word within three tokens that is not a function word; it never
    // reaches past a comma or a sentence end.
    const FUNCTION: &[&str] = &[
        "a", "an", "the", "of", "to", "than", "from", "at", "about", "around", "over", "under",
        "only", "just", "and", "or", "for", "per", "is", "are", "was", "were", "be", "by", "up",
        "in", "on", "with", "least", "most", "more", "less",
    ];
    let context = |it: &mut dyn Iterator<Item = &String>| {
        it.take(3)
            .take_while(|x| *x != "." && *x != ",")
            .find(|x| !FUNCTION.contains(&x.as_str()) && value(x).is_none())
            .map(|x| stem(x))
    };
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        let Some((v, spelled)) = value(t) else {
            continue;
        };
        let before = context(&mut toks[..i].iter().rev());
        let after = context(&mut toks[i + 1..].iter());
        out.push(NumberMention {
            value: v,
            spelled,
            before,
            after,
        });
    }
    out
}

/// Whether a claim number was swapped for another: the claim has a number whose context
/// word (what it counts or measures) sits next to a different number in the passage, and
/// the passage never puts the claim's value next to that word ("three days" vs "five days",
/// "13 GBP" vs "11 GBP").
pub fn number_substituted(claim: &[NumberMention], passage: &[NumberMention]) -> bool {
    let ctx = |m: &NumberMention| -> Vec<String> {
        m.before.iter().chain(m.after.iter()).cloned().collect()
    };
    claim.iter().any(|c| {
        ctx(c).iter().any(|w| {
            let near: Vec<&NumberMention> = passage.iter().filter(|p| ctx(p).contains(w)).collect();
            !near.is_empty() && near.iter().all(|p| p.value != c.value)
        })
    })
}

/// Ways a text may write an entity name (lower case): the full name, without a leading "the",
/// and its core (generic words such as "hotel" or "guest house" dropped) when that is
/// distinctive enough (at least 4 letters).
pub fn aliases(name: &str) -> Vec<String> {
    let low = words(name).join(" ");
    let mut out = vec![low.clone()];
    if let Some(rest) = low.strip_prefix("the ") {
        out.push(rest.to_string());
    }
    let mut trimmed = words(name);
    while trimmed.len() > 1
        && trimmed
            .last()
            .is_some_and(|w| GENERIC.contains(&w.as_str()))
    {
        trimmed.pop();
    }
    let trimmed = trimmed.join(" ");
    if trimmed.len() >= 4 && !out.contains(&trimmed) {
        out.push(trimmed);
    }
    let core: Vec<String> = words(name)
        .into_iter()
        .filter(|w| !GENERIC.contains(&w.as_str()))
        .collect();
    let core = core.join(" ");
    if core.len() >= 4 && !out.contains(&core) {
        out.push(core);
    }
    out.retain(|a| !a.is_empty());
    out
}

/// Whether `hay` (already `words(..).join(" ")`, padded with spaces) names the entity.
pub fn mentions(padded_words: &str, aliases: &[String]) -> bool {
    aliases
        .iter()
        .any(|a| padded_words.contains(&format!(" {a} ")))
}

/// `words(text)` joined by single spaces with a space on each side, for whole-word search.
pub fn padded(text: &str) -> String {
    format!(" {} ", words(text).join(" "))
}

/// Entity names a passage declares: the text before a `:` (or ` - `, `|`) at the start of a
/// line, when it is short (1–8 words) and not a question. Passages built by Signoff and the
/// eval pairs prefix each snippet with its source's title this way.
pub fn declared_names(passage: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in passage.lines() {
        let cut = [": ", " - ", " | "]
            .iter()
            .filter_map(|sep| line.find(sep))
            .min();
        if let Some(i) = cut {
            let head = line[..i]
                .trim()
                .trim_start_matches('[')
                .trim_end_matches(']');
            let n = head.split_whitespace().count();
            if (1..=8).contains(&n) && !head.contains('?') && !out.iter().any(|o| o == head) {
                out.push(head.to_string());
            }
        }
    }
    out
}

/// Stemmed content tokens that follow a negation within three words ("not very clean" →
/// clean), and the ones that do not.
pub fn polarised_tokens(text: &str) -> (HashSet<String>, HashSet<String>) {
    let (mut neg, mut pos) = (HashSet::new(), HashSet::new());
    for s in sentences(text) {
        let mut since: Option<usize> = None;
        for w in words(&text[s.start..s.end]) {
            if NEGATIONS.contains(&w.as_str()) || w.ends_with("n't") {
                since = Some(0);
                continue;
            }
            if STOP.contains(&w.as_str()) {
                continue;
            }
            let st = stem(&w);
            match since {
                Some(n) if n < 3 => {
                    neg.insert(st);
                    since = Some(n + 1);
                }
                _ => {
                    pos.insert(st);
                    since = None;
                }
            }
        }
    }
    (neg, pos)
}

/// Nouns for people and reviews, singular and plural, used to check that a count agrees
/// with its noun ("two reviewers", not "two reviewer").
const COUNTED: &[(&str, &str)] = &[
    ("person", "people"),
    ("guest", "guests"),
    ("customer", "customers"),
    ("reviewer", "reviewers"),
    ("review", "reviews"),
    ("diner", "diners"),
    ("visitor", "visitors"),
    ("traveler", "travelers"),
    ("traveller", "travellers"),
    ("patron", "patrons"),
    ("user", "users"),
    ("couple", "couples"),
    ("family", "families"),
    ("third", "thirds"),
    ("quarter", "quarters"),
    ("fifth", "fifths"),
];

/// Spelled-out counts whose noun disagrees in number ("seven guest", "one reviewers").
pub fn count_disagreements(text: &str) -> usize {
    let w = words(text);
    let mut n = 0;
    for (i, word) in w.iter().enumerate() {
        // A count as a possessive ("two's money") is the pronoun "one's" with its number changed.
        if let Some(base) = word.strip_suffix("'s") {
            if NUMBER_WORDS.iter().any(|(x, v)| *x == base && *v > 1) {
                n += 1;
            }
            continue;
        }
        let Some((_, v)) = NUMBER_WORDS.iter().find(|(x, _)| x == word) else {
            continue;
        };
        // The counted noun may follow up to two modifiers ("two past guests").
        for next in w.iter().skip(i + 1).take(3) {
            if next == "of" {
                break; // partitive: "one of the reviewers"
            }
            let singular = COUNTED.iter().any(|(s, _)| s == next);
            let plural = COUNTED.iter().any(|(_, p)| p == next);
            if singular || plural {
                if (*v == 1 && plural) || (*v > 1 && singular) {
                    n += 1;
                }
                break;
            }
        }
    }
    n
}

/// Distinct stemmed content tokens.
pub fn token_set(text: &str) -> HashSet<String> {
    content_tokens(text).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_keep_spans_and_decimals() {
        let t = "Check-in is at 3.30 pm. Is it quiet? Yes!\nNext line";
        let s: Vec<&str> = sentences(t).iter().map(|s| &t[s.start..s.end]).collect();
        assert_eq!(
            s,
            [
                "Check-in is at 3.30 pm.",
                "Is it quiet?",
                "Yes!",
                "Next line"
            ]
        );
    }

    #[test]
    fn numbers_find_digits_and_words() {
        assert_eq!(
            numbers("from 3:30pm to 9, two people"),
            (vec![3, 30, 9], vec![2])
        );
    }

    #[test]
    fn aliases_drop_generic_words() {
        assert_eq!(
            aliases("THE LENSFIELD HOTEL"),
            [
                "the lensfield hotel",
                "lensfield hotel",
                "the lensfield",
                "lensfield"
            ]
        );
        assert!(mentions(
            &padded("The rooms in the lensfield are small"),
            &aliases("THE LENSFIELD HOTEL")
        ));
        assert!(!mentions(
            &padded("The rooms are small"),
            &aliases("THE LENSFIELD HOTEL")
        ));
    }

    #[test]
    fn declared_names_read_line_prefixes() {
        let p = "The Nirala: Great view.\nBackstreet Bistro: Do you serve alcohol? Yes.\nno prefix here";
        assert_eq!(declared_names(p), ["The Nirala", "Backstreet Bistro"]);
    }

    #[test]
    fn counts_must_agree_with_their_noun() {
        assert_eq!(count_disagreements("Two past guest said so"), 1);
        assert_eq!(
            count_disagreements("Two past guests said so; one reviewer agreed"),
            0
        );
        assert_eq!(count_disagreements("one of the reviewers"), 0);
    }

    #[test]
    fn number_mentions_carry_their_context() {
        let m = number_mentions("Check-in is from 3:30pm; breakfast costs £11 per guest.");
        let v: Vec<(u64, Option<&str>, Option<&str>)> = m
            .iter()
            .map(|m| (m.value, m.before.as_deref(), m.after.as_deref()))
            .collect();
        assert_eq!(
            v,
            [
                (3, None, Some("pm")),
                (30, None, Some("pm")),
                (11, Some("gbp"), Some("guest")),
            ]
        );
    }

    #[test]
    fn number_context_stops_at_commas() {
        let m = number_mentions("According to one review, they had a choice of 12 beers.");
        assert_eq!(m[0].after.as_deref(), Some("review"));
        let p = number_mentions("They had a choice of 12 beers.");
        assert!(!number_substituted(&m, &p));
    }

    #[test]
    fn a_swapped_number_is_found_by_its_context() {
        let p = number_mentions("Patrons need to cancel no later than five days in advance.");
        let same = number_mentions("Cancel five days ahead.");
        let swapped = number_mentions("Cancel no later than three days in advance.");
        let unrelated = number_mentions("Two reviewers liked it.");
        assert!(!number_substituted(&same, &p));
        assert!(number_substituted(&swapped, &p));
        assert!(!number_substituted(&unrelated, &p));
    }

    #[test]
    fn fractions_and_possessive_counts_must_agree() {
        assert_eq!(count_disagreements("One thirds felt the price was high"), 1);
        assert_eq!(count_disagreements("good value for two's money"), 1);
        assert_eq!(
            count_disagreements("value for one's money; two thirds agreed"),
            0
        );
    }

    #[test]
    fn polarity_and_negation() {
        assert_eq!(lead_polarity("No, pets are not allowed"), Some(false));
        assert_eq!(lead_polarity("Yes, there is parking"), Some(true));
        assert_eq!(lead_polarity("There is parking"), None);
        assert_eq!(lead_polarity("Unfortunately, the wifi is slow"), None);
        assert_eq!(negations("It isn't clean and there is no towel"), 2);
    }
}
