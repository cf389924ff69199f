//! The device key that seals a workspace's audit log. An explicit key file wins; the demo
//! workspace keeps its own key file; anything else must be given one — never a silent
//! in-memory key.

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
            std::fs::create_dir_all(workspace).map_err(|e| ApiError::Request(format!("{}: {e}", workspace.display())))?;
            workspace.join(DEMO_KEY_FILE)
        }
        None => {
            return Err(ApiError::Request(
                "no device key: this build of Signoff keeps device keys in files, not an OS key store; \
                 pass --key-file PATH or set SIGNOFF_KEY_FILE (the file is created with mode 0600)"
                    .into(),
            ))
        }
    };
    let key = keyfile::load_or_create(&path, keyfile::os_seed)
        .map_err(|e| ApiError::Request(e.to_string()))?;
    Ok(Arc::new(key))
}
