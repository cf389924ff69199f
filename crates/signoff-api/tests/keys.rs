//! Key places and rotation through the API: reviewer keys sit beside the device key file, and
//! a rotation interrupted after its entry committed (new key still pending) is finished on the
//! next open instead of locking the workspace out.

use signoff_api::keys::{KeyPlace, KeySlot};
use signoff_audit::keyfile;
use signoff_audit::note::Ed25519Key;
use signoff_core::FixedClock;
use std::sync::Arc;

#[test]
fn reviewer_and_pending_keys_sit_beside_the_device_key_file() {
    let place = KeyPlace::new(Some("/k/dev.key".as_ref()), "/ws".as_ref(), false);
    assert_eq!(place.device(), &KeySlot::File("/k/dev.key".into()));
    assert_eq!(
        place.reviewer("ana/../x"),
        KeySlot::File("/k/dev.key.reviewer-ana____x".into())
    );
    assert_eq!(
        place.pending_device(),
        KeySlot::File("/k/dev.key.next".into())
    );
    let store = KeyPlace::new(None, "/nonexistent-ws".as_ref(), false);
    assert_eq!(
        store.reviewer("ana"),
        KeySlot::Store("reviewer-key:ana".into())
    );
}

#[test]
fn a_workspace_holding_its_own_key_file_keeps_using_it() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    assert!(matches!(
        KeyPlace::new(None, &ws, false).device(),
        KeySlot::Store(_)
    ));
    keyfile::load_or_create(&ws.join("device.key"), || Ok([5u8; 32])).unwrap();
    let place = KeyPlace::new(None, &ws, false);
    assert_eq!(place.device(), &KeySlot::File(ws.join("device.key")));
    let explicit = t.path().join("elsewhere.key");
    assert_eq!(
        KeyPlace::new(Some(&explicit), &ws, false).device(),
        &KeySlot::File(explicit),
        "an explicit key file still wins"
    );
}

#[test]
fn an_interrupted_rotation_is_finished_on_the_next_open() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("ws");
    let key = t.path().join("dev.key");
    let clock = FixedClock::new("2026-11-26T10:00:00Z".parse().unwrap());
    let next_seed = [77u8; 32];
    {
        let mut ws = signoff_api::demo::open(&dir, false, Some(&key), &clock).unwrap();
        // The first half of a rotation: the new key is pending and the entry commits…
        keyfile::load_or_create(&t.path().join("dev.key.next"), || Ok(next_seed)).unwrap();
        ws.rotate_device_key(Arc::new(Ed25519Key::from_seed(next_seed)), &clock)
            .unwrap();
        // …and the process dies before the key file is replaced.
    }
    let ws = signoff_api::demo::open(&dir, false, Some(&key), &clock).unwrap();
    assert_eq!(
        keyfile::load_or_create(&key, || unreachable!())
            .unwrap()
            .seed(),
        next_seed,
        "the pending key was promoted"
    );
    assert!(!t.path().join("dev.key.next").exists());
    let r = ws.audit_verify(None, &mut |_, _| {}).unwrap();
    assert_eq!(r.log.device_keys, 2);
}

#[test]
fn a_retired_key_is_refused_with_the_rotation_that_retired_it() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("ws");
    let key = t.path().join("dev.key");
    let clock = FixedClock::new("2026-11-26T10:00:00Z".parse().unwrap());
    let old_seed;
    {
        let mut ws = signoff_api::demo::open(&dir, false, Some(&key), &clock).unwrap();
        old_seed = keyfile::load_or_create(&key, || unreachable!())
            .unwrap()
            .seed();
        let place = KeyPlace::new(Some(&key), &dir, false);
        signoff_api::keys::rotate_device_key(&mut ws, &place, &clock).unwrap();
    }
    let old = t.path().join("old.key");
    keyfile::load_or_create(&old, || Ok(old_seed)).unwrap();
    let err = signoff_api::demo::open(&dir, false, Some(&old), &clock).unwrap_err();
    assert!(
        err.to_string()
            .contains("retired by the key rotation at entry 0"),
        "{err}"
    );
}
