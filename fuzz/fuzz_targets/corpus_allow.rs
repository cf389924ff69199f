//! Fuzz target: the corpus allow-list (TOML). It parses or fails with an error naming the
//! file and a line of it; what parses serialises back to TOML that parses to the same list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signoff_context::corpus::AllowList;
use signoff_context::ContextError;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.split('\n').count();
    match AllowList::parse(text, "allow.toml") {
        Ok(list) => {
            let again = toml::to_string(&list).expect("an allow-list serialises");
            assert_eq!(AllowList::parse(&again, "again.toml").unwrap(), list);
        }
        Err(ContextError::Ingest { file, line, .. }) => {
            assert_eq!(file, "allow.toml");
            let line = line.expect("a TOML error names its line");
            assert!(line >= 1 && line <= lines, "line {line} of {lines}");
        }
        Err(e) => panic!("unexpected error kind: {e}"),
    }
});
