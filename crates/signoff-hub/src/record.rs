//! The team record: how a case was handled on every device that touched it, each entry with
//! its inclusion proof against the device's cosigned checkpoint, and a re-verification of
//! every device log the hub holds (leaves, tree, checkpoint signatures, key chain, the hub's
//! own cosignatures). Both reuse signoff-audit's tree, note and chain code.

use crate::model::{DeviceHistory, HistoryEntry, VerifyFailure};
use crate::push::genesis;
use crate::store::LogHead;
use signoff_audit::chain::Chain;
use signoff_audit::merkle::{self, MemoryTree};
use signoff_audit::note::{self, Checkpoint};
use signoff_audit::witness::CosignatureVerifier;

/// A device's stored log: its leaves with their stored hashes.
pub type StoredLog = [(Vec<u8>, [u8; 32])];

/// Re-verifies one device's log as stored: every leaf at its index with its stored hash, the
/// key chain, the newest checkpoint's signature and root, and the hub's cosignature on it.
/// Returns the number of entries checked.
pub fn verify_log(
    public_key: &[u8; 32],
    head: &LogHead,
    log: &StoredLog,
    witness: &CosignatureVerifier,
) -> Result<u64, (Option<u64>, String)> {
    if log.len() as u64 != head.size {
        return Err((
            None,
            format!(
                "the head says {} entries but {} are stored",
                head.size,
                log.len()
            ),
        ));
    }
    let mut chain = Chain::new(genesis(&head.origin, public_key));
    let mut tree = MemoryTree::default();
    for (i, (leaf, stored)) in log.iter().enumerate() {
        let i = i as u64;
        signoff_audit::log::check_leaf(i, leaf).map_err(|e| (Some(i), e.to_string()))?;
        let h = merkle::leaf_hash(leaf);
        if h != *stored {
            return Err((
                Some(i),
                format!("entry {i}'s stored hash is not its leaf's"),
            ));
        }
        chain
            .entry(i, leaf)
            .map_err(|e| (Some(i), format!("entry {i}: {e}")))?;
        tree.push_hash(h);
    }
    let key = chain.checkpoint_key(head.size).clone();
    let opened = note::open(&head.checkpoint, std::slice::from_ref(&key))
        .map_err(|e| (None, format!("the newest checkpoint: {e}")))?;
    let cp = Checkpoint::parse(&opened.text).map_err(|e| (None, e.to_string()))?;
    let root = merkle::root(&tree, head.size).map_err(|e| (None, e.to_string()))?;
    if cp.size != head.size || cp.root != root || cp.origin != head.origin {
        return Err((
            None,
            format!(
                "the newest checkpoint ({} at size {}) does not match the {} stored entries",
                cp.origin, cp.size, head.size
            ),
        ));
    }
    if !head.cosigned.starts_with(&head.checkpoint) {
        return Err((
            None,
            "the cosigned checkpoint is not the newest checkpoint".into(),
        ));
    }
    match witness.verify(&head.cosigned) {
        Ok(Some(_)) => Ok(head.size),
        Ok(None) => Err((
            None,
            "the newest checkpoint carries no cosignature by this hub".into(),
        )),
        Err(e) => Err((None, e.to_string())),
    }
}

/// A failure as reported.
pub fn failure(device: &str, (index, why): (Option<u64>, String)) -> VerifyFailure {
    VerifyFailure {
        device: device.to_string(),
        index,
        why,
    }
}

/// One device's entries about a case (`indexes`, ascending), on day `on` if given, with
/// inclusion proofs against the root of its newest (cosigned) checkpoint.
pub fn device_history(
    device: &str,
    head: &LogHead,
    log: &StoredLog,
    indexes: &[u64],
    on: Option<chrono::NaiveDate>,
) -> Result<DeviceHistory, String> {
    let mut tree = MemoryTree::default();
    for (_, h) in log {
        tree.push_hash(*h);
    }
    let mut entries = Vec::new();
    for &i in indexes {
        let Some((leaf, _)) = log.get(i as usize) else {
            return Err(format!("entry {i} of device {device} is not stored"));
        };
        let v: serde_json::Value =
            serde_json::from_slice(leaf).map_err(|e| format!("entry {i}: {e}"))?;
        let at = v["at"].as_str().unwrap_or("").to_string();
        if let Some(day) = on {
            let same_day = chrono::DateTime::parse_from_rfc3339(&at)
                .is_ok_and(|t| t.with_timezone(&chrono::Utc).date_naive() == day);
            if !same_day {
                continue;
            }
        }
        let proof = merkle::inclusion_proof(&tree, i, head.size).map_err(|e| e.to_string())?;
        entries.push(HistoryEntry {
            index: i,
            kind: v["kind"].as_str().unwrap_or("").to_string(),
            actor: v["actor"].as_str().unwrap_or("").to_string(),
            at,
            leaf: String::from_utf8_lossy(leaf).into_owned(),
            proof: proof.iter().map(hex::encode).collect(),
        });
    }
    Ok(DeviceHistory {
        device: device.to_string(),
        origin: head.origin.clone(),
        cosigned_checkpoint: head.cosigned.clone(),
        size: head.size,
        entries,
    })
}
