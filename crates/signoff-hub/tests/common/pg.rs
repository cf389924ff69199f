//! A throwaway PostgreSQL cluster for tests: `initdb` + `pg_ctl` on a temporary directory and
//! a free port on 127.0.0.1 (as the `postgres` user when the tests run as root: initdb refuses
//! root). One cluster per test binary, started on first use; a watchdog process stops it and
//! removes its directory when the test process ends, however it ends (panic, kill -9).
//! Each test gets its own database ([`database`]).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// Where Debian's PostgreSQL server binaries live (not on PATH).
const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A running cluster.
pub struct Cluster {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its directory (data, socket, log).
    pub dir: PathBuf,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs `cmd` in a shell as the cluster's owner; panics with its output when it fails.
fn run_as_owner(cmd: &str) {
    let out = if is_root() {
        Command::new("su")
            .args(["postgres", "-s", "/bin/sh", "-c", cmd])
            .stdin(Stdio::null())
            .output()
    } else {
        Command::new("sh")
            .args(["-c", cmd])
            .stdin(Stdio::null())
            .output()
    }
    .expect("running a PostgreSQL tool");
    assert!(
        out.status.success(),
        "`{cmd}` failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts a new cluster (about 3 s) with a watchdog that stops it when this process ends.
pub fn start() -> Cluster {
    assert!(
        Path::new(BIN).join("initdb").exists(),
        "PostgreSQL 15 is not installed ({BIN}/initdb missing): run scripts/setup.sh"
    );
    let dir = std::env::temp_dir().join(format!(
        "signoff-pg-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).expect("cluster dir");
    if is_root() {
        let ok = Command::new("chown")
            .args(["postgres:postgres", &dir.display().to_string()])
            .status()
            .expect("chown");
        assert!(ok.success(), "chown postgres {}", dir.display());
    }
    let port = free_port();
    let d = dir.display();
    // The watchdog: waits for this process to end, then stops the cluster and removes it. The
    // outer shell backgrounds it and returns at once (so it is waited for, and the watchdog is
    // not this process's child).
    let stop = format!("{BIN}/pg_ctl -D {d}/data -m immediate stop");
    let stop = if is_root() {
        format!("su postgres -s /bin/sh -c '{stop}'")
    } else {
        stop
    };
    Command::new("sh")
        .args([
            "-c",
            &format!(
                "(while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf {d}) >/dev/null 2>&1 </dev/null &",
                pid = std::process::id()
            ),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("starting the cluster watchdog");
    run_as_owner(&format!(
        "{BIN}/initdb -D {d}/data -A trust -U postgres --no-sync >{d}/initdb.log 2>&1"
    ));
    run_as_owner(&format!(
        "{BIN}/pg_ctl -D {d}/data -o '-p {port} -k {d} -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off' -l {d}/log -w -t 60 start >/dev/null"
    ));
    Cluster { port, dir }
}

impl Cluster {
    /// Stops the cluster now (for tests of an unreachable database).
    pub fn stop(&self) {
        run_as_owner(&format!(
            "{BIN}/pg_ctl -D {}/data -m fast -w stop >/dev/null",
            self.dir.display()
        ));
    }

    /// Creates a fresh database and returns its URL.
    pub fn database(&self) -> String {
        let name = format!("t{}", NEXT.fetch_add(1, Ordering::SeqCst));
        let out = Command::new(format!("{BIN}/createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                &name,
            ])
            .output()
            .expect("createdb");
        assert!(
            out.status.success(),
            "createdb {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// The test binary's shared cluster, started on first use.
pub fn shared() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(start)
}

/// A fresh database on the shared cluster.
pub fn database() -> String {
    shared().database()
}
