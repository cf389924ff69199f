//! Output for people and for scripts: text lines, and with `--json` one JSON line, last.

use serde::Serialize;

/// Where a command's results go.
pub struct Out {
    /// Print JSON instead of text.
    pub json: bool,
}

/// Writes one line to stdout. A reader that went away (`signoff … | head`) ends the process
/// quietly with the shell's broken-pipe status, as other command-line tools do: what the
/// command changed was committed before its results were printed.
fn emit(s: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{s}").and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("signoff: cannot write to stdout: {e}");
        std::process::exit(74);
    }
}

impl Out {
    /// A line for people (suppressed under `--json`).
    pub fn line(&self, s: &str) {
        if !self.json {
            emit(s);
        }
    }

    /// The machine-readable result (printed only under `--json`).
    pub fn json<T: Serialize + ?Sized>(&self, v: &T) {
        if self.json {
            emit(&serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")));
        }
    }
}

/// Shortens `s` to at most `n` characters, marking the cut.
pub fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
    t.push('…');
    t
}
