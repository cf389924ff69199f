//! The device key that seals a workspace's audit log. An explicit key file wins; the demo
//! workspace keeps its own key file; otherwise the key lives in the OS key store (Secret
//! Service). Where no key store is usable, Signoff says so and asks for a key file — never a
//! silent in-memory key.

use crate::ApiError;
use signoff_audit::keyfile;
use signoff_audit::note::Signer;
use std::path::Path;
use std::sync::Arc;

/// Name of the demo workspace's own key file.
pub const DEMO_KEY_FILE: &str = "device.key";

/// Loads (or creates, mode 0600) the device key for a workspace.
pub fn device_key(
    key_file: Option<&Path>,
    workspace: &Path,
    is_demo: bool,
) -> Result<Arc<dyn Signer>, ApiError> {
    let path = match key_file {
        Some(p) => p.to_path_buf(),
        None if is_demo => {
            std::fs::create_dir_all(workspace)
                .map_err(|e| ApiError::Request(format!("{}: {e}", workspace.display())))?;
            workspace.join(DEMO_KEY_FILE)
        }
        None => return key_store(workspace),
    };
    let key = keyfile::load_or_create(&path, keyfile::os_seed)
        .map_err(|e| ApiError::Request(e.to_string()))?;
    Ok(Arc::new(key))
}

/// Service name of Signoff's entries in the OS key store.
const KEYRING_SERVICE: &str = "signoff";

/// The device key for `workspace` from the OS key store, created there on first use.
fn key_store(workspace: &Path) -> Result<Arc<dyn Signer>, ApiError> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let dir = std::fs::canonicalize(workspace).unwrap_or_else(|_| workspace.to_path_buf());
    let user = format!("device-key:{}", dir.display());
    let unusable = |e: keyring::Error| {
        ApiError::Request(format!(
            "no usable OS key store here ({e}); pass --key-file PATH or set SIGNOFF_KEY_FILE \
             (the file is created with mode 0600)"
        ))
    };
    let entry = keyring::Entry::new(KEYRING_SERVICE, &user).map_err(unusable)?;
    let seed: [u8; 32] = match entry.get_password() {
        Ok(text) => b64
            .decode(text.trim())
            .ok()
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| {
                ApiError::Request(format!(
                    "the OS key store entry {KEYRING_SERVICE}/{user} is not a Signoff key"
                ))
            })?,
        Err(keyring::Error::NoEntry) => {
            let seed =
                keyfile::os_seed().map_err(|e| ApiError::Request(format!("no randomness: {e}")))?;
            entry.set_password(&b64.encode(seed)).map_err(unusable)?;
            // Read it back: a key store that accepts but does not keep would lose the key.
            match entry.get_password() {
                Ok(back) if back.trim() == b64.encode(seed) => seed,
                Ok(_) => {
                    return Err(ApiError::Request(
                        "the OS key store returned a different key than it was given".into(),
                    ))
                }
                Err(e) => return Err(unusable(e)),
            }
        }
        Err(e) => return Err(unusable(e)),
    };
    Ok(Arc::new(signoff_audit::note::Ed25519Key::from_seed(seed)))
}
