//! Signoff's audit log primitives: an RFC 6962 Merkle tree with inclusion and consistency
//! proofs, and checkpoints as C2SP signed notes (Ed25519), byte-compatible with Go's
//! `golang.org/x/mod/sumdb/note` and `tlog`. Pure functions over bytes; storage lives in the
//! workspace store.

/// `find!(haystack, b"needle")`: the first position of a fixed needle, with its searcher built
/// once per call site (building one costs more than searching a leaf; verify searches every leaf).
macro_rules! find {
    ($hay:expr, $needle:literal) => {{
        static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new($needle));
        FINDER.find($hay)
    }};
}

pub mod bundle;
pub mod chain;
pub mod keyfile;
pub mod log;
pub mod merkle;
pub mod note;
pub mod witness;

pub use merkle::{Hash, NodeSource};
pub use note::{Checkpoint, Ed25519Key, NoteSigner, NoteVerifier, Signer};

/// Errors from proofs, notes and keys; each says what failed and where.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditError {
    /// A proof does not lead to the expected root.
    #[error("proof does not verify: {0}")]
    BadProof(String),
    /// A request for a proof that cannot exist (index past the tree, sizes out of order).
    #[error("impossible proof request: {0}")]
    BadRequest(String),
    /// A node the tree should hold is missing from storage.
    #[error("tree node (level {level}, index {index}) is missing")]
    MissingNode {
        /// Height of the perfect subtree.
        level: u32,
        /// Index of the subtree at that height.
        index: u64,
    },
    /// A signed note or checkpoint is malformed.
    #[error("malformed {what}: {why}")]
    Malformed {
        /// Which thing (note, checkpoint, verifier key …).
        what: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// A signature does not verify, or is by a key nobody trusts.
    #[error("signature check failed: {0}")]
    BadSignature(String),
}
