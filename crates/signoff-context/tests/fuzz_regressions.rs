//! Corpus allow-lists the fuzz target `corpus_allow` (fuzz/, docs/fuzzing.md) once crashed on,
//! kept under its contract: a list parses and serialises back to the same list, or fails with
//! an error naming the file and a line of it.

use signoff_context::corpus::AllowList;
use signoff_context::ContextError;
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

/// The contract the fuzz target checks, for one file; the error's line when it fails.
fn check(text: &str) -> Option<usize> {
    let lines = text.split('\n').count();
    match AllowList::parse(text, "allow.toml") {
        Ok(list) => {
            let again = toml::to_string(&list).unwrap();
            assert_eq!(AllowList::parse(&again, "again.toml").unwrap(), list);
            None
        }
        Err(ContextError::Ingest { file, line, .. }) => {
            assert_eq!(file, "allow.toml");
            let line = line.expect("a TOML error names its line");
            assert!(line >= 1 && line <= lines, "line {line} of {lines}");
            Some(line)
        }
        Err(e) => panic!("unexpected error kind: {e}"),
    }
}

#[test]
fn allow_lists_that_once_crashed_parse_or_name_a_line() {
    let files = inputs();
    assert!(!files.is_empty());
    for path in files {
        check(&String::from_utf8(std::fs::read(&path).unwrap()).unwrap());
    }
}

#[test]
fn an_error_pointing_inside_a_character_names_its_line() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions/allow-error-inside-a-character.toml");
    assert_eq!(check(&std::fs::read_to_string(path).unwrap()), Some(1));
}
