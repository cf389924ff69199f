//! Erasure: a case's text, drafts, rationales and derived data removed from the workspace
//! for good, while every audit entry keeps verifying — leaves hold commitments (hashes),
//! never the text itself. The erasure is a signed `erase` entry of its own, so history shows
//! who erased the case, when and why.
//!
//! "For good" means no byte of the text stays in the workspace files: workspaces write with
//! SQLite's `secure_delete` on (freed cells and pages are zeroed, so no old row version
//! lingers), the full-text index drops the case and is rewritten, and the write-ahead log is
//! checkpointed and truncated so no earlier page image survives in it.

use crate::{audit, from_ms, ms, StoreError, Workspace};
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use signoff_audit::chain::Manifest;
use signoff_audit::log::Entry;
use signoff_core::Clock;

/// Audit entry kind of an erasure.
pub const ERASE_KIND: &str = "erase";

/// A finished erasure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Erasure {
    /// The case.
    pub case_id: String,
    /// The signed `erase` entry.
    pub audit_idx: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (reviewer id).
    pub by: String,
    /// Why, as given.
    pub reason: String,
}

impl Workspace {
    /// Erases a case's text (subject, body, metadata), its drafts and claim resolutions, the
    /// rationales and texts of its dispositions, its intake explanation and embedding, and its
    /// full-text index entry. Signed by `reviewer_id` with their own key; the reason is
    /// required and is stored in the log (it must not itself hold personal data).
    pub fn erase_case(
        &mut self,
        case_id: &str,
        reviewer_id: &str,
        reason: &str,
        clock: &dyn Clock,
    ) -> Result<Erasure, StoreError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::Rule(
                "an erasure needs a reason (--reason TEXT)".into(),
            ));
        }
        let now = clock.now();
        let journal = self.journal()?;
        let signer = self.reviewer_key(reviewer_id)?;
        let reviewer_name = self.reviewer(reviewer_id)?.map(|r| r.name).ok_or_else(|| {
            StoreError::Rule(format!(
                "reviewer {reviewer_id:?} is not registered in this workspace"
            ))
        })?;
        let conn = self.writable()?;
        let tx = conn.transaction()?;
        let (seq, id, subject, body, erased): (i64, String, String, String, Option<i64>) = tx
            .query_row(
                "SELECT seq, id, subject, body, erased_idx FROM cases WHERE id = ?1",
                [case_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::Rule(format!("no case {case_id:?} in this workspace")))?;
        if let Some(idx) = erased {
            drop(tx);
            // Finishes an earlier erasure whose scrub another program held up.
            scrub(conn)?;
            return Err(StoreError::Rule(format!(
                "case {id:?} was already erased (audit entry {idx}); nothing more to do"
            )));
        }
        let audit_idx = signoff_audit::log::size(&tx)?;
        tx.execute(
            "INSERT INTO cases_fts (cases_fts, rowid, subject, body) VALUES ('delete', ?1, ?2, ?3)",
            params![seq, subject, body],
        )?;
        tx.execute(
            "UPDATE cases SET subject = '', body = '', metadata = NULL, draft = NULL, erased_idx = ?2
             WHERE seq = ?1",
            params![seq, audit_idx as i64],
        )?;
        tx.execute(
            "UPDATE dispositions SET rationale = NULL, draft_text = NULL, final_text = NULL, diff = NULL
             WHERE case_seq = ?1",
            [seq],
        )?;
        tx.execute(
            "UPDATE claim_resolutions SET reason = NULL, replacement = NULL
             WHERE draft_seq IN (SELECT seq FROM drafts WHERE case_seq = ?1)",
            [seq],
        )?;
        tx.execute("UPDATE drafts SET text = '' WHERE case_seq = ?1", [seq])?;
        tx.execute(
            "UPDATE classifications SET explanation = '{}' WHERE case_seq = ?1",
            [seq],
        )?;
        tx.execute("DELETE FROM case_embeddings WHERE case_seq = ?1", [seq])?;
        let manifest = Manifest {
            name: reviewer_name,
            meaning: "erased".into(),
            at_ms: ms(now),
        };
        audit::record_signed(
            &tx,
            Entry {
                kind: ERASE_KIND.into(),
                case_id: Some(id.clone()),
                actor: reviewer_id.into(),
                at_ms: ms(now),
                payload: audit::payload([("reason", reason.into())]),
            },
            audit_idx,
            signer.as_ref(),
            &manifest,
        )?;
        audit::seal(&tx, &journal, ms(now))?;
        tx.commit()?;
        scrub(conn)?;
        Ok(Erasure {
            case_id: id,
            audit_idx,
            at: from_ms(ms(now)),
            by: reviewer_id.into(),
            reason: reason.into(),
        })
    }
}

impl Workspace {
    /// The erasure of a case, if it was erased: read from its signed `erase` entry.
    pub fn erasure(&self, case_seq: i64) -> Result<Option<Erasure>, StoreError> {
        let row: Option<(String, Option<i64>)> = self
            .conn()
            .query_row(
                "SELECT id, erased_idx FROM cases WHERE seq = ?1",
                [case_seq],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((case_id, Some(idx))) = row else {
            return Ok(None);
        };
        let (actor, at_ms, leaf): (String, i64, Vec<u8>) = self.conn().query_row(
            "SELECT actor, at_ms, leaf FROM audit_entries WHERE idx = ?1",
            [idx],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok(Some(Erasure {
            case_id,
            audit_idx: idx as u64,
            at: from_ms(at_ms),
            by: actor,
            reason: reason_of(&leaf),
        }))
    }
}

/// The reason an `erase` entry's leaf gives (empty when it gives none).
pub fn reason_of(leaf: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(leaf)
        .ok()
        .and_then(|v| {
            v.pointer("/payload/reason")
                .and_then(|r| r.as_str().map(str::to_string))
        })
        .unwrap_or_default()
}

/// Rewrites the full-text index without the erased terms and empties the write-ahead log
/// into the database file, so the old page images are gone from both.
fn scrub(conn: &rusqlite::Connection) -> Result<(), StoreError> {
    conn.execute_batch("INSERT INTO cases_fts (cases_fts) VALUES ('optimize');")?;
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    if busy != 0 {
        return Err(StoreError::Rule(
            "the case is erased, but another program has the workspace open, so older copies of its pages stay in the write-ahead log until it closes; close it and run the erase again to finish".into(),
        ));
    }
    Ok(())
}
