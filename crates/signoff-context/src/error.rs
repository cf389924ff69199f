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
    /// Dense vectors are inconsistent (a vector of the wrong width, a missing embedder).
    #[error("dense index: {0}")]
    Dense(String),
    /// The embedding model failed (loading, running or its cache).
    #[error(transparent)]
    Embed(#[from] signoff_embed::EmbedError),
    /// A reranker file is malformed, of an unknown kind, or not usable.
    #[error("reranker {path}: {message}")]
    Reranker {
        /// The file (or `built-in`).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A query, passage set or option is not usable as given.
    #[error("{0}")]
    Input(String),
    /// A corpus file that cannot be ingested; names the file and, where known, the line
    /// (1-based) or the JSON field.
    #[error("{file}{}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default(), field.as_ref().map(|f| format!(": {f}")).unwrap_or_default())]
    Ingest {
        /// The file, as given.
        file: String,
        /// The line the problem is on, when known.
        line: Option<usize>,
        /// The JSON field path or setting concerned, when known.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, ContextError>;
