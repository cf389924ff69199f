//! Audit bundles: export from a real SQLite log, verify with no workspace, and every way a
//! bundle can be wrong — cut short, reordered, flipped, of another log, from a newer version,
//! under the wrong key — gives an error naming the line, never a panic or a pass.

use proptest::prelude::*;
use rusqlite::Connection;
use signoff_audit::bundle::{self, BundleError};
use signoff_audit::chain;
use signoff_audit::log::{self, Entry};
use signoff_audit::note::{Ed25519Key, NoteSigner, NoteVerifier};

const ORIGIN: &str = "signoff.test/bundle-1";
const T0: i64 = 1_795_000_000_000;

fn vkey(k: &Ed25519Key, origin: &str) -> NoteVerifier {
    NoteVerifier::parse(&NoteSigner::new(origin, k).unwrap().verifier_key()).unwrap()
}

fn event(i: u64) -> Entry {
    let mut payload = serde_json::Map::new();
    payload.insert("n".into(), i.into());
    Entry {
        kind: "import".into(),
        // Cases recur, so entries link to the previous entry about their case.
        case_id: Some(format!("C-{}", i % 3)),
        actor: "device".into(),
        at_ms: T0 + i as i64,
        payload,
    }
}

/// A log of `n` events in batches of 3 with a reviewer registration and a key rotation.
fn sample(n: u64) -> (Connection, Ed25519Key) {
    let device = Ed25519Key::from_seed([1; 32]);
    let next = Ed25519Key::from_seed([2; 32]);
    let ana = Ed25519Key::from_seed([3; 32]);
    let mut c = Connection::open_in_memory().unwrap();
    c.execute_batch(log::SCHEMA).unwrap();
    let mut i = 0;
    let mut rotated_at = None;
    while i < n {
        let tx = c.transaction().unwrap();
        let mut app = log::Appender::new(&tx).unwrap();
        // The key in force for this batch's checkpoint: a rotation ends its batch, which the
        // old key seals; later batches are the new key's.
        let signer = if rotated_at.is_some() { &next } else { &device };
        for _ in 0..3.min(n - i) {
            let idx = app.size();
            let e = match idx {
                1 => chain::reviewer_key_entry(idx, "ana", "Ana", &ana, T0).unwrap(),
                8 => {
                    rotated_at = Some(idx);
                    chain::rotation_entry(idx, ORIGIN, &device, &next, T0).unwrap()
                }
                _ => event(idx),
            };
            app.append(&e).unwrap();
            i += 1;
        }
        app.checkpoint(ORIGIN, signer, T0).unwrap();
        drop(app);
        tx.commit().unwrap();
    }
    (c, device)
}

fn export(c: &Connection, genesis: &Ed25519Key) -> Vec<u8> {
    let mut out = Vec::new();
    bundle::export(c, &vkey(genesis, ORIGIN), &mut out, &mut |_, _| {}).unwrap();
    out
}

fn check(b: &[u8], trusted: &NoteVerifier) -> Result<bundle::BundleReport, BundleError> {
    bundle::verify(b, trusted, &mut |_| {})
}

#[test]
fn an_exported_bundle_verifies_without_the_workspace() {
    let (c, device) = sample(20);
    let b = export(&c, &device);
    drop(c);
    let r = check(&b, &vkey(&device, ORIGIN)).unwrap();
    assert_eq!((r.entries, r.checkpoints, r.device_keys.len()), (20, 7, 2));
    assert_eq!(r.signatures, 2, "the registration and the rotation");
    // The key in force after the rotation is trusted too.
    check(&b, &vkey(&Ed25519Key::from_seed([2; 32]), ORIGIN)).unwrap();
}

#[test]
fn a_bundle_cut_anywhere_is_reported_and_never_passes() {
    let (c, device) = sample(10);
    let b = export(&c, &device);
    let trusted = vkey(&device, ORIGIN);
    for cut in 0..b.len() {
        let err = check(&b[..cut], &trusted).expect_err(&format!("cut at byte {cut} passed"));
        let msg = err.to_string();
        assert!(
            msg.contains("cut short") || msg.contains("empty") || msg.contains("line"),
            "cut at {cut}: {msg}"
        );
    }
}

#[test]
fn a_reordered_entry_is_named_by_its_line() {
    let (c, device) = sample(10);
    let b = String::from_utf8(export(&c, &device)).unwrap();
    let mut lines: Vec<&str> = b.lines().collect();
    let (a, z) = (
        lines
            .iter()
            .position(|l| l.starts_with("{\"entry\":3,"))
            .unwrap(),
        lines
            .iter()
            .position(|l| l.starts_with("{\"entry\":4,"))
            .unwrap(),
    );
    lines.swap(a, z);
    let err = check((lines.join("\n") + "\n").as_bytes(), &vkey(&device, ORIGIN)).unwrap_err();
    assert!(
        err.to_string().contains(&format!("line {}", a + 1))
            && err.to_string().contains("missing or reordered"),
        "{err}"
    );
}

#[test]
fn every_single_byte_flip_fails_verification() {
    let (c, device) = sample(7);
    let b = export(&c, &device);
    let trusted = vkey(&device, ORIGIN);
    // Low bit, letter case (hex digits decode either way, so only the checksum catches
    // those) and high bit (invalid UTF-8): no byte of a bundle is insignificant.
    for mask in [0x01u8, 0x20, 0x80] {
        for at in 0..b.len() {
            let mut t = b.clone();
            t[at] ^= mask;
            assert!(
                check(&t, &trusted).is_err(),
                "flip {mask:#04x} at byte {at} passed: {}",
                String::from_utf8_lossy(&t[at.saturating_sub(60)..(at + 20).min(t.len())])
            );
        }
    }
}

#[test]
fn wrong_key_other_log_and_newer_version_are_refused_clearly() {
    let (c, device) = sample(6);
    let b = String::from_utf8(export(&c, &device)).unwrap();
    let stranger = Ed25519Key::from_seed([7; 32]);
    let err = check(b.as_bytes(), &vkey(&stranger, ORIGIN)).unwrap_err();
    assert!(
        err.to_string().contains("not a device key of this log"),
        "{err}"
    );
    let err = check(b.as_bytes(), &vkey(&device, "signoff.test/other")).unwrap_err();
    assert!(err.to_string().contains("bundle is of log"), "{err}");
    let newer = b.replacen("\"v\":1", "\"v\":2", 1);
    let err = check(newer.as_bytes(), &vkey(&device, ORIGIN)).unwrap_err();
    assert!(
        err.to_string().contains("newer than this Signoff reads"),
        "{err}"
    );
    let err = check(b"hello\n", &vkey(&device, ORIGIN)).unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random edits (overwrite, delete, duplicate a range) of a valid bundle: verification
    /// returns an error or, only if the bytes are unchanged, a pass — never a panic.
    #[test]
    fn mutated_bundles_never_panic_or_pass(start in 0usize..4000, len in 1usize..64, op in 0u8..3, byte in any::<u8>()) {
        let (c, device) = sample(8);
        let b = export(&c, &device);
        let start = start % b.len();
        let end = (start + len).min(b.len());
        let mut t = b.clone();
        match op {
            0 => t[start..end].iter_mut().for_each(|x| *x = byte),
            1 => { t.drain(start..end); }
            _ => { let dup = t[start..end].to_vec(); t.splice(start..start, dup); }
        }
        let r = check(&t, &vkey(&device, ORIGIN));
        prop_assert!(r.is_err() || t == b);
    }

    /// Arbitrary text never panics the note and checkpoint parsers.
    #[test]
    fn notes_and_checkpoints_parse_arbitrary_text_without_panicking(s in "(?s).{0,300}") {
        let v = vkey(&Ed25519Key::from_seed([1; 32]), ORIGIN);
        let _ = signoff_audit::note::open(&s, &[v]);
        let _ = signoff_audit::Checkpoint::parse(&s);
    }
}
