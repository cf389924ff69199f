//! Binding a language model's reply to the evidence. The prompt numbers the
//! passages `[1]..[n]`; the reply carries those numbers as markers. Signoff binds each marker
//! to the chunk id of the passage it names and picks the cited span itself — the passage
//! sentence that best matches the claim — so chunk ids and spans never come from model text.
//!
//! Markers are renumbered in reading order, one per (claim, passage) pair, because two claims
//! citing the same passage usually rest on different sentences of it. A marker naming a
//! passage that does not exist keeps a number with no binding, so the claim check flags it
//! as a bad citation; bracketed text that is not a list of numbers (`[1:0-900]`, `[source]`)
//! is left alone and the claim counts as uncited. Either way the claim is flagged, never
//! silently dropped.

use crate::draft::{Citation, Composed};
use crate::evidence::Evidence;
use crate::text;

/// What binding found wrong with the reply (the claims stay flagged by the check).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BindReport {
    /// Passage numbers the reply cited that the prompt did not offer.
    pub unknown_passages: Vec<u32>,
    /// Markers bound to a passage.
    pub bound: usize,
}

/// The character offset of a byte offset.
fn char_at(s: &str, byte: usize) -> usize {
    s[..byte].chars().count()
}

/// The byte span of the sentence of `passage` that shares most content tokens with `claim`
/// (the first sentence on ties, the whole passage when it has no sentence with content).
pub fn best_span(passage: &str, claim: &str) -> (usize, usize) {
    let want = text::token_set(claim);
    let mut best: Option<(usize, usize, usize)> = None;
    for s in text::sentences(passage) {
        let toks = text::token_set(&passage[s.start..s.end]);
        if toks.is_empty() {
            continue;
        }
        let hits = toks.iter().filter(|t| want.contains(*t)).count();
        if best.is_none_or(|b| hits > b.0) {
            best = Some((hits, s.start, s.end));
        }
    }
    best.map(|b| (b.1, b.2)).unwrap_or((0, passage.len()))
}

/// Parses bracket contents that are a list of passage numbers: `1`, `1, 2`, `1,3`.
fn number_list(inner: &str) -> Option<Vec<u32>> {
    let nums: Option<Vec<u32>> = inner
        .split(',')
        .map(|p| p.trim().parse::<u32>().ok())
        .collect();
    nums.filter(|n| !n.is_empty())
}

/// Binds the reply's markers to `evidence` (numbered from 1 in the prompt).
pub fn bind(reply: &str, evidence: &[Evidence]) -> (Composed, BindReport) {
    let reply = reply.trim();
    let mut report = BindReport::default();
    // Sentences of the reply (byte spans), with a markers-only sentence joined to the one
    // before it, as the claim check groups them.
    let mut claims: Vec<(usize, usize)> = Vec::new();
    for s in text::sentences(reply) {
        let piece = &reply[s.start..s.end];
        let only_markers = piece
            .split(['[', ']'])
            .enumerate()
            .all(|(i, p)| p.trim().is_empty() || (i % 2 == 1 && number_list(p).is_some()));
        match claims.last_mut() {
            Some(last) if only_markers => last.1 = s.end,
            _ => claims.push((s.start, s.end)),
        }
    }
    let mut out = String::with_capacity(reply.len());
    let mut citations: Vec<Citation> = Vec::new();
    let mut next = 1u32;
    let mut copied = 0usize;
    for (c0, c1) in claims {
        let piece = &reply[c0..c1];
        let claim_text: String = piece
            .split(['[', ']'])
            .enumerate()
            .filter(|(i, p)| i % 2 == 0 || number_list(p).is_none())
            .map(|(_, p)| p)
            .collect();
        // (passage number as cited → marker given) for this claim.
        let mut given: Vec<(u32, u32)> = Vec::new();
        let mut rest = piece;
        let mut at = c0;
        while let Some(i) = rest.find('[') {
            let Some(j) = rest[i..].find(']') else { break };
            let inner = &rest[i + 1..i + j];
            if let Some(nums) = number_list(inner) {
                out.push_str(&reply[copied..at + i]);
                for n in nums {
                    let m = match given.iter().find(|g| g.0 == n) {
                        Some(g) => g.1,
                        None => {
                            let m = next;
                            next += 1;
                            given.push((n, m));
                            match evidence.get((n as usize).wrapping_sub(1)) {
                                Some(ev) if n >= 1 => {
                                    let (b0, b1) = best_span(&ev.text, &claim_text);
                                    citations.push(Citation {
                                        marker: m,
                                        chunk_id: ev.chunk_id.clone(),
                                        chunk_hash: ev.chunk_hash.clone(),
                                        start: char_at(&ev.text, b0),
                                        end: char_at(&ev.text, b1),
                                    });
                                    report.bound += 1;
                                }
                                _ => {
                                    if !report.unknown_passages.contains(&n) {
                                        report.unknown_passages.push(n);
                                    }
                                }
                            }
                            m
                        }
                    };
                    out.push_str(&format!("[{m}]"));
                }
                copied = at + i + j + 1;
            }
            at += i + j + 1;
            rest = &rest[i + j + 1..];
        }
    }
    out.push_str(&reply[copied..]);
    (
        Composed {
            text: out,
            citations,
        },
        report,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draft::char_slice;

    fn ev() -> Vec<Evidence> {
        vec![
            Evidence::new(
                "c1",
                "faq",
                "v1",
                "Acorn",
                "Check-in is from 3:30pm. Parking is free on site.",
            ),
            Evidence::new(
                "c2",
                "reviews",
                "v1",
                "Acorn",
                "The room was quiet and clean.",
            ),
        ]
    }

    #[test]
    fn markers_are_bound_to_the_best_sentence_and_renumbered_per_claim() {
        let e = ev();
        let (c, r) = bind(
            "Parking is free [1]. Check-in starts at 3:30pm [1, 2]. Rooms are quiet. [2]",
            &e,
        );
        assert_eq!(
            c.text,
            "Parking is free [1]. Check-in starts at 3:30pm [2][3]. Rooms are quiet. [4]"
        );
        assert_eq!(r.bound, 4);
        let span = |m: u32| {
            let cit = c.citations.iter().find(|x| x.marker == m).unwrap();
            let ev = e.iter().find(|x| x.chunk_id == cit.chunk_id).unwrap();
            char_slice(&ev.text, cit.start, cit.end)
                .unwrap()
                .to_string()
        };
        assert_eq!(span(1), "Parking is free on site.");
        assert_eq!(span(2), "Check-in is from 3:30pm.");
        assert_eq!(span(4), "The room was quiet and clean.");
    }

    #[test]
    fn unknown_passages_stay_unbound_and_spans_from_the_model_are_ignored() {
        let e = ev();
        let (c, r) = bind(
            "Parking is free [7]. Check-in is early [1:0-900]. Nothing [0].",
            &e,
        );
        assert_eq!(r.unknown_passages, [7, 0]);
        assert!(c.citations.is_empty());
        assert_eq!(
            c.text,
            "Parking is free [1]. Check-in is early [1:0-900]. Nothing [2]."
        );
    }
}
