//! Signoff context retrieval: finding the policy passages a case's text needs.
//!
//! The API is [`Retriever`]: [`Retriever::build`] over `&[Passage]` (id, title, text; the
//! title names the passage's entity) with an optional MiniLM embedder, then
//! [`Retriever::search`]`(query, mode, k)` → [`Hit`]s (`id, score, bm25, dense, entity,
//! matched_terms`) in [`Mode::Bm25`], [`Mode::Dense`], [`Mode::Hybrid`] or [`Mode::Rerank`].
//! Without the embedder, dense is refused and hybrid/rerank run BM25 + entity.
//!
//! Parts: BEIR evaluation sets ([`beir`]), the BM25 index over title + text ([`bm25`],
//! tantivy), exact cosine search ([`dense`]), entities named by a case ([`entity`]), score
//! fusion ([`fusion`]), the learned reranker ([`rerank`]), ranking metrics ([`metrics`]) and
//! the evaluation loop with tuning and cross-validation ([`eval`]). Indexes are derived data:
//! they are always rebuilt from the passages, never the source of truth.

pub mod beir;
pub mod bm25;
pub mod corpus;
pub mod dense;
pub mod encoder;
pub mod entity;
pub mod error;
pub mod eval;
pub mod fusion;
pub mod ingest;
pub mod metrics;
pub mod redact;
pub mod rerank;
pub mod retriever;

pub use beir::{BeirSet, Passage, Query};
pub use bm25::Bm25Index;
pub use error::{ContextError, Result};
pub use eval::{evaluate, ModeReport};
pub use rerank::{LinearReranker, Reranker};
pub use retriever::{Candidate, Hit, HybridParams, Mode, Retriever};
/// Progress of long embedding runs (indexing), for hosts to show.
pub use signoff_embed::progress;
/// The sentence encoder and its width, for hosts that hold one (see [`encoder`]).
pub use signoff_embed::{Embedder, DIM};
