//! Signoff's workspace: one SQLite file per workspace (WAL, synchronous=FULL) with embedded
//! forward-only migrations, transactional import, keyset queue queries and dispositions.
//!
//! A workspace directory holds `workspace.sqlite` and `workspace.lock`. One process at a
//! time writes (it holds the lock); others may open the workspace read-only. An encrypted
//! workspace's file is keyed with SQLCipher before anything reads it ([`cipher`]).

pub mod actions;
pub mod audit;
mod audit_view;
pub mod cipher;
pub mod corpus;
pub mod draft;
pub mod erase;
mod error;
pub mod hub;
pub mod import;
pub mod intake;
pub mod integrity;
mod migrations;
pub mod queue;
pub mod review;

pub use audit::{History, HistoryEntry, Journal, WorkspaceVerifyReport};
pub use audit_view::{
    AuditCursor, AuditFilter, AuditProof, AuditRow, CSV_HEADER, DISPOSITION_KINDS,
};
pub use cipher::{is_encrypted, DbKey};
pub use error::{LineError, StoreError};
pub use import::{ImportProgress, ImportReport};
pub use migrations::SCHEMA_VERSION;
pub use queue::{CaseSummary, StatusCounts};
pub use review::{Decision, DispositionRecord, ReasonCode};

use rusqlite::{Connection, OpenFlags};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The database file inside a workspace directory.
pub const DB_FILE: &str = "workspace.sqlite";
/// The lock file inside a workspace directory.
pub const LOCK_FILE: &str = "workspace.lock";
/// SQLite `application_id` that marks a file as a Signoff workspace ("SGNF").
pub const APPLICATION_ID: i32 = 0x5347_4E46;

/// How a workspace is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Exclusive writer: creates and migrates the workspace if needed, holds the lock.
    Write,
    /// Reader: never changes the file; works while another process writes.
    Read,
}

/// An open workspace.
pub struct Workspace {
    conn: Connection,
    dir: PathBuf,
    access: Access,
    journal: Option<Journal>,
    /// Reviewers' own signing keys loaded in this session, by reviewer id.
    reviewer_keys: std::collections::HashMap<String, std::sync::Arc<dyn signoff_audit::Signer>>,
    /// Whether the file is encrypted: then search indexes live only in memory.
    encrypted: bool,
    /// Search indexes of an encrypted workspace, built in memory on first use.
    memory_indexes: corpus::MemoryIndexes,
    _lock: Option<File>,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("dir", &self.dir)
            .field("access", &self.access)
            .finish()
    }
}

impl Workspace {
    /// Opens (and for `Access::Write`, creates or migrates) the plain workspace in `dir`; an
    /// encrypted one is refused with [`StoreError::NoDbKey`] (use [`Workspace::open_keyed`]).
    pub fn open(dir: &Path, access: Access) -> Result<Self, StoreError> {
        Self::open_keyed(dir, access, None)
    }

    /// Opens the workspace in `dir` with its database key: `Some` opens an encrypted
    /// workspace, or creates one when `dir` holds no workspace yet; `None` opens a plain one.
    /// A wrong key is refused ([`StoreError::WrongDbKey`]) before anything is written.
    pub fn open_keyed(dir: &Path, access: Access, key: Option<&DbKey>) -> Result<Self, StoreError> {
        let db = dir.join(DB_FILE);
        let encrypted = cipher::is_encrypted(dir)?;
        match key {
            None if encrypted => {
                return Err(StoreError::NoDbKey {
                    workspace: dir.to_path_buf(),
                    looked_in: "no key was given".into(),
                })
            }
            Some(_) if !encrypted && std::fs::metadata(&db).is_ok_and(|m| m.len() > 0) => {
                return Err(StoreError::NotEncrypted(dir.to_path_buf()))
            }
            _ => {}
        }
        let lock = match access {
            Access::Write => {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
                Some(take_lock(dir)?)
            }
            Access::Read => {
                if !db.exists() {
                    return Err(StoreError::NoWorkspace(dir.to_path_buf()));
                }
                None
            }
        };
        let flags = match access {
            Access::Write => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
            Access::Read => OpenFlags::SQLITE_OPEN_READ_ONLY,
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        sqlcipher_ready();
        let conn = Connection::open_with_flags(&db, flags).map_err(|e| StoreError::open(&db, e))?;
        if let Some(key) = key {
            cipher::apply_key(&conn, key).map_err(|e| StoreError::open(&db, e))?;
            // The first read decrypts page 1: a wrong key fails here, having written nothing.
            conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::NotADatabase) => {
                    StoreError::WrongDbKey(dir.to_path_buf())
                }
                _ => StoreError::open(&db, e),
            })?;
        }
        let mut ws = Self {
            conn,
            dir: dir.to_path_buf(),
            access,
            journal: None,
            reviewer_keys: Default::default(),
            encrypted: key.is_some(),
            memory_indexes: Default::default(),
            _lock: lock,
        };
        ws.configure()?;
        Ok(ws)
    }

    fn configure(&mut self) -> Result<(), StoreError> {
        let db = self.dir.join(DB_FILE);
        self.conn
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| StoreError::open(&db, e))?;
        signoff_audit::log::tune(&self.conn)?;
        // Reads map the file instead of copying each page through read(2): verify and the
        // queue read every page of a large log. SQLite caps this at its compiled-in maximum.
        self.conn
            .execute_batch("PRAGMA mmap_size = 2147418112;")
            .map_err(|e| StoreError::open(&db, e))?;
        migrations::check_identity(&self.conn, &db)?;
        // Sorts and temporary indexes stay in memory: no temporary file holds case data.
        self.conn
            .execute_batch("PRAGMA temp_store = MEMORY;")
            .map_err(|e| StoreError::open(&db, e))?;
        if self.access == Access::Write {
            self.conn
                .execute_batch(
                    // 8 KiB pages (takes effect when the file is created): an audit batch
                    // dirties fewer WAL frames than with 4 KiB; measured by `bench audit`.
                    // secure_delete zeroes freed cells and pages, so an old version of a row
                    // never lingers in free space (erasure relies on it).
                    "PRAGMA page_size = 8192;
                     PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
                     PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;
                     PRAGMA secure_delete = ON;",
                )
                .map_err(|e| StoreError::open(&db, e))?;
            migrations::migrate(&mut self.conn, &db)?;
        } else {
            migrations::check_version(&self.conn, &db)?;
        }
        Ok(())
    }

    /// The workspace directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the workspace file is encrypted (SQLCipher).
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// Encrypts a plain workspace that holds no cases yet (a new one, at first run) with
    /// `key`, keeping everything it holds: SQLCipher's `sqlcipher_export` copies it into a new
    /// keyed file, which then replaces the plain one; the writer lock is held throughout. A
    /// workspace with cases is refused: their text would stay in the disk blocks the plain
    /// file leaves behind.
    pub fn encrypt_new(&mut self, key: &DbKey) -> Result<(), StoreError> {
        if self.encrypted {
            return Err(StoreError::Rule(format!(
                "the workspace {} is already encrypted",
                self.dir.display()
            )));
        }
        self.writable()?;
        let cases: i64 = self
            .conn
            .query_row("SELECT count(*) FROM cases", [], |r| r.get(0))?;
        if cases > 0 {
            return Err(StoreError::NotEncrypted(self.dir.clone()));
        }
        let db = self.dir.join(DB_FILE);
        let tmp = self.dir.join(format!("{DB_FILE}.encrypting"));
        let _ = std::fs::remove_file(&tmp);
        cipher::export_encrypted(&self.conn, &tmp, key)?;
        // Close the plain file (its WAL was checkpointed and goes with it), then swap.
        self.conn = Connection::open_in_memory()?;
        std::fs::rename(&tmp, &db).map_err(|e| StoreError::io(&db, e))?;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        for side in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(self.dir.join(format!("{DB_FILE}{side}")));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        sqlcipher_ready();
        let conn = Connection::open_with_flags(&db, flags).map_err(|e| StoreError::open(&db, e))?;
        cipher::apply_key(&conn, key).map_err(|e| StoreError::open(&db, e))?;
        self.conn = conn;
        self.encrypted = true;
        self.configure()
    }

    /// Whether this handle may write.
    pub fn access(&self) -> Access {
        self.access
    }

    /// The underlying connection, for read queries in sibling crates and tests.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn writable(&mut self) -> Result<&mut Connection, StoreError> {
        if self.access != Access::Write {
            return Err(StoreError::ReadOnly(self.dir.clone()));
        }
        Ok(&mut self.conn)
    }

    /// Reads a workspace setting.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Writes a workspace setting.
    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.writable()?.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }
}

fn take_lock(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                StoreError::NotWritable(dir.to_path_buf())
            }
            _ => StoreError::io(&path, e),
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked(dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::io(&path, e)),
    }
}

/// Milliseconds since the epoch for a chrono time.
pub(crate) fn ms(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_millis()
}

/// A chrono time from milliseconds since the epoch.
pub(crate) fn from_ms(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// SQLCipher's one-time set-up marks itself done before it registers `sqlcipher_export` for
/// new connections, so a connection another thread opens in that instant lacks the function
/// (seen as "no such function: sqlcipher_export" when tests open workspaces in parallel).
/// One connection opened first, once per process, runs the set-up to its end before any
/// workspace connection is opened.
fn sqlcipher_ready() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = Connection::open_in_memory();
    });
}
