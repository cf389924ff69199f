//! Routing files (`models.toml`) the fuzz target `models` (fuzz/, docs/fuzzing.md) once
//! crashed on, kept under its contract: a file parses, its routes name defined models and
//! every chain ends with an offline model, or it fails with an error naming a line of it.

use signoff_action::router::{ModelKind, Models};
use signoff_action::ActionError;
use std::path::{Path, PathBuf};

fn inputs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

/// The contract the fuzz target checks, for one file.
fn check(path: &Path, text: &str) -> Result<Models, ActionError> {
    let lines = text.split('\n').count();
    match Models::parse(path, text) {
        Ok(m) => {
            for r in &m.routes {
                assert!(r.line >= 1 && r.line <= lines, "{}", path.display());
                assert!(r.models.iter().all(|n| m.models.contains_key(n)));
                let chain = m
                    .chain(r.label.as_deref(), r.band.as_deref(), None)
                    .unwrap();
                assert_eq!(chain.last().unwrap().kind, ModelKind::Offline);
            }
            for name in m.models.keys() {
                let chain = m.chain(None, None, Some(name)).unwrap();
                assert_eq!(chain.last().unwrap().kind, ModelKind::Offline);
            }
            Ok(m)
        }
        Err(e) => {
            let ActionError::Parse { line, .. } = &e else {
                panic!("{}: {e}", path.display());
            };
            assert!(*line >= 1 && *line <= lines, "{}: {e}", path.display());
            Err(e)
        }
    }
}

#[test]
fn routing_files_that_once_crashed_parse_or_name_a_line() {
    let files = inputs();
    assert!(!files.is_empty());
    for path in files {
        let text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
        let _ = check(&path, &text);
    }
}

#[test]
fn an_error_pointing_inside_a_character_names_its_line() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions/error-inside-a-character.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let err = check(&path, &text).unwrap_err().to_string();
    assert!(err.contains(":1"), "{err}");
}

#[test]
fn a_model_named_offline_must_be_the_offline_drafter() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions/offline-redefined.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let err = check(&path, &text).unwrap_err().to_string();
    assert!(err.contains("built-in offline drafter"), "{err}");
}
