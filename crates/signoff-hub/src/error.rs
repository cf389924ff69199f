//! The hub's errors: one enum, each variant with the HTTP status and code it answers with.

use signoff_sync::httpsig::SigError;

/// Everything the hub can refuse or fail at.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The `--db` URL is neither `postgres://…` nor `sqlite:PATH`.
    #[error("unsupported database URL {0:?}: use postgres://USER@HOST:PORT/DB or sqlite:PATH")]
    BadDbUrl(String),
    /// The database cannot be reached or failed.
    #[error("the hub's database is unavailable: {0}")]
    Database(String),
    /// The database was written by a newer hub.
    #[error("the hub database is at schema version {found}, newer than this hub ({supported}); upgrade the hub")]
    NewerSchema {
        /// Version in the database.
        found: i64,
        /// Newest version this hub knows.
        supported: i64,
    },
    /// The request's signature is missing, malformed or wrong.
    #[error("{0}")]
    Signature(#[from] SigError),
    /// The signature is too old or from the future.
    #[error("the request was signed at {created} but the hub's time is {now}: outside the {window} s window (check the workstation's clock, or the request was replayed)")]
    Stale {
        /// `created` parameter.
        created: i64,
        /// The hub's time.
        now: i64,
        /// The window in seconds.
        window: i64,
    },
    /// The nonce was seen before.
    #[error("replayed request: nonce {0:?} was already used by this device")]
    Replay(String),
    /// No device with this id is enrolled.
    #[error("device {0} is not enrolled at this hub (run `signoff hub enrol URL` on it)")]
    UnknownDevice(String),
    /// The device is enrolled but waits for approval.
    #[error(
        "device {0} is awaiting approval by a lead (`signoff hub approve {0} --role reviewer`)"
    )]
    Pending(String),
    /// The device was revoked.
    #[error("device {0} has been revoked at this hub")]
    Revoked(String),
    /// The device's role does not allow this.
    #[error("device {device} is a {role}; {what} needs {needs}")]
    Forbidden {
        /// The caller.
        device: String,
        /// Its role.
        role: String,
        /// What was asked.
        what: String,
        /// Which roles may.
        needs: String,
    },
    /// The request body or parameters are invalid.
    #[error("{0}")]
    BadRequest(String),
    /// A posted case file has errors (each names line and field); nothing was kept.
    #[error(transparent)]
    Cases(#[from] signoff_store::StoreError),
    /// The body is larger than the hub accepts.
    #[error("the request body is over the hub's limit of {0} bytes; nothing was read or kept")]
    TooLarge(usize),
    /// Something named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the hub's state.
    #[error("{0}")]
    Conflict(String),
    /// A pushed batch of a device's log was refused (a gap, a fork, an entry or checkpoint
    /// that does not verify); the refusal is recorded and nothing of the batch is kept.
    #[error("{why} (first bad index {first_bad})")]
    LogRefused {
        /// `log_gap`, `log_fork`, `bad_entry`, `bad_checkpoint`.
        code: &'static str,
        /// The first index that cannot be accepted.
        first_bad: u64,
        /// What is wrong.
        why: String,
    },
    /// Server start-up (bind, serve) failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl HubError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            HubError::Signature(_) | HubError::Stale { .. } | HubError::Replay(_) => 401,
            HubError::UnknownDevice(_) => 401,
            HubError::Pending(_) | HubError::Revoked(_) | HubError::Forbidden { .. } => 403,
            HubError::BadRequest(_) | HubError::Cases(_) => 400,
            HubError::NotFound(_) => 404,
            HubError::TooLarge(_) => 413,
            HubError::Conflict(_) | HubError::LogRefused { .. } => 409,
            HubError::Database(_) => 503,
            HubError::BadDbUrl(_) | HubError::NewerSchema { .. } | HubError::Io(_) => 500,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            HubError::BadDbUrl(_) => "bad_db_url",
            HubError::Database(_) => "database_unavailable",
            HubError::NewerSchema { .. } => "newer_schema",
            HubError::Signature(_) => "bad_signature",
            HubError::Stale { .. } => "stale_signature",
            HubError::Replay(_) => "replayed",
            HubError::UnknownDevice(_) => "unknown_device",
            HubError::Pending(_) => "pending_device",
            HubError::Revoked(_) => "revoked_device",
            HubError::Forbidden { .. } => "forbidden",
            HubError::BadRequest(_) => "bad_request",
            HubError::Cases(_) => "invalid_cases",
            HubError::NotFound(_) => "not_found",
            HubError::TooLarge(_) => "too_large",
            HubError::Conflict(_) => "conflict",
            HubError::LogRefused { code, .. } => code,
            HubError::Io(_) => "io",
        }
    }
}

impl From<tokio_postgres::Error> for HubError {
    fn from(e: tokio_postgres::Error) -> Self {
        let mut s = e.to_string();
        if let Some(db) = e.as_db_error() {
            s = format!("{s}: {}", db.message());
        } else if let Some(src) = std::error::Error::source(&e) {
            s = format!("{s}: {src}");
        }
        HubError::Database(s)
    }
}

impl From<deadpool_postgres::PoolError> for HubError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        let mut s = e.to_string();
        if let Some(src) = std::error::Error::source(&e) {
            s = format!("{s}: {src}");
        }
        HubError::Database(s)
    }
}

impl From<rusqlite::Error> for HubError {
    fn from(e: rusqlite::Error) -> Self {
        HubError::Database(e.to_string())
    }
}
