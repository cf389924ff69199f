//! The embedding model as one process-wide instance: loaded once, on first use, from
//! `$SIGNOFF_MODEL_DIR/all-minilm-l6-v2` (else the default cache path), shared by every
//! search in the process. When it is missing the reason is kept, so each caller can say
//! clearly that it falls back to lexical retrieval.

use signoff_embed::embed::{model_dir, MODEL_DIR_ENV};
use signoff_embed::Embedder;
use std::sync::{Arc, OnceLock};

static SHARED: OnceLock<Result<Arc<Embedder>, String>> = OnceLock::new();

/// The process's embedding model, or why it is not available (the model files missing or
/// unreadable). Loaded at most once per process.
pub fn shared() -> Result<Arc<Embedder>, String> {
    SHARED
        .get_or_init(|| {
            let env = std::env::var(MODEL_DIR_ENV).ok();
            Embedder::load(&model_dir(env.as_deref()))
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
        .clone()
}
