//! The one error type of the action crate, so callers can match on what went wrong.

use std::path::PathBuf;

/// Everything the action layer can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActionError {
    /// A file could not be read or written.
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
    /// A support model file is unusable (wrong version, wrong feature count).
    #[error("support model: {0}")]
    Model(String),
    /// The embedding model failed while scoring.
    #[error("embedding: {0}")]
    Embed(#[from] signoff_embed::EmbedError),
    /// A prompt template is malformed or names a variable nobody supplied.
    #[error("prompt {prompt}: {message}")]
    Prompt {
        /// The prompt's id (file stem) or path.
        prompt: String,
        /// What is wrong.
        message: String,
    },
    /// A remote model call failed (the message never holds the API key).
    #[error("remote model: {0}")]
    Remote(#[from] crate::remote::RemoteError),
    /// The local rewording model is missing, corrupt or failed.
    #[error("local model: {0}")]
    Local(#[from] crate::reword::RewordError),
    /// Input that cannot be evaluated (no rows, one class only).
    #[error("{0}")]
    Input(String),
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, ActionError>;
