//! The workspace's audit log: the device key that seals it, appends inside the store's own
//! transactions, and the queries a team lead or auditor runs (verify, history, checkpoint).

use crate::{ms, StoreError, Workspace};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};
use signoff_audit::log::SqlNodes;
use signoff_audit::log::{self, Entry, VerifyReport};
use signoff_audit::merkle;
use signoff_audit::note::{NoteSigner, NoteVerifier, Signer};
use std::sync::Arc;

const ORIGIN_KEY: &str = "audit_origin";
const VKEY_KEY: &str = "audit_vkey";

/// The device key that signs this workspace's checkpoints, with the log's origin name.
#[derive(Clone)]
pub struct Journal {
    /// The log's origin line (also the key name in signed notes).
    pub origin: String,
    /// The device's signing key.
    pub signer: Arc<dyn Signer>,
}

/// SHA-256 of text, hex: the commitment leaves carry instead of the text itself.
pub fn commit(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// One entry of a case's history with its inclusion proof against the latest checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    /// Leaf index.
    pub index: u64,
    /// Entry kind.
    pub kind: String,
    /// Who.
    pub actor: String,
    /// When (RFC 3339).
    pub at: String,
    /// The canonical leaf, as text.
    pub leaf: String,
    /// Inclusion proof (hex hashes, leaf side first) against `checkpoint`.
    pub proof: Vec<String>,
}

/// A case's history, provable against a signed checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct History {
    /// The case id.
    pub case_id: String,
    /// The entries, oldest first.
    pub entries: Vec<HistoryEntry>,
    /// The signed checkpoint the proofs lead to.
    pub checkpoint: String,
    /// Its tree size.
    pub size: u64,
}

impl Workspace {
    /// Attaches the device key. The first key attached to a workspace names its log; a
    /// different key later is refused (rotation is a signed log entry, not a swap).
    pub fn attach_key(&mut self, signer: Arc<dyn Signer>) -> Result<(), StoreError> {
        let origin = match self.setting(ORIGIN_KEY)? {
            Some(o) => o,
            None => {
                let id = hex::encode(&Sha256::digest(signer.public_key())[..8]);
                format!("signoff.local/{id}")
            }
        };
        let vkey = NoteSigner::new(&origin, signer.as_ref())?.verifier_key();
        match self.setting(VKEY_KEY)? {
            Some(expected) if expected != vkey => {
                return Err(StoreError::KeyMismatch {
                    expected,
                    given: vkey,
                })
            }
            Some(_) => {}
            None if self.access() == crate::Access::Write => {
                self.set_setting(ORIGIN_KEY, &origin)?;
                self.set_setting(VKEY_KEY, &vkey)?;
            }
            None => {}
        }
        self.journal = Some(Journal { origin, signer });
        Ok(())
    }

    pub(crate) fn journal(&self) -> Result<Journal, StoreError> {
        self.journal.clone().ok_or(StoreError::NoAuditKey)
    }

    /// Records an event that changes no other table (a setting, a threshold, a sync) in its
    /// own transaction with a signed checkpoint; returns the entry's index once durable.
    pub fn record_event(&mut self, entry: Entry) -> Result<u64, StoreError> {
        let j = self.journal()?;
        let tx = self.writable()?.transaction()?;
        let idx = log::append(&tx, &entry)?;
        seal(&tx, &j, entry.at_ms)?;
        tx.commit()?;
        Ok(idx)
    }

    /// The verifier key of this workspace's log (`name+keyid+base64`), once a key is attached.
    pub fn audit_vkey(&self) -> Result<Option<String>, StoreError> {
        self.setting(VKEY_KEY)
    }

    fn verifiers(&self) -> Result<Vec<NoteVerifier>, StoreError> {
        let vkey = self.audit_vkey()?.ok_or(StoreError::NoAuditKey)?;
        Ok(vec![NoteVerifier::parse(&vkey)?])
    }

    /// Signs a checkpoint of the log as it is now (on demand).
    pub fn audit_checkpoint(
        &mut self,
        clock: &dyn signoff_core::Clock,
    ) -> Result<String, StoreError> {
        let j = self.journal()?;
        let tx = self.writable()?.transaction()?;
        let note = log::checkpoint(&tx, &j.origin, j.signer.as_ref(), ms(clock.now()))?;
        tx.commit()?;
        Ok(note)
    }

    /// The newest stored checkpoint.
    pub fn latest_checkpoint(&self) -> Result<Option<String>, StoreError> {
        Ok(log::latest_checkpoint(&self.conn)?)
    }

    /// Recomputes every leaf, node, checkpoint and signature; `pinned` guards against truncation.
    pub fn audit_verify(
        &self,
        pinned: Option<&str>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<VerifyReport, StoreError> {
        Ok(log::verify(
            &self.conn,
            &self.verifiers()?,
            pinned,
            progress,
        )?)
    }

    /// How a case was handled (optionally on one UTC day), with proofs against the latest checkpoint.
    pub fn audit_history(
        &self,
        case_id: &str,
        on: Option<chrono::NaiveDate>,
    ) -> Result<History, StoreError> {
        let case_seq = self.case_seq(case_id)?;
        let stored_id: String =
            self.conn
                .query_row("SELECT id FROM cases WHERE seq = ?1", [case_seq], |r| {
                    r.get(0)
                })?;
        let note = self
            .latest_checkpoint()?
            .ok_or_else(|| StoreError::Rule("the audit log has no checkpoint yet".into()))?;
        let opened = signoff_audit::note::open(&note, &self.verifiers()?)?;
        let cp = signoff_audit::Checkpoint::parse(&opened.text)?;
        let (from, to) = match on {
            Some(d) => {
                let start = d
                    .and_hms_opt(0, 0, 0)
                    .expect("midnight")
                    .and_utc()
                    .timestamp_millis();
                (start, start + 86_400_000)
            }
            None => (i64::MIN, i64::MAX),
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT idx, kind, actor, at_ms, leaf FROM audit_entries
             WHERE (case_id = ?1 OR idx = (SELECT i.audit_idx FROM cases c JOIN imports i ON i.seq = c.import_seq WHERE c.seq = ?2))
               AND at_ms >= ?3 AND at_ms < ?4 AND idx < ?5
             ORDER BY idx",
        )?;
        let rows = stmt.query_map(
            params![stored_id, case_seq, from, to, cp.size as i64],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Vec<u8>>(4)?,
                ))
            },
        )?;
        let nodes = SqlNodes(&self.conn);
        let mut entries = Vec::new();
        for row in rows {
            let (idx, kind, actor, at_ms, leaf) = row?;
            let proof = merkle::inclusion_proof(&nodes, idx as u64, cp.size)?;
            merkle::verify_inclusion(
                &merkle::leaf_hash(&leaf),
                idx as u64,
                cp.size,
                &proof,
                &cp.root,
            )?;
            entries.push(HistoryEntry {
                index: idx as u64,
                kind,
                actor,
                at: crate::from_ms(at_ms).to_rfc3339(),
                leaf: String::from_utf8_lossy(&leaf).into_owned(),
                proof: proof.iter().map(hex::encode).collect(),
            });
        }
        Ok(History {
            case_id: stored_id,
            entries,
            checkpoint: note,
            size: cp.size,
        })
    }
}

/// Appends an entry in the caller's transaction.
pub(crate) fn record(tx: &Connection, e: Entry) -> Result<u64, StoreError> {
    Ok(log::append(tx, &e)?)
}

/// Signs a checkpoint for the batch about to commit (group commit: one per transaction).
pub(crate) fn seal(tx: &Connection, j: &Journal, at_ms: i64) -> Result<(), StoreError> {
    log::checkpoint(tx, &j.origin, j.signer.as_ref(), at_ms)?;
    Ok(())
}

/// A payload map from pairs.
pub(crate) fn payload<const N: usize>(
    pairs: [(&str, serde_json::Value); N],
) -> serde_json::Map<String, serde_json::Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Looks up the leaf index of a disposition's entry.
pub(crate) fn disposition_idx(tx: &Connection, seq: i64) -> Result<Option<i64>, StoreError> {
    Ok(tx
        .query_row(
            "SELECT audit_idx FROM dispositions WHERE seq = ?1",
            [seq],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}
