//! The one surface every Signoff host calls: the desktop shell, the `signoff` CLI and (later)
//! the hub. It resolves which workspace to open, seeds the demo, and wraps store operations
//! so hosts stay thin. It knows nothing of Tauri, HTTP or terminals.

pub mod actions;
pub mod demo;
pub mod draft;
pub mod intake;
pub mod keys;
pub mod paths;
pub mod review;
pub mod workspace;

pub use paths::{resolve_workspace, WorkspaceChoice};
pub use signoff_action::reword::prefer_one_decode_thread;

/// Errors from the API layer; each carries a stable code for the UI and scripts.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] signoff_store::StoreError),
    /// A request that cannot be served as asked.
    #[error("{0}")]
    Request(String),
    /// Intake (rules, model artefact, encoder, training) failed.
    #[error("intake: {0}")]
    Intake(String),
    /// The caller cancelled a draft while a model was writing it; nothing was stored.
    #[error("drafting cancelled; no draft was stored")]
    Cancelled,
    /// The reply a disposition would send has sentences no frozen passage supports, and the
    /// decision gives no rationale for sending them (see [`review::decide`]).
    #[error("{0}")]
    UnsupportedReply(String),
}

impl ApiError {
    /// A short machine-readable code (`{code, message}` reaches the UI).
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Store(e) => e.code(),
            ApiError::Request(_) => "request",
            ApiError::Intake(_) => "intake",
            ApiError::Cancelled => "cancelled",
            ApiError::UnsupportedReply(_) => "unsupported_reply",
        }
    }
}
