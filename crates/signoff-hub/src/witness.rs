//! The hub as witness of each device's log: one Ed25519 key per hub database (created on first
//! use and shared by every hub process on it), cosigning a device's checkpoint with a C2SP
//! `cosignature/v1` line once the hub has checked that the checkpoint extends what it already
//! holds (see [`crate::push`]).

use crate::store::HubStore;
use crate::HubError;
use signoff_audit::note::{Ed25519Key, Signer};
use signoff_audit::witness::Cosigner;

/// The hub's witness key.
pub struct Witness {
    name: String,
    key: Ed25519Key,
}

impl Witness {
    /// The witness key the database holds, creating it (random) when there is none.
    pub async fn load(store: &dyn HubStore) -> Result<Self, HubError> {
        let seed = signoff_audit::keyfile::os_seed()
            .map_err(|e| HubError::Database(format!("no randomness for the witness key: {e}")))?;
        let fresh = Ed25519Key::from_seed(seed);
        let name = format!(
            "signoff-hub/{}",
            &signoff_sync::httpsig::device_id(&fresh.public_key())[..8]
        );
        let (name, seed) = store.witness_key((name, seed)).await?;
        Ok(Self {
            name,
            key: Ed25519Key::from_seed(seed),
        })
    }

    fn cosigner(&self) -> Result<Cosigner<'_>, HubError> {
        Cosigner::new(&self.name, &self.key).map_err(|e| HubError::Database(e.to_string()))
    }

    /// The verifier key (`name+keyid+base64`, type 0x04) workstations and auditors pin.
    pub fn vkey(&self) -> Result<String, HubError> {
        Ok(self.cosigner()?.verifier_key())
    }

    /// `note` with the hub's cosignature at `time` (Unix seconds) appended.
    pub fn cosign(&self, note: &str, time: u64) -> Result<String, HubError> {
        self.cosigner()?
            .cosign(note, time)
            .map_err(|e| HubError::BadRequest(format!("the checkpoint cannot be cosigned: {e}")))
    }
}
