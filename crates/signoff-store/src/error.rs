//! The store's error type: every variant names the place (file, line, field) it concerns.

use std::path::{Path, PathBuf};

/// One problem in an import file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineError {
    /// The file, as given.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// The field concerned, if one is.
    pub field: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(
                f,
                "{}:{}: {}: {}",
                self.file, self.line, field, self.message
            ),
            None => write!(f, "{}:{}: {}", self.file, self.line, self.message),
        }
    }
}

/// Errors from the workspace store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No workspace exists at the directory.
    #[error("no Signoff workspace at {0} (create one with `signoff init`)")]
    NoWorkspace(PathBuf),
    /// The file exists but is not a Signoff workspace.
    #[error("{path} is not a Signoff workspace: {why}")]
    NotAWorkspace {
        /// The database file.
        path: PathBuf,
        /// What was found instead.
        why: String,
    },
    /// The workspace was written by a newer Signoff.
    #[error("{path} has schema version {found}, but this Signoff knows only up to {known}; upgrade Signoff to open it (the file was not changed)")]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
    /// The workspace is encrypted and its database key was not found.
    #[error("the workspace {workspace} is encrypted and its database key was not found ({looked_in}); nothing was opened or changed — restore the key (see docs/workspace.md, \"Keys and recovery\")")]
    NoDbKey {
        /// The workspace directory.
        workspace: PathBuf,
        /// Where the key was looked for.
        looked_in: String,
    },
    /// The key given does not open the encrypted workspace.
    #[error("the database key does not open the encrypted workspace {0} (a wrong key, or a damaged file); the file was not changed")]
    WrongDbKey(PathBuf),
    /// A key was given for a workspace that exists and is not encrypted.
    #[error("the workspace {0} already exists and is not encrypted; an existing workspace cannot be encrypted in place — create a new one with `signoff init --encrypt` in another directory")]
    NotEncrypted(PathBuf),
    /// Another process holds the writer lock.
    #[error("the workspace {0} is open for writing in another Signoff process; close it there, or open this one read-only")]
    Locked(PathBuf),
    /// The workspace directory cannot be written by this user (permissions or a read-only disk).
    #[error("the workspace directory {0} is not writable by you (permission denied or a read-only file system); nothing was changed — fix its permissions or use a writable copy")]
    NotWritable(PathBuf),
    /// A write was attempted on a read-only handle.
    #[error("the workspace {0} is open read-only (another Signoff process is writing to it)")]
    ReadOnly(PathBuf),
    /// The disk (or the database's size limit) is full; the transaction was rolled back.
    #[error("the disk is full while writing {0}; nothing from this operation was saved — free some space and retry")]
    DiskFull(PathBuf),
    /// The disk refused a write or a flush; the transaction was not acknowledged.
    #[error("the disk failed while saving to the workspace ({0}); the change was not confirmed — check the disk, then look at the case before retrying")]
    DiskIo(String),
    /// An import file had errors; nothing from it was saved.
    #[error("{} error(s) in {file}; nothing from this file was imported:\n{}", .errors.len(), render_line_errors(.errors, *.more))]
    Import {
        /// The file, as given.
        file: String,
        /// The first errors found (at most 100).
        errors: Vec<LineError>,
        /// How many more errors were not listed.
        more: u64,
    },
    /// A case id or sequence number that does not exist.
    #[error("no case {0} in this workspace")]
    UnknownCase(String),
    /// A request that breaks a rule of review (wrong state, missing reason, grace over …).
    #[error("{0}")]
    Rule(String),
    /// A domain value failed validation.
    #[error(transparent)]
    Invalid(#[from] signoff_core::CoreError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// No device key is attached, so changes cannot be recorded in the audit log.
    #[error("no device signing key is loaded, so this change cannot be recorded in the audit log; pass --key-file PATH (or set SIGNOFF_KEY_FILE)")]
    NoAuditKey,
    /// The attached key is not the one that seals this workspace's log.
    #[error("this workspace's audit log is sealed by the key {expected}, not {given}; use the key file that created it")]
    KeyMismatch {
        /// The verifier key on record.
        expected: String,
        /// The verifier key offered.
        given: String,
    },
    /// The reviewer's own signing key is not loaded, so a disposition cannot be signed.
    #[error("reviewer {0:?} has no signing key loaded in this session; dispositions carry the reviewer's own signature (the key lives in the OS key store, or next to --key-file)")]
    NoReviewerKey(String),
    /// A device key that a rotation retired.
    #[error("the key {given} was retired by the key rotation at entry {index}; this log is now sealed by {current}")]
    RetiredKey {
        /// The verifier key offered.
        given: String,
        /// The rotation entry that retired it.
        index: u64,
        /// The verifier key in force.
        current: String,
    },
    /// The audit log refused or failed.
    #[error(transparent)]
    Audit(signoff_audit::log::LogError),
    /// SQLite failed.
    #[error("workspace database error: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<signoff_audit::log::LogError> for StoreError {
    fn from(e: signoff_audit::log::LogError) -> Self {
        match e {
            signoff_audit::log::LogError::Sqlite(e) => StoreError::from(e),
            other => StoreError::Audit(other),
        }
    }
}

impl From<signoff_audit::AuditError> for StoreError {
    fn from(e: signoff_audit::AuditError) -> Self {
        StoreError::Audit(e.into())
    }
}

fn render_line_errors(errors: &[LineError], more: u64) -> String {
    let mut s = errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n");
    if more > 0 {
        s.push_str(&format!("\n  … and {more} more"));
    }
    s
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => {
                return StoreError::DiskFull(PathBuf::from("the workspace"))
            }
            Some(rusqlite::ErrorCode::SystemIoFailure) => return StoreError::DiskIo(e.to_string()),
            _ => {}
        }
        StoreError::Sqlite(e)
    }
}

impl StoreError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn open(path: &Path, e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => StoreError::NotAWorkspace {
                path: path.to_path_buf(),
                why: "the file is not an SQLite database".into(),
            },
            Some(rusqlite::ErrorCode::ReadOnly) | Some(rusqlite::ErrorCode::CannotOpen) => {
                StoreError::Io {
                    path: path.to_path_buf(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::PermissionDenied,
                        format!(
                            "cannot open for writing ({e}); check that the directory is writable"
                        ),
                    ),
                }
            }
            _ => StoreError::Sqlite(e),
        }
    }

    /// A short machine-readable code for the UI and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NoWorkspace(_) => "no_workspace",
            StoreError::NotAWorkspace { .. } => "not_a_workspace",
            StoreError::TooNew { .. } => "too_new",
            StoreError::NoDbKey { .. } => "no_db_key",
            StoreError::WrongDbKey(_) => "wrong_db_key",
            StoreError::NotEncrypted(_) => "not_encrypted",
            StoreError::Locked(_) => "locked",
            StoreError::ReadOnly(_) => "read_only",
            StoreError::NotWritable(_) => "not_writable",
            StoreError::DiskFull(_) => "disk_full",
            StoreError::DiskIo(_) => "disk_io",
            StoreError::Import { .. } => "import",
            StoreError::UnknownCase(_) => "unknown_case",
            StoreError::Rule(_) => "rule",
            StoreError::Invalid(_) => "invalid",
            StoreError::Io { .. } => "io",
            StoreError::NoAuditKey => "no_audit_key",
            StoreError::KeyMismatch { .. } => "key_mismatch",
            StoreError::RetiredKey { .. } => "key_retired",
            StoreError::NoReviewerKey(_) => "no_reviewer_key",
            StoreError::Audit(signoff_audit::log::LogError::Tampered { .. }) => "tampered",
            StoreError::Audit(_) => "audit",
            StoreError::Sqlite(_) => "sqlite",
        }
    }
}
