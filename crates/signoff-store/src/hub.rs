//! What a workstation keeps about its team hub: the hub's URL (set by an audited `hub_set`
//! entry, like the upstream's) and the leases it holds (the `hub_leases` table, replaced as a
//! whole by each sync that changes it, in the transaction of the `hub_leases` entry that
//! commits to the new set). The cases themselves arrive through the import (`sync` entries).

use crate::{audit, ms, StoreError, Workspace};
use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};
use signoff_audit::log::Entry;
use signoff_core::Clock;

/// The setting holding the hub this workspace enrolled with.
pub const HUB_SETTING: &str = "hub_url";
/// The setting holding the hub's witness verifier key (C2SP `cosignature/v1`).
pub const WITNESS_SETTING: &str = "hub_witness";

/// A case held under lease from the hub.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HeldLease {
    /// The case id.
    pub case_id: String,
    /// The lease's fencing token.
    pub fence: i64,
    /// When the lease runs out, ms since the epoch.
    pub expires_at_ms: i64,
}

/// The commitment a `hub_leases` entry makes to its set: SHA-256 over one line per lease,
/// sorted by case id: `case_id`, fence and expiry (ms) joined by tabs.
pub(crate) fn leases_sha256(leases: &[HeldLease]) -> String {
    let mut sorted: Vec<&HeldLease> = leases.iter().collect();
    sorted.sort_by(|a, b| a.case_id.cmp(&b.case_id));
    let mut h = Sha256::new();
    for l in sorted {
        h.update(format!("{}\t{}\t{}\n", l.case_id, l.fence, l.expires_at_ms));
    }
    hex::encode(h.finalize())
}

/// The leases stored in the workspace, by case id.
pub(crate) fn stored(conn: &Connection) -> Result<Vec<(HeldLease, i64)>, StoreError> {
    let rows = conn
        .prepare_cached(
            "SELECT case_id, fence, expires_at_ms, audit_idx FROM hub_leases ORDER BY case_id",
        )?
        .query_map([], |r| {
            Ok((
                HeldLease {
                    case_id: r.get(0)?,
                    fence: r.get(1)?,
                    expires_at_ms: r.get(2)?,
                },
                r.get(3)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

impl Workspace {
    /// The hub this workspace enrolled with, if any.
    pub fn hub_url(&self) -> Result<Option<String>, StoreError> {
        self.setting(HUB_SETTING)
    }

    /// The hub's witness verifier key, as learnt at enrolment.
    pub fn hub_witness(&self) -> Result<Option<String>, StoreError> {
        self.setting(WITNESS_SETTING)
    }

    /// Remembers the hub this workspace enrolled with and its witness key (an audited
    /// `hub_set` entry committing to the URL's SHA-256 and naming the witness key). Nothing is
    /// written when both are the ones kept.
    pub fn set_hub(
        &mut self,
        url: &str,
        witness_vkey: &str,
        clock: &dyn Clock,
    ) -> Result<(), StoreError> {
        signoff_audit::witness::CosignatureVerifier::parse(witness_vkey)?;
        if self.hub_url()?.as_deref() == Some(url)
            && self.hub_witness()?.as_deref() == Some(witness_vkey)
        {
            return Ok(());
        }
        let j = self.journal()?;
        let at = ms(clock.now());
        let tx = self.writable()?.transaction()?;
        for (k, v) in [(HUB_SETTING, url), (WITNESS_SETTING, witness_vkey)] {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![k, v],
            )?;
        }
        audit::record(
            &tx,
            Entry {
                kind: "hub_set".into(),
                case_id: None,
                actor: "device".into(),
                at_ms: at,
                payload: audit::payload([
                    ("url_sha256", audit::commit(url).into()),
                    ("witness_vkey", witness_vkey.into()),
                ]),
            },
        )?;
        audit::seal(&tx, &j, at)?;
        tx.commit()?;
        Ok(())
    }

    /// The leases this workspace holds, by case id.
    pub fn hub_leases(&self) -> Result<Vec<HeldLease>, StoreError> {
        Ok(stored(&self.conn)?.into_iter().map(|(l, _)| l).collect())
    }

    /// Replaces the held leases with `leases` (what the hub answered to a sync) in one
    /// transaction with a `hub_leases` entry committing to them (`count`, `leases_sha256`).
    /// Returns `false`, writing nothing, when the set is the one already held.
    pub fn record_hub_leases(
        &mut self,
        leases: &[HeldLease],
        clock: &dyn Clock,
    ) -> Result<bool, StoreError> {
        let mut sorted = leases.to_vec();
        sorted.sort_by(|a, b| a.case_id.cmp(&b.case_id));
        if self.hub_leases()? == sorted {
            return Ok(false);
        }
        let j = self.journal()?;
        let at = ms(clock.now());
        let tx = self.writable()?.transaction()?;
        tx.execute("DELETE FROM hub_leases", [])?;
        let idx = audit::record(
            &tx,
            Entry {
                kind: "hub_leases".into(),
                case_id: None,
                actor: "device".into(),
                at_ms: at,
                payload: audit::payload([
                    ("count", sorted.len().into()),
                    ("leases_sha256", leases_sha256(&sorted).into()),
                ]),
            },
        )?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO hub_leases (case_id, fence, expires_at_ms, audit_idx) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for l in &sorted {
                ins.execute(params![l.case_id, l.fence, l.expires_at_ms, idx as i64])?;
            }
        }
        audit::seal(&tx, &j, at)?;
        tx.commit()?;
        Ok(true)
    }
}

/// A checkpoint of this log cosigned by the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    /// The checkpoint's tree size.
    pub size: u64,
    /// The signed note with the witness's cosignature line.
    pub note: String,
}

/// The body of a signed note (through the blank line's first newline).
pub(crate) fn note_body(note: &str) -> Option<&str> {
    note.rfind("\n\n").map(|at| &note[..at + 1])
}

impl Workspace {
    /// The canonical leaves `from..to` of this workspace's log, in order.
    pub fn audit_leaves(&self, from: u64, to: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT leaf FROM audit_entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
            )?
            .query_map([from as i64, to as i64], |r| r.get(0))?
            .collect::<Result<Vec<Vec<u8>>, _>>()?;
        Ok(rows)
    }

    /// Where a push of the log from `from` should end: the largest checkpointed size in
    /// `(from, from + max]`, else the smallest checkpointed size above `from` (a push always
    /// ends on a signed checkpoint). `None` when no checkpoint lies beyond `from`.
    pub fn push_end(&self, from: u64, max: u64) -> Result<Option<u64>, StoreError> {
        let within: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT max(size) FROM audit_checkpoints WHERE size > ?1 AND size <= ?2",
            )?
            .query_row([from as i64, from.saturating_add(max) as i64], |r| r.get(0))?;
        let end = match within {
            Some(s) => Some(s),
            None => self
                .conn
                .prepare_cached("SELECT min(size) FROM audit_checkpoints WHERE size > ?1")?
                .query_row([from as i64], |r| r.get(0))?,
        };
        Ok(end.map(|s| s as u64))
    }

    /// The stored signed checkpoint of exactly `size` entries.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StoreError> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .prepare_cached("SELECT note FROM audit_checkpoints WHERE size = ?1")?
            .query_row([size as i64], |r| r.get(0))
            .optional()?)
    }

    /// Keeps a checkpoint the hub cosigned. Refused unless its body is this log's own
    /// checkpoint of that size (the witness signs what the workstation sent, nothing else).
    pub fn record_cosigned(
        &mut self,
        size: u64,
        note: &str,
        clock: &dyn Clock,
    ) -> Result<(), StoreError> {
        let own = self.checkpoint_at(size)?.ok_or_else(|| {
            StoreError::Rule(format!(
                "the hub cosigned a checkpoint of {size} entries, which this log never signed"
            ))
        })?;
        if note_body(&own) != note_body(note) || !note.starts_with(&own) {
            return Err(StoreError::Rule(format!(
                "the hub's cosigned checkpoint of {size} entries is not this log's checkpoint plus a cosignature"
            )));
        }
        self.writable()?.execute(
            "INSERT INTO audit_cosigned (size, note, received_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (size) DO UPDATE SET note = excluded.note, received_ms = excluded.received_ms",
            params![size as i64, note, ms(clock.now())],
        )?;
        Ok(())
    }

    /// The cosigned checkpoints kept, by size.
    pub fn cosigned(&self) -> Result<Vec<Cosigned>, StoreError> {
        cosigned(&self.conn)
    }
}

/// The cosigned checkpoints kept, by size.
pub(crate) fn cosigned(conn: &Connection) -> Result<Vec<Cosigned>, StoreError> {
    let rows = conn
        .prepare_cached("SELECT size, note FROM audit_cosigned ORDER BY size")?
        .query_map([], |r| {
            Ok(Cosigned {
                size: r.get::<_, i64>(0)? as u64,
                note: r.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// What `audit verify --witness` found: how many cosigned checkpoints verify under the
/// witness key, and the newest one.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct WitnessReport {
    /// Cosigned checkpoints checked.
    pub cosigned: u64,
    /// The largest witnessed tree size (entries `0..size` are witnessed).
    pub witnessed_size: u64,
    /// The witness's time on that cosignature (Unix seconds).
    pub witnessed_at: Option<u64>,
}

impl Workspace {
    /// Checks every kept cosigned checkpoint against `witness_vkey` (a C2SP `cosignature/v1`
    /// key given by the auditor, not read from the workspace); fails naming the first checkpoint
    /// without a valid cosignature by that witness.
    pub fn verify_witness(&self, witness_vkey: &str) -> Result<WitnessReport, StoreError> {
        let w = signoff_audit::witness::CosignatureVerifier::parse(witness_vkey)?;
        let mut r = WitnessReport::default();
        for c in self.cosigned()? {
            let time = w.verify(&c.note)?.ok_or_else(|| {
                StoreError::Rule(format!(
                    "the kept checkpoint of {} entries carries no cosignature by witness {}",
                    c.size, w.name
                ))
            })?;
            r.cosigned += 1;
            if c.size >= r.witnessed_size {
                r.witnessed_size = c.size;
                r.witnessed_at = Some(time);
            }
        }
        Ok(r)
    }
}
