//! Encryption at rest: a workspace file keyed with SQLCipher (AES-256-CBC pages with an
//! HMAC-SHA512 per page, the WAL encrypted alike). The key is a random 256-bit value handed
//! over in SQLCipher's raw form (`x'…'`), so opening runs no password KDF. Whether a file is
//! encrypted is read from its first bytes: a plain SQLite file starts with "SQLite format 3",
//! an encrypted one with its random salt.

use rusqlite::Connection;
use std::io::Read;
use std::path::Path;

/// The first 16 bytes of every plain SQLite file.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Page size of encrypted workspaces: SQLCipher does not store it in the file, so every open
/// sets it (the same 8 KiB as plain workspaces).
pub(crate) const CIPHER_PAGE_SIZE: u32 = 8192;

/// A workspace's database key: 32 random bytes. Its `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct DbKey([u8; 32]);

impl DbKey {
    /// The key made of these 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key's bytes (for storing it in a key store or key file).
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(…)")
    }
}

/// Whether the workspace file in `dir` is encrypted: it exists, holds whole pages (its length
/// a non-zero multiple of 512, as every SQLCipher file's is) and does not start with SQLite's
/// plain header. `false` when there is no file yet, and for a file of any other length (which
/// the plain open then reports as not a database).
pub fn is_encrypted(dir: &Path) -> Result<bool, crate::StoreError> {
    let path = dir.join(crate::DB_FILE);
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(crate::StoreError::io(&path, e)),
    };
    let len = file
        .metadata()
        .map_err(|e| crate::StoreError::io(&path, e))?
        .len();
    if len == 0 || len % 512 != 0 {
        return Ok(false);
    }
    let mut head = [0u8; 16];
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(crate::StoreError::io(&path, e)),
        }
    }
    Ok(got > 0 && head[..got] != PLAIN_HEADER[..got])
}

/// Keys a freshly opened connection (the store does this itself; benchmarks and tools that
/// open the file directly call it). Must run before anything reads the file; a wrong key is
/// only noticed at the first read, which fails without writing.
pub fn apply_key(conn: &Connection, key: &DbKey) -> rusqlite::Result<()> {
    // SQLCipher logs a wrong key to stderr by default; the caller reports it instead.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    let hex: String = key.0.iter().map(|b| format!("{b:02x}")).collect();
    conn.execute_batch(&format!(
        "PRAGMA key = \"x'{hex}'\"; PRAGMA cipher_page_size = {CIPHER_PAGE_SIZE};"
    ))
}

/// Copies the whole database behind `conn` into a new encrypted file at `path`
/// (`sqlcipher_export`, then the header fields it does not copy), checkpointing the WAL first.
pub(crate) fn export_encrypted(
    conn: &Connection,
    path: &Path,
    key: &DbKey,
) -> Result<(), crate::StoreError> {
    let hex: String = key.0.iter().map(|b| format!("{b:02x}")).collect();
    let user_version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let app_id: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    conn.execute_batch(&format!(
        "PRAGMA cipher_default_page_size = {CIPHER_PAGE_SIZE};"
    ))?;
    conn.execute(
        &format!("ATTACH DATABASE ?1 AS encrypted KEY \"x'{hex}'\""),
        [path.to_string_lossy()],
    )?;
    let done = conn
        .query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))
        .and_then(|()| {
            conn.execute_batch(&format!(
                "PRAGMA encrypted.user_version = {user_version};
                 PRAGMA encrypted.application_id = {app_id};"
            ))
        });
    let detached = conn.execute_batch("DETACH DATABASE encrypted;");
    done?;
    detached?;
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| crate::StoreError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_never_prints_its_bytes() {
        let k = DbKey::from_bytes([0xab; 32]);
        assert_eq!(format!("{k:?}"), "DbKey(…)");
    }

    #[test]
    fn a_missing_or_plain_file_is_not_encrypted() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_encrypted(dir.path()).unwrap());
        std::fs::write(dir.path().join(crate::DB_FILE), b"SQLite format 3\0rest").unwrap();
        assert!(!is_encrypted(dir.path()).unwrap());
        std::fs::write(dir.path().join(crate::DB_FILE), [7u8; 64]).unwrap();
        assert!(!is_encrypted(dir.path()).unwrap(), "not whole pages");
        std::fs::write(dir.path().join(crate::DB_FILE), [7u8; 8192]).unwrap();
        assert!(is_encrypted(dir.path()).unwrap());
    }
}
