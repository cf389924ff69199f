//! Encrypted workspaces on real files: what is on disk, reopening, a missing or wrong key
//! (the file untouched), plain workspaces beside them, and the audit log verifying.

mod support;

use signoff_store::{is_encrypted, Access, DbKey, StoreError, Workspace};
use std::path::Path;
use std::sync::Arc;
use support::*;

const SECRET: &str = "Margarethe Quillfeather-Odunsi";

fn key(b: u8) -> DbKey {
    DbKey::from_bytes([b; 32])
}

fn keyed_encrypted(dir: &Path, k: &DbKey) -> Workspace {
    let mut w = Workspace::open_keyed(dir, Access::Write, Some(k)).unwrap();
    w.attach_key(Arc::new(signoff_audit::note::Ed25519Key::from_seed(
        [1; 32],
    )))
    .unwrap();
    w
}

fn import_secret(w: &mut Workspace, dir: &Path) {
    let rows = [(
        "c1",
        "My name is Margarethe Quillfeather-Odunsi and my order never came",
        None,
    )];
    let files = dir.join("in");
    std::fs::create_dir_all(&files).unwrap();
    import_rows(w, &files, "Order missing", &rows);
    std::fs::remove_dir_all(&files).unwrap();
}

/// Every file under `dir` (the database, its WAL and shared memory, anything else).
fn all_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(all_bytes(&p));
        } else {
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
}

/// The page size SQLCipher reports (as text, under the name `cipher_page_size`).
fn page_size(w: &Workspace) -> String {
    w.conn()
        .query_row("PRAGMA page_size", [], |r| {
            Ok(match r.get_ref(0)? {
                rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                v => String::from_utf8_lossy(v.as_bytes()?).into_owned(),
            })
        })
        .unwrap()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn an_encrypted_workspace_round_trips_and_holds_no_plaintext_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let k = key(7);
    {
        let mut w = keyed_encrypted(dir.path(), &k);
        import_secret(&mut w, dir.path());
        // While open: the WAL holds the import; nothing on disk shows the text.
        for (path, bytes) in all_bytes(dir.path()) {
            assert!(
                !contains(&bytes, SECRET.as_bytes()),
                "{path} holds case text"
            );
            assert!(
                !contains(&bytes, b"SQLite format 3"),
                "{path} is plain SQLite"
            );
        }
    }
    assert!(is_encrypted(dir.path()).unwrap());
    for (path, bytes) in all_bytes(dir.path()) {
        assert!(
            !contains(&bytes, SECRET.as_bytes()),
            "{path} holds case text"
        );
    }
    let w = Workspace::open_keyed(dir.path(), Access::Read, Some(&k)).unwrap();
    let c = w.case(w.case_seq("c1").unwrap()).unwrap();
    assert!(c.body.contains(SECRET));
    let w = Workspace::open_keyed(dir.path(), Access::Write, Some(&k)).unwrap();
    assert_eq!(w.status_counts().unwrap().counts[0].1, 1);
    assert!(w.is_encrypted());
    assert_eq!(
        page_size(&w),
        "8192",
        "encrypted workspaces use the same 8 KiB pages"
    );
}

#[test]
fn opening_an_encrypted_workspace_without_its_key_names_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    drop(keyed_encrypted(dir.path(), &key(7)));
    for access in [Access::Write, Access::Read] {
        let e = Workspace::open(dir.path(), access).unwrap_err();
        assert_eq!(e.code(), "no_db_key");
        let msg = e.to_string();
        assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
        assert!(msg.contains("encrypted"), "{msg}");
    }
}

#[test]
fn a_wrong_key_is_refused_and_leaves_every_byte_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut w = keyed_encrypted(dir.path(), &key(7));
        import_secret(&mut w, dir.path());
    }
    let before = all_bytes(dir.path());
    for access in [Access::Write, Access::Read] {
        let e = Workspace::open_keyed(dir.path(), access, Some(&key(8))).unwrap_err();
        assert!(matches!(e, StoreError::WrongDbKey(_)), "{e}");
        assert!(e.to_string().contains("not changed"), "{e}");
    }
    let after: Vec<_> = all_bytes(dir.path())
        .into_iter()
        .filter(|(p, _)| !p.ends_with("workspace.lock"))
        .collect();
    let before: Vec<_> = before
        .into_iter()
        .filter(|(p, _)| !p.ends_with("workspace.lock"))
        .collect();
    assert_eq!(before, after, "a wrong key changed the workspace's files");
    // And the right key still opens it.
    let w = Workspace::open_keyed(dir.path(), Access::Read, Some(&key(7))).unwrap();
    assert!(w.case_seq("c1").is_ok());
}

#[test]
fn a_wrong_key_while_the_wal_holds_uncheckpointed_pages_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = keyed_encrypted(dir.path(), &key(7));
    import_secret(&mut w, dir.path());
    let wal = dir.path().join("workspace.sqlite-wal");
    assert!(std::fs::metadata(&wal).unwrap().len() > 0, "expected a WAL");
    let db_before = std::fs::read(dir.path().join("workspace.sqlite")).unwrap();
    let wal_before = std::fs::read(&wal).unwrap();
    let e = Workspace::open_keyed(dir.path(), Access::Read, Some(&key(9))).unwrap_err();
    assert_eq!(e.code(), "wrong_db_key");
    assert_eq!(
        db_before,
        std::fs::read(dir.path().join("workspace.sqlite")).unwrap()
    );
    assert_eq!(wal_before, std::fs::read(&wal).unwrap());
    drop(w);
}

#[test]
fn plain_workspaces_stay_plain_sqlite_and_refuse_a_key() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut w = keyed(dir.path(), 1);
        import_secret(&mut w, dir.path());
    }
    assert!(!is_encrypted(dir.path()).unwrap());
    let head = std::fs::read(dir.path().join("workspace.sqlite")).unwrap();
    assert!(head.starts_with(b"SQLite format 3\0"));
    let e = Workspace::open_keyed(dir.path(), Access::Write, Some(&key(7))).unwrap_err();
    assert_eq!(e.code(), "not_encrypted");
    // An ordinary SQLite connection reads it.
    let c = rusqlite::Connection::open(dir.path().join("workspace.sqlite")).unwrap();
    let body: String = c
        .query_row("SELECT body FROM cases", [], |r| r.get(0))
        .unwrap();
    assert!(body.contains(SECRET));
}

#[test]
fn the_audit_log_of_an_encrypted_workspace_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let k = key(3);
    {
        let mut w = keyed_encrypted(dir.path(), &k);
        reviewer(&mut w, "r1", "Rea Viewer", 2);
        import_secret(&mut w, dir.path());
        approve(&mut w, 1).unwrap();
    }
    let w = Workspace::open_keyed(dir.path(), Access::Read, Some(&k)).unwrap();
    let report = w.audit_verify(None, &mut |_, _| {}).unwrap();
    assert!(report.log.entries >= 3, "{:?}", report.log.entries);
}

#[test]
fn a_new_plain_workspace_is_encrypted_keeping_its_log_and_settings() {
    let dir = tempfile::tempdir().unwrap();
    let k = key(5);
    let mut w = keyed(dir.path(), 1);
    reviewer(&mut w, "r1", "Rea Viewer", 2);
    w.set_setting("probe", "kept").unwrap();
    let entries_before = kinds(&w).len();
    w.encrypt_new(&k).unwrap();
    assert!(w.is_encrypted());
    assert!(is_encrypted(dir.path()).unwrap());
    // The open handle goes on working, now on the encrypted file.
    import_secret(&mut w, dir.path());
    approve(&mut w, 1).unwrap();
    drop(w);
    for (path, bytes) in all_bytes(dir.path()) {
        assert!(
            !contains(&bytes, SECRET.as_bytes()),
            "{path} holds case text"
        );
        assert!(!path.ends_with(".encrypting"), "{path} left behind");
    }
    let w = Workspace::open_keyed(dir.path(), Access::Read, Some(&k)).unwrap();
    assert_eq!(w.setting("probe").unwrap().as_deref(), Some("kept"));
    assert_eq!(kinds(&w).len(), entries_before + 2);
    w.audit_verify(None, &mut |_, _| {}).unwrap();
    assert_eq!(
        page_size(&w),
        "8192",
        "encrypted workspaces use the same 8 KiB pages"
    );
}

#[test]
fn a_workspace_holding_cases_is_not_encrypted_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = keyed(dir.path(), 1);
    import_secret(&mut w, dir.path());
    let e = w.encrypt_new(&key(5)).unwrap_err();
    assert_eq!(e.code(), "not_encrypted");
    assert!(!w.is_encrypted());
    assert!(!is_encrypted(dir.path()).unwrap());
}
