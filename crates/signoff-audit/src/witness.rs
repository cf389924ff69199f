//! Witness cosignatures: C2SP tlog-cosignature `cosignature/v1` with Ed25519. A cosignature is
//! one more signature line on a checkpoint's signed note, so the cosigned checkpoint is still
//! a valid signed note for the log's own key. The line is
//! `— <witness name> base64(key id ‖ timestamp ‖ signature)`, with the key id the first four
//! bytes of SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key), the timestamp 8 bytes big-endian (Unix
//! seconds), and the signature over `cosignature/v1\ntime <timestamp>\n` followed by the whole
//! checkpoint body. Verifier keys are `name+keyid+base64(0x04 ‖ public key)`.

use crate::note::{check_name, Signer};
use crate::AuditError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type byte of a timestamped Ed25519 cosignature (`cosignature/v1`).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// The key id of a `cosignature/v1` key under `name`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_COSIGNATURE_V1]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// The message a cosignature signs: the header line, the time line, the checkpoint body.
pub fn signed_message(checkpoint_body: &str, time: u64) -> String {
    format!("cosignature/v1\ntime {time}\n{checkpoint_body}")
}

/// A witness that cosigns checkpoints under a name.
pub struct Cosigner<'a> {
    name: String,
    signer: &'a dyn Signer,
}

impl<'a> Cosigner<'a> {
    /// A cosigner; `name` is what verifiers know the witness by (a schema-less URL).
    pub fn new(name: &str, signer: &'a dyn Signer) -> Result<Self, AuditError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_string(),
            signer,
        })
    }

    /// The witness's verifier key (`name+keyid+base64(0x04 ‖ key)`).
    pub fn verifier_key(&self) -> String {
        let pk = self.signer.public_key();
        CosignatureVerifier {
            name: self.name.clone(),
            key_id: key_id(&self.name, &pk),
            public_key: pk,
        }
        .to_vkey()
    }

    /// The cosignature line for a checkpoint body (ending in a newline) at `time`.
    pub fn signature_line(&self, checkpoint_body: &str, time: u64) -> Result<String, AuditError> {
        if !checkpoint_body.ends_with('\n') || time > i64::MAX as u64 {
            return Err(AuditError::Malformed {
                what: "cosigned checkpoint",
                why: "the body must end with a newline and the time fit in 63 bits".into(),
            });
        }
        let sig = self
            .signer
            .sign(signed_message(checkpoint_body, time).as_bytes())?;
        let mut b = key_id(&self.name, &self.signer.public_key())
            .to_be_bytes()
            .to_vec();
        b.extend_from_slice(&time.to_be_bytes());
        b.extend_from_slice(&sig);
        Ok(format!("— {} {}\n", self.name, B64.encode(b)))
    }

    /// `note` (a signed checkpoint) with this witness's cosignature at `time` appended.
    pub fn cosign(&self, note: &str, time: u64) -> Result<String, AuditError> {
        let (body, _) = split(note)?;
        Ok(format!("{note}{}", self.signature_line(body, time)?))
    }
}

/// A trusted witness key, parsed from its `name+keyid+base64` form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    /// The witness's name.
    pub name: String,
    /// Its key id.
    pub key_id: u32,
    /// Its Ed25519 public key.
    pub public_key: [u8; 32],
}

impl CosignatureVerifier {
    /// Parses a witness verifier key, checking its type byte and key id.
    pub fn parse(vkey: &str) -> Result<Self, AuditError> {
        let bad = |why: &str| AuditError::Malformed {
            what: "witness verifier key",
            why: why.to_string(),
        };
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected name+keyid+base64"));
        };
        check_name(name)?;
        if id.len() != 8 {
            return Err(bad("key id is not 8 hex digits"));
        }
        let key_id = u32::from_str_radix(id, 16).map_err(|_| bad("key id is not 8 hex digits"))?;
        let raw = B64.decode(key).map_err(|_| bad("key is not base64"))?;
        if raw.len() != 33 || raw[0] != ALG_COSIGNATURE_V1 {
            return Err(bad(
                "not a cosignature/v1 Ed25519 key (type 0x04, 32 bytes)",
            ));
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

    /// The `name+keyid+base64` text of this key.
    pub fn to_vkey(&self) -> String {
        let mut k = vec![ALG_COSIGNATURE_V1];
        k.extend_from_slice(&self.public_key);
        format!("{}+{:08x}+{}", self.name, self.key_id, B64.encode(k))
    }

    /// Checks this witness's cosignature on `note` and returns its time (Unix seconds);
    /// `Ok(None)` when the note carries no line by this witness, an error when one does and it
    /// does not verify.
    pub fn verify(&self, note: &str) -> Result<Option<u64>, AuditError> {
        let (body, sigs) = split(note)?;
        for line in sigs.lines() {
            let Some((name, b64)) = line.strip_prefix("— ").and_then(|r| r.split_once(' '))
            else {
                continue;
            };
            if name != self.name {
                continue;
            }
            let Ok(raw) = B64.decode(b64) else { continue };
            if raw.len() != 4 + 8 + 64
                || u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) != self.key_id
            {
                continue;
            }
            let time = u64::from_be_bytes(raw[4..12].try_into().unwrap_or([0; 8]));
            let ok = VerifyingKey::from_bytes(&self.public_key)
                .ok()
                .zip(Signature::from_slice(&raw[12..]).ok())
                .is_some_and(|(vk, sig)| {
                    vk.verify(signed_message(body, time).as_bytes(), &sig)
                        .is_ok()
                });
            if !ok {
                return Err(AuditError::BadSignature(format!(
                    "cosignature by witness {} ({:08x}) does not verify",
                    self.name, self.key_id
                )));
            }
            return Ok(Some(time));
        }
        Ok(None)
    }
}

/// A signed note's body (ending in a newline) and its signature block.
fn split(note: &str) -> Result<(&str, &str), AuditError> {
    let at = note.rfind("\n\n").ok_or_else(|| AuditError::Malformed {
        what: "signed note",
        why: "no blank line before the signatures".into(),
    })?;
    Ok((&note[..at + 1], &note[at + 2..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{open, Ed25519Key, NoteSigner, NoteVerifier};

    fn checkpoint() -> (String, NoteVerifier) {
        let log = Ed25519Key::from_seed([1; 32]);
        let s = NoteSigner::new("example.com/log", &log).unwrap();
        let note = s
            .sign("example.com/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
            .unwrap();
        (note, NoteVerifier::parse(&s.verifier_key()).unwrap())
    }

    #[test]
    fn a_cosigned_checkpoint_verifies_for_the_witness_and_is_still_a_signed_note() {
        let (note, log_key) = checkpoint();
        let w = Ed25519Key::from_seed([2; 32]);
        let c = Cosigner::new("witness.example/w1", &w).unwrap();
        let cosigned = c.cosign(&note, 1_679_315_147).unwrap();
        let v = CosignatureVerifier::parse(&c.verifier_key()).unwrap();
        assert_eq!(v.verify(&cosigned).unwrap(), Some(1_679_315_147));
        assert_eq!(v.verify(&note).unwrap(), None, "no cosignature yet");
        let opened = open(&cosigned, &[log_key]).unwrap();
        assert_eq!(
            opened.unknown.len(),
            1,
            "the witness line is kept, not trusted"
        );
    }

    #[test]
    fn a_changed_time_or_body_breaks_the_cosignature() {
        let (note, _) = checkpoint();
        let w = Ed25519Key::from_seed([2; 32]);
        let c = Cosigner::new("witness.example/w1", &w).unwrap();
        let v = CosignatureVerifier::parse(&c.verifier_key()).unwrap();
        let cosigned = c.cosign(&note, 100).unwrap();
        let line = cosigned.lines().last().unwrap();
        let b64 = line.rsplit(' ').next().unwrap();
        let mut raw = B64.decode(b64).unwrap();
        raw[11] ^= 1;
        let later = cosigned.replace(b64, &B64.encode(raw));
        assert!(v.verify(&later).is_err());
        let other = cosigned.replacen("\n3\n", "\n4\n", 1);
        assert!(v.verify(&other).is_err());
    }

    #[test]
    fn the_key_id_uses_type_0x04_not_the_note_key_type() {
        let w = Ed25519Key::from_seed([2; 32]);
        let pk = w.public_key();
        assert_ne!(key_id("w", &pk), crate::note::key_id("w", &pk));
        let c = Cosigner::new("w", &w).unwrap();
        assert!(NoteVerifier::parse(&c.verifier_key()).is_err());
    }
}
