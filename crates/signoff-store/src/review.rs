//! Reviewers, reason codes, dispositions and undo. Nothing here deletes or rewrites a row:
//! an undo is a disposition of its own that puts the case back in the open queue.

use crate::{audit, from_ms, ms, StoreError, Workspace};
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use signoff_audit::chain::Manifest;
use signoff_audit::log::Entry;
use signoff_core::{citation, draft_diff, CaseStatus, Clock, DispositionKind, Reviewer};

/// A reason a reviewer can give for rejecting, escalating or editing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonCode {
    /// Stable code stored with dispositions.
    pub code: String,
    /// What it means, for people.
    pub label: String,
}

/// What a reviewer asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The case, by internal sequence number.
    pub case_seq: i64,
    /// The decision.
    pub kind: DispositionKind,
    /// Reason code (required for everything but approve).
    pub reason_code: Option<String>,
    /// Free-text rationale.
    pub rationale: Option<String>,
    /// The text that goes out; for `Edit` it is required, otherwise the draft is used.
    pub final_text: Option<String>,
    /// The action layer's re-check of the outgoing reply (signoff-api fills it in; the store
    /// has no scorer). Flagged sentences need a rationale; the check goes into the audit entry.
    pub recheck: Option<Recheck>,
}

/// The claim check run again over a reply about to go out, for every sentence that is not one
/// of the draft's claims word for word (a reviewer's rewrite, an edited claim).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recheck {
    /// Claims checked (the reviewer's own).
    pub checked: usize,
    /// Claims kept verbatim from the draft (their check and any acceptance stand).
    pub kept: usize,
    /// The checked claims the scorer flagged (positions only: the text is in the reply).
    pub flagged: Vec<RecheckedClaim>,
    /// Which scorer ran (`support-v5 + MiniLM`, or `(lexical)` without the embedding model).
    pub scorer: String,
}

/// One flagged claim of a [`Recheck`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecheckedClaim {
    /// Index of the claim among the reply's claims.
    pub index: usize,
    /// `unsupported`, `uncited` or `bad_citation`.
    pub status: String,
    /// Probability it is unsupported, when scored.
    pub score: Option<f64>,
}

/// A stored disposition (or undo).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DispositionRecord {
    /// Sequence number of this disposition.
    pub seq: i64,
    /// The case.
    pub case_seq: i64,
    /// `approve`, `edit`, `reject`, `escalate` or `undo`.
    pub kind: String,
    /// Who decided.
    pub reviewer_id: String,
    /// Their printed name.
    pub reviewer_name: String,
    /// When, from the injected clock.
    pub at: DateTime<Utc>,
    /// Reason code, if given.
    pub reason_code: Option<String>,
    /// Rationale, if given.
    pub rationale: Option<String>,
    /// The AI draft at decision time.
    pub draft_text: Option<String>,
    /// The text that went out.
    pub final_text: Option<String>,
    /// Unified diff from draft to final text (empty when unchanged).
    pub diff: Option<String>,
    /// The disposition this one undoes.
    pub undoes: Option<i64>,
}

const RECORD_SQL: &str =
    "SELECT d.seq, d.case_seq, d.kind, d.reviewer_id, r.name, d.at_ms, d.reason_code,
        d.rationale, d.draft_text, d.final_text, d.diff, d.undoes
     FROM dispositions d JOIN reviewers r ON r.id = d.reviewer_id";

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<DispositionRecord> {
    Ok(DispositionRecord {
        seq: r.get(0)?,
        case_seq: r.get(1)?,
        kind: r.get(2)?,
        reviewer_id: r.get(3)?,
        reviewer_name: r.get(4)?,
        at: from_ms(r.get(5)?),
        reason_code: r.get(6)?,
        rationale: r.get(7)?,
        draft_text: r.get(8)?,
        final_text: r.get(9)?,
        diff: r.get(10)?,
        undoes: r.get(11)?,
    })
}

/// Whether a disposition sends the draft out (and so must pass the claim gate and may
/// trigger an outbound action).
pub fn sends_draft(kind: DispositionKind) -> bool {
    matches!(kind, DispositionKind::Approve | DispositionKind::Edit)
}

/// Whether a disposition posts a reply upstream (when an upstream is set): it sends the draft
/// out and the reply has text. An empty reply has nothing to send; the disposition stands.
pub fn posts_reply(kind: DispositionKind, final_text: &str) -> bool {
    sends_draft(kind) && !final_text.trim().is_empty()
}

/// What the store checks of a reviewer's edited reply before it goes out, recorded in the
/// disposition entry as `final_check`. Every `[n]` marker must still be bound to a passage of
/// the case's newest draft (a marker bound to nothing is refused). The support scorer is not
/// run on the reviewer's own words (it lives in the action layer, and the reviewer signs the
/// text); the entry says so and counts the sentences the reviewer wrote (`new_sentences`)
/// against the draft's sentences kept verbatim (`kept_sentences`), so an auditor sees how much
/// of what went out was checked.
fn edit_check(
    tx: &rusqlite::Connection,
    case_seq: i64,
    draft_text: &str,
    final_text: &str,
) -> Result<serde_json::Value, StoreError> {
    let bound: Vec<u32> = tx
        .prepare(
            "SELECT marker FROM draft_citations
             WHERE draft_seq = (SELECT max(seq) FROM drafts WHERE case_seq = ?1)",
        )?
        .query_map([case_seq], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let used = citation::markers(final_text);
    if let Some(m) = used.iter().find(|m| !bound.contains(m)) {
        return Err(StoreError::Rule(format!(
            "final text: citation marker [{m}] is bound to no passage of the case's draft; remove it or cite one of {bound:?}"
        )));
    }
    let draft: std::collections::HashSet<&str> = citation::sentences_with_markers(draft_text)
        .into_iter()
        .collect();
    let written = citation::sentences_with_markers(final_text);
    let kept = written.iter().filter(|s| draft.contains(*s)).count();
    Ok(serde_json::json!({
        "rechecked": false,
        "why": "reviewer-written text is signed by the reviewer, not scored",
        "markers": used.len(),
        "kept_sentences": kept,
        "new_sentences": written.len() - kept,
    }))
}

impl Workspace {
    /// Registers a reviewer, or updates their printed name.
    pub fn upsert_reviewer(
        &mut self,
        reviewer: &Reviewer,
        clock: &dyn Clock,
    ) -> Result<(), StoreError> {
        reviewer.validate()?;
        let now = ms(clock.now());
        self.writable()?.execute(
            "INSERT INTO reviewers (id, name, created_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            params![reviewer.id, reviewer.name, now],
        )?;
        Ok(())
    }

    /// A registered reviewer.
    pub fn reviewer(&self, id: &str) -> Result<Option<Reviewer>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT id, name FROM reviewers WHERE id = ?1", [id], |r| {
                Ok(Reviewer {
                    id: r.get(0)?,
                    name: r.get(1)?,
                })
            })
            .optional()?)
    }

    /// The configured reason codes, in display order.
    pub fn reason_codes(&self) -> Result<Vec<ReasonCode>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT code, label FROM reason_codes ORDER BY position, code")?;
        let rows = stmt.query_map([], |r| {
            Ok(ReasonCode {
                code: r.get(0)?,
                label: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Adds or relabels a reason code.
    pub fn put_reason_code(&mut self, code: &str, label: &str) -> Result<(), StoreError> {
        if code.is_empty()
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(StoreError::Rule(format!(
                "reason code {code:?} must be letters, digits, '_' or '-'"
            )));
        }
        self.writable()?.execute(
            "INSERT INTO reason_codes (code, label, position)
             VALUES (?1, ?2, (SELECT coalesce(max(position), 0) + 1 FROM reason_codes))
             ON CONFLICT (code) DO UPDATE SET label = excluded.label",
            params![code, label],
        )?;
        Ok(())
    }

    /// Sets the AI draft of an open case (the action layer's entry point) with a `draft_set`
    /// entry committing to its text.
    pub fn set_draft(&mut self, case_seq: i64, draft: &str) -> Result<(), StoreError> {
        let j = self.journal()?;
        let tx = self.writable()?.transaction()?;
        let case: Option<(String, i64)> = tx
            .query_row(
                "SELECT id, (SELECT coalesce(max(at_ms), 0) FROM audit_entries) FROM cases WHERE seq = ?1",
                [case_seq],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((case_id, at)) = case else {
            return Err(StoreError::UnknownCase(format!("#{case_seq}")));
        };
        tx.execute(
            "UPDATE cases SET draft = ?1 WHERE seq = ?2",
            params![draft, case_seq],
        )?;
        audit::record(
            &tx,
            Entry {
                kind: "draft_set".into(),
                case_id: Some(case_id),
                actor: "device".into(),
                at_ms: at,
                payload: audit::payload([("draft_sha256", audit::commit(draft).into())]),
            },
        )?;
        audit::seal(&tx, &j, at)?;
        tx.commit()?;
        Ok(())
    }

    /// Records a reviewer's decision; the case leaves the open queue.
    pub fn decide(
        &mut self,
        reviewer_id: &str,
        decision: &Decision,
        clock: &dyn Clock,
    ) -> Result<DispositionRecord, StoreError> {
        let kind = decision.kind;
        let reason = decision.reason_code.as_deref().filter(|r| !r.is_empty());
        if kind.needs_reason() && reason.is_none() {
            return Err(StoreError::Rule(format!(
                "a reason code is required to {} (see `signoff reasons`)",
                kind.as_str()
            )));
        }
        let journal = self.journal()?;
        let signer = self.reviewer_key(reviewer_id)?;
        let tx = self.writable()?.transaction()?;
        let (case_id, status, draft): (String, String, Option<String>) = tx
            .query_row(
                "SELECT id, status, draft FROM cases WHERE seq = ?1",
                [decision.case_seq],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::UnknownCase(format!("#{}", decision.case_seq)))?;
        if status != CaseStatus::Open.as_str() {
            return Err(StoreError::Rule(format!(
                "case {case_id} is already {status}; undo that disposition first"
            )));
        }
        if sends_draft(kind) {
            let open = crate::draft::unresolved_of_case(&tx, decision.case_seq)?;
            if !open.is_empty() {
                return Err(StoreError::Rule(format!(
                    "{} of {case_id} is blocked: flagged draft claims {open:?} must each be edited, removed or accepted with a reason first",
                    if kind == DispositionKind::Edit { "an edit" } else { "approval" }
                )));
            }
        }
        let reviewer_name: String = tx
            .query_row("SELECT name FROM reviewers WHERE id = ?1", [reviewer_id], |r| r.get(0))
            .optional()?
            .ok_or_else(|| {
                StoreError::Rule(format!(
                    "reviewer {reviewer_id:?} is not registered in this workspace (run `signoff init --reviewer-name …` or set the reviewer in the app)"
                ))
            })?;
        if let Some(code) = reason {
            let ok: bool = tx
                .query_row("SELECT 1 FROM reason_codes WHERE code = ?1", [code], |_| {
                    Ok(true)
                })
                .optional()?
                .unwrap_or(false);
            if !ok {
                return Err(StoreError::Rule(format!(
                    "unknown reason code {code:?} (see `signoff reasons`)"
                )));
            }
        }
        let draft_text = draft.unwrap_or_default();
        let final_text = match (kind, &decision.final_text) {
            (DispositionKind::Edit, Some(t)) if t.trim() != draft_text.trim() => t.clone(),
            (DispositionKind::Edit, _) => {
                return Err(StoreError::Rule(
                    "an edit needs final text that differs from the draft".into(),
                ))
            }
            (_, Some(t)) => t.clone(),
            (_, None) => draft_text.clone(),
        };
        let mut final_check = match kind {
            DispositionKind::Edit => Some(edit_check(
                &tx,
                decision.case_seq,
                &draft_text,
                &final_text,
            )?),
            _ => None,
        };
        if let (Some(r), true) = (&decision.recheck, sends_draft(kind)) {
            let rationale = decision.rationale.as_deref().map_or("", str::trim);
            if !r.flagged.is_empty() && rationale.is_empty() {
                return Err(StoreError::Rule(format!(
                    "the reply has {} flagged sentence(s) (claims {:?}); change them or give a rationale saying why they may go out as written",
                    r.flagged.len(),
                    r.flagged.iter().map(|f| f.index + 1).collect::<Vec<_>>()
                )));
            }
            let mut check = match final_check.take() {
                Some(serde_json::Value::Object(m)) => m,
                _ => serde_json::Map::new(),
            };
            check.insert("rechecked".into(), true.into());
            check.remove("why");
            check.insert("checked".into(), r.checked.into());
            check.insert("kept".into(), r.kept.into());
            check.insert("flagged".into(), serde_json::json!(r.flagged));
            check.insert("scorer".into(), r.scorer.clone().into());
            if !r.flagged.is_empty() {
                check.insert("flagged_accepted_in_rationale".into(), true.into());
            }
            final_check = Some(check.into());
        }
        let diff = draft_diff(&draft_text, &final_text);
        let at = ms(clock.now());
        let audit_idx = signoff_audit::log::size(&tx)?;
        tx.execute(
            "INSERT INTO dispositions (case_seq, kind, reviewer_id, at_ms, reason_code, rationale,
                                       draft_text, final_text, diff, prev_status, audit_idx)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                decision.case_seq,
                kind.as_str(),
                reviewer_id,
                at,
                reason,
                decision.rationale.as_deref().filter(|r| !r.is_empty()),
                draft_text,
                final_text,
                diff,
                status,
                audit_idx as i64
            ],
        )?;
        let seq = tx.last_insert_rowid();
        let content_hash: String = tx.query_row(
            "SELECT content_hash FROM cases WHERE seq = ?1",
            [decision.case_seq],
            |r| r.get(0),
        )?;
        let manifest = Manifest {
            name: reviewer_name.clone(),
            meaning: kind.meaning().into(),
            at_ms: at,
        };
        let mut payload = audit::payload([
            ("disposition", kind.as_str().into()),
            ("meaning", kind.meaning().into()),
            ("reviewer_name", reviewer_name.into()),
            (
                "reason_code",
                reason.map_or(serde_json::Value::Null, |r| r.into()),
            ),
            (
                "rationale_sha256",
                decision
                    .rationale
                    .as_deref()
                    .map_or(serde_json::Value::Null, |r| audit::commit(r).into()),
            ),
            ("case_sha256", content_hash.into()),
            ("draft_sha256", audit::commit(&draft_text).into()),
            ("final_sha256", audit::commit(&final_text).into()),
            ("disposition_seq", seq.into()),
        ]);
        if let Some(check) = final_check {
            payload.insert("final_check".into(), check);
        }
        audit::record_signed(
            &tx,
            Entry {
                kind: "disposition".into(),
                case_id: Some(case_id),
                actor: reviewer_id.into(),
                at_ms: at,
                payload,
            },
            audit_idx,
            signer.as_ref(),
            &manifest,
        )?;
        if posts_reply(kind, &final_text) {
            crate::actions::queue_for_disposition(&tx, decision.case_seq, seq, audit_idx, at)?;
        }
        tx.execute(
            "UPDATE cases SET status = ?1 WHERE seq = ?2",
            params![kind.resulting_status().as_str(), decision.case_seq],
        )?;
        audit::seal(&tx, &journal, at)?;
        tx.commit()?;
        self.disposition(seq)
    }

    /// The undo grace period in seconds (setting `undo_grace_secs`, default 10).
    pub fn undo_grace_secs(&self) -> Result<i64, StoreError> {
        match self.setting("undo_grace_secs")? {
            Some(s) => s.trim().parse().map_err(|_| {
                StoreError::Rule(format!(
                    "setting undo_grace_secs = {s:?} is not a whole number of seconds"
                ))
            }),
            None => Ok(signoff_core::UNDO_GRACE_DEFAULT_SECS),
        }
    }

    /// Undoes a disposition within `grace_secs` of it, by the reviewer who made it.
    /// Records an explicit `undo` disposition and reopens the case.
    pub fn undo(
        &mut self,
        reviewer_id: &str,
        disposition_seq: i64,
        grace_secs: i64,
        clock: &dyn Clock,
    ) -> Result<DispositionRecord, StoreError> {
        let now = clock.now();
        let journal = self.journal()?;
        let signer = self.reviewer_key(reviewer_id)?;
        let reviewer_name = self
            .reviewer(reviewer_id)?
            .map(|r| r.name)
            .unwrap_or_else(|| reviewer_id.to_string());
        let tx = self.writable()?.transaction()?;
        let (case_seq, kind, who, at_ms, prev_status): (i64, String, String, i64, String) = tx
            .query_row(
                "SELECT case_seq, kind, reviewer_id, at_ms, prev_status FROM dispositions WHERE seq = ?1",
                [disposition_seq],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::Rule(format!("no disposition #{disposition_seq}")))?;
        if kind == "undo" {
            return Err(StoreError::Rule(
                "an undo cannot itself be undone; decide the case again".into(),
            ));
        }
        let latest: i64 = tx.query_row(
            "SELECT max(seq) FROM dispositions WHERE case_seq = ?1",
            [case_seq],
            |r| r.get(0),
        )?;
        if latest != disposition_seq {
            return Err(StoreError::Rule(format!(
                "disposition #{disposition_seq} is no longer the latest for its case; it cannot be undone"
            )));
        }
        if who != reviewer_id {
            return Err(StoreError::Rule(format!(
                "only {who} can undo their own disposition #{disposition_seq}"
            )));
        }
        let age = (now - from_ms(at_ms)).num_milliseconds();
        if age > grace_secs * 1000 {
            return Err(StoreError::Rule(format!(
                "the {grace_secs} s undo window has passed (decided {} s ago); ask a team lead to reopen the case",
                age / 1000
            )));
        }
        let current: String =
            tx.query_row("SELECT status FROM cases WHERE seq = ?1", [case_seq], |r| {
                r.get(0)
            })?;
        let undone_idx = audit::disposition_idx(&tx, disposition_seq)?;
        let audit_idx = signoff_audit::log::size(&tx)?;
        tx.execute(
            "INSERT INTO dispositions (case_seq, kind, reviewer_id, at_ms, prev_status, undoes, audit_idx)
             VALUES (?1, 'undo', ?2, ?3, ?4, ?5, ?6)",
            params![case_seq, reviewer_id, ms(now), current, disposition_seq, audit_idx as i64],
        )?;
        let seq = tx.last_insert_rowid();
        let case_id: String =
            tx.query_row("SELECT id FROM cases WHERE seq = ?1", [case_seq], |r| {
                r.get(0)
            })?;
        let manifest = Manifest {
            name: reviewer_name,
            meaning: "withdrawn (undo)".into(),
            at_ms: ms(now),
        };
        audit::record_signed(
            &tx,
            Entry {
                kind: "undo".into(),
                case_id: Some(case_id),
                actor: reviewer_id.into(),
                at_ms: ms(now),
                payload: audit::payload([
                    (
                        "undoes_index",
                        undone_idx.map_or(serde_json::Value::Null, |i| i.into()),
                    ),
                    ("disposition_seq", seq.into()),
                    ("status_restored", prev_status.clone().into()),
                ]),
            },
            audit_idx,
            signer.as_ref(),
            &manifest,
        )?;
        crate::actions::on_undo(&tx, disposition_seq, reviewer_id, ms(now))?;
        tx.execute(
            "UPDATE cases SET status = ?1 WHERE seq = ?2",
            params![prev_status, case_seq],
        )?;
        audit::seal(&tx, &journal, ms(now))?;
        tx.commit()?;
        self.disposition(seq)
    }

    /// One disposition by its sequence number.
    pub fn disposition(&self, seq: i64) -> Result<DispositionRecord, StoreError> {
        self.conn
            .query_row(&format!("{RECORD_SQL} WHERE d.seq = ?1"), [seq], record)
            .optional()?
            .ok_or_else(|| StoreError::Rule(format!("no disposition #{seq}")))
    }

    /// Every disposition of a case, oldest first.
    pub fn dispositions_of(&self, case_seq: i64) -> Result<Vec<DispositionRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{RECORD_SQL} WHERE d.case_seq = ?1 ORDER BY d.seq"
        ))?;
        let rows = stmt.query_map([case_seq], record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
