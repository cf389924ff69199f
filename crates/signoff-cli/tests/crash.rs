//! Crash safety of the audit log: a writer killed with SIGKILL at random points never loses an
//! acknowledged entry, and the log verifies after reopening. 100 trials, each bounded in time.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A small seeded generator so failures are reproducible.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn signoff(ws: &std::path::Path, key: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_signoff"));
    c.arg("--workspace")
        .arg(ws)
        .arg("--key-file")
        .arg(key)
        .env_remove("SIGNOFF_KEY_FILE");
    c
}

#[test]
fn sigkill_during_appends_loses_no_acknowledged_entry() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let key = t.path().join("device.key");
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut total_acked = 0u64;
    for trial in 0..100 {
        let mut child = signoff(&ws, &key)
            .args(["audit", "stress", "--appends", "10000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stop_after = 1 + rng.below(40);
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut last_ack: Option<u64> = None;
        let deadline = Instant::now() + Duration::from_secs(20);
        while last_ack.map_or(0, |a| a + 1) < stop_after + total_acked && Instant::now() < deadline
        {
            match lines.next() {
                Some(Ok(l)) => last_ack = l.strip_prefix("ack ").and_then(|n| n.parse().ok()),
                _ => break,
            }
        }
        // Kill at a random moment after the last acknowledgement we saw.
        std::thread::sleep(Duration::from_micros(rng.below(3000)));
        child.kill().unwrap();
        child.wait().unwrap();
        let acked = last_ack.unwrap_or_else(|| panic!("trial {trial}: no acknowledgement"));
        let out = signoff(&ws, &key)
            .args(["audit", "verify", "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "trial {trial}: verify failed after SIGKILL: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value =
            serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap())
                .unwrap();
        let entries = json["entries"].as_u64().unwrap();
        assert!(
            entries > acked,
            "trial {trial}: entry {acked} was acknowledged but the log holds {entries}"
        );
        total_acked = entries;
    }
    assert!(
        total_acked >= 100,
        "the trials appended {total_acked} entries in all"
    );
}
