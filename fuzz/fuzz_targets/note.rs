//! Fuzz target: signed notes, checkpoint bodies and verifier keys from arbitrary bytes must
//! parse or fail cleanly — never panic, never accept a note no trusted key signed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signoff_audit::note::{self, Ed25519Key, NoteSigner, NoteVerifier};
use signoff_audit::Checkpoint;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let key = Ed25519Key::from_seed([7; 32]);
    let vkey = NoteSigner::new("signoff.fuzz/log", &key).unwrap().verifier_key();
    let trusted = NoteVerifier::parse(&vkey).unwrap();
    if let Ok(opened) = note::open(text, &[trusted]) {
        // Only a note our key really signed can open; re-signing its text must reproduce it.
        let resigned = NoteSigner::new("signoff.fuzz/log", &key).unwrap().sign(&opened.text).unwrap();
        assert!(text.starts_with(&opened.text) && resigned.lines().count() <= text.lines().count() + 1);
    }
    if let Ok(cp) = Checkpoint::parse(text) {
        assert_eq!(Checkpoint::parse(&cp.to_text()).unwrap(), cp, "parse ∘ print is the identity");
    }
    let _ = NoteVerifier::parse(text);
});
