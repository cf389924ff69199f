//! Fuzz target: corpus ingest of Markdown, plain text, HTML and JSON knowledge bases. The first
//! byte picks the format, the rest is the file. A document either cuts into chunks that are
//! exactly the text they point at, with unique ids and the hash they are known by, or is
//! refused with an error naming the file and a line of it — never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signoff_context::ingest::{chunk_sha256, ingest_bytes, Format};
use signoff_context::ContextError;
use std::collections::HashSet;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let (format, file) = match pick % 4 {
        0 => (Format::Markdown, "kb.md"),
        1 => (Format::Text, "kb.txt"),
        2 => (Format::Html, "kb.html"),
        _ => (Format::Json, "kb.json"),
    };
    let display = format!("docs/{file}");
    let lines = bytes.split(|b| *b == b'\n').count();
    match ingest_bytes(&display, file, bytes, format, "fuzz") {
        Ok(doc) => {
            assert!(!doc.chunks.is_empty());
            let chars: Vec<char> = doc.text.chars().collect();
            let mut ids = HashSet::new();
            for c in &doc.chunks {
                assert!(c.id.starts_with("fuzz:kb."), "id {:?}", c.id);
                assert!(
                    ids.insert(c.id.clone()),
                    "chunk id {:?} is used twice",
                    c.id
                );
                assert!(
                    c.start <= c.end && c.end <= chars.len(),
                    "{}..{}",
                    c.start,
                    c.end
                );
                let at: String = chars[c.start..c.end].iter().collect();
                assert_eq!(
                    c.text, at,
                    "a chunk is exactly the text between its offsets"
                );
                assert!(!c.text.trim().is_empty(), "chunk {:?} holds no text", c.id);
                assert_eq!(c.sha256, chunk_sha256(&c.id, &c.title, &c.text, &c.flags));
            }
        }
        Err(ContextError::Ingest { file, line, .. }) => {
            assert_eq!(file, display);
            if let Some(line) = line {
                assert!(line >= 1 && line <= lines, "line {line} of {lines}");
            }
        }
        Err(e) => panic!("ingest failed other than with an input error: {e}"),
    }
});
