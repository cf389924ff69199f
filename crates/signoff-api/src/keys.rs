//! Where Signoff's signing keys live. Two kinds: the workspace's **device key** that seals its
//! audit log, and each **reviewer's own key** that signs their dispositions. An explicit key
//! file wins (reviewer keys then sit beside it); the demo workspace keeps its keys in its own
//! directory; otherwise keys live in the OS key store (Secret Service, else the Linux kernel
//! keyring). Where no key store is
//! usable, Signoff says so and asks for a key file — never a silent in-memory key.
//!
//! Rotation writes the next device key to a *pending* slot first, commits the signed rotation
//! entry, then promotes the pending key; a crash in between leaves a key the log can use.

use crate::ApiError;
use signoff_audit::keyfile;
use signoff_audit::note::{Ed25519Key, Signer};
use signoff_core::Clock;
use signoff_store::{DbKey, StoreError, Workspace};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Name of the demo workspace's own key file.
pub const DEMO_KEY_FILE: &str = "device.key";
/// Service name of Signoff's entries in the OS key store.
const KEYRING_SERVICE: &str = "signoff";

/// Where one named key is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySlot {
    /// A 0600 key file.
    File(PathBuf),
    /// An OS key store entry (service `signoff`, this user name).
    Store(String),
}

/// Where the keys of one workspace live, decided once from the flags.
#[derive(Debug, Clone)]
pub struct KeyPlace {
    device: KeySlot,
    /// The explicit `--key-file`, if one was given.
    explicit: Option<PathBuf>,
    /// The workspace directory, canonical where it exists.
    workspace: PathBuf,
}

impl KeyPlace {
    /// The key place for `workspace`: `--key-file`, else the workspace's own key file (the
    /// demo's, or any workspace created with its key inside, e.g. `signoff --workspace DIR init
    /// --demo`), else the OS store.
    pub fn new(key_file: Option<&Path>, workspace: &Path, is_demo: bool) -> Self {
        let own = workspace.join(DEMO_KEY_FILE);
        let dir = canonical_dir(workspace);
        let device = match key_file {
            Some(p) => KeySlot::File(p.to_path_buf()),
            None if is_demo || own.is_file() => KeySlot::File(own),
            None => KeySlot::Store(format!("device-key:{}", dir.display())),
        };
        Self {
            device,
            explicit: key_file.map(Path::to_path_buf),
            workspace: dir,
        }
    }

    /// The slot of an encrypted workspace's database key: beside an explicit key file
    /// (`<key file>.db`), else the OS key store — never the workspace's own directory, where
    /// it would sit next to the data it protects.
    pub fn database(&self) -> KeySlot {
        match &self.explicit {
            Some(p) => {
                let mut name = p.file_name().unwrap_or_default().to_os_string();
                name.push(".db");
                KeySlot::File(p.with_file_name(name))
            }
            None => KeySlot::Store(format!("db-key:{}", self.workspace.display())),
        }
    }

    /// The device key's slot.
    pub fn device(&self) -> &KeySlot {
        &self.device
    }

    /// The slot a rotation writes the next device key to before committing.
    pub fn pending_device(&self) -> KeySlot {
        self.sibling("next")
    }

    /// A reviewer's key slot: beside the device key file, or the reviewer's OS store entry.
    pub fn reviewer(&self, reviewer_id: &str) -> KeySlot {
        let safe: String = reviewer_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        match &self.device {
            KeySlot::File(_) => self.sibling(&format!("reviewer-{safe}")),
            KeySlot::Store(_) => KeySlot::Store(format!("reviewer-key:{reviewer_id}")),
        }
    }

    fn sibling(&self, suffix: &str) -> KeySlot {
        match &self.device {
            KeySlot::File(p) => {
                let mut name = p.file_name().unwrap_or_default().to_os_string();
                name.push(format!(".{suffix}"));
                KeySlot::File(p.with_file_name(name))
            }
            KeySlot::Store(u) => KeySlot::Store(format!("{u}:{suffix}")),
        }
    }
}

impl std::fmt::Display for KeySlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySlot::File(p) => write!(f, "key file {}", p.display()),
            KeySlot::Store(user) => write!(
                f,
                "OS key store entry {KEYRING_SERVICE}/{user} (Secret Service, else the kernel keyring)"
            ),
        }
    }
}

/// Header of a database key file (the key follows in base64).
const DB_KEY_HEADER: &str = "signoff-sqlcipher-key-v1";

/// The database key in `slot`, if there is one. A key file readable by group or others is
/// refused, as device key files are.
pub fn load_db_key(slot: &KeySlot) -> Result<Option<DbKey>, ApiError> {
    match slot {
        KeySlot::Store(user) => Ok(store_get(user)?.map(DbKey::from_bytes)),
        KeySlot::File(path) => {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(ApiError::Request(format!("{}: {e}", path.display()))),
            };
            check_private(path)?;
            use base64::Engine;
            let bytes: [u8; 32] = text
                .trim()
                .strip_prefix(DB_KEY_HEADER)
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    ApiError::Request(format!(
                        "{} is not a Signoff database key file (expected \"{DB_KEY_HEADER} <base64 of 32 bytes>\")",
                        path.display()
                    ))
                })?;
            Ok(Some(DbKey::from_bytes(bytes)))
        }
    }
}

/// The database key in `slot`, creating a fresh random one there when it is absent.
pub fn load_or_create_db_key(slot: &KeySlot) -> Result<DbKey, ApiError> {
    if let Some(k) = load_db_key(slot)? {
        return Ok(k);
    }
    let bytes = keyfile::os_seed().map_err(|e| ApiError::Request(format!("no randomness: {e}")))?;
    match slot {
        KeySlot::Store(user) => store_put(user, bytes)?,
        KeySlot::File(path) => {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            write_private(path, &format!("{DB_KEY_HEADER} {b64}\n"))?;
        }
    }
    Ok(DbKey::from_bytes(bytes))
}

/// Refuses a key file that group or others may read.
fn check_private(path: &Path) -> Result<(), ApiError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| ApiError::Request(format!("{}: {e}", path.display())))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(ApiError::Request(format!(
            "key file {} is readable by group or others (mode {mode:04o}); run `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

/// The workspace directory as the key store entries name it: canonical, also before the
/// directory exists (its parent canonical, then its name), so `init` and later opens agree.
fn canonical_dir(workspace: &Path) -> PathBuf {
    if let Ok(d) = std::fs::canonicalize(workspace) {
        return d;
    }
    match (workspace.parent(), workspace.file_name()) {
        (Some(parent), Some(name)) => {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            std::fs::canonicalize(parent)
                .map(|p| p.join(name))
                .unwrap_or_else(|_| workspace.to_path_buf())
        }
        _ => workspace.to_path_buf(),
    }
}

/// Loads the key in `slot`, creating it (fresh OS randomness) when absent.
pub fn load_or_create(slot: &KeySlot) -> Result<Arc<dyn Signer>, ApiError> {
    let seed = match slot {
        KeySlot::File(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| ApiError::Request(format!("{}: {e}", dir.display())))?;
            }
            keyfile::load_or_create(path, keyfile::os_seed)
                .map_err(|e| ApiError::Request(e.to_string()))?
                .seed()
        }
        KeySlot::Store(user) => match store_get(user)? {
            Some(seed) => seed,
            None => {
                let seed = keyfile::os_seed()
                    .map_err(|e| ApiError::Request(format!("no randomness: {e}")))?;
                store_put(user, seed)?;
                seed
            }
        },
    };
    Ok(Arc::new(Ed25519Key::from_seed(seed)))
}

/// The seed in `slot`, if there is one.
fn load_seed(slot: &KeySlot) -> Result<Option<[u8; 32]>, ApiError> {
    match slot {
        KeySlot::File(p) if !p.exists() => Ok(None),
        KeySlot::File(p) => Ok(Some(
            keyfile::load_or_create(p, || Err(std::io::Error::other("key file vanished")))
                .map_err(|e| ApiError::Request(e.to_string()))?
                .seed(),
        )),
        KeySlot::Store(user) => store_get(user),
    }
}

/// Writes `seed` into `slot`, replacing what is there (files: write-new then rename).
fn save(slot: &KeySlot, seed: [u8; 32]) -> Result<(), ApiError> {
    match slot {
        KeySlot::File(path) => {
            let tmp = path.with_extension("tmp-new");
            let _ = std::fs::remove_file(&tmp);
            keyfile::load_or_create(&tmp, || Ok(seed))
                .map_err(|e| ApiError::Request(e.to_string()))?;
            std::fs::rename(&tmp, path)
                .map_err(|e| ApiError::Request(format!("{}: {e}", path.display())))
        }
        KeySlot::Store(user) => store_put(user, seed),
    }
}

fn remove(slot: &KeySlot) {
    match slot {
        KeySlot::File(p) => {
            let _ = std::fs::remove_file(p);
        }
        KeySlot::Store(user) => {
            for (_, e) in backends(user) {
                if let Ok(e) = e {
                    let _ = e.delete_credential();
                }
            }
        }
    }
}

/// Attaches the device key loaded from `place.device()`, finishing an interrupted rotation
/// (a pending key the log already names) on the way.
pub fn attach_device_key(
    ws: &mut Workspace,
    place: &KeyPlace,
    key: Arc<dyn Signer>,
) -> Result<(), ApiError> {
    match ws.attach_key(key) {
        Err(e @ (StoreError::RetiredKey { .. } | StoreError::KeyMismatch { .. })) => {
            let Some(seed) = load_seed(&place.pending_device())? else {
                return Err(e.into());
            };
            ws.attach_key(Arc::new(Ed25519Key::from_seed(seed)))?;
            promote_pending(place)
        }
        other => Ok(other?),
    }
}

fn promote_pending(place: &KeyPlace) -> Result<(), ApiError> {
    if let Some(seed) = load_seed(&place.pending_device())? {
        save(place.device(), seed)?;
        remove(&place.pending_device());
    }
    Ok(())
}

/// Rotates the workspace's device key: the new key is stored in the pending slot, the
/// rotation entry (signed by the old key) is committed, then the new key replaces the old.
/// Returns the rotation entry's index.
pub fn rotate_device_key(
    ws: &mut Workspace,
    place: &KeyPlace,
    clock: &dyn Clock,
) -> Result<u64, ApiError> {
    let seed = keyfile::os_seed().map_err(|e| ApiError::Request(format!("no randomness: {e}")))?;
    remove(&place.pending_device());
    save(&place.pending_device(), seed)?;
    let idx = ws.rotate_device_key(Arc::new(Ed25519Key::from_seed(seed)), clock)?;
    promote_pending(place)?;
    Ok(idx)
}

/// Loads (creating on first use) a reviewer's own key and registers it with the workspace.
pub fn attach_reviewer_key(
    ws: &mut Workspace,
    place: &KeyPlace,
    reviewer_id: &str,
    clock: &dyn Clock,
) -> Result<(), ApiError> {
    let key = load_or_create(&place.reviewer(reviewer_id))?;
    ws.attach_reviewer_key(reviewer_id, key, clock)?;
    Ok(())
}

/// The OS key stores, in order of preference: the desktop's Secret Service, then the Linux
/// kernel keyring (keyutils: the user's persistent keyring plus the session keyring) where
/// that is what exists — a headless login without D-Bus, for instance.
fn backends(user: &str) -> [(&'static str, keyring::Result<keyring::Entry>); 2] {
    [
        ("Secret Service", keyring::Entry::new(KEYRING_SERVICE, user)),
        (
            "kernel keyring",
            keyring::keyutils::KeyutilsCredential::new_with_target(None, KEYRING_SERVICE, user)
                .map(|c| keyring::Entry::new_with_credential(Box::new(c))),
        ),
    ]
}

fn unusable(errors: &[String]) -> ApiError {
    ApiError::Request(format!(
        "no usable OS key store here ({}); pass --key-file PATH or set SIGNOFF_KEY_FILE \
         (the file is created with mode 0600)",
        errors.join("; ")
    ))
}

fn decode(user: &str, text: &str) -> Result<[u8; 32], ApiError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| {
            ApiError::Request(format!(
                "the OS key store entry {KEYRING_SERVICE}/{user} is not a Signoff key"
            ))
        })
}

/// The seed stored under `user` in the first key store that has it.
fn store_get(user: &str) -> Result<Option<[u8; 32]>, ApiError> {
    match store_get_text(user).map_err(|e| unusable(&e))? {
        Some(text) => decode(user, &text).map(Some),
        None => Ok(None),
    }
}

/// The text stored under `user` in the first key store that has it; `Err` lists why no
/// key store was usable.
fn store_get_text(user: &str) -> Result<Option<String>, Vec<String>> {
    let mut errors = Vec::new();
    let mut usable = false;
    for (name, entry) in backends(user) {
        match entry.and_then(|e| e.get_password()) {
            Ok(text) => return Ok(Some(text)),
            Err(keyring::Error::NoEntry) => usable = true,
            Err(e) => errors.push(format!("{name}: {e}")),
        }
    }
    if usable {
        Ok(None)
    } else {
        Err(errors)
    }
}

/// Stores the seed under `user` in the first key store that accepts and keeps it.
fn store_put(user: &str, seed: [u8; 32]) -> Result<(), ApiError> {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(seed);
    store_put_text(user, &text).map_err(|e| unusable(&e))
}

/// Stores `text` under `user` in the first key store that accepts and keeps it; `Err`
/// lists why none did.
fn store_put_text(user: &str, text: &str) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    for (name, entry) in backends(user) {
        let kept = entry
            .and_then(|e| e.set_password(text).and_then(|()| e.get_password()))
            .map(|back| back.trim() == text);
        match kept {
            // Read it back: a key store that accepts but does not keep would lose the key.
            Ok(true) => return Ok(()),
            Ok(false) => errors.push(format!(
                "{name}: returned a different key than it was given"
            )),
            Err(e) => errors.push(format!("{name}: {e}")),
        }
    }
    Err(errors)
}

/// Where a model's API key was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelKeyPlace {
    /// The OS key store (service `signoff`, user `model-key:<workspace>:<name>`).
    Store,
    /// A 0600 file in the workspace, because no OS key store was usable (the reasons).
    File(PathBuf, String),
}

fn model_key_user(workspace: &Path, name: &str) -> String {
    let dir = std::fs::canonicalize(workspace).unwrap_or_else(|_| workspace.to_path_buf());
    format!("model-key:{}:{name}", dir.display())
}

/// The file a model key falls back to: `<workspace>/model-keys/<name>` (mode 0600).
pub fn model_key_file(workspace: &Path, name: &str) -> PathBuf {
    workspace.join("model-keys").join(name)
}

fn check_key_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        || name.starts_with('.')
    {
        return Err(ApiError::Request(format!(
            "key name {name:?}: use letters, digits, '-', '_' or '.'"
        )));
    }
    Ok(())
}

/// Stores a model's API key under `name`: in the OS key store, else (none usable) in a
/// 0600 file in the workspace — the returned place says which, so the caller can say so.
pub fn set_model_key(workspace: &Path, name: &str, key: &str) -> Result<ModelKeyPlace, ApiError> {
    check_key_name(name)?;
    let key = key.trim();
    if key.is_empty() {
        return Err(ApiError::Request("the API key is empty".into()));
    }
    match store_put_text(&model_key_user(workspace, name), key) {
        Ok(()) => Ok(ModelKeyPlace::Store),
        Err(errors) => {
            let path = model_key_file(workspace, name);
            write_private(&path, key)?;
            Ok(ModelKeyPlace::File(path, errors.join("; ")))
        }
    }
}

/// A model's API key by name: the OS key store's entry, else the workspace's key file.
pub fn model_key(workspace: &Path, name: &str) -> Result<Option<String>, ApiError> {
    check_key_name(name)?;
    if let Ok(Some(k)) = store_get_text(&model_key_user(workspace, name)) {
        return Ok(Some(k.trim().to_string()));
    }
    let path = model_key_file(workspace, name);
    match std::fs::read_to_string(&path) {
        Ok(k) => Ok(Some(k.trim().to_string()).filter(|k| !k.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ApiError::Request(format!("{}: {e}", path.display()))),
    }
}

/// Writes `text` to a file only its owner can read (created 0600, then renamed in place).
fn write_private(path: &Path, text: &str) -> Result<(), ApiError> {
    use std::io::Write;
    let io = |e: std::io::Error| ApiError::Request(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("tmp-new");
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp).map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
