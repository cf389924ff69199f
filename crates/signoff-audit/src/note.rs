//! C2SP signed notes with Ed25519 signatures, and C2SP tlog-checkpoint bodies.
//!
//! Byte-for-byte the format of Go's `golang.org/x/mod/sumdb/note`: the text ends in a newline,
//! a blank line follows, then one line per signature: `— <name> <base64(keyid ‖ sig)>`. The key
//! id is the first four bytes (big-endian) of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key).

use crate::merkle::Hash;
use crate::AuditError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature algorithm byte for Ed25519 in note keys.
const ALG_ED25519: u8 = 0x01;
/// The largest note accepted by the parser.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

/// Something that can sign: a key in memory, an OS key store entry, a hardware token.
pub trait Signer: Send + Sync {
    /// The Ed25519 public key.
    fn public_key(&self) -> [u8; 32];
    /// An Ed25519 signature over `msg`.
    fn sign(&self, msg: &[u8]) -> Result<[u8; 64], AuditError>;
}

/// An Ed25519 key held in memory.
pub struct Ed25519Key(SigningKey);

impl Ed25519Key {
    /// The key with this 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self(SigningKey::from_bytes(&seed))
    }

    /// The 32-byte seed (for writing to a key store).
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
}

impl std::fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ed25519Key({})", hex::encode(self.public_key()))
    }
}

impl Signer for Ed25519Key {
    fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }
    fn sign(&self, msg: &[u8]) -> Result<[u8; 64], AuditError> {
        Ok(self.0.sign(msg).to_bytes())
    }
}

pub(crate) fn check_name(name: &str) -> Result<(), AuditError> {
    if name.is_empty()
        || name.contains('+')
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AuditError::Malformed {
            what: "key name",
            why: format!("{name:?} must be non-empty, without spaces or '+'"),
        });
    }
    Ok(())
}

/// The note key id of an Ed25519 key under `name`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Signs notes under a name with a `Signer`.
pub struct NoteSigner<'a> {
    name: String,
    signer: &'a dyn Signer,
}

impl<'a> NoteSigner<'a> {
    /// A note signer; the name is what verifiers know the key by.
    pub fn new(name: &str, signer: &'a dyn Signer) -> Result<Self, AuditError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_string(),
            signer,
        })
    }

    /// The verifier key in the standard `name+keyid+base64` form.
    pub fn verifier_key(&self) -> String {
        let pk = self.signer.public_key();
        NoteVerifier {
            key_id: key_id(&self.name, &pk),
            name: self.name.clone(),
            public_key: pk,
        }
        .to_vkey()
    }

    /// The signature line for `text` (already ending in a newline).
    pub fn signature_line(&self, text: &str) -> Result<String, AuditError> {
        check_text(text)?;
        let sig = self.signer.sign(text.as_bytes())?;
        let mut b = key_id(&self.name, &self.signer.public_key())
            .to_be_bytes()
            .to_vec();
        b.extend_from_slice(&sig);
        Ok(format!("— {} {}\n", self.name, B64.encode(b)))
    }

    /// A signed note: the text, a blank line, and this signer's signature line.
    pub fn sign(&self, text: &str) -> Result<String, AuditError> {
        Ok(format!("{text}\n{}", self.signature_line(text)?))
    }
}

fn check_text(text: &str) -> Result<(), AuditError> {
    if !text.ends_with('\n') {
        return Err(AuditError::Malformed {
            what: "note",
            why: "text must end with a newline".into(),
        });
    }
    if text.chars().any(|c| c != '\n' && c.is_control()) {
        return Err(AuditError::Malformed {
            what: "note",
            why: "text contains control characters".into(),
        });
    }
    Ok(())
}

/// A trusted public key, parsed from its `name+keyid+base64` form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    /// Key name.
    pub name: String,
    /// Key id.
    pub key_id: u32,
    /// Ed25519 public key.
    pub public_key: [u8; 32],
}

impl NoteVerifier {
    /// Parses a verifier key, checking that its key id matches its name and key.
    pub fn parse(vkey: &str) -> Result<Self, AuditError> {
        let bad = |why: &str| AuditError::Malformed {
            what: "verifier key",
            why: why.to_string(),
        };
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected name+keyid+base64"));
        };
        check_name(name)?;
        let key_id = u32::from_str_radix(id, 16).map_err(|_| bad("key id is not 8 hex digits"))?;
        if id.len() != 8 {
            return Err(bad("key id is not 8 hex digits"));
        }
        let raw = B64.decode(key).map_err(|_| bad("key is not base64"))?;
        if raw.len() != 33 || raw[0] != ALG_ED25519 {
            return Err(bad("not an Ed25519 key (algorithm 1, 32 bytes)"));
        }
        let mut public_key = [0u8; 32];
        public_key.copy_from_slice(&raw[1..]);
        if self::key_id(name, &public_key) != key_id {
            return Err(bad("key id does not match the name and key"));
        }
        Ok(Self {
            name: name.to_string(),
            key_id,
            public_key,
        })
    }

    /// The standard `name+keyid+base64` text of this key (what [`NoteVerifier::parse`] reads).
    pub fn to_vkey(&self) -> String {
        let mut k = vec![ALG_ED25519];
        k.extend_from_slice(&self.public_key);
        format!("{}+{:08x}+{}", self.name, self.key_id, B64.encode(k))
    }

    fn check(&self, text: &str, sig: &[u8]) -> bool {
        let Ok(vk) = VerifyingKey::from_bytes(&self.public_key) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(sig) else {
            return false;
        };
        vk.verify(text.as_bytes(), &sig).is_ok()
    }
}

/// A note whose signatures were checked: the text and who signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedNote {
    /// The signed text.
    pub text: String,
    /// Names of the known keys whose signatures verified.
    pub signed_by: Vec<String>,
    /// Signature lines by keys not among the verifiers (kept, not trusted).
    pub unknown: Vec<String>,
}

/// Parses a signed note and checks it: at least one signature must be by a known key, and
/// every signature by a known key must verify.
pub fn open(note: &str, verifiers: &[NoteVerifier]) -> Result<OpenedNote, AuditError> {
    let bad = |why: String| AuditError::Malformed {
        what: "signed note",
        why,
    };
    if note.len() > MAX_NOTE_BYTES {
        return Err(bad(format!(
            "{} bytes is over the {MAX_NOTE_BYTES}-byte limit",
            note.len()
        )));
    }
    let split = note
        .rfind("\n\n")
        .ok_or_else(|| bad("no blank line before the signatures".into()))?;
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    check_text(text)?;
    if !sigs.ends_with('\n') || sigs.is_empty() {
        return Err(bad("signature block must end with a newline".into()));
    }
    let mut signed_by = Vec::new();
    let mut unknown = Vec::new();
    for line in sigs.lines() {
        let rest = line.strip_prefix("— ").ok_or_else(|| {
            bad(format!(
                "signature line {line:?} does not start with an em dash"
            ))
        })?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| bad(format!("signature line {line:?} has no signature")))?;
        let raw = B64
            .decode(b64)
            .map_err(|_| bad(format!("signature by {name} is not base64")))?;
        if raw.len() < 5 {
            return Err(bad(format!("signature by {name} is too short")));
        }
        let id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        match verifiers.iter().find(|v| v.name == name && v.key_id == id) {
            Some(v) if v.check(text, &raw[4..]) => signed_by.push(name.to_string()),
            Some(_) => {
                return Err(AuditError::BadSignature(format!(
                    "signature by {name} ({id:08x}) does not verify"
                )))
            }
            None => unknown.push(line.to_string()),
        }
    }
    if signed_by.is_empty() {
        let who: Vec<String> = unknown
            .iter()
            .filter_map(|l| {
                let rest = l.strip_prefix("— ")?;
                let (name, b64) = rest.split_once(' ')?;
                let raw = B64.decode(b64).ok()?;
                Some(format!(
                    "{name} key id {:02x}{:02x}{:02x}{:02x}",
                    raw[0], raw[1], raw[2], raw[3]
                ))
            })
            .collect();
        return Err(AuditError::BadSignature(format!(
            "no signature by a known key (signed only by unknown keys: {})",
            who.join(", ")
        )));
    }
    Ok(OpenedNote {
        text: text.to_string(),
        signed_by,
        unknown,
    })
}

/// A C2SP tlog-checkpoint: origin, tree size, root hash, optional extension lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's unique origin line.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// Root hash of those leaves.
    pub root: Hash,
    /// Extension lines (without newlines).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The checkpoint body, ending in a newline.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses a checkpoint body.
    pub fn parse(text: &str) -> Result<Self, AuditError> {
        let bad = |why: String| AuditError::Malformed {
            what: "checkpoint",
            why,
        };
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("must end with a newline".into()))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| bad("missing origin line".into()))?;
        let size = lines
            .next()
            .ok_or_else(|| bad("missing size line".into()))?;
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(bad(format!("size {size:?} is not a decimal number")));
        }
        let size: u64 = size.parse().map_err(|_| bad("size is too large".into()))?;
        let root_b64 = lines
            .next()
            .ok_or_else(|| bad("missing root hash line".into()))?;
        let root: Hash = B64
            .decode(root_b64)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| bad("root hash is not 32 bytes of base64".into()))?;
        let extensions: Vec<String> = lines.map(str::to_string).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(bad("empty extension line".into()));
        }
        Ok(Self {
            origin: origin.to_string(),
            size,
            root,
            extensions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_checkpoint_opens_with_its_verifier_key_and_round_trips() {
        let key = Ed25519Key::from_seed([7u8; 32]);
        let signer = NoteSigner::new("signoff.test/log", &key).unwrap();
        let cp = Checkpoint {
            origin: "signoff.test/log".into(),
            size: 3,
            root: [9u8; 32],
            extensions: vec![],
        };
        let note = signer.sign(&cp.to_text()).unwrap();
        assert!(note.starts_with("signoff.test/log\n3\nCQkJ"));
        assert!(note.contains("\n\n— signoff.test/log "));
        let v = NoteVerifier::parse(&signer.verifier_key()).unwrap();
        let opened = open(&note, &[v]).unwrap();
        assert_eq!(Checkpoint::parse(&opened.text).unwrap(), cp);
    }

    #[test]
    fn any_flipped_byte_in_a_signed_note_is_refused() {
        let key = Ed25519Key::from_seed([1u8; 32]);
        let signer = NoteSigner::new("log", &key).unwrap();
        let note = signer
            .sign("log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
            .unwrap();
        let v = NoteVerifier::parse(&signer.verifier_key()).unwrap();
        for i in 0..note.len() {
            let mut b = note.clone().into_bytes();
            b[i] ^= 0x01;
            if let Ok(s) = String::from_utf8(b) {
                assert!(
                    open(&s, std::slice::from_ref(&v)).is_err(),
                    "flip at byte {i} went unnoticed"
                );
            }
        }
    }

    /// The signer key, text and signed note of the test vector in Go's
    /// golang.org/x/mod/sumdb/note (TestSign): our bytes must equal Go's.
    #[test]
    fn signs_byte_for_byte_like_go_sumdb_note() {
        let raw = B64
            .decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
            .unwrap();
        assert_eq!(raw[0], ALG_ED25519);
        let key = Ed25519Key::from_seed(raw[1..].try_into().unwrap());
        let signer = NoteSigner::new("PeterNeumann", &key).unwrap();
        assert_eq!(
            signer.verifier_key(),
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        );
        let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
        let want = format!(
            "{text}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        );
        assert_eq!(signer.sign(text).unwrap(), want);
    }

    #[test]
    fn a_note_signed_by_an_unknown_key_is_refused() {
        let a = Ed25519Key::from_seed([1u8; 32]);
        let b = Ed25519Key::from_seed([2u8; 32]);
        let note = NoteSigner::new("log", &a).unwrap().sign("hello\n").unwrap();
        let vb = NoteVerifier::parse(&NoteSigner::new("log", &b).unwrap().verifier_key()).unwrap();
        assert!(matches!(
            open(&note, &[vb]),
            Err(AuditError::BadSignature(_))
        ));
    }
}
