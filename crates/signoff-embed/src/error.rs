//! The one error type of the embedding crate.

use std::path::PathBuf;

/// Everything loading or running the embedding model (or its cache) can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbedError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The embedding model files are not where they should be.
    #[error("the embedding model is missing: {0} not found; run scripts/setup.sh (or set SIGNOFF_MODEL_DIR to a directory holding all-minilm-l6-v2)")]
    ModelMissing(PathBuf),
    /// The embedding model failed to load or run.
    #[error("embedding model: {0}")]
    Model(String),
}

impl From<candle_core::Error> for EmbedError {
    fn from(e: candle_core::Error) -> Self {
        EmbedError::Model(e.to_string())
    }
}

/// Shorthand used throughout the crate.
pub type Result<T> = std::result::Result<T, EmbedError>;
