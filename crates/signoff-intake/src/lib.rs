//! Signoff intake: every imported or pulled case is classified on the workstation, offline, on
//! the CPU. Deterministic rules decide first ([`rules`]); what no rule decides goes to the
//! learned classifier ([`classifier`]): MiniLM sentence embeddings ([`embed`]) and lexical
//! TF-IDF features ([`lexical`]) with softmax heads ([`linear`]), temperature-scaled
//! ([`calibrate`]), with out-of-scope detection and bands from target precision.
//! [`eval`] and [`metrics`] measure it. Pure functions where possible; files are read and
//! written only by [`data`], [`embed`] and [`cache`] (both from `signoff-embed`).

pub mod artefact;
pub mod bundled;
pub mod calibrate;
pub mod classifier;
pub mod data;
pub mod error;
pub mod eval;
pub mod explain;
pub mod lexical;
pub mod linear;
pub mod metrics;
pub mod rules;
pub mod scan;
pub mod tune;

/// The embedding model and its cache live in `signoff-embed`; re-exported under the old paths.
pub use signoff_embed::{cache, embed};

pub use classifier::{Band, Classifier, Config, Verdict};
pub use data::{Example, OOS};
pub use error::{IntakeError, Result};
