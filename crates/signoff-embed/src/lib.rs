//! Signoff embeddings: all-MiniLM-L6-v2 sentence vectors computed locally on the CPU with candle
//! ([`embed`]), and an append-only on-disk cache keyed by model version and text hash
//! ([`cache`]). Shared by intake (classification) and context (dense retrieval); nothing is
//! downloaded at run time.

pub mod bert;
pub mod cache;
pub mod embed;
pub mod error;
pub mod progress;
pub mod reference;

pub use cache::EmbeddingCache;
pub use embed::{Embedder, Pooling, DIM, MODEL_ID};
pub use error::{EmbedError, Result};
