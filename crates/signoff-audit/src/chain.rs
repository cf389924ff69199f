//! Who may sign what in a log: the device key chain (rotations) and the reviewers' own keys.
//!
//! Entries can carry a personal Ed25519 signature in `payload.signature` (21 CFR 11.50: the
//! printed name, the time and the meaning of the signature are inside what is signed). The
//! signed message is a domain-separation line followed by the canonical leaf without the
//! `sig` field, so the signature binds the entry's position, kind, case, payload, name, time
//! and meaning. Three entry kinds change who may sign:
//! - `reviewer_key` introduces a reviewer's public key (self-signed: proof of possession);
//! - `key_rotation`, signed by the current device key, hands the log to a new device key;
//! - `disposition`, `undo` and the claim resolutions (`claim_accept`, `claim_edit`,
//!   `claim_remove`) by a reviewer with a registered key must be signed by it.
//!
//! [`Chain`] replays those rules over leaves in order; the workspace verifier and the bundle
//! verifier both use it, so a log and its export are judged by the same code.

use crate::log::{self, Entry, LogError};
use crate::note::{NoteSigner, NoteVerifier, Signer};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// First line of every signed entry message (domain separation from notes and other uses).
pub const SIGNATURE_CONTEXT: &[u8] = b"signoff entry signature v1\n";
/// Entry kind introducing a reviewer's key.
pub const REVIEWER_KEY: &str = "reviewer_key";
/// Entry kind handing the log to a new device key.
pub const KEY_ROTATION: &str = "key_rotation";

/// The signature manifestation a person (or the old device key) adds to an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Printed name of the signer.
    pub name: String,
    /// Meaning of the signature ("approved", "rejected", "key rotation" …).
    pub meaning: String,
    /// When it was signed, ms since the epoch.
    pub at_ms: i64,
}

/// Adds `payload.signature` to `entry`, signed by `signer` for leaf position `index`.
pub fn sign_entry(
    index: u64,
    entry: &mut Entry,
    signer: &dyn Signer,
    manifest: &Manifest,
) -> Result<(), LogError> {
    let mut sig = Map::new();
    sig.insert("key".into(), B64.encode(signer.public_key()).into());
    sig.insert("meaning".into(), manifest.meaning.clone().into());
    sig.insert("name".into(), manifest.name.clone().into());
    sig.insert("signed_at".into(), log::rfc3339_ms(manifest.at_ms)?.into());
    entry.payload.insert("signature".into(), Value::Object(sig));
    let mut msg = SIGNATURE_CONTEXT.to_vec();
    msg.extend_from_slice(&log::encode_leaf(index, entry)?);
    let s = signer.sign(&msg)?;
    if let Some(Value::Object(o)) = entry.payload.get_mut("signature") {
        o.insert("sig".into(), B64.encode(s).into());
    }
    Ok(())
}

/// A checked personal signature found in a leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBy {
    /// The signer's public key.
    pub key: [u8; 32],
    /// Printed name.
    pub name: String,
    /// Meaning.
    pub meaning: String,
    /// Signing time as written (RFC 3339).
    pub signed_at: String,
}

/// Checks the signature inside a parsed leaf; `Ok(None)` when the leaf carries none.
pub fn check_signature(leaf: &Value) -> Result<Option<SignedBy>, String> {
    let Some(sig) = leaf.pointer("/payload/signature") else {
        return Ok(None);
    };
    let field = |k: &str| -> Result<&str, String> {
        sig.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("signature has no {k}"))
    };
    let key: [u8; 32] = B64
        .decode(field("key")?)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or("signature key is not a base64 Ed25519 key")?;
    let raw: [u8; 64] = B64
        .decode(field("sig")?)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or("signature is not 64 base64 bytes")?;
    let mut unsigned = leaf.clone();
    if let Some(Value::Object(o)) = unsigned.pointer_mut("/payload/signature") {
        o.remove("sig");
    }
    let mut msg = SIGNATURE_CONTEXT.to_vec();
    msg.extend_from_slice(&serde_json::to_vec(&unsigned).map_err(|e| e.to_string())?);
    let vk = VerifyingKey::from_bytes(&key).map_err(|_| "signature key is not on the curve")?;
    let name = field("name")?;
    vk.verify(&msg, &Signature::from_bytes(&raw))
        .map_err(|_| format!("the signature by {name} does not verify"))?;
    Ok(Some(SignedBy {
        key,
        name: name.to_string(),
        meaning: field("meaning")?.to_string(),
        signed_at: field("signed_at")?.to_string(),
    }))
}

/// A `reviewer_key` entry introducing `public_key` for `reviewer_id`, self-signed.
pub fn reviewer_key_entry(
    index: u64,
    reviewer_id: &str,
    name: &str,
    signer: &dyn Signer,
    at_ms: i64,
) -> Result<Entry, LogError> {
    let mut e = Entry {
        kind: REVIEWER_KEY.into(),
        case_id: None,
        actor: reviewer_id.into(),
        at_ms,
        payload: Map::from_iter([(
            "public_key".to_string(),
            Value::from(B64.encode(signer.public_key())),
        )]),
    };
    let manifest = Manifest {
        name: name.into(),
        meaning: "key registration".into(),
        at_ms,
    };
    sign_entry(index, &mut e, signer, &manifest)?;
    Ok(e)
}

/// A `key_rotation` entry handing the log named `origin` from `old` to `new`, signed by `old`.
pub fn rotation_entry(
    index: u64,
    origin: &str,
    old: &dyn Signer,
    new: &dyn Signer,
    at_ms: i64,
) -> Result<Entry, LogError> {
    let new_vkey = NoteSigner::new(origin, new)?.verifier_key();
    let mut e = Entry {
        kind: KEY_ROTATION.into(),
        case_id: None,
        actor: "device".into(),
        at_ms,
        payload: Map::from_iter([
            (
                "new_key".to_string(),
                Value::from(B64.encode(new.public_key())),
            ),
            ("new_vkey".to_string(), Value::from(new_vkey)),
        ]),
    };
    let manifest = Manifest {
        name: origin.into(),
        meaning: "key rotation".into(),
        at_ms,
    };
    sign_entry(index, &mut e, old, &manifest)?;
    Ok(e)
}

/// Replays the signing rules over leaves in log order.
#[derive(Debug, Clone)]
pub struct Chain {
    origin: String,
    /// Device keys in force: (first checkpoint size they sign beyond, key). Sorted.
    device: Vec<(u64, NoteVerifier)>,
    reviewers: HashMap<String, [u8; 32]>,
    signatures: u64,
}

/// Entry kinds that record a reviewer's own act: by a reviewer with a registered key they
/// must carry that reviewer's signature (a disposition, its undo, and each resolution of a
/// flagged draft claim, since a resolution is what lets a draft go out, and an erasure).
pub const PERSONAL_KINDS: [&str; 6] = [
    "disposition",
    "undo",
    "claim_accept",
    "claim_edit",
    "claim_remove",
    "erase",
];

fn personal_kind(kind: &[u8]) -> bool {
    PERSONAL_KINDS.iter().any(|k| k.as_bytes() == kind)
}

/// The top-level `kind` of a canonical leaf without parsing it: keys are sorted (actor, at,
/// case_id, kind, payload …) and quotes inside strings are escaped, so the first `"kind":"`
/// is the entry's own.
fn leaf_kind(leaf: &[u8]) -> &[u8] {
    find!(leaf, b"\"kind\":\"")
        .map(|at| &leaf[at + 8..])
        .and_then(|rest| memchr::memchr(b'"', rest).map(|end| &rest[..end]))
        .unwrap_or(b"")
}

impl Chain {
    /// A chain starting from the log's first device key.
    pub fn new(genesis: NoteVerifier) -> Self {
        Self {
            origin: genesis.name.clone(),
            device: vec![(0, genesis)],
            reviewers: HashMap::new(),
            signatures: 0,
        }
    }

    /// Personal signatures checked so far.
    pub fn signatures(&self) -> u64 {
        self.signatures
    }

    /// Every device key of the chain, oldest first.
    pub fn device_keys(&self) -> impl Iterator<Item = &NoteVerifier> {
        self.device.iter().map(|(_, v)| v)
    }

    /// The device key that must sign a checkpoint of `size` entries: a rotation at index `r`
    /// is sealed by the old key at size `r + 1`; later checkpoints need the new key.
    pub fn checkpoint_key(&self, size: u64) -> &NoteVerifier {
        let mut key = &self.device[0].1;
        for (from, v) in &self.device {
            if size > *from {
                key = v;
            }
        }
        key
    }

    /// Checks leaf `index` (already authenticated by the tree) against the rules and applies
    /// what it changes. Leaves without signatures and of other kinds cost a byte scan.
    pub fn entry(&mut self, index: u64, leaf: &[u8]) -> Result<(), String> {
        let kind = leaf_kind(leaf);
        let kind_of_interest = kind == REVIEWER_KEY.as_bytes()
            || kind == KEY_ROTATION.as_bytes()
            || (!self.reviewers.is_empty() && personal_kind(kind));
        if !kind_of_interest && find!(leaf, b"\"signature\":{").is_none() {
            return Ok(());
        }
        let v: Value =
            serde_json::from_slice(leaf).map_err(|e| format!("leaf is not JSON: {e}"))?;
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
        let actor = v.get("actor").and_then(Value::as_str).unwrap_or("");
        let by = check_signature(&v)?;
        if by.is_some() {
            self.signatures += 1;
        }
        match kind {
            REVIEWER_KEY => {
                let by = by.ok_or("a reviewer key registration must be self-signed")?;
                let stated = v.pointer("/payload/public_key").and_then(Value::as_str);
                if stated != Some(B64.encode(by.key).as_str()) {
                    return Err("the registered key is not the key that signed it".into());
                }
                self.reviewers.insert(actor.to_string(), by.key);
            }
            KEY_ROTATION => {
                let by = by.ok_or("a key rotation must be signed by the current device key")?;
                let current = self.checkpoint_key(index + 1);
                if by.key != current.public_key {
                    return Err("the key rotation is not signed by the device key in force".into());
                }
                let vkey = v
                    .pointer("/payload/new_vkey")
                    .and_then(Value::as_str)
                    .ok_or("the key rotation names no new key")?;
                let next = NoteVerifier::parse(vkey).map_err(|e| e.to_string())?;
                if next.name != self.origin {
                    return Err(format!(
                        "the new key is for log {:?}, not {:?}",
                        next.name, self.origin
                    ));
                }
                self.device.push((index + 1, next));
            }
            _ if personal_kind(kind.as_bytes()) => match (self.reviewers.get(actor), &by) {
                (Some(k), Some(b)) if *k == b.key => {}
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "signed by a key that is not {actor}'s registered key"
                    ))
                }
                (Some(_), None) => {
                    return Err(format!(
                        "{actor} has a registered key but this {kind} is unsigned"
                    ))
                }
                (None, Some(_)) => {
                    return Err(format!("signed by {actor}, who has no registered key"))
                }
                (None, None) => {}
            },
            _ => {}
        }
        Ok(())
    }
}
