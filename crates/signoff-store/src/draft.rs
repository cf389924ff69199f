//! Drafts in the workspace: a draft with its provenance (model, prompt fingerprint,
//! corpus version, retrieved chunk ids), its citations, its checked claims and the exact
//! passages it cited (frozen by SHA-256), stored with a `draft` audit entry in one
//! transaction. Flagged claims block approval until each is accepted with a reason, edited
//! or removed, each resolution with its own audit entry.

use crate::{audit, ms, StoreError, Workspace};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};
use signoff_audit::chain::Manifest;
use signoff_audit::log::Entry;
use signoff_core::Clock;

/// A passage a draft cites, frozen with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrozenPassage {
    /// SHA-256 (hex) of `text`.
    pub sha256: String,
    /// The chunk it came from.
    pub chunk_id: String,
    /// Its source.
    pub source: String,
    /// Corpus version.
    pub version: String,
    /// Title of the source.
    pub title: String,
    /// The passage text.
    pub text: String,
}

/// A marker bound to a span of a frozen passage (character offsets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCitation {
    /// The number in brackets.
    pub marker: u32,
    /// The chunk id.
    pub chunk_id: String,
    /// The frozen passage's SHA-256.
    pub passage_sha256: String,
    /// First character of the span.
    pub start: usize,
    /// One past its last character.
    pub end: usize,
}

/// A checked claim (character span of the draft text).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredClaim {
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// Markers cited.
    pub markers: Vec<u32>,
    /// Probability unsupported, when scored.
    pub score: Option<f64>,
    /// `supported`, `unsupported`, `uncited` or `bad_citation`.
    pub status: String,
}

/// Everything stored for a new draft.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewDraft {
    /// The case (internal sequence number).
    pub case_seq: i64,
    /// Model id.
    pub model_id: String,
    /// Model version.
    pub model_version: String,
    /// Which routed model wrote the draft and why any model before it was skipped
    /// (`fast ran` / `offline ran; fast skipped: cannot reach …`); '' before schema 10.
    pub route: String,
    /// Prompt id (`name.vN`).
    pub prompt_id: String,
    /// SHA-256 of the rendered prompt.
    pub prompt_fingerprint: String,
    /// Corpus version the evidence came from.
    pub corpus_version: String,
    /// Retrieved chunk ids, best first.
    pub chunk_ids: Vec<String>,
    /// The draft text with markers.
    pub text: String,
    /// `high`, `medium` or `low`.
    pub band: String,
    /// False when there was no evidence.
    pub grounded: bool,
    /// Marker bindings.
    pub citations: Vec<StoredCitation>,
    /// Checked claims.
    pub claims: Vec<StoredClaim>,
    /// The cited passages.
    pub passages: Vec<FrozenPassage>,
}

/// A stored draft with where each flagged claim stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftRecord {
    /// Draft sequence number.
    pub seq: i64,
    /// Its audit entry.
    pub audit_idx: i64,
    /// What was stored.
    pub draft: NewDraft,
    /// The text after edits and removals of claims (what approval sends).
    pub effective_text: String,
    /// Indexes of flagged claims not resolved yet.
    pub unresolved: Vec<usize>,
}

/// How a reviewer resolves a flagged claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimResolution {
    /// Keep it as it is, for a stated reason.
    Accept {
        /// Why (required, non-empty).
        reason: String,
    },
    /// Replace its text.
    Edit {
        /// The new text of the claim.
        replacement: String,
    },
    /// Take it out of the draft.
    Remove,
}

/// What a `draft` entry commits to beyond the draft's own fields, computed from the stored rows
/// (so `audit verify` recomputes them the same way).
pub(crate) struct DraftCommitments {
    /// SHA-256 over the citations, one line per marker in order: marker, chunk id, passage
    /// hash, span — tab-separated.
    pub citations: String,
    /// SHA-256 over the claims, one line per claim in order: index, span, markers (JSON),
    /// score (or empty), status — tab-separated.
    pub claims: String,
    /// SHA-256 over the frozen passages the draft cites, sorted by hash: hash, chunk id,
    /// source, corpus version and the SHA-256 of the title — tab-separated.
    pub evidence: String,
}

/// The commitments of draft `seq` whose passages are `passages` (hashes).
pub(crate) fn draft_commitments(
    conn: &Connection,
    seq: i64,
    passages: &[&str],
) -> Result<DraftCommitments, StoreError> {
    let mut h = Sha256::new();
    let mut st = conn.prepare_cached(
        "SELECT marker, chunk_id, passage_sha256, start_char, end_char FROM draft_citations
         WHERE draft_seq = ?1 ORDER BY marker",
    )?;
    let mut q = st.query([seq])?;
    while let Some(r) = q.next()? {
        let (m, c, p, s, e): (i64, String, String, i64, i64) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
        h.update(format!("{m}\t{c}\t{p}\t{s}\t{e}\n"));
    }
    let citations = hex::encode(h.finalize());
    let mut h = Sha256::new();
    let mut st = conn.prepare_cached(
        "SELECT idx, start_char, end_char, markers, score, status FROM draft_claims
         WHERE draft_seq = ?1 ORDER BY idx",
    )?;
    let mut q = st.query([seq])?;
    while let Some(r) = q.next()? {
        let (i, s, e, m, score, status): (i64, i64, i64, String, Option<f64>, String) = (
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        );
        let score = score.map_or(String::new(), |x| format!("{x:?}"));
        h.update(format!("{i}\t{s}\t{e}\t{m}\t{score}\t{status}\n"));
    }
    let claims = hex::encode(h.finalize());
    let mut h = Sha256::new();
    let mut sorted = passages.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut st = conn.prepare_cached(
        "SELECT chunk_id, source, version, title FROM draft_passages WHERE sha256 = ?1",
    )?;
    for p in sorted {
        let row: Option<(String, String, String, String)> = st
            .query_row([p], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        let (c, src, v, t) = row.unwrap_or_default();
        h.update(format!("{p}\t{c}\t{src}\t{v}\t{}\n", sha(&t)));
    }
    Ok(DraftCommitments {
        citations,
        claims,
        evidence: hex::encode(h.finalize()),
    })
}

fn sha(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn char_byte(s: &str, c: usize) -> usize {
    s.char_indices().nth(c).map_or(s.len(), |(i, _)| i)
}

/// Applies edits and removals (claim index → replacement, "" = removed) to draft text.
fn effective_text(text: &str, claims: &[StoredClaim], changes: &[(usize, String)]) -> String {
    let mut spans: Vec<(usize, usize, &str)> = changes
        .iter()
        .filter_map(|(i, r)| claims.get(*i).map(|c| (c.start, c.end, r.as_str())))
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_string();
    for (s, e, r) in spans {
        let (b0, b1) = (char_byte(&out, s), char_byte(&out, e));
        out.replace_range(b0..b1, r);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The latest draft of a case and its unresolved flagged claims, read in any connection
/// (the decide path calls it inside its transaction).
pub(crate) fn unresolved_of_case(
    conn: &Connection,
    case_seq: i64,
) -> Result<Vec<usize>, StoreError> {
    let Some(seq) = latest_seq(conn, case_seq)? else {
        return Ok(Vec::new());
    };
    unresolved(conn, seq)
}

fn latest_seq(conn: &Connection, case_seq: i64) -> Result<Option<i64>, StoreError> {
    Ok(conn.query_row(
        "SELECT max(seq) FROM drafts WHERE case_seq = ?1",
        [case_seq],
        |r| r.get::<_, Option<i64>>(0),
    )?)
}

fn unresolved(conn: &Connection, draft_seq: i64) -> Result<Vec<usize>, StoreError> {
    let mut st = conn.prepare(
        "SELECT idx FROM draft_claims c WHERE draft_seq = ?1 AND status != 'supported'
           AND NOT EXISTS (SELECT 1 FROM claim_resolutions r
                           WHERE r.draft_seq = c.draft_seq AND r.claim_idx = c.idx)
         ORDER BY idx",
    )?;
    let rows = st.query_map([draft_seq], |r| r.get::<_, i64>(0))?;
    Ok(rows
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(|i| i as usize)
        .collect())
}

/// Reads a draft through any connection (inside a transaction too).
pub(crate) fn read_draft(c: &Connection, seq: i64) -> Result<DraftRecord, StoreError> {
    let (audit_idx, mut d) = c
        .query_row(
            "SELECT audit_idx, case_seq, model_id, model_version, prompt_id, prompt_fingerprint,
                    corpus_version, chunk_ids, text, band, grounded, route
             FROM drafts WHERE seq = ?1",
            [seq],
            |r| {
                let ids: String = r.get(7)?;
                Ok((
                    r.get::<_, i64>(0)?,
                    NewDraft {
                        case_seq: r.get(1)?,
                        model_id: r.get(2)?,
                        model_version: r.get(3)?,
                        route: r.get(11)?,
                        prompt_id: r.get(4)?,
                        prompt_fingerprint: r.get(5)?,
                        corpus_version: r.get(6)?,
                        chunk_ids: serde_json::from_str(&ids).unwrap_or_default(),
                        text: r.get(8)?,
                        band: r.get(9)?,
                        grounded: r.get(10)?,
                        citations: Vec::new(),
                        claims: Vec::new(),
                        passages: Vec::new(),
                    },
                ))
            },
        )
        .optional()?
        .ok_or_else(|| StoreError::Rule(format!("no draft #{seq}")))?;
    let mut st = c.prepare(
        "SELECT marker, chunk_id, passage_sha256, start_char, end_char FROM draft_citations
         WHERE draft_seq = ?1 ORDER BY marker",
    )?;
    d.citations = st
        .query_map([seq], |r| {
            Ok(StoredCitation {
                marker: r.get(0)?,
                chunk_id: r.get(1)?,
                passage_sha256: r.get(2)?,
                start: r.get::<_, i64>(3)? as usize,
                end: r.get::<_, i64>(4)? as usize,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut st = c.prepare(
        "SELECT start_char, end_char, markers, score, status FROM draft_claims
         WHERE draft_seq = ?1 ORDER BY idx",
    )?;
    d.claims = st
        .query_map([seq], |r| {
            let m: String = r.get(2)?;
            Ok(StoredClaim {
                start: r.get::<_, i64>(0)? as usize,
                end: r.get::<_, i64>(1)? as usize,
                markers: serde_json::from_str(&m).unwrap_or_default(),
                score: r.get(3)?,
                status: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut st = c.prepare(
        "SELECT p.sha256, p.chunk_id, p.source, p.version, p.title, p.text
         FROM draft_passages p
         WHERE p.sha256 IN (SELECT passage_sha256 FROM draft_citations WHERE draft_seq = ?1)
         ORDER BY p.sha256",
    )?;
    d.passages = st
        .query_map([seq], |r| {
            Ok(FrozenPassage {
                sha256: r.get(0)?,
                chunk_id: r.get(1)?,
                source: r.get(2)?,
                version: r.get(3)?,
                title: r.get(4)?,
                text: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut st = c.prepare(
        "SELECT claim_idx, action, coalesce(replacement, '') FROM claim_resolutions
         WHERE draft_seq = ?1 AND action != 'accept' ORDER BY seq",
    )?;
    let changes: Vec<(usize, String)> = st
        .query_map([seq], |r| {
            Ok((r.get::<_, i64>(0)? as usize, r.get::<_, String>(2)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(DraftRecord {
        seq,
        audit_idx,
        effective_text: effective_text(&d.text, &d.claims, &changes),
        unresolved: unresolved(c, seq)?,
        draft: d,
    })
}

impl Workspace {
    /// Stores a draft for an open case with a `draft` audit entry (commitments only), in one
    /// transaction, and makes its text the case's current draft. Every citation must point at
    /// one of the draft's passages and every passage's hash must match its text.
    pub fn store_draft(
        &mut self,
        d: &NewDraft,
        clock: &dyn Clock,
    ) -> Result<DraftRecord, StoreError> {
        for p in &d.passages {
            if sha(&p.text) != p.sha256 {
                return Err(StoreError::Rule(format!(
                    "draft passage {}: sha256 {} does not match its text",
                    p.chunk_id, p.sha256
                )));
            }
        }
        for c in &d.citations {
            let p = d.passages.iter().find(|p| p.sha256 == c.passage_sha256);
            let len = p.map(|p| p.text.chars().count());
            if len.is_none_or(|n| c.start > c.end || c.end > n) {
                return Err(StoreError::Rule(format!(
                    "draft citation [{}]: span {}..{} is not inside a passage of the draft",
                    c.marker, c.start, c.end
                )));
            }
        }
        let j = self.journal()?;
        let at = ms(clock.now());
        let tx = self.writable()?.transaction()?;
        let (case_id, status): (String, String) = tx
            .query_row(
                "SELECT id, status FROM cases WHERE seq = ?1",
                [d.case_seq],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::UnknownCase(format!("#{}", d.case_seq)))?;
        // Checked inside the transaction: a draft that finishes after the case was decided
        // (the reviewer decided while a model was still writing) is not stored.
        if status != "open" {
            return Err(StoreError::Rule(format!(
                "case {case_id} is already {status}; a draft is stored only for an open case (undo the disposition to draft again)"
            )));
        }
        for p in &d.passages {
            tx.execute(
                "INSERT OR IGNORE INTO draft_passages (sha256, chunk_id, source, version, title, text)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![p.sha256, p.chunk_id, p.source, p.version, p.title, p.text],
            )?;
        }
        let flagged = d.claims.iter().filter(|c| c.status != "supported").count();
        let mut passages: Vec<&str> = d.passages.iter().map(|p| p.sha256.as_str()).collect();
        passages.sort_unstable();
        let idx = signoff_audit::log::size(&tx)?;
        tx.execute(
            "INSERT INTO drafts (case_seq, at_ms, model_id, model_version, prompt_id, prompt_fingerprint,
                                 corpus_version, chunk_ids, text, band, grounded, audit_idx, route)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                d.case_seq,
                at,
                d.model_id,
                d.model_version,
                d.prompt_id,
                d.prompt_fingerprint,
                d.corpus_version,
                serde_json::to_string(&d.chunk_ids).expect("strings serialise"),
                d.text,
                d.band,
                d.grounded,
                idx as i64,
                d.route
            ],
        )?;
        let seq = tx.last_insert_rowid();
        for c in &d.citations {
            tx.execute(
                "INSERT INTO draft_citations (draft_seq, marker, chunk_id, passage_sha256, start_char, end_char)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![seq, c.marker, c.chunk_id, c.passage_sha256, c.start as i64, c.end as i64],
            )?;
        }
        for (i, c) in d.claims.iter().enumerate() {
            tx.execute(
                "INSERT INTO draft_claims (draft_seq, idx, start_char, end_char, markers, score, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    seq,
                    i as i64,
                    c.start as i64,
                    c.end as i64,
                    serde_json::to_string(&c.markers).expect("numbers serialise"),
                    c.score,
                    c.status
                ],
            )?;
        }
        let c = draft_commitments(&tx, seq, &passages)?;
        let recorded = audit::record(
            &tx,
            Entry {
                kind: "draft".into(),
                case_id: Some(case_id),
                actor: "device".into(),
                at_ms: at,
                payload: audit::payload([
                    ("model_id", d.model_id.clone().into()),
                    ("model_version", d.model_version.clone().into()),
                    ("route_sha256", sha(&d.route).into()),
                    ("prompt_id", d.prompt_id.clone().into()),
                    ("prompt_fingerprint", d.prompt_fingerprint.clone().into()),
                    ("corpus_version", d.corpus_version.clone().into()),
                    ("chunk_ids_sha256", sha(&d.chunk_ids.join("\n")).into()),
                    ("draft_sha256", sha(&d.text).into()),
                    ("passages_sha256", passages.into()),
                    ("claims", d.claims.len().into()),
                    ("flagged", flagged.into()),
                    ("band", d.band.clone().into()),
                    ("grounded", d.grounded.into()),
                    ("citations_sha256", c.citations.into()),
                    ("claims_sha256", c.claims.into()),
                    ("evidence_sha256", c.evidence.into()),
                ]),
            },
        )?;
        if recorded != idx {
            return Err(StoreError::Rule(format!(
                "audit log moved under the transaction (entry {recorded}, not {idx})"
            )));
        }
        tx.execute(
            "UPDATE cases SET draft = ?1 WHERE seq = ?2",
            params![d.text, d.case_seq],
        )?;
        audit::seal(&tx, &j, at)?;
        tx.commit()?;
        self.draft(seq)
    }

    /// The newest draft of a case, if any.
    pub fn latest_draft(&self, case_seq: i64) -> Result<Option<DraftRecord>, StoreError> {
        match latest_seq(self.conn(), case_seq)? {
            Some(seq) => Ok(Some(self.draft(seq)?)),
            None => Ok(None),
        }
    }

    /// A stored draft by sequence number, with its frozen passages and resolutions applied.
    pub fn draft(&self, seq: i64) -> Result<DraftRecord, StoreError> {
        read_draft(self.conn(), seq)
    }
    /// Resolves a flagged claim of the case's newest draft (audit entry `claim_accept`,
    /// `claim_edit` or `claim_remove` in the same transaction); edits and removals change the
    /// case's current draft text.
    pub fn resolve_claim(
        &mut self,
        case_seq: i64,
        claim_idx: usize,
        resolution: &ClaimResolution,
        reviewer_id: &str,
        clock: &dyn Clock,
    ) -> Result<DraftRecord, StoreError> {
        let (action, reason, replacement) = match resolution {
            ClaimResolution::Accept { reason } if reason.trim().is_empty() => {
                return Err(StoreError::Rule(
                    "accepting a flagged claim needs a reason".into(),
                ))
            }
            ClaimResolution::Accept { reason } => ("accept", Some(reason.trim().to_string()), None),
            ClaimResolution::Edit { replacement } if replacement.trim().is_empty() => {
                return Err(StoreError::Rule(
                    "an edited claim needs text (or remove it)".into(),
                ))
            }
            ClaimResolution::Edit { replacement } => {
                ("edit", None, Some(replacement.trim().to_string()))
            }
            ClaimResolution::Remove => ("remove", None, Some(String::new())),
        };
        let j = self.journal()?;
        let signer = self.reviewer_key(reviewer_id)?;
        let reviewer_name = self.reviewer(reviewer_id)?.map(|r| r.name).ok_or_else(|| {
            StoreError::Rule(format!(
                "reviewer {reviewer_id:?} is not registered in this workspace"
            ))
        })?;
        let at = ms(clock.now());
        let tx = self.writable()?.transaction()?;
        let draft_seq = latest_seq(&tx, case_seq)?
            .ok_or_else(|| StoreError::Rule(format!("case #{case_seq} has no draft")))?;
        let status: String = tx
            .query_row(
                "SELECT status FROM draft_claims WHERE draft_seq = ?1 AND idx = ?2",
                params![draft_seq, claim_idx as i64],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| {
                StoreError::Rule(format!("draft #{draft_seq} has no claim {claim_idx}"))
            })?;
        if status == "supported" {
            return Err(StoreError::Rule(format!(
                "claim {claim_idx} is not flagged"
            )));
        }
        if !unresolved(&tx, draft_seq)?.contains(&claim_idx) {
            return Err(StoreError::Rule(format!(
                "claim {claim_idx} is already resolved"
            )));
        }
        let case_id: String =
            tx.query_row("SELECT id FROM cases WHERE seq = ?1", [case_seq], |r| {
                r.get(0)
            })?;
        let expected = signoff_audit::log::size(&tx)?;
        let manifest = Manifest {
            name: reviewer_name,
            meaning: match action {
                "accept" => "accepted a flagged claim",
                "edit" => "edited a flagged claim",
                _ => "removed a flagged claim",
            }
            .into(),
            at_ms: at,
        };
        let idx = audit::record_signed(
            &tx,
            Entry {
                kind: format!("claim_{action}"),
                case_id: Some(case_id),
                actor: reviewer_id.into(),
                at_ms: at,
                payload: audit::payload([
                    ("draft_seq", draft_seq.into()),
                    ("claim", claim_idx.into()),
                    ("status", status.into()),
                    (
                        "reason_sha256",
                        reason
                            .as_deref()
                            .map_or(serde_json::Value::Null, |r| audit::commit(r).into()),
                    ),
                    (
                        "replacement_sha256",
                        replacement
                            .as_deref()
                            .map_or(serde_json::Value::Null, |r| audit::commit(r).into()),
                    ),
                ]),
            },
            expected,
            signer.as_ref(),
            &manifest,
        )?;
        tx.execute(
            "INSERT INTO claim_resolutions (draft_seq, claim_idx, action, reason, replacement, reviewer_id, at_ms, audit_idx)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![draft_seq, claim_idx as i64, action, reason, replacement, reviewer_id, at, idx as i64],
        )?;
        let rec = read_draft(&tx, draft_seq)?;
        if action != "accept" {
            tx.execute(
                "UPDATE cases SET draft = ?1 WHERE seq = ?2",
                params![rec.effective_text, case_seq],
            )?;
        }
        audit::seal(&tx, &j, at)?;
        tx.commit()?;
        Ok(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_and_removals_apply_by_character_span() {
        let claims = vec![
            StoredClaim {
                start: 0,
                end: 5,
                markers: vec![1],
                score: None,
                status: "unsupported".into(),
            },
            StoredClaim {
                start: 6,
                end: 12,
                markers: vec![],
                score: None,
                status: "uncited".into(),
            },
        ];
        let t = "Café. Other. Rest.";
        assert_eq!(
            effective_text(t, &claims, &[(1, String::new())]),
            "Café. Rest."
        );
        assert_eq!(
            effective_text(t, &claims, &[(0, "Bar [1].".into())]),
            "Bar [1]. Other. Rest."
        );
    }
}
