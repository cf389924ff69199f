//! `--encrypted` for `bench queue` and `bench audit`: the same measurements on a plain and an
//! encrypted (SQLCipher) workspace in one run, printed side by side with their ratios.

use crate::output::Out;
use signoff_store::DbKey;

/// One benchmark run's table lines and JSON result.
pub struct Figures {
    /// The table, as the benchmark prints it on its own.
    pub lines: Vec<String>,
    /// The benchmark's JSON result.
    pub json: serde_json::Value,
}

/// The database key of the benchmark's encrypted workspaces (random, as a real one is).
pub fn bench_key() -> anyhow::Result<DbKey> {
    Ok(DbKey::from_bytes(signoff_audit::keyfile::os_seed()?))
}

/// Prints both runs and a comparison table (`measures`: label, JSON pointer, whether higher is
/// better); the JSON is `{plain, encrypted, ratio}` with `ratio` keyed by pointer (without the
/// leading `/`), each encrypted ÷ plain.
pub fn compare(
    out: &Out,
    title: &str,
    plain: &Figures,
    encrypted: &Figures,
    measures: &[(&str, &str, bool)],
) {
    out.line("plain workspace:");
    for l in &plain.lines {
        out.line(&format!("  {l}"));
    }
    out.line("encrypted workspace (SQLCipher):");
    for l in &encrypted.lines {
        out.line(&format!("  {l}"));
    }
    out.line(title);
    out.line(&format!(
        "{:<34} {:>12} {:>12} {:>10}",
        "measure", "plain", "encrypted", "enc/plain"
    ));
    let mut ratio = serde_json::Map::new();
    for (label, pointer, _higher_better) in measures {
        let p = plain.json.pointer(pointer).and_then(|v| v.as_f64());
        let e = encrypted.json.pointer(pointer).and_then(|v| v.as_f64());
        let r = match (p, e) {
            (Some(p), Some(e)) if p > 0.0 => Some(e / p),
            _ => None,
        };
        let show = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
        out.line(&format!(
            "{label:<34} {:>12} {:>12} {:>10}",
            show(p),
            show(e),
            r.map_or("-".to_string(), |r| format!("{r:.2}"))
        ));
        ratio.insert(pointer.trim_start_matches('/').replace('/', "."), r.into());
    }
    out.line("(rates: a ratio below 1 is slower when encrypted; times: above 1 is slower)");
    out.json(&serde_json::json!({
        "plain": plain.json,
        "encrypted": encrypted.json,
        "ratio": ratio,
    }));
}
