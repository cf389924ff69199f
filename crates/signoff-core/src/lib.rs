//! Signoff's domain: the words every layer shares (cases, dispositions, reviewers, bands)
//! and the pure rules over them. Nothing here does IO, reads the clock or the environment.

pub mod case;
pub mod citation;
pub mod clock;
pub mod disposition;
pub mod queue;
pub mod retry;

pub use case::{Band, Case, CaseStatus, NewCase};
pub use clock::{Clock, FixedClock, SystemClock};
pub use disposition::{draft_diff, DispositionKind, Reviewer, UNDO_GRACE_DEFAULT_SECS};
pub use queue::{QueueCursor, QueueFilter};

/// Errors from validating domain values.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CoreError {
    /// A value named by `field` is not acceptable; `reason` says why in words a user can act on.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field that failed.
        field: &'static str,
        /// Why it failed.
        reason: String,
    },
}
