//! Progress of long embedding runs (indexing a corpus version, a benchmark's passages) for a
//! host to show: a terminal bar in the CLI, an event in the app. One process-wide hook,
//! called by [`crate::Embedder::embed_with`] after each batch of a run of at least
//! [`MIN_TEXTS`] texts (a query is never reported).

use std::sync::{Arc, RwLock};

/// Runs shorter than this are not reported.
pub const MIN_TEXTS: usize = 256;

/// A progress hook: `(texts done, texts in the run)`.
pub type Hook = dyn Fn(usize, usize) + Send + Sync;

static HOOK: RwLock<Option<Arc<Hook>>> = RwLock::new(None);

/// Installs (or with `None` removes) the process's progress hook.
pub fn set_hook(hook: Option<Arc<Hook>>) {
    *HOOK.write().unwrap_or_else(|e| e.into_inner()) = hook;
}

/// Reports `done` of `total` to the hook, if one is installed and the run is long enough.
pub fn report(done: usize, total: usize) {
    if total < MIN_TEXTS {
        return;
    }
    let hook = HOOK.read().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(h) = hook {
        h(done, total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn long_runs_reach_the_hook_and_short_ones_do_not() {
        let seen = Arc::new(AtomicUsize::new(0));
        let s = seen.clone();
        set_hook(Some(Arc::new(move |done, total| {
            assert!(done <= total);
            s.store(done, Ordering::SeqCst);
        })));
        report(3, 10);
        assert_eq!(seen.load(Ordering::SeqCst), 0);
        report(300, 400);
        assert_eq!(seen.load(Ordering::SeqCst), 300);
        set_hook(None);
        report(400, 400);
        assert_eq!(seen.load(Ordering::SeqCst), 300);
    }
}
