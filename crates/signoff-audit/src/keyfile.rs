//! Device keys in a file, for machines without a usable OS key store (headless servers, CI).
//! The file is created with mode 0600 and refused if group or others can read it.

use crate::note::Ed25519Key;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const HEADER: &str = "signoff-ed25519-seed-v1";

/// Errors reading or creating a key file; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file could not be read or created.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Group or others may read the file.
    #[error(
        "key file {path} is readable by group or others (mode {mode:04o}); run `chmod 600 {path}`"
    )]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is not a Signoff key file.
    #[error("key file {path} is not a Signoff key file ({why})")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: &'static str,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Loads the key in `path`, creating it from `seed` (fresh OS randomness) when it does not exist.
pub fn load_or_create(
    path: &Path,
    seed: impl FnOnce() -> std::io::Result<[u8; 32]>,
) -> Result<Ed25519Key, KeyFileError> {
    if !path.exists() {
        let seed = seed().map_err(io(path))?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io(path))?;
        writeln!(f, "{HEADER} {}", B64.encode(seed)).map_err(io(path))?;
        f.sync_all().map_err(io(path))?;
        return Ok(Ed25519Key::from_seed(seed));
    }
    load(path)
}

/// Loads an existing key file, refusing one that group or others can read.
pub fn load(path: &Path) -> Result<Ed25519Key, KeyFileError> {
    let mode = std::fs::metadata(path)
        .map_err(io(path))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::TooOpen {
            path: path.to_path_buf(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let bad = |why| KeyFileError::Malformed {
        path: path.to_path_buf(),
        why,
    };
    let b64 = text
        .trim()
        .strip_prefix(HEADER)
        .ok_or_else(|| bad("missing header"))?
        .trim();
    let seed: [u8; 32] = B64
        .decode(b64)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| bad("seed is not 32 bytes of base64"))?;
    Ok(Ed25519Key::from_seed(seed))
}

/// 32 bytes from the operating system's random source.
pub fn os_seed() -> std::io::Result<[u8; 32]> {
    use std::io::Read;
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut seed)?;
    Ok(seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::Signer;

    #[test]
    fn a_created_key_file_is_private_and_loads_the_same_key() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("device.key");
        let a = load_or_create(&p, || Ok([5u8; 32])).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let b = load_or_create(&p, || panic!("must not create twice")).unwrap();
        assert_eq!(a.public_key(), b.public_key());
    }

    #[test]
    fn a_group_readable_key_file_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("device.key");
        load_or_create(&p, || Ok([5u8; 32])).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = load(&p).unwrap_err().to_string();
        assert!(
            err.contains("readable by group or others") && err.contains("chmod 600"),
            "{err}"
        );
    }
}
