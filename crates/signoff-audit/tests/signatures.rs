//! Personal signatures inside entries and device key rotation, on a real SQLite log: what
//! verifies, and every way a signature, a registration or a rotation can be wrong.

use rusqlite::Connection;
use signoff_audit::chain::{self, Manifest};
use signoff_audit::log::{self, Entry};
use signoff_audit::note::{Ed25519Key, NoteSigner, NoteVerifier, Signer};

const ORIGIN: &str = "signoff.test/sig-1";
const T0: i64 = 1_795_000_000_000;

fn vkey(k: &Ed25519Key) -> NoteVerifier {
    NoteVerifier::parse(&NoteSigner::new(ORIGIN, k).unwrap().verifier_key()).unwrap()
}

fn db() -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(log::SCHEMA).unwrap();
    c
}

fn disposition(actor: &str, case: &str) -> Entry {
    let mut payload = serde_json::Map::new();
    payload.insert("disposition".into(), "approve".into());
    // Signed entries are linked before they are signed: each test's disposition is the
    // first entry about its case.
    payload.insert(log::CASE_PREV.into(), serde_json::Value::Null);
    Entry {
        kind: "disposition".into(),
        case_id: Some(case.into()),
        actor: actor.into(),
        at_ms: T0,
        payload,
    }
}

fn manifest(meaning: &str) -> Manifest {
    Manifest {
        name: "Ana Reviewer".into(),
        meaning: meaning.into(),
        at_ms: T0,
    }
}

/// Appends entries one transaction each, sealing each with `device`.
fn append(c: &mut Connection, device: &Ed25519Key, entries: Vec<Entry>) {
    for e in entries {
        let tx = c.transaction().unwrap();
        let mut app = log::Appender::new(&tx).unwrap();
        app.append(&e).unwrap();
        app.checkpoint(ORIGIN, device, T0).unwrap();
        drop(app);
        tx.commit().unwrap();
    }
}

fn signed_disposition(index: u64, who: &dyn Signer, case: &str) -> Entry {
    let mut e = disposition("ana", case);
    chain::sign_entry(
        index,
        &mut e,
        who,
        &manifest("approved the draft as written"),
    )
    .unwrap();
    e
}

#[test]
fn a_registered_reviewer_signs_and_the_log_verifies() {
    let device = Ed25519Key::from_seed([1; 32]);
    let ana = Ed25519Key::from_seed([2; 32]);
    let mut c = db();
    let reg = chain::reviewer_key_entry(0, "ana", "Ana Reviewer", &ana, T0).unwrap();
    append(
        &mut c,
        &device,
        vec![reg, signed_disposition(1, &ana, "C-1")],
    );
    let r = log::verify(&c, &vkey(&device), None, &mut |_, _| {}).unwrap();
    assert_eq!((r.entries, r.signatures, r.device_keys), (2, 2, 1));
    let leaf: Vec<u8> = c
        .query_row("SELECT leaf FROM audit_entries WHERE idx = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    let leaf = String::from_utf8(leaf).unwrap();
    for field in [
        "\"name\":\"Ana Reviewer\"",
        "\"meaning\":\"approved the draft as written\"",
        "\"signed_at\":\"2026-",
    ] {
        assert!(leaf.contains(field), "{field} in {leaf}");
    }
}

#[test]
fn every_tamper_of_a_signed_leaf_breaks_its_signature() {
    let ana = Ed25519Key::from_seed([2; 32]);
    let e = signed_disposition(5, &ana, "C-1");
    let leaf = log::encode_leaf(5, &e).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&leaf).unwrap();
    assert!(chain::check_signature(&v).unwrap().is_some());
    // Change every character of the leaf that keeps it JSON; none may still verify.
    let text = String::from_utf8(leaf).unwrap();
    let mut tried = 0;
    for (i, ch) in text.char_indices() {
        let repl = if ch.is_ascii_digit() {
            if ch == '9' {
                '8'
            } else {
                '9'
            }
        } else if ch.is_ascii_lowercase() {
            if ch == 'z' {
                'y'
            } else {
                'z'
            }
        } else {
            continue;
        };
        let mut t = text.clone();
        t.replace_range(i..i + 1, &repl.to_string());
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&t) else {
            continue;
        };
        if v.pointer("/payload/signature").is_none() {
            continue;
        }
        tried += 1;
        assert!(
            chain::check_signature(&v).is_err(),
            "changing byte {i} ({ch:?}→{repl:?}) kept a valid signature: {t}"
        );
    }
    assert!(tried > 200, "only {tried} variants tried");
}

#[test]
fn an_unsigned_disposition_by_a_registered_reviewer_is_refused() {
    let device = Ed25519Key::from_seed([1; 32]);
    let ana = Ed25519Key::from_seed([2; 32]);
    let mut c = db();
    let reg = chain::reviewer_key_entry(0, "ana", "Ana Reviewer", &ana, T0).unwrap();
    append(&mut c, &device, vec![reg, disposition("ana", "C-1")]);
    let err = log::verify(&c, &vkey(&device), None, &mut |_, _| {}).unwrap_err();
    assert!(
        err.to_string().contains("entry 1") && err.to_string().contains("unsigned"),
        "{err}"
    );
}

#[test]
fn claim_resolutions_by_a_registered_reviewer_must_be_signed() {
    let device = Ed25519Key::from_seed([1; 32]);
    let ana = Ed25519Key::from_seed([2; 32]);
    for kind in ["claim_accept", "claim_edit", "claim_remove"] {
        let claim = |sign: bool| {
            let mut e = disposition("ana", "C-1");
            e.kind = kind.into();
            if sign {
                chain::sign_entry(1, &mut e, &ana, &manifest("accepted a flagged claim")).unwrap();
            }
            e
        };
        let reg = || chain::reviewer_key_entry(0, "ana", "Ana Reviewer", &ana, T0).unwrap();
        let mut c = db();
        append(&mut c, &device, vec![reg(), claim(true)]);
        let r = log::verify(&c, &vkey(&device), None, &mut |_, _| {}).unwrap();
        assert_eq!(r.entries, 2, "{kind}");
        let mut c = db();
        append(&mut c, &device, vec![reg(), claim(false)]);
        let err = log::verify(&c, &vkey(&device), None, &mut |_, _| {}).unwrap_err();
        assert!(
            err.to_string().contains("entry 1")
                && err
                    .to_string()
                    .contains(&format!("this {kind} is unsigned")),
            "{kind}: {err}"
        );
    }
}

#[test]
fn a_disposition_signed_by_someone_elses_key_is_refused() {
    let device = Ed25519Key::from_seed([1; 32]);
    let ana = Ed25519Key::from_seed([2; 32]);
    let mallory = Ed25519Key::from_seed([3; 32]);
    let mut c = db();
    let reg = chain::reviewer_key_entry(0, "ana", "Ana Reviewer", &ana, T0).unwrap();
    append(
        &mut c,
        &device,
        vec![reg, signed_disposition(1, &mallory, "C-1")],
    );
    let err = log::verify(&c, &vkey(&device), None, &mut |_, _| {}).unwrap_err();
    assert!(
        err.to_string().contains("not ana's registered key"),
        "{err}"
    );
}

#[test]
fn a_signature_moved_to_another_position_does_not_verify() {
    let ana = Ed25519Key::from_seed([2; 32]);
    let e = signed_disposition(1, &ana, "C-1");
    let moved = log::encode_leaf(2, &e).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&moved).unwrap();
    assert!(chain::check_signature(&v).is_err());
}

#[test]
fn rotation_hands_checkpoints_to_the_new_key() {
    let old = Ed25519Key::from_seed([1; 32]);
    let new = Ed25519Key::from_seed([9; 32]);
    let mut c = db();
    append(&mut c, &old, vec![disposition("bob", "C-0")]);
    let rot = chain::rotation_entry(1, ORIGIN, &old, &new, T0).unwrap();
    append(&mut c, &old, vec![rot]);
    append(
        &mut c,
        &new,
        vec![disposition("bob", "C-2"), disposition("bob", "C-3")],
    );
    let r = log::verify(&c, &vkey(&old), None, &mut |_, _| {}).unwrap();
    assert_eq!((r.entries, r.checkpoints, r.device_keys), (4, 4, 2));

    // A checkpoint after the rotation signed by the retired key is refused.
    append(&mut c, &old, vec![disposition("bob", "C-4")]);
    let err = log::verify(&c, &vkey(&old), None, &mut |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("checkpoint of size 5"), "{err}");
}

#[test]
fn a_rotation_not_signed_by_the_key_in_force_is_refused() {
    let old = Ed25519Key::from_seed([1; 32]);
    let thief = Ed25519Key::from_seed([6; 32]);
    let mut c = db();
    append(&mut c, &old, vec![disposition("bob", "C-0")]);
    let rot = chain::rotation_entry(1, ORIGIN, &thief, &thief, T0).unwrap();
    append(&mut c, &old, vec![rot]);
    let err = log::verify(&c, &vkey(&old), None, &mut |_, _| {}).unwrap_err();
    assert!(
        err.to_string().contains("entry 1") && err.to_string().contains("device key in force"),
        "{err}"
    );
}
