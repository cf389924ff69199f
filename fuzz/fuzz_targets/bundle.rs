//! Fuzz target: an audit bundle from arbitrary bytes must verify or fail with an error naming
//! the line — never panic, never allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signoff_audit::bundle;
use signoff_audit::note::{Ed25519Key, NoteSigner, NoteVerifier};

fuzz_target!(|data: &[u8]| {
    let key = Ed25519Key::from_seed([7; 32]);
    let vkey = NoteSigner::new("signoff.fuzz/log", &key).unwrap().verifier_key();
    let trusted = NoteVerifier::parse(&vkey).unwrap();
    let _ = bundle::verify(data, &trusted, &mut |_| {});
});
