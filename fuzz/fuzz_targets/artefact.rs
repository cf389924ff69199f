//! Fuzz target: intake model artefacts (a model file is outside input). The first byte picks
//! the mode: raw bytes, or patches to one of two real artefacts trained here (a lexical model;
//! an ensemble with its nearest-example exemplars). Each file is also tried with its header's
//! `body_sha256` made right, so mutations reach the weights past the checksum. A file decodes
//! or is refused with an error — never a panic or an unbounded allocation; what decodes can
//! classify a text, re-encodes to a file that decodes to the same bytes again, and its id is
//! the hash of the bytes it came from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signoff_intake::artefact::{decode_artefact, encode_artefact, model_id, Artefact};
use signoff_intake::classifier::Input;
use signoff_intake::{Classifier, Config, Example};
use std::sync::OnceLock;

fn examples() -> Vec<Example> {
    let mut v = Vec::new();
    for (label, w) in [
        ("a", "apple pie"),
        ("b", "bank card"),
        ("c", "cold weather"),
    ] {
        for i in 0..6 {
            v.push(Example {
                text: format!("{w} number {i}"),
                label: label.into(),
            });
        }
    }
    v
}

/// Two real artefacts: a lexical model, and an ensemble with exemplars over 2-d embeddings.
fn bases() -> &'static [Vec<u8>; 2] {
    static B: OnceLock<[Vec<u8>; 2]> = OnceLock::new();
    B.get_or_init(|| {
        let rows = examples();
        let lexical = Config::parse("lexical:max_iter=30").unwrap();
        let clf = Classifier::train(&rows, None, &lexical).unwrap();
        let a = encode_artefact(&Artefact {
            classifier: clf,
            embedding_version: None,
            exemplars: None,
        });
        let emb: Vec<Vec<f32>> = rows
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let a = (e.label.as_bytes()[0] - b'a') as f32 * 2.0 + i as f32 * 0.01;
                vec![a.cos(), a.sin()]
            })
            .collect();
        let ensemble = Config::parse("ensemble:max_iter=30").unwrap();
        let clf = Classifier::train(&rows, Some(&emb), &ensemble).unwrap();
        let b = encode_artefact(&Artefact {
            classifier: clf,
            embedding_version: Some("0123456789abcdef".into()),
            exemplars: None,
        });
        [a.0, b.0]
    })
}

fn check(bytes: &[u8]) {
    let Ok((a, id)) = decode_artefact(bytes) else {
        return;
    };
    assert_eq!(id, model_id(bytes));
    // A model that loads can classify (an error is fine, a panic is not).
    let dim = a.classifier.dense.as_ref().map_or(0, |d| d.dim);
    let emb = (dim <= 4096).then(|| vec![0.5f32; dim]);
    let _ = a.classifier.classify(Input {
        embedding: emb.as_deref(),
        text: "bank card please",
    });
    let _ = a.classifier.classify(Input {
        embedding: None,
        text: "apple",
    });
    let (again, again_id) = encode_artefact(&a);
    let (b, b_id) = decode_artefact(&again).expect("an encoded artefact decodes");
    assert_eq!(b_id, again_id);
    assert_eq!(encode_artefact(&b).0, again, "encode ∘ decode is stable");
}

/// The file with its header's `body_sha256` set to the hash of its body, when it has one.
fn with_checksum_fixed(bytes: &[u8]) -> Option<Vec<u8>> {
    use sha2::{Digest, Sha256};
    let hlen = u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?) as usize;
    let header = bytes.get(12..12usize.checked_add(hlen)?)?;
    let body = &bytes[12 + hlen..];
    let key = b"\"body_sha256\":\"";
    let at = header.windows(key.len()).position(|w| w == key)? + key.len();
    let mut out = bytes.to_vec();
    let hex = hex::encode(Sha256::digest(body));
    out.get_mut(12 + at..12 + at + 64)?
        .copy_from_slice(hex.as_bytes());
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = match mode % 3 {
        0 => rest.to_vec(),
        m => {
            // (position, value) patches: a value of 0 cuts the file there, else it is xored in.
            let mut b = bases()[m as usize - 1].clone();
            for p in rest.chunks(3) {
                let at = u16::from_le_bytes([p[0], *p.get(1).unwrap_or(&0)]) as usize % b.len();
                match p.get(2) {
                    Some(0) => b.truncate(at.max(1)),
                    Some(&x) => b[at] ^= x,
                    None => {}
                }
            }
            b
        }
    };
    let fixed = with_checksum_fixed(&bytes);
    dump(&bytes, fixed.as_deref());
    check(&bytes);
    if let Some(fixed) = fixed {
        check(&fixed);
    }
});

/// With `SIGNOFF_FUZZ_DUMP=PATH`, writes the file an input stands for to PATH (and the
/// checksum-fixed one to PATH.fixed), to turn a crash into a regression file.
fn dump(bytes: &[u8], fixed: Option<&[u8]>) {
    static TO: OnceLock<Option<String>> = OnceLock::new();
    if let Some(path) = TO.get_or_init(|| std::env::var("SIGNOFF_FUZZ_DUMP").ok()) {
        std::fs::write(path, bytes).unwrap();
        if let Some(f) = fixed {
            std::fs::write(format!("{path}.fixed"), f).unwrap();
        }
    }
}
