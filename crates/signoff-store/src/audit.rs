//! The workspace's audit log: the device key that seals it, appends inside the store's own
//! transactions, and the queries a team lead or auditor runs (verify, history, checkpoint).

use crate::{ms, StoreError, Workspace};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};
use signoff_audit::chain::{self, Chain};
use signoff_audit::log::SqlNodes;
use signoff_audit::log::{self, Entry, VerifyReport};
use signoff_audit::merkle;
use signoff_audit::note::{NoteSigner, NoteVerifier, Signer};
use std::sync::Arc;

const ORIGIN_KEY: &str = "audit_origin";
const VKEY_KEY: &str = "audit_vkey";
const ROTATIONS_KEY: &str = "audit_rotations";

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

/// What `audit verify` checked in a workspace: the log itself and the rows beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkspaceVerifyReport {
    /// The log: entries, nodes, checkpoints, signatures, device keys.
    pub log: VerifyReport,
    /// Table rows checked against the log.
    pub rows: u64,
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
    /// Whether the history is proven complete: every entry about the case is linked to the
    /// one before it. False only for logs written before entries carried links, where the
    /// older entries are found by the case index (each still proven included).
    pub complete: bool,
}

impl Workspace {
    /// Attaches the device key. The first key attached to a workspace names its log and is
    /// its genesis key; later the key must be the one in force (a rotation is a signed log
    /// entry, see [`Workspace::rotate_device_key`]); a retired or foreign key is refused.
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
            Some(genesis) => {
                let chain = self.key_chain(&genesis)?;
                let current = chain.last().map_or(genesis.clone(), |(_, v)| v.clone());
                if current != vkey {
                    if let Some(idx) = retired_at(&genesis, &chain, &vkey) {
                        return Err(StoreError::RetiredKey {
                            given: vkey,
                            index: idx,
                            current,
                        });
                    }
                    return Err(StoreError::KeyMismatch {
                        expected: current,
                        given: vkey,
                    });
                }
            }
            None if self.access() == crate::Access::Write => {
                self.set_setting(ORIGIN_KEY, &origin)?;
                self.set_setting(VKEY_KEY, &vkey)?;
            }
            None => {}
        }
        self.journal = Some(Journal { origin, signer });
        Ok(())
    }

    /// The device keys that followed the genesis key: (rotation entry index, new verifier key).
    fn key_chain(&self, genesis: &str) -> Result<Vec<(u64, String)>, StoreError> {
        let mut chain = Chain::new(NoteVerifier::parse(genesis)?);
        let mut out = Vec::new();
        // Where the rotations are (setting `audit_rotations`, written with each rotation):
        // a pointer list, so finding the key in force reads a few rows, not the whole log.
        // The leaves it points at are checked here; a full verify replays every entry.
        let rotations = self.setting(ROTATIONS_KEY)?.unwrap_or_default();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT leaf FROM audit_entries WHERE idx = ?1")?;
        for idx in rotations.split(',').filter(|s| !s.is_empty()) {
            let idx: i64 = idx.parse().map_err(|_| {
                StoreError::Rule(format!(
                    "setting {ROTATIONS_KEY} is malformed: {rotations:?}"
                ))
            })?;
            let leaf: Vec<u8> = stmt.query_row([idx], |r| r.get(0))?;
            chain.entry(idx as u64, &leaf).map_err(|why| {
                StoreError::Audit(log::LogError::Tampered {
                    at: format!("entry {idx}"),
                    why,
                    index: Some(idx as u64),
                })
            })?;
            let v = chain.checkpoint_key(idx as u64 + 2);
            out.push((idx as u64, v.to_vkey()));
        }
        Ok(out)
    }

    /// The verifier key sealing new checkpoints now (the genesis key until a rotation).
    pub fn current_vkey(&self) -> Result<Option<String>, StoreError> {
        let Some(genesis) = self.setting(VKEY_KEY)? else {
            return Ok(None);
        };
        let chain = self.key_chain(&genesis)?;
        Ok(Some(
            chain.last().map(|(_, v)| v.clone()).unwrap_or(genesis),
        ))
    }

    /// Hands the log to a new device key: a `key_rotation` entry signed by the current key,
    /// sealed by a checkpoint the current key signs; later checkpoints are the new key's.
    /// Returns the entry's index. Store the new key durably *before* calling this.
    pub fn rotate_device_key(
        &mut self,
        new: Arc<dyn Signer>,
        clock: &dyn signoff_core::Clock,
    ) -> Result<u64, StoreError> {
        let j = self.journal()?;
        let at = ms(clock.now());
        let tx = self.writable()?.transaction()?;
        let mut app = log::Appender::new(&tx)?;
        let e = chain::rotation_entry(app.size(), &j.origin, j.signer.as_ref(), new.as_ref(), at)?;
        let idx = app.append(&e)?;
        app.checkpoint(&j.origin, j.signer.as_ref(), at)?;
        drop(app);
        tx.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = value || ',' || excluded.value",
            params![ROTATIONS_KEY, idx.to_string()],
        )?;
        tx.commit()?;
        self.journal = Some(Journal {
            origin: j.origin,
            signer: new,
        });
        Ok(idx)
    }

    /// Loads a reviewer's own signing key for this session. The first time a key is seen for
    /// the reviewer, a self-signed `reviewer_key` entry registers it in the log.
    pub fn attach_reviewer_key(
        &mut self,
        reviewer_id: &str,
        signer: Arc<dyn Signer>,
        clock: &dyn signoff_core::Clock,
    ) -> Result<(), StoreError> {
        let reviewer = self.reviewer(reviewer_id)?.ok_or_else(|| {
            StoreError::Rule(format!(
                "reviewer {reviewer_id:?} is not registered in this workspace"
            ))
        })?;
        let setting = format!("reviewer_key:{reviewer_id}");
        let public = B64.encode(signer.public_key());
        if self.setting(&setting)?.as_deref() != Some(public.as_str())
            && self.access() == crate::Access::Write
        {
            let j = self.journal()?;
            let at = ms(clock.now());
            let tx = self.writable()?.transaction()?;
            let mut app = log::Appender::new(&tx)?;
            let e = chain::reviewer_key_entry(
                app.size(),
                reviewer_id,
                &reviewer.name,
                signer.as_ref(),
                at,
            )?;
            app.append(&e)?;
            app.checkpoint(&j.origin, j.signer.as_ref(), at)?;
            drop(app);
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![setting, public],
            )?;
            tx.commit()?;
        }
        self.reviewer_keys.insert(reviewer_id.to_string(), signer);
        Ok(())
    }

    /// The loaded signing key of a reviewer.
    pub(crate) fn reviewer_key(&self, reviewer_id: &str) -> Result<Arc<dyn Signer>, StoreError> {
        self.reviewer_keys
            .get(reviewer_id)
            .cloned()
            .ok_or_else(|| StoreError::NoReviewerKey(reviewer_id.to_string()))
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

    /// The genesis verifier key of this workspace's log (`name+keyid+base64`), once a key is
    /// attached: what an auditor pins. After rotations see [`Workspace::current_vkey`].
    pub fn audit_vkey(&self) -> Result<Option<String>, StoreError> {
        self.setting(VKEY_KEY)
    }

    /// The genesis verifier key, parsed.
    fn genesis(&self) -> Result<NoteVerifier, StoreError> {
        let vkey = self.audit_vkey()?.ok_or(StoreError::NoAuditKey)?;
        Ok(NoteVerifier::parse(&vkey)?)
    }

    /// Every device key the log has had, oldest first.
    pub(crate) fn verifiers(&self) -> Result<Vec<NoteVerifier>, StoreError> {
        let genesis = self.audit_vkey()?.ok_or(StoreError::NoAuditKey)?;
        let mut all = vec![NoteVerifier::parse(&genesis)?];
        for (_, v) in self.key_chain(&genesis)? {
            all.push(NoteVerifier::parse(&v)?);
        }
        Ok(all)
    }

    /// Streams the sealed log as an audit bundle (see `signoff_audit::bundle`); returns the
    /// number of entries written.
    pub fn audit_export(
        &self,
        out: impl std::io::Write,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, StoreError> {
        signoff_audit::bundle::export(&self.conn, &self.genesis()?, out, progress).map_err(|e| {
            match e {
                signoff_audit::bundle::BundleError::Log(l) => StoreError::Audit(l),
                other => StoreError::Rule(other.to_string()),
            }
        })
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

    /// Recomputes every leaf, node, checkpoint and signature and the columns stored beside
    /// each leaf, then checks every table that carries audit meaning against the log (see
    /// [`crate::integrity`]); `pinned` guards against truncation. `rows` of the report counts
    /// the table rows checked.
    pub fn audit_verify(
        &self,
        pinned: Option<&str>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<WorkspaceVerifyReport, StoreError> {
        let log = log::verify_with_copy(
            &self.conn,
            &self.genesis()?,
            pinned,
            Some(crate::integrity::log_tables::CATALOG),
            progress,
        )?;
        let rows = crate::integrity::check(&self.conn)?;
        Ok(WorkspaceVerifyReport { log, rows })
    }

    /// How a case was handled (optionally on one UTC day), with proofs against the latest
    /// checkpoint — and proof that nothing is missing: the entries about the case are walked
    /// from the newest back through each entry's link to the previous one ([`log::CASE_PREV`],
    /// index and leaf hash), and every entry after the newest is read, hashed and found to be
    /// about other cases, its hashes leading to the checkpoint's signed root. A dropped, moved,
    /// reordered or re-labelled entry fails here, naming it. Cost: one pass over the entries
    /// after the case's newest one.
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
        let bad = |index: u64, why: String| {
            StoreError::Audit(log::LogError::Tampered {
                at: format!("entry {index}"),
                why,
                index: Some(index),
            })
        };
        // The newest entry about the case, by the case index (a hint: checked below).
        let head: Option<i64> = self.conn.query_row(
            "SELECT max(idx) FROM audit_entries WHERE case_id = ?1 AND idx < ?2",
            params![stored_id, cp.size as i64],
            |r| r.get(0),
        )?;
        let from = head.map_or(0, |h| h as u64);
        let mut tail = Vec::with_capacity((cp.size - from) as usize);
        let mut head_leaf: Option<Vec<u8>> = None;
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT idx, leaf FROM audit_entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
            )?;
            let mut rows = stmt.query(params![from as i64, cp.size as i64])?;
            let mut expect = from;
            while let Some(r) = rows.next()? {
                let idx = r.get::<_, i64>(0)? as u64;
                let leaf = r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
                if idx != expect {
                    return Err(bad(expect, format!("entry {expect} is missing")));
                }
                expect += 1;
                tail.push(merkle::leaf_hash(leaf));
                let about = leaf_case_id(leaf).map_err(|why| bad(idx, why))?;
                if head == Some(idx as i64) {
                    if about.as_deref() != Some(stored_id.as_str()) {
                        return Err(bad(idx, format!("the case index lists it for case {stored_id:?}, but the entry is about {about:?}")));
                    }
                    head_leaf = Some(leaf.to_vec());
                } else if about.as_deref() == Some(stored_id.as_str()) {
                    return Err(bad(idx, format!("entry {idx} is about case {stored_id:?} but the case index does not list it (audit_entries.case_id was changed)")));
                }
            }
            if expect != cp.size {
                return Err(bad(expect, format!("entry {expect} is missing")));
            }
        }
        let root = merkle::root_with_tail(&SqlNodes(&self.conn), from, &tail)?;
        if root != cp.root {
            return Err(StoreError::Audit(log::LogError::Tampered {
                at: format!("entries {from}..{}", cp.size),
                why: format!(
                    "the entries from {from} on do not lead to the root of the signed checkpoint of size {}: an entry was changed",
                    cp.size
                ),
                index: Some(from),
            }));
        }
        // Walk the chain back from the newest entry.
        let mut chain: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut complete = true;
        if let (Some(h), Some(leaf)) = (head, head_leaf) {
            let mut cur = (h as u64, leaf);
            loop {
                let link = log::parse_case_link(&cur.1).map_err(|why| bad(cur.0, why))?;
                let prev = match link {
                    Some(p) => p,
                    None => {
                        complete = false;
                        chain.push(cur);
                        break;
                    }
                };
                chain.push(cur);
                let Some((pi, ph)) = prev else { break };
                let leaf: Option<Vec<u8>> = self
                    .conn
                    .prepare_cached("SELECT leaf FROM audit_entries WHERE idx = ?1")?
                    .query_row([pi as i64], |r| r.get(0))
                    .optional()?;
                let at = chain.last().map_or(0, |c| c.0);
                let leaf = leaf.ok_or_else(|| {
                    bad(
                        at,
                        format!("its link names entry {pi}, which the log does not have"),
                    )
                })?;
                if merkle::leaf_hash(&leaf) != ph || pi >= at {
                    return Err(bad(at, format!("its link to the previous entry about case {stored_id:?} names entry {pi}, whose leaf differs (an entry about the case was changed or moved)")));
                }
                if leaf_case_id(&leaf).map_err(|why| bad(pi, why))?.as_deref()
                    != Some(stored_id.as_str())
                {
                    return Err(bad(pi, format!("entry {pi} is linked into case {stored_id:?}'s history but is about another case")));
                }
                cur = (pi, leaf);
            }
        }
        // Entries written before entries carried links: found by the case index, each proven
        // included (completeness of that older part is what a full verify shows).
        if !complete {
            let oldest = chain.last().map_or(i64::MAX, |c| c.0 as i64);
            let mut stmt = self.conn.prepare_cached(
                "SELECT idx, leaf FROM audit_entries WHERE case_id = ?1 AND idx < ?2 ORDER BY idx DESC",
            )?;
            let older = stmt.query_map(params![stored_id, oldest], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Vec<u8>>(1)?))
            })?;
            for o in older {
                chain.push(o?);
            }
        }
        // The import that brought the case.
        let import: Option<i64> = self
            .conn
            .query_row(
                "SELECT i.audit_idx FROM cases c JOIN imports i ON i.seq = c.import_seq WHERE c.seq = ?1",
                [case_seq],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        if let Some(i) =
            import.filter(|i| (*i as u64) < cp.size && !chain.iter().any(|c| c.0 == *i as u64))
        {
            let leaf: Vec<u8> =
                self.conn
                    .query_row("SELECT leaf FROM audit_entries WHERE idx = ?1", [i], |r| {
                        r.get(0)
                    })?;
            chain.push((i as u64, leaf));
        }
        chain.sort_by_key(|c| c.0);
        let (lo, hi) = match on {
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
        let nodes = SqlNodes(&self.conn);
        let mut entries = Vec::new();
        for (idx, leaf) in chain {
            let v: serde_json::Value = serde_json::from_slice(&leaf)
                .map_err(|e| bad(idx, format!("leaf is not JSON: {e}")))?;
            let text = |k: &str| {
                v.get(k)
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let at = text("at");
            let at_ms = chrono::DateTime::parse_from_rfc3339(&at)
                .map(|t| t.timestamp_millis())
                .map_err(|_| bad(idx, format!("leaf time {at:?} is not RFC 3339")))?;
            if at_ms < lo || at_ms >= hi {
                continue;
            }
            let proof = merkle::inclusion_proof(&nodes, idx, cp.size)?;
            merkle::verify_inclusion(&merkle::leaf_hash(&leaf), idx, cp.size, &proof, &cp.root)?;
            entries.push(HistoryEntry {
                index: idx,
                kind: text("kind"),
                actor: text("actor"),
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
            complete,
        })
    }
}

fn leaf_case_id(leaf: &[u8]) -> Result<Option<String>, String> {
    log::leaf_case_id(leaf)
}

/// Appends an entry in the caller's transaction.
pub(crate) fn record(tx: &Connection, e: Entry) -> Result<u64, StoreError> {
    Ok(log::append(tx, &e)?)
}

/// Appends an entry signed by a person (or key) in the caller's transaction; it must land at
/// `expected` (the index the caller already linked to its own row).
pub(crate) fn record_signed(
    tx: &Connection,
    mut e: Entry,
    expected: u64,
    signer: &dyn Signer,
    manifest: &chain::Manifest,
) -> Result<u64, StoreError> {
    let mut app = log::Appender::new(tx)?;
    if app.size() != expected {
        return Err(StoreError::Rule(format!(
            "audit log moved under the transaction (next entry {} not {expected})",
            app.size()
        )));
    }
    app.link_case(&mut e)?;
    chain::sign_entry(expected, &mut e, signer, manifest)?;
    Ok(app.append(&e)?)
}

/// The index of the rotation entry that retired `vkey`, if it is a former key of the chain.
fn retired_at(genesis: &str, chain: &[(u64, String)], vkey: &str) -> Option<u64> {
    let mut previous = genesis;
    for (idx, next) in chain {
        if previous == vkey {
            return Some(*idx);
        }
        previous = next;
    }
    None
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
