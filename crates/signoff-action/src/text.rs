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

/// The value of a spelled number word: a [`CARDINALS`] entry, or a word that names a count
/// or an hour without being a cardinal ("once", "single", "noon", "midnight").
fn spelled_value(w: &str) -> Option<u64> {
    word_value(CARDINALS, w).or(match w {
        "once" | "single" => Some(1),
        "noon" | "midnight" => Some(12),
        _ => None,
    })
}

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
        if let Some(v) = spelled_value(&w) {
            spelled.push(v);
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
/// "11"), and sentence ends are kept as "." so context stops at them. With `colons`, a ':'
/// is kept as a token too (so "3:30" reads as a time).
fn number_tokens(text: &str, colons: bool) -> Vec<String> {
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
            ':' if colons => out.push(":".into()),
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
    let toks = number_tokens(text, false);
    let value = |t: &str| -> Option<(u64, bool)> {
        if t.bytes().all(|b| b.is_ascii_digit()) {
            return t.parse().ok().map(|v| (v, false));
        }
        let t = t.trim_end_matches("'s");
        spelled_value(t).map(|v| (v, true))
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
            if spelled_value(base).is_some_and(|v| v > 1) {
                n += 1;
            }
            continue;
        }
        let Some(v) = spelled_value(word) else {
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
                if (v == 1 && plural) || (v > 1 && singular) {
                    n += 1;
                }
                break;
            }
        }
    }
    n
}

/// Whether a lower-case word is a stop word, a negation or a number word (never a name).
pub fn is_function_word(w: &str) -> bool {
    STOP.contains(&w)
        || NEGATIONS.contains(&w)
        || word_value(CARDINALS, w).is_some()
        || word_value(ORDINALS, w).is_some()
}

/// Distinct stemmed content tokens.
pub fn token_set(text: &str) -> HashSet<String> {
    content_tokens(text).into_iter().collect()
}

/// The words of an entity name that tell it apart (generic words such as "hotel" or
/// "guest house" and words under three letters dropped), apostrophes removed.
pub fn distinctive_words(name: &str) -> Vec<String> {
    words(name)
        .into_iter()
        .filter(|w| !GENERIC.contains(&w.as_str()))
        .map(|w| w.trim_end_matches("'s").replace('\'', ""))
        .filter(|w| w.chars().count() >= 3)
        .collect()
}

/// Whether two words are the same up to one edit (insertion, deletion, substitution or
/// swap of neighbours): misspellings of a name ("Restuarant", "Allenbel").
pub fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a == b {
        return true;
    }
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let i = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[i..], &b[i..]);
    if ra.len() == rb.len() {
        ra[1..] == rb[1..]
            || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
    } else if ra.len() > rb.len() {
        ra[1..] == *rb
    } else {
        rb[1..] == *ra
    }
}

/// Whether a text names the entity, allowing a misspelt or run-together distinctive word
/// ("Allen bell" for "Allenbell", "Hobson's" for "Hobsons"). Words of five letters or more
/// may be one edit off.
pub fn names_loosely(text: &str, name: &str) -> bool {
    let dist = distinctive_words(name);
    if dist.is_empty() {
        // A name of generic words only ("A and B Guest House") is matched by the words before
        // its kind ("a and b"), when there are at least two, else in full.
        let ws = words(name);
        let head: Vec<&str> = ws
            .iter()
            .map(String::as_str)
            .take_while(|w| {
                !matches!(
                    *w,
                    "guest"
                        | "house"
                        | "guesthouse"
                        | "hotel"
                        | "restaurant"
                        | "bed"
                        | "breakfast"
                        | "bar"
                        | "grill"
                        | "cafe"
                        | "lodge"
                        | "inn"
                        | "kitchen"
                )
            })
            .collect();
        let key = if head.len() >= 2 {
            head.join(" ")
        } else {
            ws.join(" ")
        };
        return padded(text).contains(&format!(" {key} "));
    }
    let ws: Vec<String> = words(text)
        .into_iter()
        .map(|w| w.trim_end_matches("'s").replace('\'', ""))
        .collect();
    let joined: Vec<String> = ws.windows(2).map(|p| format!("{}{}", p[0], p[1])).collect();
    dist.iter().any(|d| {
        ws.iter()
            .chain(&joined)
            .any(|w| w == d || (d.chars().count() >= 5 && within_one_edit(w, d)))
    })
}

/// Cardinal number words, the one list every number reader uses ("once", "single", "noon",
/// "midnight" are read by [`spelled_value`] only, not as quantities).
const CARDINALS: &[(&str, u64)] = &[
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
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("eighty", 80),
    ("ninety", 90),
    ("hundred", 100),
    ("thousand", 1000),
    ("dozen", 12),
    ("twice", 2),
];

/// Ordinal words (also fraction denominators: "two thirds").
const ORDINALS: &[(&str, u64)] = &[
    ("first", 1),
    ("second", 2),
    ("third", 3),
    ("fourth", 4),
    ("fifth", 5),
    ("sixth", 6),
    ("seventh", 7),
    ("eighth", 8),
    ("ninth", 9),
    ("tenth", 10),
    ("eleventh", 11),
    ("twelfth", 12),
    ("twentieth", 20),
    ("thirtieth", 30),
    ("hundredth", 100),
];

/// Words after a count that only a single subject takes ("one should expect", "one is"): a
/// count above one before them is a changed number, not a count.
const SINGULAR_VERBS: &[&str] = &[
    "is",
    "was",
    "has",
    "does",
    "doesn't",
    "isn't",
    "wasn't",
    "hasn't",
    "should",
    "shouldn't",
    "must",
    "can",
    "cannot",
    "can't",
    "will",
    "won't",
    "would",
    "could",
    "may",
    "might",
    "says",
    "thinks",
    "feels",
    "finds",
];

/// What a quantity measures, as far as its writing tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantityKind {
    /// A spelled count ("three").
    Count,
    /// A bare digit run ("12").
    Digits,
    /// An ordinal ("first", "2nd").
    Ordinal,
    /// A time of day; the value is minutes after midnight ("3:30pm" = 930).
    Time,
    /// An amount of money ("£11", "20 dollars").
    Money,
    /// A percentage ("50%", "50 percent").
    Percent,
    /// A fraction's numerator ("two thirds": value 2, denominator 3).
    Fraction,
}

/// One number a text states, normalised so that differently written equal values meet
/// ("3 pm" and "15:00", "three" and "3", "£20" and "20 pounds").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity {
    /// The value (minutes after midnight for a time).
    pub value: u64,
    /// For a time written without am/pm ("3:30"), the same clock time in the other half day.
    pub alt: Option<u64>,
    /// What it measures.
    pub kind: QuantityKind,
    /// A fraction's denominator (0 otherwise).
    pub denominator: u64,
    /// The token right after it, lower case ("should" in "one should").
    pub next: Option<String>,
    /// The token right before it, lower case ("restaurant" in "Restaurant Two Two").
    pub prev: Option<String>,
    /// Whether "a" or "an" stands one or two tokens before it ("a good one").
    pub article: bool,
    /// Stemmed content words after it in its clause (what it counts).
    pub clause: Vec<String>,
}

impl Quantity {
    /// Plain numbers it may be written as elsewhere: a time's hour on either clock, else the
    /// value.
    fn plain(&self) -> Vec<u64> {
        if self.kind != QuantityKind::Time {
            return vec![self.value];
        }
        let mut out = Vec::new();
        for t in std::iter::once(self.value).chain(self.alt) {
            let h = t / 60 % 24;
            out.push(h);
            out.push(if h > 12 { h - 12 } else { h });
            if h == 0 {
                out.push(12);
            }
        }
        out
    }

    /// Whether two quantities state the same value (two times compare as clock times).
    pub fn same_as(&self, other: &Quantity) -> bool {
        if self.kind == QuantityKind::Time && other.kind == QuantityKind::Time {
            let a = [Some(self.value), self.alt];
            let b = [Some(other.value), other.alt];
            return a
                .iter()
                .flatten()
                .any(|x| b.iter().flatten().any(|y| x == y));
        }
        let b = other.plain();
        self.plain().iter().any(|x| b.contains(x))
    }
}

fn digit_value(t: &str) -> Option<u64> {
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse().ok()
    } else {
        None
    }
}

fn word_value(table: &[(&str, u64)], t: &str) -> Option<u64> {
    table.iter().find(|(w, _)| *w == t).map(|(_, v)| *v)
}

/// A fraction's denominator word ("third", "thirds", "quarter", "halves").
fn denominator(t: &str) -> Option<u64> {
    match t {
        "half" | "halves" => Some(2),
        "quarter" | "quarters" => Some(4),
        _ => word_value(ORDINALS, t)
            .or_else(|| word_value(ORDINALS, t.strip_suffix('s')?))
            .filter(|v| *v > 2),
    }
}

/// The numbers a text states, with what they measure and the words they count. Digits,
/// number words (compounds such as "twenty five", "two hundred"), ordinals ("third", "3rd"),
/// times ("3:30pm", "15:00", "noon"), money ("£11", "20 dollars"), percentages and
/// fractions ("two thirds").
pub fn quantities(text: &str) -> Vec<Quantity> {
    use QuantityKind::*;
    let toks = number_tokens(text, true);
    let at = |i: usize| toks.get(i).map(String::as_str);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i].as_str();
        let (mut value, mut kind) = if let Some(v) = digit_value(t) {
            (v, Digits)
        } else if let Some(v) = word_value(CARDINALS, t) {
            (v, Count)
        } else if let Some(v) = word_value(ORDINALS, t) {
            (v, Ordinal)
        } else if t == "noon" || t == "midday" {
            (720, Time)
        } else if t == "midnight" {
            (0, Time)
        } else {
            i += 1;
            continue;
        };
        let mut alt = None;
        let mut den = 0;
        let mut j = i + 1;
        if kind == Count {
            if (20..100).contains(&value) && value % 10 == 0 {
                if let Some(u) = at(j).and_then(|x| word_value(CARDINALS, x)) {
                    if (1..10).contains(&u) {
                        value += u;
                        j += 1;
                    }
                }
            }
            if let Some(h) = at(j).and_then(|x| word_value(CARDINALS, x)) {
                if h == 100 || h == 1000 {
                    value *= h;
                    j += 1;
                }
            }
        }
        if kind == Digits && at(j) == Some(":") {
            if let Some(m) = at(j + 1).filter(|x| x.len() == 2).and_then(digit_value) {
                if value < 24 && m < 60 {
                    kind = Time;
                    value = value * 60 + m;
                    j += 2;
                }
            }
        }
        let meridiem = match (at(j), at(j + 1), at(j + 2)) {
            (Some("am"), _, _) => Some((false, 1)),
            (Some("pm"), _, _) => Some((true, 1)),
            (Some("a"), Some("."), Some("m")) => Some((false, 3)),
            (Some("p"), Some("."), Some("m")) => Some((true, 3)),
            _ => None,
        };
        let prev = i.checked_sub(1).and_then(at);
        if kind == Digits || kind == Time {
            let (h, m) = if kind == Time {
                (value / 60, value % 60)
            } else {
                (value, 0)
            };
            if let Some((pm, skip)) = meridiem.filter(|_| (1..=12).contains(&h)) {
                value = (h % 12 + if pm { 12 } else { 0 }) * 60 + m;
                kind = Time;
                j += skip;
                if at(j) == Some(".") && skip == 3 {
                    j += 1;
                }
            } else if kind == Time && (1..=12).contains(&h) {
                alt = Some(((h % 12) + 12) * 60 + m);
                if h == 12 {
                    alt = Some(m);
                }
            } else if at(j) == Some("o'clock") && (1..=12).contains(&h) {
                kind = Time;
                value = h * 60;
                alt = Some((h % 12 + 12) * 60);
                j += 1;
            }
        }
        if kind == Digits || kind == Count {
            let money_before = matches!(prev, Some("gbp" | "usd" | "eur"));
            let money_after = matches!(
                at(j),
                Some(
                    "gbp"
                        | "usd"
                        | "eur"
                        | "pound"
                        | "pounds"
                        | "dollar"
                        | "dollars"
                        | "euro"
                        | "euros"
                        | "quid"
                )
            );
            if money_before || money_after {
                kind = Money;
            } else if at(j) == Some("percent") || at(j) == Some("per") && at(j + 1) == Some("cent")
            {
                kind = Percent;
            } else if kind == Digits && matches!(at(j), Some("st" | "nd" | "rd" | "th")) {
                kind = Ordinal;
                j += 1;
            } else if let Some(d) = at(j).and_then(denominator) {
                kind = Fraction;
                den = d;
                j += 1;
            }
        }
        let next = at(j).map(str::to_string);
        let clause = toks[j.min(toks.len())..]
            .iter()
            .take_while(|x| {
                !matches!(
                    x.as_str(),
                    "." | "," | "but" | "while" | "whereas" | "although" | "though" | "however"
                )
            })
            .filter(|x| {
                x.chars().all(char::is_alphabetic)
                    && !STOP.contains(&x.as_str())
                    && !NEGATIONS.contains(&x.as_str())
                    && word_value(CARDINALS, x).is_none()
            })
            .map(|x| stem(x))
            .collect();
        out.push(Quantity {
            value,
            alt,
            kind,
            denominator: den,
            next,
            prev: prev.map(str::to_string),
            article: [i.checked_sub(1), i.checked_sub(2)]
                .iter()
                .flatten()
                .any(|k| matches!(at(*k), Some("a" | "an"))),
            clause,
        });
        i = j.max(i + 1);
    }
    out
}

/// Numbers of a claim its passage never states (in any writing) and cannot back, by how sure
/// the conflict is. Certain (`strict`): a time, a price, a zero, a percentage where the
/// passage gives one, an ordinal where the passage has another for the same thing, or a
/// count above the number of passage lines. Likely (not `strict`): also a count above the
/// most passage lines holding one word of what it counts (people summarise loosely, so
/// this one is left to the model). `lines` are the passage's snippet texts.
pub fn number_conflicts(claim: &str, passage: &str, lines: &[String], strict: bool) -> usize {
    use QuantityKind::*;
    let found = quantities(passage);
    let line_toks: Vec<HashSet<String>> = lines.iter().map(|l| token_set(l)).collect();
    quantities(claim)
        .iter()
        .filter(|q| !found.iter().any(|p| q.same_as(p)))
        .filter(|q| match q.kind {
            Fraction => false,
            Time | Money => true,
            Percent => found.iter().any(|p| p.kind == Percent),
            Ordinal => found
                .iter()
                .any(|p| p.kind == Ordinal && p.next.is_some() && p.next == q.next),
            Count | Digits => {
                if q.kind == Digits && q.value == 0 {
                    return true;
                }
                if q.value < 2 {
                    return false;
                }
                let most = q
                    .clause
                    .iter()
                    .map(|t| line_toks.iter().filter(|l| l.contains(t)).count())
                    .max()
                    .unwrap_or(0);
                let backed = if most == 0 || strict {
                    lines.len()
                } else {
                    most
                };
                q.value as usize > backed
            }
        })
        .count()
}

/// Whether a token set holds a stem or one of its forms that the light stemmer leaves
/// apart ("price" and "priced" → "pric"): one a prefix of the other, four letters or more.
fn has_stem(set: &HashSet<String>, t: &str) -> bool {
    set.contains(t)
        || set.iter().any(|s| {
            let (short, long) = if s.len() <= t.len() {
                (s.as_str(), t)
            } else {
                (t, s.as_str())
            };
            short.len() >= 4 && long.starts_with(short) && long.len() - short.len() <= 1
        })
}

/// Counts of reviewers far above what the passage says about the thing counted: a count
/// of at least three that is not the number of lines and exceeds by two or more the most
/// lines holding one word of what it counts ("four said exquisite" where one line says
/// exquisite). Two against one is left alone: people summarise loosely.
pub fn counts_far_above_lines(claim: &str, passage: &str, lines: &[String]) -> usize {
    let line_toks: Vec<HashSet<String>> = lines.iter().map(|l| token_set(l)).collect();
    let found = quantities(passage);
    quantities(&unquoted(claim, passage))
        .iter()
        .filter(|q| matches!(q.kind, QuantityKind::Count | QuantityKind::Digits))
        .filter(|q| !found.iter().any(|p| q.same_as(p)))
        .filter(|q| {
            let most = q
                .clause
                .iter()
                .map(|t| line_toks.iter().filter(|l| has_stem(l, t)).count())
                .max()
                .unwrap_or(0);
            q.value >= 3
                && q.value as usize != lines.len()
                && most >= 1
                && q.value as usize >= most + 2
        })
        .count()
}

/// Counts of two whose clause restates one line closely (three of its content words or more
/// in that line) when no other line holds any word of the clause: "two found it exquisite and
/// something they had never seen before" where only one line says so. A loose summary ("two
/// said it was quiet", one word) is left alone.
pub fn count_two_from_one_line(claim: &str, passage: &str, lines: &[String]) -> usize {
    let line_toks: Vec<HashSet<String>> = lines.iter().map(|l| token_set(l)).collect();
    let found = quantities(passage);
    quantities(&unquoted(claim, passage))
        .iter()
        .filter(|q| q.kind == QuantityKind::Count && q.value == 2)
        .filter(|q| !found.iter().any(|p| q.same_as(p)))
        .filter(|q| {
            let clause: HashSet<&String> = q.clause.iter().collect();
            let hits: Vec<usize> = line_toks
                .iter()
                .map(|l| clause.iter().filter(|t| l.contains(**t)).count())
                .collect();
            hits.iter().filter(|h| **h > 0).count() == 1 && hits.iter().any(|h| *h >= 3)
        })
        .count()
}

/// Counts whose grammar says they were changed: an improper fraction ("five thirds") or a
/// count above one before a verb only a single subject takes ("two should expect", the
/// pronoun "one" turned into a number), after an article with nothing to count ("a good
/// three."), or as a possessive ("four's"). A number the passage writes with the same word
/// before it is a quoted name or phrase ("Restaurant Two Two does"), not a count.
pub fn quantity_grammar_conflicts(text: &str, passage: &str) -> usize {
    let ppad = padded(passage);
    let toks = number_tokens(text, true);
    quantities(text)
        .iter()
        .filter(|q| {
            let Some(prev) = &q.prev else {
                return true;
            };
            // The number's own word: the token after `prev` in the text.
            let word = toks
                .windows(2)
                .find(|w| &w[0] == prev && word_value(CARDINALS, &w[1]).is_some())
                .map(|w| w[1].clone());
            !word.is_some_and(|w| ppad.contains(&format!(" {prev} {w} ")))
        })
        .filter(|q| match q.kind {
            QuantityKind::Fraction => q.value >= q.denominator,
            QuantityKind::Count => {
                let counts_nothing = q.next.as_deref().is_none_or(|n| n == "." || n == ",");
                q.value > 1
                    && (q.next.as_deref().is_some_and(|n| SINGULAR_VERBS.contains(&n))
                        // "a good three.": the pronoun "one" after an article, changed.
                        || (q.article && counts_nothing && ![12, 100, 1000].contains(&q.value)))
            }
            _ => false,
        })
        .count()
        // "four's treated": the pronoun "one's" changed into a count.
        + toks
            .iter()
            .filter(|t| {
                t.strip_suffix("'s")
                    .and_then(|b| word_value(CARDINALS, b))
                    .is_some_and(|v| v > 1)
                    && !ppad.contains(&format!(" {t} "))
            })
            .count()
}

/// Verbs a pronoun "one" takes ("one says", "one thinks"): a word ending in -s after "one"
/// that is not one of these is a plural noun ("one guests"), a changed count.
const ONE_VERBS: &[&str] = &[
    "is",
    "was",
    "has",
    "does",
    "says",
    "seems",
    "thinks",
    "feels",
    "finds",
    "mentions",
    "states",
    "notes",
    "claims",
    "complains",
    "likes",
    "loves",
    "raves",
    "describes",
    "goes",
    "comes",
    "gets",
    "makes",
    "wants",
    "needs",
    "agrees",
    "remarks",
    "recommends",
    "gives",
    "takes",
    "calls",
    "writes",
    "adds",
    "praises",
    "points",
    "compares",
    "looks",
    "sounds",
];

/// Nouns for who or what a review count counts (people, reviews, comments).
const COUNT_NOUNS: &[&str] = &[
    "person",
    "people",
    "guest",
    "guests",
    "customer",
    "customers",
    "reviewer",
    "reviewers",
    "review",
    "reviews",
    "diner",
    "diners",
    "visitor",
    "visitors",
    "patron",
    "patrons",
    "comment",
    "comments",
    "other",
    "others",
];

/// Reporting verbs after a count of reviewers ("two said", "three complained").
const REPORT_VERBS: &[&str] = &[
    "said",
    "say",
    "says",
    "thought",
    "think",
    "thinks",
    "found",
    "find",
    "finds",
    "felt",
    "feel",
    "feels",
    "complained",
    "complain",
    "complains",
    "claimed",
    "claim",
    "mentioned",
    "mention",
    "mentions",
    "stated",
    "state",
    "noted",
    "reported",
    "described",
    "agreed",
    "loved",
    "liked",
    "enjoyed",
    "disliked",
    "gave",
    "saying",
    "claiming",
    "thinking",
    "finding",
    "feeling",
    "complaining",
    "mentioning",
    "stating",
    "noting",
    "reporting",
    "describing",
    "complimented",
    "praised",
    "raved",
    "commented",
    "wrote",
    "rated",
    "recommended",
];

/// Words after "N of the" that make it a list of N highlights ("one of the best", "one of
/// the benefits"): a count above one there is the "one" of the idiom changed.
const LIST_HEADS: &[&str] = &[
    "best",
    "worst",
    "top",
    "main",
    "major",
    "biggest",
    "greatest",
    "highlights",
    "benefits",
    "aspects",
    "perks",
    "downsides",
    "positives",
    "negatives",
    "reasons",
    "things",
    "points",
    "features",
    "drawbacks",
];

/// The count a token states, when it is a plain count (digits or a cardinal word up to
/// twenty), not part of a time, price, percentage or ordinal.
fn plain_count(toks: &[String], i: usize) -> Option<u64> {
    let t = toks[i].as_str();
    let v = digit_value(t).or_else(|| word_value(CARDINALS, t).filter(|v| *v <= 20))?;
    let prev = i.checked_sub(1).map(|k| toks[k].as_str());
    let next = toks.get(i + 1).map(String::as_str);
    let unit = matches!(prev, Some("gbp" | "usd" | "eur" | ":" | "per"))
        || matches!(
            next,
            Some(
                ":" | "gbp"
                    | "usd"
                    | "eur"
                    | "pound"
                    | "pounds"
                    | "dollar"
                    | "dollars"
                    | "euro"
                    | "euros"
                    | "percent"
                    | "am"
                    | "pm"
                    | "st"
                    | "nd"
                    | "rd"
                    | "th"
                    | "o'clock"
            )
        );
    (!unit).then_some(v)
}

/// Passage snippet lines that are reviews (not FAQ question-and-answer lines).
fn review_lines(passage: &str) -> usize {
    passage
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains('?'))
        .count()
}

/// The sum of the reviewer counts of a token run: each count with a person, review or
/// reporting word within three tokens after it ("two guests", "three said"; not "two of"),
/// plus one for each "another".
fn reviewer_sum(toks: &[String]) -> u64 {
    (0..toks.len())
        .map(|i| {
            // "another said", and "a third complained" after two others.
            let ordinal_one = i > 0
                && toks[i - 1] == "a"
                && word_value(ORDINALS, &toks[i]).is_some_and(|v| v > 1)
                && toks
                    .get(i + 1)
                    .is_some_and(|x| REPORT_VERBS.contains(&x.as_str()));
            // "while others said" / "the rest said": at least one more reviewer.
            let more = matches!(toks[i].as_str(), "others" | "rest")
                && i > 0
                && plain_count(toks, i - 1).is_none()
                && (toks[i] == "others" || toks[i - 1] == "the")
                && toks
                    .get(i + 1)
                    .is_some_and(|x| REPORT_VERBS.contains(&x.as_str()));
            if toks[i] == "another" || ordinal_one || more {
                return 1;
            }
            let Some(v) = plain_count(toks, i) else {
                return 0;
            };
            // A run of number words is a name ("Restaurant Two Two"), not a count.
            let in_run = |k: Option<usize>| {
                k.and_then(|k| toks.get(k))
                    .is_some_and(|x| word_value(CARDINALS, x).is_some())
            };
            if in_run(i.checked_sub(1)) || in_run(Some(i + 1)) {
                return 0;
            }
            let after = &toks[i + 1..(i + 4).min(toks.len())];
            let counts_people = after.first().is_none_or(|x| x != "of")
                && after.iter().any(|x| {
                    COUNT_NOUNS.contains(&x.as_str()) || REPORT_VERBS.contains(&x.as_str())
                });
            if counts_people {
                v
            } else {
                0
            }
        })
        .sum()
}

/// The sentences of a claim that the passage does not hold word for word (a quoted sentence
/// is backed whatever its grammar), joined by spaces.
pub fn unquoted(claim: &str, passage: &str) -> String {
    let ppad = padded(passage);
    sentences(claim)
        .iter()
        .map(|s| &claim[s.start..s.end])
        .filter(|s| !ppad.contains(&padded(s)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Counts of reviewers, reviews or places a claim states that its passage cannot back,
/// read from their grammar and the passage's shape (each is how a summary's count reads
/// once its number was changed):
/// - "all N" with N not the number of entities the passage names (or "all one");
/// - "the other N." with N not the number of the other entities;
/// - "one" before a plural noun ("one guests"), "there is N", "no N" before a singular;
/// - "N of the … is" (a plural subject with a singular verb), "N of the best/benefits";
/// - "out of N" with N not the number of review lines;
/// - reviewer counts ("two said", "three guests", "another") summing above the review
///   lines, in the whole claim or in a sentence naming one entity above that entity's lines.
pub fn count_conflicts(claim: &str, passage: &str) -> usize {
    let claim = &unquoted(claim, passage);
    let toks = number_tokens(claim, true);
    let at = |i: usize| toks.get(i).map(String::as_str);
    let names = declared_names(passage);
    let entities = names.len() as u64;
    let reviews = review_lines(passage);
    let mut n = 0;
    for i in 0..toks.len() {
        let Some(v) = plain_count(&toks, i) else {
            continue;
        };
        let prev = i.checked_sub(1).and_then(at);
        let prev2 = i.checked_sub(2).and_then(at);
        let next = at(i + 1).unwrap_or(".");
        let ends = matches!(next, "." | ",");
        let conflict = (prev == Some("all") && (v == 1 || (entities > 1 && v != entities)))
            || (prev == Some("other")
                && prev2 == Some("the")
                && ends
                && entities > 1
                && v != entities - 1)
            || (toks[i] == "one"
                && next.len() > 3
                && next.ends_with('s')
                && !["ss", "us", "is", "'s"].iter().any(|x| next.ends_with(x))
                && !ONE_VERBS.contains(&next))
            || (v > 1
                && (prev == Some("there's")
                    || (prev2 == Some("there") && matches!(prev, Some("is" | "was")))))
            || (v > 1 && prev == Some("no") && !next.ends_with('s'))
            || (v > 1 && next == "of" && plural_subject_singular_verb(&toks[i + 2..]))
            || (v > 1
                && next == "of"
                && at(i + 2) == Some("the")
                && at(i + 3).is_some_and(|w| LIST_HEADS.contains(&w)))
            || (prev == Some("of") && prev2 == Some("out") && v as usize != reviews);
        n += usize::from(conflict);
    }
    let total = reviewer_sum(&toks);
    n += usize::from(total > 1 && total as usize > reviews);
    // "Most reviewers said noisy ... eight found it quiet": a count beside "most" is the
    // minority, at most half of the review lines.
    let most = toks.windows(2).any(|w| {
        matches!(w[0].as_str(), "most" | "majority")
            && (COUNT_NOUNS.contains(&w[1].as_str()) || w[1] == "of")
    });
    if most {
        n += (0..toks.len())
            .filter_map(|i| {
                let v = plain_count(&toks, i)?;
                let after = &toks[i + 1..(i + 3).min(toks.len())];
                let people = after.iter().any(|x| {
                    COUNT_NOUNS.contains(&x.as_str()) || REPORT_VERBS.contains(&x.as_str())
                }) && after.first().is_none_or(|x| x != "of");
                (people && 2 * v as usize > reviews.max(1)).then_some(())
            })
            .count()
            .min(1);
    }
    if names.len() > 1 {
        for s in sentences(claim) {
            let sentence = &claim[s.start..s.end];
            let named: Vec<&String> = names
                .iter()
                .filter(|name| names_loosely(sentence, name))
                .collect();
            let [name] = named[..] else {
                continue;
            };
            let own = passage
                .lines()
                .filter(|l| l.trim_start().starts_with(name.as_str()) && !l.contains('?'))
                .count();
            let sum = reviewer_sum(&number_tokens(sentence, true));
            n += usize::from(sum > 1 && sum as usize > own);
        }
    }
    n
}

/// Whether the tokens after a count's "of" ("the best points of the hotel … is") reach a
/// singular verb before a plural one or the end of the clause.
fn plural_subject_singular_verb(rest: &[String]) -> bool {
    if !rest
        .first()
        .is_some_and(|w| matches!(w.as_str(), "the" | "their" | "its"))
    {
        return false;
    }
    for w in rest.iter().skip(1).take(11) {
        match w.as_str() {
            "is" | "was" | "has" => return true,
            "are" | "were" | "have" | "that" | "which" | "who" | "," | "." | "and" | "but"
            | "while" => return false,
            _ => {}
        }
    }
    false
}

/// Numbers written in a form no real value takes: a time with one minute digit ("22:1"), a
/// range from a time to the same time ("between 8 am and 8 am") the passage never gives, or
/// a numbered name written with other numbers ("Restaurant One One" where the passage names
/// "Restaurant Two Two").
pub fn number_form_conflicts(claim: &str, passage: &str) -> usize {
    let claim = &unquoted(claim, passage);
    let toks = number_tokens(claim, true);
    let ppad = padded(passage);
    let mut n = toks
        .windows(3)
        .filter(|w| {
            w[1] == ":"
                && digit_value(&w[0]).is_some_and(|h| h < 24)
                && w[2].len() == 1
                && digit_value(&w[2]).is_some()
                && !passage.contains(&format!("{}:{}", w[0], w[2]))
        })
        .count();
    // A percentage the passage does not state is a share of its review lines ("66% negative"
    // of three lines), or a changed number.
    let found = quantities(passage);
    let reviews = review_lines(passage) as u64;
    n += quantities(claim)
        .iter()
        .filter(|q| q.kind == QuantityKind::Percent && q.value <= 100)
        .filter(|q| {
            !found
                .iter()
                .any(|p| p.kind == QuantityKind::Percent && p.value == q.value)
        })
        .filter(|q| {
            reviews == 0
                || !(0..=reviews).any(|k| {
                    let share = 100 * k / reviews;
                    q.value == share || q.value == (100 * k + reviews / 2) / reviews
                })
        })
        .count();
    let same_time_twice = |text: &str| {
        sentences(text).iter().any(|s| {
            let times: Vec<Quantity> = quantities(&text[s.start..s.end])
                .into_iter()
                .filter(|q| q.kind == QuantityKind::Time)
                .collect();
            times
                .iter()
                .enumerate()
                .any(|(i, a)| times[i + 1..].iter().any(|b| a.value == b.value))
        })
    };
    if same_time_twice(claim) && !same_time_twice(passage) {
        n += 1;
    }
    // A run of number words that is no compound number is a numbered name ("Seven Seven"):
    // the passage must write it so.
    let cw = words(claim);
    let mut i = 0;
    while i < cw.len() {
        let run = cw[i..]
            .iter()
            .take_while(|w| word_value(CARDINALS, w).is_some())
            .count();
        if run >= 2 {
            let vals: Vec<u64> = cw[i..i + run]
                .iter()
                .filter_map(|w| word_value(CARDINALS, w))
                .collect();
            let compound = run == 2
                && ((vals[0] >= 20 && vals[0].is_multiple_of(10) && vals[1] < 10)
                    || vals[1] == 100
                    || vals[1] == 1000);
            if !compound && !ppad.contains(&format!(" {} ", cw[i..i + run].join(" "))) {
                n += 1;
            }
        }
        i += run.max(1);
    }
    for name in declared_names(passage) {
        let ws = words(&name);
        let Some(first) = ws.iter().position(|w| word_value(CARDINALS, w).is_some()) else {
            continue;
        };
        if first == 0 {
            continue;
        }
        let prefix = ws[..first].join(" ");
        let cw = padded(claim);
        let mut rest = cw.as_str();
        while let Some(k) = rest.find(&format!(" {prefix} ")) {
            let after = &rest[k + prefix.len() + 2..];
            let nums: Vec<&str> = after
                .split(' ')
                .take_while(|w| word_value(CARDINALS, w).is_some())
                .collect();
            if !nums.is_empty() {
                let written = format!(" {prefix} {} ", nums.join(" "));
                if !ppad.contains(&written) {
                    n += 1;
                }
            }
            rest = after;
        }
    }
    n
}

/// Words that state the negative side of a yes/no fact without a negation, each with the
/// shared word it is compared under and whether it is the negative side ("prohibited" is a
/// negative "allow", "free" a positive "free", "charged" a negative "free").
const POLAR: &[(&str, &str, bool)] = &[
    ("allowed", "allow", false),
    ("allow", "allow", false),
    ("allows", "allow", false),
    ("permitted", "allow", false),
    ("permit", "allow", false),
    ("permits", "allow", false),
    ("welcome", "allow", false),
    ("welcomed", "allow", false),
    ("prohibited", "allow", true),
    ("prohibit", "allow", true),
    ("prohibits", "allow", true),
    ("forbidden", "allow", true),
    ("banned", "allow", true),
    ("disallowed", "allow", true),
    ("available", "available", false),
    ("unavailable", "available", true),
    ("free", "free", false),
    ("complimentary", "free", false),
    ("charge", "free", true),
    ("charged", "free", true),
    ("charges", "free", true),
    ("fee", "free", true),
    ("fees", "free", true),
    ("paid", "free", true),
    ("payable", "free", true),
    ("open", "open", false),
    ("opened", "open", false),
    ("closed", "open", true),
    ("included", "include", false),
    ("includes", "include", false),
    ("include", "include", false),
    ("excluded", "include", true),
    ("possible", "possible", false),
    ("impossible", "possible", true),
    ("accepted", "accept", false),
    ("accepts", "accept", false),
    ("accept", "accept", false),
    ("refused", "accept", true),
    ("rejected", "accept", true),
];

/// The shared word and side of a polarity word, if it is one.
fn polar(word: &str) -> Option<(&'static str, bool)> {
    POLAR
        .iter()
        .find(|(w, _, _)| *w == word)
        .map(|(_, c, neg)| (*c, *neg))
}

/// Content tokens with polarity words read as their shared word ("prohibited" and
/// "allowed" both give "allow"), for lining a claim up with the passage line it restates.
pub fn aligned_tokens(text: &str) -> HashSet<String> {
    words(text)
        .into_iter()
        .filter_map(|w| match polar(&w) {
            Some((c, _)) => Some(c.to_string()),
            None if !STOP.contains(&w.as_str()) && !NEGATIONS.contains(&w.as_str()) => {
                Some(stem(&w))
            }
            None => None,
        })
        .collect()
}

/// Tokens of a text stated negatively and positively: a token is negative when a negation
/// stands within three words before it in its clause, flipped again when it is the negative side of a
/// polarity word ("not allowed" and "prohibited" both negate "allow"; "no charge" states a
/// positive "free").
pub fn stance_tokens(text: &str) -> (HashSet<String>, HashSet<String>) {
    let (mut neg, mut pos) = (HashSet::new(), HashSet::new());
    // A negation's scope ends at its clause: "not like, however, the few options" does not
    // negate "few"; "could not be better: right in the heart" does not negate "heart".
    let clauses = sentences(text).into_iter().flat_map(|s| {
        text[s.start..s.end]
            .split([',', ';', ':', '(', ')'])
            .collect::<Vec<_>>()
    });
    for clause in clauses {
        let mut since: Option<usize> = None;
        // Negations stacked in one scope cancel in pairs ("there is not no pool").
        let mut stacked = 0usize;
        for w in words(clause) {
            let p = polar(&w);
            if p.is_none() && (NEGATIONS.contains(&w.as_str()) || w.ends_with("n't")) {
                stacked = if since.is_some() { stacked + 1 } else { 1 };
                since = Some(0);
                continue;
            }
            if p.is_none() && STOP.contains(&w.as_str()) {
                continue;
            }
            let (tok, flip) = match p {
                Some((c, n)) => (c.to_string(), n),
                None => (stem(&w), false),
            };
            let negated = match since {
                // A polarity word takes the negation for itself ("not allowed in rooms").
                Some(n) if n < 3 => {
                    since = if p.is_some() { None } else { Some(n + 1) };
                    stacked % 2 == 1
                }
                _ => {
                    since = None;
                    false
                }
            };
            if negated != flip {
                neg.insert(tok);
            } else {
                pos.insert(tok);
            }
        }
    }
    (neg, pos)
}

/// A sentence without its answering yes/no word: "No, pets are not allowed" → "pets are not
/// allowed". A "no" that is a determiner ("No pets are allowed") stays.
pub fn answer_body(sentence: &str) -> &str {
    let t = sentence.trim_start();
    let end = t
        .char_indices()
        .find(|(_, c)| !c.is_alphabetic())
        .map_or(t.len(), |(i, _)| i);
    let rest = &t[end..];
    let answers = matches!(
        t[..end].to_lowercase().as_str(),
        "yes" | "no" | "yeah" | "yep" | "nope" | "absolutely" | "certainly" | "indeed"
    );
    // Words that never follow the determiner "no" ("No pets …") but do follow an answer
    // written without a comma ("No they do not", "Yes it is").
    let then_clause = words(rest).first().is_some_and(|w| {
        matches!(
            w.as_str(),
            "they"
                | "it"
                | "i"
                | "you"
                | "we"
                | "he"
                | "she"
                | "there"
                | "the"
                | "this"
                | "that"
                | "absolutely"
                | "unfortunately"
                | "sorry"
                | "but"
                | "not"
        )
    });
    if answers
        && (rest.is_empty() || rest.starts_with([',', '.', '!', ';', ':', '-']) || then_clause)
    {
        rest.trim_start_matches([',', '.', '!', ';', ':', '-', ' '])
    } else {
        t
    }
}

/// Whether a text's stance is negative: an odd number of negations and negative polarity
/// words ("not allowed", "prohibited", "there is a fee"; "no fee" is positive).
pub fn stance_negative(text: &str) -> bool {
    let n = words(text)
        .iter()
        .filter(|w| match polar(w) {
            Some((_, neg)) => neg,
            None => NEGATIONS.contains(&w.as_str()) || w.ends_with("n't"),
        })
        .count();
    n % 2 == 1
}

/// The aspects reviews of places talk about, each a list of word forms: a trailing `*` marks
/// a word beginning ("overpric*" for "overpriced", "overpricing"), else the word itself or its
/// plural. Entity names are not aspects: "bed and breakfast" is dropped before matching, and
/// "location" (every "reviews for that location" says it) is left out.
const ASPECTS: &[&[&str]] = &[
    &["wifi", "internet*", "wireless*"],
    &[
        "drink*",
        "beer*",
        "alcohol*",
        "beverage*",
        "wine*",
        "cocktail*",
        "pint",
        "liquor*",
        "booze",
    ],
    &[
        "quiet*",
        "nois*",
        "peace*",
        "loud*",
        "silen*",
        "calm*",
        "disturb*",
        "undisturb*",
        "tranquil*",
    ],
    &[
        "pric*",
        "cheap*",
        "expens*",
        "overpric*",
        "afford*",
        "valu*",
        "money",
        "cost*",
        "reasonabl*",
        "inexpens*",
        "budget",
        "bargain*",
    ],
    &["decor*", "interior*", "ambi*", "atmospher*", "vibe"],
    &["view*", "scener*", "scenic*", "vista*", "overlook*"],
    &[
        "clean*",
        "unclean*",
        "dirt*",
        "spotless*",
        "pristine*",
        "tidy",
        "tidi*",
        "filth*",
        "housekeep*",
        "neat*",
        "stain*",
        "dust*",
    ],
    &[
        "spacious*",
        "cramp*",
        "roomy",
        "space*",
        "larg*",
        "small*",
        "big*",
        "tiny",
        "size*",
    ],
    &["portion*", "generous*", "hungry", "plenty", "leftover*"],
    &[
        "staff*",
        "service",
        "waiter*",
        "waitress*",
        "server",
        "employee*",
        "friendl*",
        "rude*",
        "helpful*",
        "attentive*",
        "host*",
        "hospitab*",
    ],
    &["parking*"],
    &["bed", "mattress*", "pillow*", "slept", "sleep*"],
    &["outdoor*", "outside", "patio*", "terrace*"],
    &[
        "located",
        "near",
        "nearby",
        "close",
        "convenien*",
        "distance*",
        "downtown",
        "spot",
        "walk*",
        "far",
    ],
    &[
        "food*",
        "dish*",
        "meal*",
        "tast*",
        "flavo*",
        "delicious*",
        "cuisine*",
        "breakfast*",
    ],
];

/// The aspects (see `ASPECTS`) a text talks about, as a bit set: "the internet was fast" and
/// "great Wi-Fi" both talk about wifi, "non-alcoholic drinks" and "craft beers" about drinks.
pub fn aspects(text: &str) -> u32 {
    let ws = words(text);
    let mut kept: Vec<String> = Vec::with_capacity(ws.len());
    let mut i = 0;
    while i < ws.len() {
        if ws[i] == "bed" && ws.get(i + 1).is_some_and(|w| w == "and" || w == "&") {
            i += 3;
            continue;
        }
        if ws[i] == "wi" && ws.get(i + 1).is_some_and(|w| w == "fi") {
            kept.push("wifi".to_string());
            i += 2;
            continue;
        }
        kept.push(ws[i].clone());
        i += 1;
    }
    let mut set = 0u32;
    for (bit, forms) in ASPECTS.iter().enumerate() {
        let hit = kept.iter().any(|w| {
            forms.iter().any(|f| match f.strip_suffix('*') {
                Some(prefix) => w.starts_with(prefix),
                None => w == f || w.strip_suffix('s') == Some(f),
            })
        });
        if hit {
            set |= 1 << bit;
        }
    }
    set
}

/// How a claim's aspects meet a passage's lines: `(absent, unmentioned)`. `absent`: the claim
/// talks about some aspect and no line talks about any of the claim's aspects (another
/// place's reply about its views, paired with snippets about rooms being clean). `unmentioned`:
/// an aspect at least half the lines (and one at least) talk about is one the claim never
/// touches.
pub fn aspect_mismatch(claim: &str, lines: &[String]) -> (bool, bool) {
    let mine = aspects(claim);
    let per_line: Vec<u32> = lines.iter().map(|l| aspects(l)).collect();
    let any_line = per_line.iter().fold(0, |a, b| a | b);
    let absent = mine != 0 && mine & any_line == 0;
    let need = (lines.len() as f64 / 2.0).max(1.0);
    let topic = (0..ASPECTS.len())
        .filter(|bit| per_line.iter().filter(|l| *l & (1 << bit) != 0).count() as f64 >= need)
        .fold(0u32, |a, bit| a | (1 << bit));
    (absent, topic != 0 && topic & mine == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Passage lines and the passage they make, joined by newlines.
    fn passage_lines(lines: &[&str]) -> (Vec<String>, String) {
        let lines: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        let p = lines.join("\n");
        (lines, p)
    }

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
    fn one_list_of_number_words_serves_every_reader() {
        // Teens come from the cardinals; "once" and "noon" keep their own readings.
        assert_eq!(numbers("thirteen rooms, once, at noon").1, vec![13, 1, 12]);
        assert_eq!(count_disagreements("seventeen guest"), 1);
        assert_eq!(number_mentions("sixteen days")[0].value, 16);
    }

    const TWO_PLACES: &str = "Acorn Guest House: The view was great.\nAcorn Guest House: We loved the view.\nAcorn Guest House: The exquisite view was unlike anything.\nAcorn Guest House: The room was small.\nLimehouse: The view was fine.";

    #[test]
    fn counts_must_fit_the_passage_shape() {
        let c = |claim: &str| count_conflicts(claim, TWO_PLACES);
        // "all N" names every entity: two here.
        assert_eq!(c("All two have a view."), 0);
        assert_eq!(c("All five have a view."), 1);
        assert_eq!(c("All one place has a view."), 1);
        assert_eq!(c("The Acorn has a better view than the other three."), 1);
        assert_eq!(c("The Acorn has a better view than the other one."), 0);
        // Grammar of a changed "one".
        assert_eq!(c("One guests loved the view."), 1);
        assert_eq!(c("One says the view was great."), 0);
        assert_eq!(c("There is three report of a small room."), 1);
        assert_eq!(c("There is one report of a small room."), 0);
        assert_eq!(c("There was no three being disruptive."), 1);
        assert_eq!(c("Three of the best points of the place is the view."), 1);
        assert_eq!(c("Three of the reviews are about the view."), 0);
        assert_eq!(c("The view is four of the benefits."), 1);
        assert_eq!(c("The view is one of the benefits."), 0);
        // Out of N reviews: N is the number of review lines (five).
        assert_eq!(c("Out of three reviews, all liked the view."), 1);
        assert_eq!(c("Out of five reviews, all liked the view."), 0);
        // Reviewer counts add up: one line for Limehouse, four for the Acorn, five in all.
        assert_eq!(
            c("One guest loved the view and two others said it was great."),
            0
        );
        assert_eq!(
            c("Four guests loved the view and two others said it was great."),
            1
        );
        assert_eq!(c("At Limehouse two guests said the view was fine."), 1);
        assert_eq!(c("At the Acorn two guests said the view was great."), 0);
        let three = "Belfry: Best for a limited budget.\nBelfry: The spa fee was too high.\nBelfry: The price was a bit more than normal.";
        assert_eq!(
            count_conflicts("One claiming it was the best, another claimed it was more than normal and a third complained about the spa.", three),
            0
        );
        assert_eq!(
            count_conflicts("Two claiming it was the best, another claimed it was more than normal and a third complained about the spa.", three),
            1
        );
        // A sentence the passage holds word for word is quoted, whatever its grammar.
        let quoted = "Hotel: Two of the best points of the hotel is the view.";
        assert_eq!(
            count_conflicts("Two of the best points of the hotel is the view.", quoted),
            0
        );
        assert_eq!(
            count_conflicts("Three of the best points of the hotel is the view.", quoted),
            1
        );
        // "while others said" is at least one more reviewer; "Two Two" is a name.
        assert_eq!(
            c("At Limehouse one guest said it was fine while others said it was great."),
            1
        );
        assert_eq!(
            c("At the Acorn one guest said it was fine while others said it was great."),
            0
        );
        let named = "Restaurant Two Two: The prices were reasonable.";
        assert_eq!(
            count_conflicts(
                "Restaurant Two Two gets mixed reviews. Some found it cheap.",
                named
            ),
            0
        );
        // Beside "most", a count is the minority: at most half of the five lines.
        assert_eq!(
            c("Most guests loved the view, but four guests said it was fine."),
            1
        );
        assert_eq!(
            c("Most guests loved the view, but two guests said it was fine."),
            0
        );
        // Prices per person are not reviewer counts.
        assert_eq!(count_conflicts("Breakfast is 10 GBP per person.", three), 0);
    }

    #[test]
    fn numbers_in_an_impossible_form_conflict() {
        let faq =
            "Acorn Guest House: What are the check-in hours? Check-in is from 15:00 to 22:00.";
        let f = |claim: &str| number_form_conflicts(claim, faq);
        assert_eq!(f("Check-in is from 15:00 to 22:00."), 0);
        assert_eq!(f("Check-in is from 15:00 to 22:1."), 1);
        assert_eq!(f("Check-in is from 3 pm to 3 pm."), 1);
        assert_eq!(f("Check-in is from 3 pm to 10 pm."), 0);
        let named =
            "Restaurant Two Two: Does it have high chairs? No high chairs at Restaurant Two Two.";
        assert_eq!(
            number_form_conflicts("No high chairs at Restaurant Two Two.", named),
            0
        );
        // Named with other numbers: the name's prefix and the run both disagree.
        assert_eq!(
            number_form_conflicts("No high chairs at Restaurant One One.", named),
            2
        );
        // A run of number words is a name the passage must write so.
        assert_eq!(
            number_form_conflicts("Takeout is not offered at Seven Seven.", named),
            1
        );
        assert_eq!(
            number_form_conflicts("Takeout is not offered at Two Two.", named),
            0
        );
        assert_eq!(
            number_form_conflicts("It seats twenty five guests.", named),
            0
        );
        // A share of three review lines is 33% or 66%/67%, not 65%.
        let three = "Belfry: Best for a limited budget.\nBelfry: The spa fee was too high.\nBelfry: The price was a bit more than normal.";
        assert_eq!(number_form_conflicts("Reviews are 66% negative.", three), 0);
        assert_eq!(number_form_conflicts("Reviews are 67% negative.", three), 0);
        assert_eq!(number_form_conflicts("Reviews are 65% negative.", three), 1);
    }

    #[test]
    fn a_count_far_above_the_lines_saying_it_is_unbacked() {
        let l: Vec<String> = TWO_PLACES
            .lines()
            .map(|x| x.split(": ").nth(1).unwrap().to_string())
            .collect();
        // One line says exquisite: four is far above it, two is a loose summary.
        assert_eq!(
            counts_far_above_lines("Four said it was exquisite.", TWO_PLACES, &l),
            1
        );
        assert_eq!(
            counts_far_above_lines("Two said it was exquisite.", TWO_PLACES, &l),
            0
        );
        // Five is the number of lines: a count of every review.
        assert_eq!(
            counts_far_above_lines("Five reviews said it was exquisite.", TWO_PLACES, &l),
            0
        );
        // A number the passage states is backed.
        assert_eq!(
            counts_far_above_lines(
                "It had 50 exquisite views.",
                "A: 50 exquisite views.",
                &["50 exquisite views.".to_string()]
            ),
            0
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

    fn kinds(text: &str) -> Vec<(u64, QuantityKind)> {
        quantities(text).iter().map(|q| (q.value, q.kind)).collect()
    }

    #[test]
    fn quantities_read_words_digits_prices_times_percentages_and_ordinals() {
        use QuantityKind::*;
        assert_eq!(
            kinds("three rooms, 12 beers, twenty five tables, the 2nd floor, the third night"),
            [
                (3, Count),
                (12, Digits),
                (25, Count),
                (2, Ordinal),
                (3, Ordinal)
            ]
        );
        assert_eq!(
            kinds("£11 per guest, 20 dollars, 15% off, 50 percent"),
            [(11, Money), (20, Money), (15, Percent), (50, Percent)]
        );
        assert_eq!(
            kinds("from 3:30pm until 11 am, or noon, 15:00 and 7 p.m."),
            [
                (930, Time),
                (660, Time),
                (720, Time),
                (900, Time),
                (1140, Time)
            ]
        );
        assert_eq!(kinds("two thirds"), [(2, Fraction)]);
    }

    #[test]
    fn equal_values_written_differently_are_the_same() {
        let q = |t: &str| quantities(t).remove(0);
        assert!(q("3 pm").same_as(&q("15:00")));
        assert!(q("3:00").same_as(&q("3 pm")));
        assert!(q("three").same_as(&q("3")));
        assert!(q("£20").same_as(&q("20 pounds")));
        assert!(!q("3 pm").same_as(&q("5 pm")));
        assert!(!q("3 am").same_as(&q("15:00")));
    }

    fn lines(p: &str) -> Vec<String> {
        p.lines().map(str::to_string).collect()
    }

    #[test]
    fn a_changed_number_conflicts_in_any_writing() {
        let p =
            "Check-in is from 3 pm and breakfast costs £11 per guest.\nThe third floor has a bar.";
        let l = lines(p);
        let c = |claim: &str| number_conflicts(claim, p, &l, true);
        assert_eq!(c("Check-in is from 15:00 and breakfast is 11 pounds."), 0);
        assert_eq!(c("Check-in is from 5 pm."), 1);
        assert_eq!(c("Check-in is from 17:00."), 1);
        assert_eq!(c("Breakfast costs £13 per guest."), 1);
        assert_eq!(c("Breakfast costs thirteen pounds."), 1);
        assert_eq!(c("The second floor has a bar."), 1);
        assert_eq!(c("The 3rd floor has a bar."), 0);
    }

    #[test]
    fn a_count_must_be_backed_by_passage_lines() {
        let p = "The view was exquisite.\nThe view was great.\nWe loved the view.";
        let l = lines(p);
        // Three lines: at most three reviewers, and only one said exquisite.
        assert_eq!(number_conflicts("Three loved the view.", p, &l, true), 0);
        assert_eq!(number_conflicts("Seven loved the view.", p, &l, true), 1);
        assert_eq!(
            number_conflicts("Two said it was exquisite.", p, &l, true),
            0
        );
        assert_eq!(
            number_conflicts("Two said it was exquisite.", p, &l, false),
            1
        );
        assert_eq!(
            number_conflicts("One said it was exquisite.", p, &l, false),
            0
        );
    }

    #[test]
    fn changed_counts_show_in_their_grammar() {
        assert_eq!(
            quantity_grammar_conflicts("five thirds found it clean", ""),
            1
        );
        assert_eq!(
            quantity_grammar_conflicts("two thirds found it clean", ""),
            0
        );
        assert_eq!(
            quantity_grammar_conflicts("two should expect a view", ""),
            1
        );
        assert_eq!(
            quantity_grammar_conflicts("one should expect a view", ""),
            0
        );
        assert_eq!(quantity_grammar_conflicts("two guests liked it", ""), 0);
        assert_eq!(
            quantity_grammar_conflicts("I can get you a good three.", ""),
            1
        );
        assert_eq!(
            quantity_grammar_conflicts("I can get you a good one.", ""),
            0
        );
        assert_eq!(quantity_grammar_conflicts("a dozen.", ""), 0);
        assert_eq!(quantity_grammar_conflicts("four's treated to views", ""), 1);
        assert_eq!(quantity_grammar_conflicts("one's treated to views", ""), 0);
        let name = "Restaurant Two Two: Restaurant Two Two does have outdoor seating.";
        assert_eq!(
            quantity_grammar_conflicts("Yes, Restaurant Two Two does have seating.", name),
            0
        );
        assert_eq!(
            quantity_grammar_conflicts("Then two should expect seating.", name),
            1
        );
    }

    #[test]
    fn stance_counts_negations_and_polarity_words() {
        assert!(stance_negative("Pets are prohibited."));
        assert!(stance_negative("Pets are not allowed."));
        assert!(!stance_negative("Pets aren't prohibited."));
        assert!(stance_negative("There is a fee for parking."));
        assert!(!stance_negative("There is no fee for parking."));
        assert!(stance_negative("The pool is closed."));
        assert!(!stance_negative("Wifi is available and free."));
        let (neg, pos) = stance_tokens("There is not no pool, but the view is not great.");
        assert!(pos.contains("pool") && neg.contains("great") && !neg.contains("pool"));
        assert_eq!(
            aligned_tokens("Pets are prohibited"),
            aligned_tokens("pets are allowed")
        );
    }

    #[test]
    fn an_answer_word_is_cut_but_a_determiner_no_is_not() {
        assert_eq!(
            answer_body("No, pets are not allowed."),
            "pets are not allowed."
        );
        assert_eq!(answer_body("Yes it is quiet."), "it is quiet.");
        assert_eq!(answer_body("No pets are allowed."), "No pets are allowed.");
        assert_eq!(answer_body("Nothing else."), "Nothing else.");
    }

    #[test]
    fn names_match_loosely() {
        assert!(names_loosely(
            "the acorn guesthouse is quiet",
            "Acorn Guest House"
        ));
        assert!(names_loosely("Allen bell is clean", "Allenbell"));
        assert!(names_loosely(
            "Chiquito Restuarant",
            "Chiquito Restaurant Bar"
        ));
        assert!(names_loosely("Hobson's House", "Hobsons House"));
        assert!(!names_loosely("Cityroomz is quiet", "Acorn Guest House"));
        assert!(names_loosely(
            "The A and B gets good reviews",
            "A And B Guest House"
        ));
        assert!(!names_loosely("A guest and a bed", "A And B Guest House"));
        assert!(within_one_edit("restuarant", "restaurant"));
        assert!(!within_one_edit("cityroomz", "allenbell"));
    }

    #[test]
    fn polarity_and_negation() {
        assert_eq!(lead_polarity("No, pets are not allowed"), Some(false));
        assert_eq!(lead_polarity("Yes, there is parking"), Some(true));
        assert_eq!(lead_polarity("There is parking"), None);
        assert_eq!(lead_polarity("Unfortunately, the wifi is slow"), None);
        assert_eq!(negations("It isn't clean and there is no towel"), 2);
    }

    #[test]
    fn aspects_meet_across_wordings_and_skip_names() {
        assert_eq!(aspects("great Wi-Fi"), aspects("the internet was fast"));
        assert_eq!(aspects("non-alcoholic drinks"), aspects("craft beers"));
        assert_eq!(aspects("Alexander Bed and Breakfast is nice"), 0);
        assert_ne!(aspects("the view"), aspects("the room was clean"));
        let lines = vec![
            "The rooms weren't that clean.".to_string(),
            "Spotless bathroom.".to_string(),
        ];
        assert_eq!(
            aspect_mismatch("The views are stunning.", &lines),
            (true, true)
        );
        assert_eq!(
            aspect_mismatch("The rooms were unclean, sadly.", &lines),
            (false, false)
        );
        assert_eq!(aspect_mismatch("Guests were happy.", &lines), (false, true));
    }

    #[test]
    fn a_count_of_two_restating_one_line_is_caught_but_a_loose_summary_is_not() {
        let (lines, p) = passage_lines(&[
            "I loved the view.",
            "I found that the exquisite view was unlike anything I've ever seen before.",
            "The room provided a great view.",
        ]);
        let two = "Two found it to be exquisite and something they had seen before.";
        assert_eq!(count_two_from_one_line(two, &p, &lines), 1);
        let one = "One found it to be exquisite and something they had seen before.";
        assert_eq!(count_two_from_one_line(one, &p, &lines), 0);
        assert_eq!(
            count_two_from_one_line("Two said the view was great.", &p, &lines),
            0
        );
        assert_eq!(
            count_two_from_one_line("Two said it was exquisite.", &p, &lines),
            0
        );
    }

    #[test]
    fn a_count_far_above_its_lines_meets_their_word_forms() {
        let (lines, p) = passage_lines(&[
            "The price of the drinks is outrageous.",
            "A beer was not well priced and quite expensive.",
            "The drinks were pretty cheap.",
        ]);
        // "price" meets "priced": two lines back it, so three is not far above.
        let three = "Three guests found the price unreasonable.";
        assert_eq!(counts_far_above_lines(three, &p, &lines), 0);
        let five = "Five guests found the price unreasonable.";
        assert_eq!(counts_far_above_lines(five, &p, &lines), 1);
    }
}
