//! PII redaction of case text before it is embedded, logged or sent anywhere remote.
//!
//! Detectors find spans of e-mail addresses, card numbers (Luhn-checked), IBANs (mod-97
//! checked), phone numbers, national-id-like numbers, postal addresses and names where the
//! text says so ("my name is …", salutations, sign-offs, titles); overlapping spans keep the
//! earlier detector's. Each span becomes a placeholder such as `[EMAIL]`; what is counted is
//! how many of each kind were removed, never the values. Ordinary numbers (order quantities,
//! amounts, order ids without phone formatting, years) are left alone. Redaction runs to a
//! fixed point, so redacting redacted text changes nothing.

use regex::Regex;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// A kind of personal data the redactor removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    /// An e-mail address.
    Email,
    /// A payment card number (13–19 digits passing the Luhn check).
    Card,
    /// An IBAN passing the mod-97 check.
    Iban,
    /// A national identity number (SSN, NI number, or a number introduced as an id).
    NationalId,
    /// A phone number.
    Phone,
    /// A postal address or postcode.
    Address,
    /// A person's name, where the text introduces one.
    Name,
}

impl PiiKind {
    /// The placeholder written in place of a value.
    pub fn placeholder(self) -> &'static str {
        match self {
            PiiKind::Email => "[EMAIL]",
            PiiKind::Card => "[CARD]",
            PiiKind::Iban => "[IBAN]",
            PiiKind::NationalId => "[NATIONAL_ID]",
            PiiKind::Phone => "[PHONE]",
            PiiKind::Address => "[ADDRESS]",
            PiiKind::Name => "[NAME]",
        }
    }

    /// The snake_case name used in counts.
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Card => "card",
            PiiKind::Iban => "iban",
            PiiKind::NationalId => "national_id",
            PiiKind::Phone => "phone",
            PiiKind::Address => "address",
            PiiKind::Name => "name",
        }
    }
}

/// Redacted text and how many values of each kind were removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redacted {
    /// The text with placeholders.
    pub text: String,
    /// Removed values per kind (kinds with none are absent).
    pub counts: BTreeMap<PiiKind, u32>,
}

impl Redacted {
    /// Counts keyed by kind name, for audit payloads.
    pub fn counts_by_name(&self) -> BTreeMap<String, u32> {
        self.counts
            .iter()
            .map(|(k, n)| (k.as_str().to_string(), *n))
            .collect()
    }

    /// All values removed.
    pub fn total(&self) -> u32 {
        self.counts.values().sum()
    }
}

/// Removes personal data from `text` (see the module doc). Idempotent.
pub fn redact(text: &str) -> Redacted {
    let mut counts = BTreeMap::new();
    let mut cur = text.to_string();
    // Each pass can only shorten digit runs and names into placeholders; two passes reach the
    // fixed point in practice, the bound guards against anything pathological.
    for _ in 0..4 {
        let spans = find(&cur);
        if spans.is_empty() {
            break;
        }
        let mut out = String::with_capacity(cur.len());
        let mut at = 0;
        for (s, e, kind) in spans {
            out.push_str(&cur[at..s]);
            out.push_str(kind.placeholder());
            *counts.entry(kind).or_insert(0) += 1;
            at = e;
        }
        out.push_str(&cur[at..]);
        cur = out;
    }
    Redacted { text: cur, counts }
}

struct Patterns {
    email: Regex,
    iban: Regex,
    ssn: Regex,
    nino: Regex,
    id_context: Regex,
    phone: Regex,
    phone_context: Regex,
    address: Regex,
    postcode: Regex,
    zip: Regex,
    name_intro: Regex,
    salutation: Regex,
    signoff: Regex,
    title: Regex,
    date: Regex,
    decimal: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let re = |s: &str| Regex::new(s).expect("redaction pattern");
        let name = r"([A-Z][a-z]+(?:[ '-](?:[A-Z][a-z]+|[A-Z]'[A-Z][a-z]+)){0,2})";
        Patterns {
            email: re(r"(?i)[a-z0-9](?:[a-z0-9._%+-]*[a-z0-9_%+-])?@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}"),
            iban: re(r"(?i)\b[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]){11,32}"),
            ssn: re(r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b"),
            nino: re(r"\b[A-CEGHJ-PR-TW-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]\b"),
            id_context: re(r"(?i)\b(?:ssn|social security(?: number| no\.?)?|national insurance(?: number| no\.?)?|ni number|passport(?: number| no\.?)?|driver'?s licen[cs]e(?: number| no\.?)?|national id(?:entity)?(?: number| no\.?)?|tax id|tin|id number|identity number)\b(?:\s*(?:is|:|#|=))?\s*([A-Z0-9](?:[A-Z0-9 -]{3,18}[A-Z0-9]))"),
            phone: re(r"\+?\(?[0-9][0-9().\- ]{5,20}[0-9]"),
            phone_context: re(r"(?i)\b(?:phone|call|tel|telephone|mobile|cell|reach me|text me|whatsapp|fax|number is|contact)\b[^\n]{0,25}$"),
            address: re(r"\b[0-9]{1,5}[A-Za-z]?,? (?:[A-Z][a-z]+\.? ){1,4}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Way|Place|Pl|Terrace|Close|Crescent|Square|Sq|Parkway|Pkwy|Highway|Hwy|Row|Gardens|Grove|Hill)\b\.?(?:,? (?:Apt|Apartment|Suite|Unit|Flat|#)\.? ?[0-9A-Za-z-]+)?(?:, [A-Z][a-z]+(?: [A-Z][a-z]+){0,2})?(?:,? [A-Z]{2} [0-9]{5}(?:-[0-9]{4})?)?"),
            postcode: re(r"\b[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][ABD-HJLNP-UW-Z]{2}\b"),
            zip: re(r"\b(?:AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC) [0-9]{5}(?:-[0-9]{4})?\b"),
            name_intro: re(&format!(r"(?:(?i:my name is|my name's|name is|name:|this is|i am|i'm|i’m|signed|call me)) {name}")),
            salutation: re(&format!(r"(?m)^[ \t]*(?:Dear|Hi|Hello|Hey|Attn:?|Attention:?) {name}")),
            signoff: re(&format!(r"(?m)(?:Thanks|Thank you|Many thanks|Regards|Best regards|Kind regards|Warm regards|Best wishes|Best|Cheers|Sincerely|Yours sincerely|Yours truly|Yours faithfully)[,.!]?[ \t]*\n?[ \t]*(?:-+ ?)?{name}[ \t]*$")),
            title: re(&format!(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.? {name}")),
            date: re(r"^[0-9]{4}[-./][0-9]{1,2}[-./][0-9]{1,2}$|^[0-9]{1,2}[-./][0-9]{1,2}[-./][0-9]{2,4}$"),
            decimal: re(r"^[0-9]+\.[0-9]{1,2}$"),
        }
    })
}

/// Words that follow "I'm" or "Hi" with a capital letter but are not names.
const NOT_NAMES: &[&str] = &[
    "I",
    "The",
    "A",
    "An",
    "Not",
    "So",
    "Very",
    "Really",
    "Just",
    "Also",
    "Still",
    "Here",
    "There",
    "Calling",
    "Writing",
    "Trying",
    "Looking",
    "Sorry",
    "Happy",
    "Glad",
    "Team",
    "Support",
    "All",
    "Sir",
    "Madam",
    "Everyone",
    "Customer",
    "Service",
    "Again",
    "Having",
    "Unable",
    "Going",
    "Getting",
    "Interested",
    "Concerned",
    "Disappointed",
    "Upset",
    "Confused",
    "Wondering",
    "Hoping",
    "Please",
    "Thanks",
    "Thank",
    "Good",
    "Morning",
    "Afternoon",
    "Evening",
    "Regarding",
    "About",
    "Following",
    "On",
    "In",
    "At",
    "My",
    "Your",
    "Our",
    "It",
    "This",
    "That",
    "We",
    "You",
    "They",
    "Frustrated",
    "New",
    "Back",
    "Done",
    "Fine",
    "Ok",
    "Okay",
];

/// All spans to redact, in order, without overlaps (earlier detectors win).
fn find(text: &str) -> Vec<(usize, usize, PiiKind)> {
    let p = patterns();
    let mut spans: Vec<(usize, usize, PiiKind)> = Vec::new();
    let add = |s: usize, e: usize, k: PiiKind, spans: &mut Vec<(usize, usize, PiiKind)>| {
        if s < e && !spans.iter().any(|(a, b, _)| s < *b && *a < e) {
            spans.push((s, e, k));
        }
    };
    for m in p.email.find_iter(text) {
        add(m.start(), m.end(), PiiKind::Email, &mut spans);
    }
    for m in p.iban.find_iter(text) {
        if let Some(end) = iban_end(&text[m.start()..m.end()]) {
            add(m.start(), m.start() + end, PiiKind::Iban, &mut spans);
        }
    }
    for (s, e) in digit_runs(text) {
        for (a, b) in card_windows(text, s, e) {
            add(a, b, PiiKind::Card, &mut spans);
        }
    }
    for m in p.ssn.find_iter(text).chain(p.nino.find_iter(text)) {
        add(m.start(), m.end(), PiiKind::NationalId, &mut spans);
    }
    for c in p.id_context.captures_iter(text) {
        let g = c.get(1).expect("group");
        if g.as_str().chars().any(|c| c.is_ascii_digit()) {
            add(g.start(), g.end(), PiiKind::NationalId, &mut spans);
        }
    }
    for m in p.phone.find_iter(text) {
        if let Some((s, e)) = phone_span(text, m.start(), m.end()) {
            add(s, e, PiiKind::Phone, &mut spans);
        }
    }
    for m in p
        .address
        .find_iter(text)
        .chain(p.postcode.find_iter(text))
        .chain(p.zip.find_iter(text))
    {
        add(m.start(), m.end(), PiiKind::Address, &mut spans);
    }
    for re in [&p.name_intro, &p.salutation, &p.signoff, &p.title] {
        for c in re.captures_iter(text) {
            let g = c.get(1).expect("group");
            let first = g.as_str().split([' ', '-', '\'']).next().unwrap_or("");
            if NOT_NAMES.contains(&first) {
                continue;
            }
            add(g.start(), g.end(), PiiKind::Name, &mut spans);
        }
    }
    spans.sort_unstable();
    spans
}

/// Runs of digits joined by single spaces or dashes, as byte ranges.
fn digit_runs(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let s = i;
        let mut e = i;
        while e < b.len() {
            let joins_digits =
                (b[e] == b' ' || b[e] == b'-') && e + 1 < b.len() && b[e + 1].is_ascii_digit();
            if !(b[e].is_ascii_digit() || joins_digits) {
                break;
            }
            e += 1;
        }
        runs.push((s, e));
        i = e;
    }
    runs
}

/// Card numbers inside a digit run: the whole run if it passes, else sub-runs aligned on its
/// groups (a quantity written just before a card number must not hide the card).
fn card_windows(text: &str, s: usize, e: usize) -> Vec<(usize, usize)> {
    let run = &text[s..e];
    let digits = |r: &str| {
        r.bytes()
            .filter(u8::is_ascii_digit)
            .map(|d| d - b'0')
            .collect::<Vec<_>>()
    };
    let is_card = |r: &str| {
        let d = digits(r);
        (13..=19).contains(&d.len()) && luhn(&d)
    };
    if is_card(run) {
        return vec![(s, e)];
    }
    // Group boundaries: starts and ends of the digit groups.
    let mut starts = vec![0];
    let mut ends = Vec::new();
    for (i, c) in run.bytes().enumerate() {
        if c == b' ' || c == b'-' {
            ends.push(i);
            starts.push(i + 1);
        }
    }
    ends.push(run.len());
    let mut found = Vec::new();
    let mut from = 0;
    for &a in &starts {
        if a < from {
            continue;
        }
        // Longest window first.
        if let Some(&b) = ends.iter().rev().find(|&&b| b > a && is_card(&run[a..b])) {
            found.push((s + a, s + b));
            from = b;
        }
    }
    if found.is_empty() {
        // Unseparated digits glued to a card: any 16/15/13/19-digit window that passes.
        let d = digits(run);
        if !run.contains([' ', '-']) && d.len() > 19 {
            return Vec::new();
        }
    }
    found
}

/// The Luhn checksum of a digit sequence.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(*d);
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// The ISO 13616 mod-97 check of an IBAN (spaces ignored, letters in either case).
pub fn iban_valid(s: &str) -> bool {
    let c: Vec<u8> = s
        .bytes()
        .filter(|b| *b != b' ')
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if !(15..=34).contains(&c.len())
        || !c[..2].iter().all(u8::is_ascii_uppercase)
        || !c[2..4].iter().all(u8::is_ascii_digit)
        || !c.iter().all(u8::is_ascii_alphanumeric)
    {
        return false;
    }
    let mut rem = 0u32;
    for b in c[4..].iter().chain(&c[..4]) {
        let v = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// The longest prefix of an IBAN-like match (cut at spaces) that passes mod-97.
fn iban_end(m: &str) -> Option<usize> {
    let mut ends: Vec<usize> = m.match_indices(' ').map(|(i, _)| i).collect();
    ends.push(m.len());
    // Also allow ending inside the last group (text glued after the IBAN).
    let mut cands: Vec<usize> = ends.clone();
    cands.extend((15..m.len()).filter(|i| m.is_char_boundary(*i)));
    cands.sort_unstable();
    cands.dedup();
    cands
        .into_iter()
        .rev()
        .find(|&e| iban_valid(&m[..e]) && !m[..e].ends_with(' '))
}

/// Whether a candidate is a phone number: 10–15 digits written as a phone number (leading
/// `+`, parentheses, or grouped by separators), or 7–15 digits right after a word like
/// "phone" or "call". Dates, amounts and bare ids are not phones.
fn phone_span(text: &str, s: usize, e: usize) -> Option<(usize, usize)> {
    let mut s = s;
    let mut cand = &text[s..e];
    // Trim an unmatched leading "(" or trailing ")".
    if cand.starts_with('(') && !cand.contains(')') {
        s += 1;
        cand = &cand[1..];
    }
    let digits = cand.bytes().filter(u8::is_ascii_digit).count();
    if !(7..=15).contains(&digits) {
        return None;
    }
    if cand.contains("..") || cand.contains("  ") {
        return None;
    }
    let p = patterns();
    if p.date.is_match(cand) || p.decimal.is_match(cand) {
        return None;
    }
    let before = &text[..s];
    let plus = cand.starts_with('+');
    let parens = cand.contains('(') && cand.contains(')');
    let groups = cand
        .split([' ', '-', '.', '(', ')'])
        .filter(|g| !g.is_empty())
        .count();
    let context = p.phone_context.is_match(before);
    let formatted = plus || parens || (groups >= 2 && (10..=15).contains(&digits));
    if (formatted && digits >= 10) || (plus && digits >= 8) || (context && digits >= 7) {
        Some((s, s + cand.len()))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(s: &str) -> String {
        redact(s).text
    }

    #[test]
    fn each_kind_is_replaced_and_counted() {
        let text =
            "Hi, my name is Jane Doe. Email jane.doe+x@example.co.uk or call +44 20 7946 0958. \
Card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, SSN 123-45-6789. \
I live at 221 Baker Street, London NW1 6XE.\nThanks,\nJohn";
        let out = redact(text);
        assert_eq!(
            out.text,
            "Hi, my name is [NAME]. Email [EMAIL] or call [PHONE]. \
Card [CARD], IBAN [IBAN], SSN [NATIONAL_ID]. \
I live at [ADDRESS] [ADDRESS].\nThanks,\n[NAME]"
        );
        assert_eq!(out.counts[&PiiKind::Name], 2);
        assert_eq!(out.counts[&PiiKind::Address], 2);
        assert_eq!(out.total(), 9);
    }

    #[test]
    fn ordinary_numbers_stay() {
        for s in [
            "I ordered 3 shirts and 12 socks for $45.99 on 2024-03-15.",
            "Order #4829173 arrived; tracking 1Z999AA10123456784 is fine.",
            "Invoice 1234567890123456 was wrong",
            "We have 250 units in 2 boxes, version 1.2.3, at 10:30.",
            "Call us about order 55512",
        ] {
            let out = redact(s);
            assert_eq!(out.text, s, "{:?}", out.counts);
        }
    }

    #[test]
    fn luhn_and_mod97_decide() {
        assert!(luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]));
        assert!(!luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]));
        assert!(iban_valid("GB82 WEST 1234 5698 7654 32"));
        assert!(iban_valid("DE89370400440532013000"));
        assert!(!iban_valid("GB82 WEST 1234 5698 7654 33"));
        assert_eq!(
            r("Card 4111 1111 1111 1112 stays"),
            "Card 4111 1111 1111 1112 stays"
        );
        assert_eq!(r("qty 2 4111-1111-1111-1111"), "qty 2 [CARD]");
    }

    /// A synthetic test set: 7 kinds × 30+ values in varied sentences; recall per kind and
    /// false positives on sentences with ordinary numbers.
    #[test]
    fn synthetic_pii_recall_is_at_least_98_percent() {
        let mut rng = 0x9e3779b97f4a7c15u64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let firsts = [
            "Maria", "John", "Aisha", "Chen", "Olga", "Pedro", "Sam", "Fatima", "Liam", "Noor",
        ];
        let lasts = [
            "Garcia", "Smith", "Khan", "Wei", "Ivanova", "Santos", "Lee", "Haddad", "Murphy", "Ali",
        ];
        let mut cases: Vec<(String, String, PiiKind)> = Vec::new();
        let templates = [
            "Please update my details: {}. Thanks.",
            "You can reach me on {} any time",
            "my {} was charged twice!!",
            "Here it is — {} — let me know.",
        ];
        for i in 0..40u64 {
            let t = templates[(i % 4) as usize];
            let f = firsts[next(10) as usize];
            let l = lasts[next(10) as usize];
            let email = format!(
                "{}.{}{}@{}.com",
                f.to_lowercase(),
                l.to_lowercase(),
                next(99),
                ["gmail", "example", "mail-box"][next(3) as usize]
            );
            cases.push((t.replace("{}", &email), email, PiiKind::Email));
            let phone = match i % 4 {
                0 => format!(
                    "+1 {}{}{}-555-{:04}",
                    2 + next(7),
                    next(10),
                    next(10),
                    next(10000)
                ),
                1 => format!(
                    "({}{}{}) 555-{:04}",
                    2 + next(7),
                    next(10),
                    next(10),
                    next(10000)
                ),
                2 => format!("+44 7700 {:06}", next(1_000_000)),
                _ => format!("020 7946 {:04}", next(10000)),
            };
            cases.push((format!("call me at {phone} please"), phone, PiiKind::Phone));
            let mut digits: Vec<u8> = vec![4];
            for _ in 0..14 {
                digits.push(next(10) as u8);
            }
            let check = (0..10u8)
                .find(|c| {
                    let mut d = digits.clone();
                    d.push(*c);
                    luhn(&d)
                })
                .unwrap();
            digits.push(check);
            let plain: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            let card = match i % 3 {
                0 => plain.clone(),
                1 => plain
                    .as_bytes()
                    .chunks(4)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => plain
                    .as_bytes()
                    .chunks(4)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect::<Vec<_>>()
                    .join("-"),
            };
            cases.push((
                format!("I paid with card {card} yesterday"),
                card,
                PiiKind::Card,
            ));
            // IBAN: GBkk BANK + 14 digits, with the check digits computed.
            let bban = format!("WEST{:06}{:08}", next(1_000_000), next(100_000_000));
            let kk = (2..=98)
                .find(|k| iban_valid(&format!("GB{k:02}{bban}")))
                .unwrap();
            let iban = format!("GB{kk:02}{bban}");
            let iban = if i % 2 == 0 {
                iban.as_bytes()
                    .chunks(4)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                iban
            };
            cases.push((
                format!("refund to IBAN {iban}, thanks"),
                iban,
                PiiKind::Iban,
            ));
            let nid = if i % 2 == 0 {
                format!(
                    "{:03}-{:02}-{:04}",
                    100 + next(800),
                    10 + next(89),
                    1000 + next(8999)
                )
            } else {
                format!("QQ {:02} {:02} {:02} C", next(100), next(100), next(100))
            };
            cases.push((format!("my SSN is {nid}"), nid, PiiKind::NationalId));
            let addr = format!("{} {} Street", 1 + next(999), lasts[next(10) as usize]);
            cases.push((format!("ship it to {addr} instead"), addr, PiiKind::Address));
            let name = format!("{f} {l}");
            let t = [
                "My name is {}.",
                "Dear {},",
                "Kind regards,\n{}",
                "Ms. {} called",
            ][(i % 4) as usize];
            cases.push((t.replace("{}", &name), name, PiiKind::Name));
        }
        assert!(cases.len() >= 200);
        let mut hit: BTreeMap<PiiKind, (u32, u32)> = BTreeMap::new();
        for (text, value, kind) in &cases {
            let out = redact(text);
            let e = hit.entry(*kind).or_default();
            e.1 += 1;
            if !out.text.contains(value.as_str()) && out.counts.get(kind).copied().unwrap_or(0) > 0
            {
                e.0 += 1;
            }
        }
        for (kind, (found, n)) in &hit {
            let recall = f64::from(*found) / f64::from(*n);
            eprintln!("{kind:?}: recall {recall:.3} ({found}/{n})");
            assert!(recall >= 0.98, "{kind:?}: recall {recall} ({found}/{n})");
        }
        // Ordinary numbers: quantities, amounts, dates, order ids.
        for i in 0..60u64 {
            let s = format!(
                "Order {} of {} items at ${}.{:02} shipped on 2025-0{}-1{}",
                10_000 + next(90_000),
                1 + next(20),
                next(500),
                next(100),
                1 + next(9),
                next(10)
            );
            let out = redact(&s);
            assert_eq!(out.text, s, "case {i}: {:?}", out.counts);
        }
    }

    fn luhn_card() -> impl Strategy<Value = String> {
        proptest::collection::vec(0u8..10, 15).prop_map(|mut d| {
            let c = (0..10u8)
                .find(|c| {
                    let mut x = d.clone();
                    x.push(*c);
                    luhn(&x)
                })
                .unwrap();
            d.push(c);
            d.iter().map(|x| char::from(b'0' + x)).collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn never_leaks_a_luhn_valid_card(card in luhn_card(), sep in prop::sample::select(vec!["", " ", "-"]), pre in "[a-zA-Z0-9 .,:#]{0,30}", post in "[a-zA-Z .,]{0,30}") {
            let shown = card.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(sep);
            let text = format!("{pre} {shown} {post}");
            let out = redact(&text);
            let digits: String = out.text.chars().filter(|c| c.is_ascii_digit()).collect();
            prop_assert!(!digits.contains(&card), "{text:?} -> {:?}", out.text);
        }

        #[test]
        fn never_leaks_an_email(user in "[a-z][a-z0-9._]{0,12}[a-z0-9]", host in "[a-z][a-z0-9-]{0,10}[a-z0-9]", tld in "(com|org|co\\.uk|io)", pre in "[a-zA-Z0-9 .,:<(]{0,30}", post in "[a-zA-Z0-9 .,>)]{0,30}") {
            let email = format!("{user}@{host}.{tld}");
            let text = format!("{pre} {email} {post}");
            let out = redact(&text);
            prop_assert!(!out.text.contains(&email), "{text:?} -> {:?}", out.text);
            prop_assert!(!out.text.contains('@'), "{text:?} -> {:?}", out.text);
        }

        #[test]
        fn redaction_is_idempotent(text in "[a-zA-Z0-9 @.,:+()\\-\\n]{0,120}") {
            let once = redact(&text);
            let twice = redact(&once.text);
            prop_assert_eq!(&twice.text, &once.text);
            prop_assert_eq!(twice.total(), 0);
        }
    }
}
