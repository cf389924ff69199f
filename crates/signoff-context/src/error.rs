//! The one error type of the context crate, so callers can match on what went wrong.

use std::path::PathBuf;

/// Everything context retrieval can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A data file is malformed; `line` is 1-based.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line the problem is on.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The search index could not be built, opened or queried.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// An index directory is not usable as asked (not empty when creating one, or holding an
    /// index of another layout when opening one).
    #[error("search index at {path}: {message}")]
    IndexDir {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, ContextError>;
