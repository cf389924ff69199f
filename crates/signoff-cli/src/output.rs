//! Output for people and for scripts: text lines, and with `--json` one JSON line, last.

use serde::Serialize;

/// Where a command's results go.
pub struct Out {
    /// Print JSON instead of text.
    pub json: bool,
}

impl Out {
    /// A line for people (suppressed under `--json`).
    pub fn line(&self, s: &str) {
        if !self.json {
            println!("{s}");
        }
    }

    /// The machine-readable result (printed only under `--json`).
    pub fn json<T: Serialize + ?Sized>(&self, v: &T) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
            );
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
