//! Signoff action layer: the claim support scorer ([`support`], with boosted trees
//! from [`boost`]) and its evaluation
//! ([`eval`]); drafters, citations and the claim check ([`draft`]) over retrieved
//! [`evidence`]; the prompt repository ([`prompt`]); the text helpers they share ([`text`]);
//! the OpenAI-compatible client ([`remote`], streaming via [`sse`]), the binding of a model's
//! markers to evidence ([`bind`]) and the model router ([`router`]); the optional local
//! rewording of offline drafts by SmolLM2-135M ([`reword`]).

pub mod bind;
pub mod boost;
pub mod draft;
pub mod error;
pub mod eval;
pub mod evidence;
pub mod prompt;
pub mod remote;
pub mod reword;
pub mod router;
pub mod sse;
pub mod support;
pub mod text;

pub use error::{ActionError, Result};

/// The embedding crate, re-exported so hosts reach MiniLM through one dependency.
pub use signoff_embed as embed;
