//! The one error type of the intake crate, so callers can match on what went wrong.

use std::path::PathBuf;

/// Everything intake can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntakeError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A data or rules file is malformed; `line` is 1-based.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line the problem is on.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The embedding model files are not where they should be.
    #[error("the embedding model is missing: {0} not found; run scripts/setup.sh (or set SIGNOFF_MODEL_DIR to a directory holding all-minilm-l6-v2)")]
    ModelMissing(PathBuf),
    /// The embedding model failed to load or run.
    #[error("embedding model: {0}")]
    Model(String),
    /// A model artefact is damaged, from another version, or does not match its hash.
    #[error("model artefact: {0}")]
    Artefact(String),
    /// Training could not proceed (e.g. too few labelled examples).
    #[error("training: {0}")]
    Training(String),
}

impl From<candle_core::Error> for IntakeError {
    fn from(e: candle_core::Error) -> Self {
        IntakeError::Model(e.to_string())
    }
}

impl From<signoff_embed::EmbedError> for IntakeError {
    fn from(e: signoff_embed::EmbedError) -> Self {
        match e {
            signoff_embed::EmbedError::Io { path, source } => IntakeError::Io { path, source },
            signoff_embed::EmbedError::ModelMissing(p) => IntakeError::ModelMissing(p),
            other => IntakeError::Model(other.to_string()),
        }
    }
}

/// Shorthand used throughout the crate.
pub type Result<T> = std::result::Result<T, IntakeError>;
