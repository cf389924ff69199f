//! The stored log on real SQLite: appends inside transactions, checkpoints, and verification
//! that catches every single-byte tamper of a leaf, a node, a checkpoint or a signature, and
//! truncation against a pinned checkpoint.

use rusqlite::Connection;
use signoff_audit::log::{self, Entry, LogError};
use signoff_audit::note::{Ed25519Key, NoteSigner, NoteVerifier};
use signoff_audit::Checkpoint;

const ORIGIN: &str = "signoff.test/log-1";

fn db() -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(log::SCHEMA).unwrap();
    c
}

fn entry(i: i64) -> Entry {
    let mut payload = serde_json::Map::new();
    payload.insert("content_sha256".into(), format!("{i:064x}").into());
    payload.insert("reason".into(), "policy_conflict".into());
    Entry {
        kind: "disposition".into(),
        case_id: Some(format!("C-{i}")),
        actor: "r1".into(),
        at_ms: 1_795_000_000_000 + i,
        payload,
    }
}

fn fill(c: &mut Connection, key: &Ed25519Key, n: i64) {
    fill_from(c, key, 0, n)
}

fn fill_from(c: &mut Connection, key: &Ed25519Key, from: i64, n: i64) {
    for i in from..n {
        let tx = c.transaction().unwrap();
        log::append(&tx, &entry(i)).unwrap();
        if i % 5 == 4 {
            log::checkpoint(&tx, ORIGIN, key, 1_795_000_000_000 + i).unwrap();
        }
        tx.commit().unwrap();
    }
}

fn verifier(key: &Ed25519Key) -> NoteVerifier {
    NoteVerifier::parse(&NoteSigner::new(ORIGIN, key).unwrap().verifier_key()).unwrap()
}

fn unlock(c: &Connection) {
    c.execute_batch(
        "DROP TRIGGER audit_entries_append_only; DROP TRIGGER audit_entries_no_delete;
         DROP TRIGGER audit_nodes_append_only; DROP TRIGGER audit_nodes_no_delete;
         DROP TRIGGER audit_checkpoints_no_delete;",
    )
    .unwrap();
}

fn flip_blob(c: &Connection, sql_get: &str, sql_set: &str, at: usize) -> bool {
    let mut v: Vec<u8> = c.query_row(sql_get, [], |r| r.get(0)).unwrap();
    if at >= v.len() {
        return false;
    }
    v[at] ^= 0x01;
    c.execute(sql_set, [v]).unwrap();
    true
}

#[test]
fn a_clean_log_verifies_and_its_checkpoint_matches_the_root() {
    let key = Ed25519Key::from_seed([3; 32]);
    let mut c = db();
    fill(&mut c, &key, 43);
    let r = log::verify(&c, &verifier(&key), None, &mut |_, _| {}).unwrap();
    assert_eq!((r.entries, r.checkpoints), (43, 8));
    assert_eq!(r.nodes, 2, "the two complete 16-leaf subtrees are stored");
    let note = log::latest_checkpoint(&c).unwrap().unwrap();
    let opened = signoff_audit::note::open(&note, &[verifier(&key)]).unwrap();
    assert_eq!(Checkpoint::parse(&opened.text).unwrap().size, 40);
}

#[test]
fn nodes_read_from_the_tables_equal_the_in_memory_tree_at_every_level() {
    use signoff_audit::merkle::{MemoryTree, NodeSource};
    let key = Ed25519Key::from_seed([3; 32]);
    let mut c = db();
    let mut mem = MemoryTree::default();
    for n in 1..=300u64 {
        fill_from(&mut c, &key, n as i64 - 1, n as i64);
        // The stored leaf: the appender adds the entry's link to its case's previous entry.
        let leaf: Vec<u8> = c
            .query_row(
                "SELECT leaf FROM audit_entries WHERE idx = ?1",
                [n as i64 - 1],
                |r| r.get(0),
            )
            .unwrap();
        mem.push(&leaf);
        let sql = log::SqlNodes(&c);
        for level in 0..9u32 {
            for idx in 0..(n >> level) {
                assert_eq!(
                    sql.node(level, idx).unwrap(),
                    mem.node(level, idx).unwrap(),
                    "size {n}, node ({level}, {idx})"
                );
            }
        }
        assert_eq!(
            log::root(&c).unwrap().1,
            signoff_audit::merkle::root(&mem, n).unwrap()
        );
    }
}

#[test]
fn an_entry_rolled_back_with_its_transaction_leaves_no_trace() {
    let key = Ed25519Key::from_seed([3; 32]);
    let mut c = db();
    fill(&mut c, &key, 3);
    {
        let tx = c.transaction().unwrap();
        log::append(&tx, &entry(99)).unwrap();
    }
    assert_eq!(log::size(&c).unwrap(), 3);
    log::verify(&c, &verifier(&key), None, &mut |_, _| {}).unwrap();
}

#[test]
fn every_single_byte_flip_of_a_leaf_is_reported_with_its_index() {
    let key = Ed25519Key::from_seed([3; 32]);
    let mut c = db();
    fill(&mut c, &key, 12);
    unlock(&c);
    let len: i64 = c
        .query_row(
            "SELECT length(leaf) FROM audit_entries WHERE idx = 7",
            [],
            |r| r.get(0),
        )
        .unwrap();
    for at in 0..len as usize {
        let get = "SELECT leaf FROM audit_entries WHERE idx = 7";
        let set = "UPDATE audit_entries SET leaf = ?1 WHERE idx = 7";
        assert!(flip_blob(&c, get, set, at));
        match log::verify(&c, &verifier(&key), None, &mut |_, _| {}) {
            Err(e @ LogError::Tampered { index, .. }) => {
                assert!(index == Some(7) || index.is_none(), "byte {at}: {e}")
            }
            other => panic!("byte {at} of leaf 7 flipped, verify said {other:?}"),
        }
        flip_blob(&c, get, set, at);
    }
    log::verify(&c, &verifier(&key), None, &mut |_, _| {}).unwrap();
}

#[test]
fn every_single_byte_flip_of_an_interior_hash_is_detected() {
    let key = Ed25519Key::from_seed([3; 32]);
    let mut c = db();
    fill(&mut c, &key, 40);
    unlock(&c);
    for at in 0..32 {
        let get = "SELECT hash FROM audit_nodes WHERE level = 4 AND idx = 1";
        let set = "UPDATE audit_nodes SET hash = ?1 WHERE level = 4 AND idx = 1";
        flip_blob(&c, get, set, at);
        let err = log::verify(&c, &verifier(&key), None, &mut |_, _| {}).unwrap_err();
        assert!(err.to_string().contains("node (level 4, index 1)"), "{err}");
        flip_blob(&c, get, set, at);
    }
}

#[test]
fn every_single_byte_flip_of_a_checkpoint_or_its_signature_is_detected() {
    let key = Ed25519Key::from_seed([3; 32]);
    let mut c = db();
    fill(&mut c, &key, 10);
    unlock(&c);
    let note: String = c
        .query_row(
            "SELECT note FROM audit_checkpoints WHERE size = 10",
            [],
            |r| r.get(0),
        )
        .unwrap();
    for at in 0..note.len() {
        let mut b = note.clone().into_bytes();
        b[at] ^= 0x01;
        let Ok(s) = String::from_utf8(b) else {
            continue;
        };
        c.execute(
            "UPDATE audit_checkpoints SET note = ?1 WHERE size = 10",
            [&s],
        )
        .unwrap();
        let err = log::verify(&c, &verifier(&key), None, &mut |_, _| {}).unwrap_err();
        assert!(
            err.to_string().contains("checkpoint of size 10"),
            "byte {at}: {err}"
        );
    }
}

#[test]
fn truncation_is_caught_against_a_pinned_checkpoint() {
    let key = Ed25519Key::from_seed([3; 32]);
    let mut c = db();
    fill(&mut c, &key, 20);
    let pinned = log::latest_checkpoint(&c).unwrap().unwrap();
    unlock(&c);
    c.execute_batch(
        "DELETE FROM audit_entries WHERE idx >= 16; DELETE FROM audit_nodes WHERE (idx << level) + (1 << level) > 16;
         DELETE FROM audit_checkpoints WHERE size > 16;",
    )
    .unwrap();
    log::verify(&c, &verifier(&key), None, &mut |_, _| {})
        .expect("a cleanly truncated log is self-consistent");
    let err = log::verify(&c, &verifier(&key), Some(&pinned), &mut |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn a_checkpoint_by_another_key_is_refused() {
    let key = Ed25519Key::from_seed([3; 32]);
    let other = Ed25519Key::from_seed([4; 32]);
    let mut c = db();
    fill(&mut c, &key, 5);
    let err = log::verify(&c, &verifier(&other), None, &mut |_, _| {}).unwrap_err();
    assert!(
        err.to_string().contains("no signature by a known key"),
        "{err}"
    );
}

#[test]
fn leaves_are_canonical_sorted_json_without_floats() {
    let leaf = log::encode_leaf(7, &entry(7)).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&leaf).unwrap();
    assert_eq!(
        serde_json::to_vec(&v).unwrap(),
        leaf,
        "re-serialising with sorted keys changes nothing"
    );
    assert!(std::str::from_utf8(&leaf)
        .unwrap()
        .ends_with(",\"seq\":7,\"v\":1}"));
    let mut float = entry(1);
    float.payload.insert("score".into(), serde_json::json!(0.5));
    assert!(log::encode_leaf(1, &float).is_err());
}
