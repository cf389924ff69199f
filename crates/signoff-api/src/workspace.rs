//! Opening a workspace with its database key: an encrypted workspace (read from the file's
//! first bytes) is keyed from the slot [`KeyPlace::database`] names before anything else; a
//! missing key is an error naming the workspace and where the key was looked for.

use crate::keys::{self, KeyPlace};
use crate::ApiError;
use signoff_store::{Access, DbKey, StoreError, Workspace};
use std::path::Path;

/// Whether a new workspace is created encrypted (existing workspaces keep what they are).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encryption {
    /// An ordinary SQLite file.
    #[default]
    Plain,
    /// A SQLCipher file keyed with a fresh random key kept in the key place.
    Encrypted,
}

/// The database key `dir`'s workspace needs: `None` for a plain (or not yet created) one.
pub fn db_key(dir: &Path, place: &KeyPlace) -> Result<Option<DbKey>, ApiError> {
    if !signoff_store::is_encrypted(dir)? {
        return Ok(None);
    }
    let slot = place.database();
    match keys::load_db_key(&slot) {
        Ok(Some(k)) => Ok(Some(k)),
        Ok(None) => Err(StoreError::NoDbKey {
            workspace: dir.to_path_buf(),
            looked_in: format!("looked in the {slot}"),
        }
        .into()),
        Err(e) => Err(StoreError::NoDbKey {
            workspace: dir.to_path_buf(),
            looked_in: format!("looked in the {slot}: {e}"),
        }
        .into()),
    }
}

/// Opens the workspace in `dir`, keyed when it is encrypted.
pub fn open(dir: &Path, access: Access, place: &KeyPlace) -> Result<Workspace, ApiError> {
    let key = db_key(dir, place)?;
    Ok(Workspace::open_keyed(dir, access, key.as_ref())?)
}

/// Opens the workspace in `dir` for writing, creating it as `encryption` says when it does
/// not exist yet. Asking for encryption of an existing plain workspace is refused.
pub fn open_or_create(
    dir: &Path,
    place: &KeyPlace,
    encryption: Encryption,
) -> Result<Workspace, ApiError> {
    let exists = std::fs::metadata(dir.join(signoff_store::DB_FILE)).is_ok_and(|m| m.len() > 0);
    let key = match encryption {
        Encryption::Encrypted if !exists => Some(keys::load_or_create_db_key(&place.database())?),
        Encryption::Encrypted if !signoff_store::is_encrypted(dir)? => {
            return Err(StoreError::NotEncrypted(dir.to_path_buf()).into())
        }
        _ => db_key(dir, place)?,
    };
    Ok(Workspace::open_keyed(dir, Access::Write, key.as_ref())?)
}

/// Where the database key of `dir`'s workspace is kept, for messages: `None` when the
/// workspace is not encrypted.
pub fn key_location(dir: &Path, place: &KeyPlace) -> Result<Option<String>, ApiError> {
    Ok(signoff_store::is_encrypted(dir)?.then(|| place.database().to_string()))
}

/// Encrypts a new workspace that holds no cases yet (the app's first-run choice): a fresh key
/// is kept in [`KeyPlace::database`], then the open workspace is rewritten encrypted in place
/// (see [`Workspace::encrypt_new`]). Returns where the key is kept.
pub fn encrypt_new(ws: &mut Workspace, place: &KeyPlace) -> Result<String, ApiError> {
    let slot = place.database();
    let key = keys::load_or_create_db_key(&slot)?;
    ws.encrypt_new(&key)?;
    Ok(slot.to_string())
}
