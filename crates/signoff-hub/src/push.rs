//! Checking a pushed batch of a device's log before any of it is kept: leaves the hub already
//! holds must be byte-identical (else the batch forks the log), new leaves must be well-formed
//! v1 entries at their index and obey the key chain (reviewer signatures on dispositions, key
//! rotations), and the device's signed checkpoint must cover exactly the log with the batch
//! appended: its root is recomputed from the stored right edge plus the new leaf hashes, so a
//! checkpoint is accepted only if it is consistent with everything the hub holds (and so with
//! the last checkpoint it cosigned). Pure over its inputs; the handler does the IO.

use crate::store::{DispositionIn, LogHead};
use signoff_audit::chain::Chain;
use signoff_audit::merkle::{leaf_hash, Hash, RightEdge};
use signoff_audit::note::{self, Checkpoint, NoteVerifier};
use std::collections::BTreeMap;

/// Why a batch is refused: a code, the first index that cannot be accepted, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `log_gap`, `log_fork`, `bad_entry` or `bad_checkpoint`.
    pub code: &'static str,
    /// The first bad index.
    pub first_bad: u64,
    /// What is wrong.
    pub why: String,
}

fn refuse(code: &'static str, first_bad: u64, why: String) -> Refusal {
    Refusal {
        code,
        first_bad,
        why,
    }
}

/// A batch that checked out: what to append.
#[derive(Debug, Clone)]
pub struct Checked {
    /// New entries.
    pub entries: Vec<crate::store::NewEntry>,
    /// The head after them (the cosigned note is filled in by the caller).
    pub head: LogHead,
    /// Dispositions among the new entries.
    pub dispositions: Vec<DispositionIn>,
}

/// The device's genesis note key: its log origin under its enrolled public key.
pub fn genesis(origin: &str, public_key: &[u8; 32]) -> NoteVerifier {
    NoteVerifier {
        name: origin.to_string(),
        key_id: note::key_id(origin, public_key),
        public_key: *public_key,
    }
}

/// The origin line of a signed checkpoint.
pub fn origin_of(checkpoint: &str) -> Option<&str> {
    checkpoint.lines().next().filter(|o| !o.is_empty())
}

/// Serialises a right edge as `level:hex` items joined by `,`.
pub fn edge_text(e: &RightEdge) -> String {
    e.parts()
        .iter()
        .map(|(l, h)| format!("{l}:{}", hex::encode(h)))
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads a right edge of `size` leaves back.
pub fn edge_of(size: u64, text: &str) -> Result<RightEdge, String> {
    let mut parts = Vec::new();
    for item in text.split(',').filter(|s| !s.is_empty()) {
        let (l, h) = item
            .split_once(':')
            .ok_or_else(|| format!("stored tree edge item {item:?} is malformed"))?;
        let l: u32 = l.parse().map_err(|_| format!("stored edge level {l:?}"))?;
        let h: Hash = hex::decode(h)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("stored edge hash {h:?}"))?;
        parts.push((l, h));
    }
    RightEdge::from_parts(size, parts).map_err(|e| e.to_string())
}

/// The inputs of a check.
pub struct Batch<'a> {
    /// Index of the first leaf.
    pub start: u64,
    /// The leaves.
    pub leaves: &'a [Vec<u8>],
    /// The device's signed checkpoint of `start + leaves.len()` entries.
    pub checkpoint: &'a str,
    /// Fencing tokens claimed per case.
    pub fences: &'a BTreeMap<String, i64>,
}

/// Checks `batch` against the hub's head (`None`: nothing held yet), the hashes of the leaves
/// it already holds from `batch.start` on (`held`), and the key chain replayed to the head
/// (advanced past the new leaves on success). `Ok(None)`: nothing new (a resend).
pub fn check(
    head: Option<&LogHead>,
    held: &[Hash],
    chain: &mut Chain,
    batch: &Batch<'_>,
) -> Result<Option<Checked>, Refusal> {
    let size = head.map_or(0, |h| h.size);
    if batch.start > size {
        return Err(refuse(
            "log_gap",
            size,
            format!(
                "the batch starts at index {} but the hub holds {size} entries of this log: send from {size}",
                batch.start
            ),
        ));
    }
    for (i, (leaf, have)) in batch.leaves.iter().zip(held).enumerate() {
        if leaf_hash(leaf) != *have {
            let at = batch.start + i as u64;
            return Err(refuse(
                "log_fork",
                at,
                format!("entry {at} differs from the one the hub already holds: the batch forks this device's log"),
            ));
        }
    }
    let end = batch.start + batch.leaves.len() as u64;
    if end <= size {
        return Ok(None);
    }
    let origin = match head {
        Some(h) => h.origin.clone(),
        None => origin_of(batch.checkpoint)
            .ok_or_else(|| {
                refuse(
                    "bad_checkpoint",
                    0,
                    "the checkpoint has no origin line".into(),
                )
            })?
            .to_string(),
    };
    let new_from = (size - batch.start) as usize;
    let mut edge = match head {
        Some(h) => edge_of(h.size, &h.edge).map_err(|e| refuse("log_fork", size, e))?,
        None => RightEdge::default(),
    };
    let mut entries = Vec::with_capacity(batch.leaves.len() - new_from);
    let mut dispositions = Vec::new();
    for (k, leaf) in batch.leaves[new_from..].iter().enumerate() {
        let index = size + k as u64;
        signoff_audit::log::check_leaf(index, leaf)
            .map_err(|e| refuse("bad_entry", index, e.to_string()))?;
        chain
            .entry(index, leaf)
            .map_err(|e| refuse("bad_entry", index, format!("entry {index}: {e}")))?;
        let h = leaf_hash(leaf);
        edge.push_leaf_hash(h);
        if let Some(d) = disposition_of(index, leaf, batch.fences) {
            dispositions.push(d);
        }
        entries.push((index, leaf.clone(), h, crate::store::case_key_of(leaf)));
    }
    let key = chain.checkpoint_key(end).clone();
    if key.name != origin {
        return Err(refuse(
            "bad_checkpoint",
            size,
            format!(
                "the log's origin is {origin:?}, but its key is for {:?}",
                key.name
            ),
        ));
    }
    let opened = note::open(batch.checkpoint, std::slice::from_ref(&key)).map_err(|e| {
        refuse(
            "bad_checkpoint",
            size,
            format!("the checkpoint is not signed by this device's log key: {e}"),
        )
    })?;
    let cp = Checkpoint::parse(&opened.text)
        .map_err(|e| refuse("bad_checkpoint", size, e.to_string()))?;
    if cp.origin != origin || cp.size != end {
        return Err(refuse(
            "bad_checkpoint",
            size,
            format!(
                "the checkpoint is of log {:?} at size {}, but the batch ends the log {origin:?} at {end}",
                cp.origin, cp.size
            ),
        ));
    }
    if cp.root != edge.root() {
        return Err(refuse(
            "log_fork",
            size,
            format!("the signed root of {end} entries is not the root of the entries the hub holds plus this batch: not consistent with what it cosigned"),
        ));
    }
    Ok(Some(Checked {
        entries,
        head: LogHead {
            origin,
            size: end,
            edge: edge_text(&edge),
            checkpoint: batch.checkpoint.to_string(),
            cosigned: String::new(),
        },
        dispositions,
    }))
}

/// A disposition or undo entry about a case, as the hub applies it.
fn disposition_of(
    index: u64,
    leaf: &[u8],
    fences: &BTreeMap<String, i64>,
) -> Option<DispositionIn> {
    if !(memchr_kind(leaf, b"disposition") || memchr_kind(leaf, b"undo")) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(leaf).ok()?;
    let kind = v.get("kind")?.as_str()?;
    if kind != "disposition" && kind != "undo" {
        return None;
    }
    let case_id = v.get("case_id")?.as_str()?.to_string();
    let at_ms = v
        .get("at")
        .and_then(|a| a.as_str())
        .and_then(|a| chrono::DateTime::parse_from_rfc3339(a).ok())
        .map_or(0, |t| t.timestamp_millis());
    Some(DispositionIn {
        index,
        fence: fences.get(&case_id).copied(),
        decision: v
            .pointer("/payload/disposition")
            .and_then(|d| d.as_str())
            .map(str::to_string),
        actor: v.get("actor")?.as_str()?.to_string(),
        kind: kind.to_string(),
        case_id,
        at_ms,
    })
}

/// Whether the leaf's kind may be `kind` (a cheap byte scan before parsing).
fn memchr_kind(leaf: &[u8], kind: &[u8]) -> bool {
    let mut needle = b"\"kind\":\"".to_vec();
    needle.extend_from_slice(kind);
    needle.push(b'"');
    leaf.windows(needle.len()).any(|w| w == needle.as_slice())
}
