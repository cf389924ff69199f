//! Inputs the fuzz targets (fuzz/, docs/fuzzing.md) once crashed on, kept under the same
//! contract: model artefacts (`*.bin`) decode or are refused, and what decodes can classify
//! and re-encodes to a file that decodes to the same bytes; intake rules (`*.toml`) parse, each
//! rule on a line of the file, or fail with an error naming a line of it.

use signoff_intake::artefact::{decode_artefact, encode_artefact, model_id};
use signoff_intake::classifier::Input;
use signoff_intake::rules::Rules;
use signoff_intake::IntakeError;
use std::path::{Path, PathBuf};

fn inputs(ext: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

#[test]
fn artefacts_that_once_crashed_decode_or_are_refused() {
    let files = inputs("bin");
    assert!(!files.is_empty());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let Ok((a, id)) = decode_artefact(&bytes) else {
            continue;
        };
        assert_eq!(id, model_id(&bytes), "{}", path.display());
        let dim = a.classifier.dense.as_ref().map_or(0, |d| d.dim);
        let emb = vec![0.5f32; dim.min(4096)];
        let _ = a.classifier.classify(Input {
            embedding: Some(&emb),
            text: "bank card please",
        });
        let (again, again_id) = encode_artefact(&a);
        let (b, b_id) = decode_artefact(&again)
            .unwrap_or_else(|e| panic!("{}: re-encoded, it does not decode: {e}", path.display()));
        assert_eq!(b_id, again_id);
        assert_eq!(encode_artefact(&b).0, again, "{}", path.display());
    }
}

#[test]
fn a_header_number_beyond_f32_is_refused_not_read_as_infinity() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions/artefact-header-float-out-of-range.bin");
    let err = decode_artefact(&std::fs::read(path).unwrap()).unwrap_err();
    assert!(err.to_string().contains("32-bit float"), "{err}");
}

#[test]
fn rules_that_once_crashed_parse_or_name_a_line() {
    let files = inputs("toml");
    assert!(!files.is_empty());
    for path in files {
        let text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
        let lines = text.split('\n').count();
        match Rules::parse(&text, &path) {
            Ok(r) => assert!(r.rules.iter().all(|x| x.line >= 1 && x.line <= lines)),
            Err(IntakeError::Parse { line, .. }) => {
                assert!(line >= 1 && line <= lines, "{}", path.display())
            }
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
}

#[test]
fn a_rules_error_pointing_inside_a_character_names_its_line() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions/rules-error-inside-a-character.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let err = Rules::parse(&text, &path).unwrap_err().to_string();
    assert!(err.contains(":1"), "{err}");
}

#[test]
fn a_lexical_head_that_does_not_fit_its_vocabulary_is_refused() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions/artefact-vocabulary-longer-than-weights.bin");
    let err = decode_artefact(&std::fs::read(path).unwrap()).unwrap_err();
    assert!(err.to_string().contains("does not fit"), "{err}");
}
