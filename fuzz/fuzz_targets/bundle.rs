//! Fuzz target: audit bundles. The first byte picks the mode. Raw: the rest is a bundle, read
//! trusting the genesis key its header names. Built: the rest drives a real SQLite log
//! (entries, checkpoints, a reviewer registration, key rotations), whose export must verify,
//! then patches the exported bytes and reads the result. Either way a bundle verifies or fails
//! with an error naming a line of the file — never a panic — and a bundle that verifies is
//! what it claims: its entry lines re-hash to the reported root, the root its last checkpoint
//! signs.
#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use rusqlite::Connection;
use signoff_audit::bundle::{self, BundleError};
use signoff_audit::chain;
use signoff_audit::log::{self, Entry};
use signoff_audit::merkle::{self, MemoryTree};
use signoff_audit::note::{Ed25519Key, NoteSigner, NoteVerifier};
use signoff_audit::Checkpoint;

const ORIGIN: &str = "signoff.fuzz/log";
const T0: i64 = 1_795_000_000_000;

fn vkey(k: &Ed25519Key) -> NoteVerifier {
    NoteVerifier::parse(&NoteSigner::new(ORIGIN, k).unwrap().verifier_key()).unwrap()
}

/// A log driven by `script` (one byte per step), exported; None when nothing was sealed.
fn build(script: &[u8]) -> Option<(Vec<u8>, NoteVerifier)> {
    let keys: Vec<Ed25519Key> = (1..=3).map(|s| Ed25519Key::from_seed([s; 32])).collect();
    let reviewer = Ed25519Key::from_seed([9; 32]);
    let mut c = Connection::open_in_memory().unwrap();
    c.execute_batch(log::SCHEMA).unwrap();
    let mut current = 0usize;
    let mut registered = false;
    let tx = c.transaction().unwrap();
    {
        let mut app = log::Appender::new(&tx).unwrap();
        for &step in script.iter().take(64) {
            let idx = app.size();
            match step % 8 {
                0 | 1 => {
                    app.checkpoint(ORIGIN, &keys[current], T0 + idx as i64)
                        .unwrap();
                }
                2 if !registered => {
                    let e = chain::reviewer_key_entry(idx, "r1", "Ana", &reviewer, T0).unwrap();
                    app.append(&e).unwrap();
                    registered = true;
                }
                3 if current + 1 < keys.len() => {
                    let e =
                        chain::rotation_entry(idx, ORIGIN, &keys[current], &keys[current + 1], T0)
                            .unwrap();
                    app.append(&e).unwrap();
                    // The old key seals the rotation; the new one signs what follows.
                    app.checkpoint(ORIGIN, &keys[current], T0 + idx as i64)
                        .unwrap();
                    current += 1;
                }
                _ => {
                    let mut payload = serde_json::Map::new();
                    payload.insert("n".into(), (step as u64).into());
                    payload.insert("text".into(), format!("é\u{1f600}\"{step}").into());
                    let e = Entry {
                        kind: ["import", "disposition", "undo"][step as usize % 3].into(),
                        case_id: (step % 2 == 0).then(|| format!("C-{step}")),
                        actor: "device".into(),
                        at_ms: T0 + step as i64,
                        payload,
                    };
                    app.append(&e).unwrap();
                }
            }
        }
    }
    tx.commit().unwrap();
    let mut out = Vec::new();
    bundle::export(&c, &vkey(&keys[0]), &mut out, &mut |_, _| {}).ok()?;
    Some((out, vkey(&keys[0])))
}

fn check(data: &[u8], trusted: &NoteVerifier) -> bool {
    let lines = data.split(|b| *b == b'\n').count() as u64;
    match bundle::verify(data, trusted, &mut |_| {}) {
        Ok(report) => {
            let mut tree = MemoryTree::default();
            let mut last_checkpoint = None;
            for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let v: serde_json::Value = serde_json::from_slice(line).expect("lines are JSON");
                if let Some(leaf) = v.get("leaf").and_then(|l| l.as_str()) {
                    tree.push(leaf.as_bytes());
                }
                if let Some(note) = v.get("checkpoint").and_then(|n| n.as_str()) {
                    last_checkpoint = Some(note.to_string());
                }
            }
            assert_eq!(report.entries, tree.len(), "every entry line is counted");
            let root = merkle::root(&tree, tree.len()).unwrap();
            let b64 = base64::engine::general_purpose::STANDARD.encode(root);
            assert_eq!(report.root, b64, "the entries re-hash to the reported root");
            if report.entries > 0 {
                let note = last_checkpoint.expect("a non-empty log is sealed by a checkpoint");
                let body = &note[..note.rfind("\n\n").unwrap() + 1];
                let cp = Checkpoint::parse(body).unwrap();
                assert_eq!(
                    (cp.size, cp.root),
                    (report.entries, root),
                    "sealed by its checkpoint"
                );
            }
            true
        }
        Err(BundleError::Line { line, why }) => {
            assert!(
                line >= 1 && line <= lines + 1,
                "line {line} of {lines}: {why}"
            );
            false
        }
        Err(BundleError::Cut { after_line }) => {
            assert!(after_line <= lines);
            false
        }
        Err(BundleError::Untrusted(_)) => false,
        Err(e) => panic!("reading from memory cannot fail this way: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        // Trust the genesis key the header names, else a fixed key.
        let header = rest.split(|b| *b == b'\n').next().unwrap_or_default();
        let named = serde_json::from_slice::<serde_json::Value>(header)
            .ok()
            .and_then(|h| NoteVerifier::parse(h.get("genesis_vkey")?.as_str()?).ok());
        let trusted = named.unwrap_or_else(|| vkey(&Ed25519Key::from_seed([1; 32])));
        check(rest, &trusted);
        return;
    }
    // Built: the script runs to the first 0xFF; the bytes after it are (position, xor) patches.
    let (script, patches) = match rest.iter().position(|b| *b == 0xFF) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let Some((mut bytes, trusted)) = build(script) else {
        return;
    };
    if patches.is_empty() {
        dump(&bytes);
    }
    assert!(check(&bytes, &trusted), "an exported bundle verifies");
    if patches.is_empty() {
        return;
    }
    for p in patches.chunks(3) {
        let at = u16::from_le_bytes([p[0], *p.get(1).unwrap_or(&0)]) as usize % bytes.len();
        match p.get(2) {
            Some(0) => bytes.truncate(at.max(1)),
            Some(&x) => bytes[at] ^= x,
            None => {
                bytes.remove(at);
            }
        }
        if bytes.is_empty() {
            return;
        }
    }
    dump(&bytes);
    check(&bytes, &trusted);
});

/// With `SIGNOFF_FUZZ_DUMP=PATH`, writes the bundle a built input stands for to PATH, to turn
/// a crash into a regression file.
fn dump(bytes: &[u8]) {
    static TO: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if let Some(path) = TO.get_or_init(|| std::env::var("SIGNOFF_FUZZ_DUMP").ok()) {
        std::fs::write(path, bytes).unwrap();
    }
}
