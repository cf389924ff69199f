//! Fuzz target: signed notes, checkpoint bodies and verifier keys from arbitrary bytes. A note
//! opens only if the trusted key signed exactly its text; a text the fuzz key signs opens again
//! to that text; a checkpoint prints back to the bytes it was parsed from; a verifier key
//! prints back to a key that parses to the same verifier.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signoff_audit::note::{self, Ed25519Key, NoteSigner, NoteVerifier};
use signoff_audit::Checkpoint;

const NAME: &str = "signoff.fuzz/log";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let key = Ed25519Key::from_seed([7; 32]);
    let signer = NoteSigner::new(NAME, &key).unwrap();
    let trusted = NoteVerifier::parse(&signer.verifier_key()).unwrap();

    // As a signed note: opening it means our key's signature over its text verified.
    if let Ok(opened) = note::open(text, std::slice::from_ref(&trusted)) {
        assert!(opened.signed_by.iter().any(|n| n == NAME));
        assert!(
            text.starts_with(&opened.text),
            "the opened text is the note's prefix"
        );
        // What opened is a text we could sign: it passes the same checks.
        signer
            .signature_line(&opened.text)
            .expect("an opened text is a valid note text");
    }

    // As a text to sign: signing succeeds only for a valid note text, and the signed note
    // opens to exactly that text, signed by us alone.
    if let Ok(signed) = signer.sign(text) {
        let opened =
            note::open(&signed, std::slice::from_ref(&trusted)).expect("a note we signed opens");
        assert_eq!(opened.text, text);
        assert_eq!(opened.signed_by, vec![NAME.to_string()]);
        assert!(opened.unknown.is_empty());
        // Another key's signature line appended stays unknown and does not break it.
        let other = Ed25519Key::from_seed([8; 32]);
        let line = NoteSigner::new("signoff.fuzz/other", &other)
            .unwrap()
            .signature_line(text)
            .unwrap();
        let both = format!("{signed}{line}");
        let opened = note::open(&both, std::slice::from_ref(&trusted)).expect("still opens");
        assert_eq!(opened.unknown.len(), 1);
    }

    // As a checkpoint body: print ∘ parse is the identity on what parses.
    if let Ok(cp) = Checkpoint::parse(text) {
        assert_eq!(cp.to_text(), text, "a checkpoint prints back to its bytes");
        assert_eq!(Checkpoint::parse(&cp.to_text()).unwrap(), cp);
    }

    // As a verifier key: parse ∘ print is the identity on what parses.
    if let Ok(v) = NoteVerifier::parse(text) {
        assert_eq!(NoteVerifier::parse(&v.to_vkey()).unwrap(), v);
        assert!(v.to_vkey().eq_ignore_ascii_case(text.trim()));
    }
});
