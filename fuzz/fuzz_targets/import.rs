//! Fuzz target: case import (JSONL and CSV) into a real workspace. The first byte picks the
//! file's name (`.csv`, `.jsonl`, or no extension so the content decides); the rest is the
//! file. An import either succeeds, and importing the same file again adds nothing, or fails
//! with errors that each name a line of the file, and saves nothing — never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signoff_audit::note::Ed25519Key;
use signoff_core::FixedClock;
use signoff_store::{Access, StoreError, Workspace};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

struct Bench {
    ws: Workspace,
    dir: PathBuf,
    clock: FixedClock,
}

fn bench() -> &'static Mutex<Bench> {
    static B: OnceLock<Mutex<Bench>> = OnceLock::new();
    B.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("signoff-fuzz-import-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut ws = Workspace::open(&dir.join("ws"), Access::Write).unwrap();
        ws.attach_key(Arc::new(Ed25519Key::from_seed([7; 32])))
            .unwrap();
        let clock = FixedClock::new("2026-11-25T10:00:00Z".parse().unwrap());
        Mutex::new(Bench { ws, dir, clock })
    })
}

fn count(ws: &Workspace, table: &str) -> i64 {
    ws.conn()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, content)) = data.split_first() else {
        return;
    };
    let mut b = bench().lock().unwrap();
    let b = &mut *b;
    let name = match pick % 3 {
        0 => "cases.csv",
        1 => "cases.jsonl",
        _ => "cases",
    };
    let path = b.dir.join(name);
    std::fs::write(&path, content).unwrap();
    let lines = content.split(|c| *c == b'\n').count() as u64;
    let (cases, entries) = (count(&b.ws, "cases"), count(&b.ws, "audit_entries"));
    match b.ws.import_file_as(&path, name, &b.clock, &mut |_| {}) {
        Ok(report) => {
            assert_eq!(count(&b.ws, "cases"), cases + report.new as i64);
            let again =
                b.ws.import_file_as(&path, name, &b.clock, &mut |_| {})
                    .unwrap();
            assert_eq!(again.new, 0, "importing the same file twice adds nothing");
            assert_eq!(
                again.unchanged + again.conflicts,
                report.new + report.unchanged + report.conflicts
            );
        }
        Err(StoreError::Import { file, errors, more }) => {
            assert_eq!(file, name);
            assert!(
                !errors.is_empty() && errors.len() <= 100,
                "{} errors",
                errors.len()
            );
            assert!(more == 0 || errors.len() == 100);
            for e in &errors {
                assert_eq!(e.file, name);
                assert!(
                    e.line >= 1 && e.line <= lines,
                    "line {} of {lines}: {e}",
                    e.line
                );
            }
            assert_eq!(count(&b.ws, "cases"), cases, "a refused file saves no case");
            assert_eq!(count(&b.ws, "audit_entries"), entries, "nor any log entry");
        }
        Err(e) => panic!("import failed other than with line errors: {e}"),
    }
});
