//! Signoff context retrieval (issue 6): finding the policy passages a case's text needs.
//! This crate holds what the rest of the pipeline builds on: BEIR evaluation sets ([`beir`]),
//! the lexical BM25 index over title + text ([`bm25`], tantivy), ranking metrics ([`metrics`],
//! pure functions) and the evaluation loop that ties them together ([`eval`]). Indexes are
//! derived data: they are always rebuilt from the passages, never the source of truth.

pub mod beir;
pub mod bm25;
pub mod dense;
pub mod entity;
pub mod corpus;
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
