//! The evidence a draft is built from: retrieved passages with their chunk id and content
//! hash, so a citation can be bound to exact bytes and frozen with the draft.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One retrieved passage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Stable id of the chunk in the corpus.
    pub chunk_id: String,
    /// SHA-256 (hex) of `text`: what the draft freezes.
    pub chunk_hash: String,
    /// Where the passage comes from (a source name or path).
    pub source: String,
    /// Corpus version the chunk belongs to.
    pub version: String,
    /// The source's title (for entity agreement and the reader).
    pub title: String,
    /// The passage text.
    pub text: String,
}

impl Evidence {
    /// A passage with its content hash computed.
    pub fn new(chunk_id: &str, source: &str, version: &str, title: &str, text: &str) -> Self {
        Evidence {
            chunk_id: chunk_id.to_string(),
            chunk_hash: content_hash(text),
            source: source.to_string(),
            version: version.to_string(),
            title: title.to_string(),
            text: text.to_string(),
        }
    }

    /// Whether `chunk_hash` matches `text`.
    pub fn hash_matches(&self) -> bool {
        content_hash(&self.text) == self.chunk_hash
    }
}

/// SHA-256 of a text, lower-case hex.
pub fn content_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}
