//! Drafts with citations, and the claim check every draft passes through.
//!
//! A drafter composes text and Signoff binds each citation marker (`[1]`, `[2]`…) to a chunk
//! id and a character span of the evidence it selected; markers are never trusted from model
//! text. [`check`] then splits any draft text (composed, edited or from a remote model) into
//! claims: each claim must cite a known marker and be supported by the cited spans according
//! to the support scorer, else it is flagged.

use crate::error::Result;
use crate::evidence::Evidence;
use crate::prompt::Rendered;
use crate::support::{Gazetteer, SupportScorer};
use crate::text;
use serde::{Deserialize, Serialize};

/// A citation marker bound to a passage span (character offsets into the evidence text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citation {
    /// The number printed in brackets.
    pub marker: u32,
    /// The cited chunk.
    pub chunk_id: String,
    /// SHA-256 of the chunk's text (the frozen passage's key).
    pub chunk_hash: String,
    /// First character of the cited span.
    pub start: usize,
    /// One past the last character of the cited span.
    pub end: usize,
}

/// What the claim check concluded about one claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// Cites known passages that support it.
    Supported,
    /// Cites passages that do not support it.
    Unsupported,
    /// Cites nothing.
    Uncited,
    /// Cites a marker that is bound to no passage (or to a span outside it).
    BadCitation,
}

impl ClaimStatus {
    /// Whether a reviewer must resolve the claim before approval.
    pub fn flagged(self) -> bool {
        self != ClaimStatus::Supported
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Supported => "supported",
            ClaimStatus::Unsupported => "unsupported",
            ClaimStatus::Uncited => "uncited",
            ClaimStatus::BadCitation => "bad_citation",
        }
    }
}

/// One checked claim of a draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// First character of the claim in the draft text.
    pub start: usize,
    /// One past its last character.
    pub end: usize,
    /// The markers it cites, in order.
    pub markers: Vec<u32>,
    /// Probability it is unsupported (None when uncited or badly cited).
    pub score: Option<f64>,
    /// The verdict.
    pub status: ClaimStatus,
}

/// A composed draft before the check: text and the citations Signoff bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    /// The reply text with markers.
    pub text: String,
    /// Marker bindings.
    pub citations: Vec<Citation>,
}

/// A case as a drafter sees it (already redacted by the context layer).
#[derive(Debug, Clone)]
pub struct DraftRequest<'a> {
    /// Case subject.
    pub subject: &'a str,
    /// Case body.
    pub body: &'a str,
    /// Retrieved evidence, best first.
    pub evidence: &'a [Evidence],
}

/// Something that writes a draft from evidence.
pub trait Drafter {
    /// Model id recorded in provenance.
    fn model_id(&self) -> &str;
    /// Model version recorded in provenance.
    fn model_version(&self) -> &str;
    /// Composes a draft for the request (the rendered prompt is what a language model
    /// would receive; extractive drafters may ignore it).
    fn compose(&self, req: &DraftRequest<'_>, prompt: &Rendered) -> Result<Composed>;
}

/// What an ungrounded draft says: no evidence, so nothing is claimed.
pub const NO_GROUNDING: &str =
    "No grounding: no approved passage matches this case, so Signoff drafted no reply. Write it by hand.";

/// The drafter that always works offline: picks the evidence sentences that best match the
/// case and quotes them, one cited sentence each, in evidence order.
#[derive(Debug, Clone)]
pub struct OfflineDrafter {
    /// Most sentences to quote.
    pub max_sentences: usize,
}

impl Default for OfflineDrafter {
    fn default() -> Self {
        OfflineDrafter { max_sentences: 3 }
    }
}

/// Character offset of a byte offset in `s`.
fn char_at(s: &str, byte: usize) -> usize {
    s[..byte].chars().count()
}

/// The substring between two character offsets (None when out of range).
pub fn char_slice(s: &str, start: usize, end: usize) -> Option<&str> {
    if start > end {
        return None;
    }
    let mut idx = s
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(s.len()));
    let b0 = idx.nth(start)?;
    let b1 = if end == start {
        b0
    } else {
        s.char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(s.len()))
            .nth(end)?
    };
    Some(&s[b0..b1])
}

impl Drafter for OfflineDrafter {
    fn model_id(&self) -> &str {
        "signoff-extractive"
    }

    fn model_version(&self) -> &str {
        "1"
    }

    fn compose(&self, req: &DraftRequest<'_>, _prompt: &Rendered) -> Result<Composed> {
        if req.evidence.is_empty() {
            return Ok(Composed {
                text: NO_GROUNDING.to_string(),
                citations: Vec::new(),
            });
        }
        let query = text::token_set(&format!("{} {}", req.subject, req.body));
        // (score, evidence index, byte span)
        let mut cands: Vec<(f64, usize, usize, usize)> = Vec::new();
        for (ei, ev) in req.evidence.iter().enumerate() {
            for s in text::sentences(&ev.text) {
                // A list bullet or quote mark opening the line is layout, not content.
                let lead = ev.text[s.start..s.end].len()
                    - ev.text[s.start..s.end]
                        .trim_start_matches(['-', '*', '•', '>', ' ', '\t'])
                        .len();
                let s = s.start + lead..s.end;
                let toks = text::token_set(&ev.text[s.start..s.end]);
                if toks.is_empty() || is_question(&ev.text[s.start..s.end]) {
                    continue;
                }
                let hits = toks.iter().filter(|t| query.contains(*t)).count() as f64;
                // A sentence sharing no word with the case grounds nothing (dense retrieval
                // returns neighbours even for a case the corpus does not cover).
                if hits == 0.0 {
                    continue;
                }
                // Earlier evidence is better ranked: a small prior breaks ties.
                cands.push((hits - 0.01 * ei as f64, ei, s.start, s.end));
            }
        }
        if cands.is_empty() {
            return Ok(Composed {
                text: NO_GROUNDING.to_string(),
                citations: Vec::new(),
            });
        }
        cands.sort_by(|a, b| b.0.total_cmp(&a.0));
        // The same words from two passages say one thing once (policy corpora repeat lines).
        let mut said: Vec<String> = Vec::new();
        let mut chosen: Vec<(usize, usize, usize)> = Vec::new();
        for c in &cands {
            if chosen.len() == self.max_sentences {
                break;
            }
            let words = text::words(&req.evidence[c.1].text[c.2..c.3]).join(" ");
            if !said.contains(&words) {
                said.push(words);
                chosen.push((c.1, c.2, c.3));
            }
        }
        chosen.sort();
        let mut text = String::new();
        let mut citations: Vec<Citation> = Vec::new();
        let mut last_title: Option<&str> = None;
        for (ei, b0, b1) in chosen {
            let ev = &req.evidence[ei];
            let marker = citations.len() as u32 + 1;
            citations.push(Citation {
                marker,
                chunk_id: ev.chunk_id.clone(),
                chunk_hash: ev.chunk_hash.clone(),
                start: char_at(&ev.text, b0),
                end: char_at(&ev.text, b1),
            });
            if !text.is_empty() {
                text.push(' ');
            }
            // "Title: sentence [n]." keeps the marker inside the sentence it supports; the
            // title is said once for consecutive sentences under it.
            let quote = ev.text[b0..b1].trim_end_matches(['.', '!', ' ']);
            if ev.title.is_empty() || last_title == Some(ev.title.as_str()) {
                text += &format!("{quote} [{marker}].");
            } else {
                text += &format!("{}: {quote} [{marker}].", ev.title);
            }
            last_title = Some(ev.title.as_str());
        }
        Ok(Composed { text, citations })
    }
}

/// Every `[n]` marker of a sentence, in order (the one reading of markers all layers share).
pub use signoff_core::citation::markers;

/// A sentence without its markers, trimmed (what the support scorer reads).
fn strip_markers(s: &str) -> String {
    signoff_core::citation::strip_markers(s).trim().to_string()
}

/// Whether a sentence asks rather than states: it ends with `?`, also inside closing quotes or
/// brackets and before the full stop a marker leaves (`'Is it on now?') [1].`).
fn is_question(sentence: &str) -> bool {
    strip_markers(sentence)
        .trim_end_matches(|c: char| c.is_whitespace() || ".'\")]’”".contains(c))
        .ends_with('?')
}

/// Whether a sentence asserts anything worth checking: not a question, and at least two
/// content words once markers are removed.
pub fn is_claim(sentence: &str) -> bool {
    let s = strip_markers(sentence);
    !is_question(&s) && text::content_tokens(&s).len() >= 2
}

/// Splits draft text into claims and checks each against the cited spans. A sentence that
/// holds only markers (e.g. a trailing " [2]") counts towards the sentence before it.
pub fn check(
    text_: &str,
    citations: &[Citation],
    evidence: &[Evidence],
    scorer: &SupportScorer,
) -> Result<Vec<Claim>> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for s in text::sentences(text_) {
        let piece = &text_[s.start..s.end];
        if strip_markers(piece).is_empty() {
            if let Some(last) = spans.last_mut() {
                last.1 = s.end;
                continue;
            }
        }
        spans.push((s.start, s.end));
    }
    let mut claims = Vec::new();
    let mut to_score: Vec<(usize, String, String)> = Vec::new();
    for (b0, b1) in spans {
        let piece = &text_[b0..b1];
        if !is_claim(piece) {
            continue;
        }
        let ms = markers(piece);
        let mut passage_lines = Vec::new();
        let mut bad = false;
        for m in &ms {
            let cited = citations.iter().find(|c| c.marker == *m).and_then(|c| {
                let ev = evidence
                    .iter()
                    .find(|e| e.chunk_id == c.chunk_id && e.chunk_hash == c.chunk_hash)?;
                let span = char_slice(&ev.text, c.start, c.end)?;
                Some((ev, span))
            });
            match cited {
                Some((ev, span)) if !span.trim().is_empty() => {
                    passage_lines.push(if ev.title.is_empty() {
                        span.to_string()
                    } else {
                        format!("{}: {span}", ev.title)
                    })
                }
                _ => bad = true,
            }
        }
        let status = if ms.is_empty() {
            ClaimStatus::Uncited
        } else if bad {
            ClaimStatus::BadCitation
        } else {
            to_score.push((claims.len(), strip_markers(piece), passage_lines.join("\n")));
            ClaimStatus::Supported
        };
        claims.push(Claim {
            start: char_at(text_, b0),
            end: char_at(text_, b1),
            markers: ms,
            score: None,
            status,
        });
    }
    let pairs: Vec<(&str, &str)> = to_score
        .iter()
        .map(|(_, c, p)| (c.as_str(), p.as_str()))
        .collect();
    for ((i, _, _), s) in to_score.iter().zip(scorer.score_pairs(&pairs)?) {
        claims[*i].score = Some(s.score);
        if s.flagged {
            claims[*i].status = ClaimStatus::Unsupported;
        }
    }
    Ok(claims)
}

/// The gazetteer a draft's check uses: the titles of its evidence plus any other known names.
pub fn gazetteer_for(evidence: &[Evidence], known: &[String]) -> Gazetteer {
    Gazetteer::new(
        evidence
            .iter()
            .map(|e| e.title.as_str())
            .chain(known.iter().map(String::as_str)),
    )
    .with_vocabulary(evidence.iter().map(|e| e.text.as_str()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::support::SupportModel;

    /// Two passages about one guest house (a time, a price-free fact, a review line); the
    /// rewording tests use them too.
    pub(crate) fn ev() -> Vec<Evidence> {
        vec![
            Evidence::new(
                "c1",
                "faq",
                "v1",
                "Acorn Guest House",
                "Check-in is from 3:30pm. Parking is free on site.",
            ),
            Evidence::new(
                "c2",
                "reviews",
                "v1",
                "Acorn Guest House",
                "The room was quiet and clean.",
            ),
        ]
    }

    fn prompt() -> Rendered {
        crate::prompt::render("t.v1", "x", &Default::default()).unwrap()
    }

    fn scorer() -> SupportScorer {
        SupportScorer::new(
            SupportModel::default_model(),
            None,
            gazetteer_for(&ev(), &[]),
        )
    }

    #[test]
    fn offline_draft_cites_every_sentence_with_exact_spans() {
        let evidence = ev();
        let req = DraftRequest {
            subject: "Parking",
            body: "Is parking free? When is check-in?",
            evidence: &evidence,
        };
        let d = OfflineDrafter::default().compose(&req, &prompt()).unwrap();
        assert!(!d.citations.is_empty());
        for c in &d.citations {
            let e = evidence.iter().find(|e| e.chunk_id == c.chunk_id).unwrap();
            let span = char_slice(&e.text, c.start, c.end).unwrap();
            assert!(
                d.text.contains(span.trim_end_matches('.')),
                "{span} not quoted in {}",
                d.text
            );
        }
        let claims = check(&d.text, &d.citations, &evidence, &scorer()).unwrap();
        assert!(!claims.is_empty());
        assert!(
            claims.iter().all(|c| c.status == ClaimStatus::Supported),
            "{claims:?}"
        );
    }

    #[test]
    fn a_line_two_passages_share_is_said_once_and_bullets_are_not_quoted() {
        let options = "- Options include card, gift card or paypal.\n- Ask which one they want.";
        let evidence = vec![
            Evidence::new("p1", "policy", "v1", "Update payment", options),
            Evidence::new("p2", "policy", "v1", "Record reason", options),
            Evidence::new(
                "p3",
                "policy",
                "v1",
                "Refunds",
                "> A paypal refund takes three days.",
            ),
        ];
        let req = DraftRequest {
            subject: "Paypal",
            body: "Can I pay with paypal instead of a card? Which options are there?",
            evidence: &evidence,
        };
        let d = OfflineDrafter::default().compose(&req, &prompt()).unwrap();
        assert_eq!(
            d.text.matches("Options include").count(),
            1,
            "said once: {}",
            d.text
        );
        assert!(d.text.contains("Refunds: A paypal refund"), "{}", d.text);
        assert_eq!(
            d.text.matches("Update payment: ").count(),
            1,
            "a title is said once for its sentences: {}",
            d.text
        );
        assert!(
            !d.text.contains("- ") && !d.text.contains("> "),
            "{}",
            d.text
        );
        for c in &d.citations {
            let e = evidence.iter().find(|e| e.chunk_id == c.chunk_id).unwrap();
            let span = char_slice(&e.text, c.start, c.end).unwrap();
            assert!(!span.starts_with(['-', '>', ' ']), "{span:?}");
        }
    }

    #[test]
    fn a_quoted_question_is_neither_quoted_nor_a_claim() {
        assert!(is_question("Ask: 'Is the service on your account now?')"));
        assert!(is_question("Is it free?” "));
        assert!(!is_question("Parking is free (ask at the desk)."));
        assert!(!is_claim(
            "Ask them: 'Can you see the service on your account?') [1]."
        ));
        let evidence = vec![Evidence::new(
            "q1",
            "policy",
            "v1",
            "Service added",
            "Check the service is gone.  (i.e. 'Can you see the service on your account now?')\n- Remove the service from the account.",
        )];
        let req = DraftRequest {
            subject: "Service",
            body: "A service was added to my account.",
            evidence: &evidence,
        };
        let d = OfflineDrafter::default().compose(&req, &prompt()).unwrap();
        assert!(!d.text.contains("Can you see"), "{}", d.text);
        assert!(d.text.contains("Remove the service"), "{}", d.text);
    }

    #[test]
    fn uncited_unknown_and_contradicted_claims_are_flagged() {
        let evidence = ev();
        let cites = vec![Citation {
            marker: 1,
            chunk_id: "c1".into(),
            chunk_hash: evidence[0].chunk_hash.clone(),
            start: 0,
            end: 24,
        }];
        let text = "Check-in is from 3:30pm [1]. Breakfast is served until ten. Parking costs money [7]. Check-in is from 5:30pm [1].";
        let claims = check(text, &cites, &evidence, &scorer()).unwrap();
        let st: Vec<ClaimStatus> = claims.iter().map(|c| c.status).collect();
        assert_eq!(
            st,
            [
                ClaimStatus::Supported,
                ClaimStatus::Uncited,
                ClaimStatus::BadCitation,
                ClaimStatus::Unsupported
            ]
        );
    }

    #[test]
    fn out_of_range_span_is_a_bad_citation() {
        let evidence = ev();
        let cites = vec![Citation {
            marker: 1,
            chunk_id: "c2".into(),
            chunk_hash: evidence[1].chunk_hash.clone(),
            start: 5,
            end: 500,
        }];
        let claims = check("The room was quiet [1].", &cites, &evidence, &scorer()).unwrap();
        assert_eq!(claims[0].status, ClaimStatus::BadCitation);
    }

    #[test]
    fn empty_evidence_says_it_has_no_grounding() {
        let req = DraftRequest {
            subject: "s",
            body: "b",
            evidence: &[],
        };
        let d = OfflineDrafter::default().compose(&req, &prompt()).unwrap();
        assert_eq!(d.text, NO_GROUNDING);
        assert!(d.citations.is_empty());
    }

    #[test]
    fn evidence_sharing_no_word_with_the_case_is_no_grounding() {
        let evidence = ev();
        let req = DraftRequest {
            subject: "Zebra",
            body: "Xylophone quartz?",
            evidence: &evidence,
        };
        let d = OfflineDrafter::default().compose(&req, &prompt()).unwrap();
        assert_eq!(d.text, NO_GROUNDING);
        assert!(d.citations.is_empty());
    }

    #[test]
    fn markers_and_char_slices() {
        assert_eq!(markers("a [1] b [2][x] [3"), [1, 2]);
        assert_eq!(char_slice("héllo", 1, 3), Some("él"));
        assert_eq!(char_slice("abc", 2, 9), None);
    }
}
