//! Test-only helpers shared by the crates' test suites (a dev-dependency, never shipped).
//!
//! Tests that need a model call [`model_missing`] when it does not load: with
//! `SIGNOFF_REQUIRE_MODELS=1` (set by `scripts/test.sh`, so CI sets it) that fails the test;
//! without it (a developer machine that has not run `scripts/setup.sh`) the test says why it
//! did nothing and returns.
#![forbid(unsafe_code)]

use std::fmt::Display;
use std::path::PathBuf;

/// The environment variable that turns a missing model into a test failure.
pub const REQUIRE_MODELS_ENV: &str = "SIGNOFF_REQUIRE_MODELS";

/// Where `scripts/setup.sh` installs the models when `SIGNOFF_MODEL_DIR` is not set.
pub const DEFAULT_MODEL_ROOT: &str = "/var/cache/signoff-models";

/// Whether a test that needs a model must fail when the model does not load.
pub fn models_required() -> bool {
    std::env::var(REQUIRE_MODELS_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The models' root directory: `SIGNOFF_MODEL_DIR`, else the setup script's default.
pub fn model_root() -> PathBuf {
    std::env::var("SIGNOFF_MODEL_DIR")
        .ok()
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_MODEL_ROOT))
}

/// Reports a model that did not load: panics under `SIGNOFF_REQUIRE_MODELS=1`, otherwise
/// prints why the test did nothing. The caller returns right after.
#[track_caller]
pub fn model_missing(why: impl Display) {
    if models_required() {
        panic!(
            "a model this test needs did not load ({REQUIRE_MODELS_ENV} is set): {why}; \
             run scripts/setup.sh"
        );
    }
    eprintln!(
        "not run: {why} (scripts/setup.sh installs the models; \
         {REQUIRE_MODELS_ENV}=1 makes this a failure)"
    );
}

/// `Some(value)` when the model loaded; otherwise [`model_missing`] and `None`.
#[track_caller]
pub fn loaded<T, E: Display>(r: Result<T, E>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            model_missing(e);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loaded_passes_a_model_through() {
        assert_eq!(loaded::<_, String>(Ok(3)), Some(3));
    }

    /// Reports a missing model when the probe variable asks it to (run by the test below in
    /// a child process); otherwise does nothing.
    #[test]
    fn probe_missing_model() {
        if std::env::var_os("SIGNOFF_TESTKIT_PROBE").is_some() {
            assert_eq!(loaded::<u8, _>(Err("no weights at /nowhere")), None);
        }
    }

    fn probe(require: &str) -> std::process::Output {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "tests::probe_missing_model", "--nocapture"])
            .env("SIGNOFF_TESTKIT_PROBE", "1")
            .env(REQUIRE_MODELS_ENV, require)
            .output()
            .unwrap()
    }

    #[test]
    fn a_missing_model_fails_the_test_only_when_models_are_required() {
        let required = probe("1");
        assert!(!required.status.success(), "a required model was skipped");
        let text = String::from_utf8_lossy(&required.stdout).to_string()
            + &String::from_utf8_lossy(&required.stderr);
        assert!(text.contains("no weights at /nowhere"), "{text}");
        let optional = probe("0");
        assert!(optional.status.success());
        assert!(String::from_utf8_lossy(&optional.stderr).contains("not run: no weights"));
    }
}
