//! Checks of what the window may do, read from the files that decide it: the capability grants
//! exactly the commands the UI calls (and one event permission), every command is declared to
//! Tauri's ACL in build.rs, and the CSP allows no inline or remote code and no remote origins.
//! The end-to-end test checks the same from inside the real window.

use serde_json::Value;
use std::collections::BTreeSet;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The core (non-app) permissions the window holds, each with the UI call that needs it.
const CORE_PERMISSIONS: &[(&str, &str)] = &[(
    "core:event:allow-listen",
    "onIndexProgress: listen(\"index-progress\") in ui/src/ipc/index.ts",
)];

fn read(rel: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{rel}")).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The commands in main.rs's `generate_handler!`.
fn handler_commands() -> BTreeSet<String> {
    let main = read("src-tauri/src/main.rs");
    let start = main
        .find("generate_handler![")
        .expect("generate_handler! in main.rs");
    let end = start + main[start..].find(']').expect("end of generate_handler!");
    main[start..end]
        .split("commands::")
        .skip(1)
        .map(|s| s.split(',').next().unwrap_or_default().trim().to_string())
        .collect()
}

/// The commands build.rs declares to Tauri's ACL.
fn declared_commands() -> BTreeSet<String> {
    let build = read("src-tauri/build.rs");
    let start = build.find("const COMMANDS").expect("COMMANDS in build.rs");
    let end = start + build[start..].find("];").expect("end of COMMANDS");
    build[start..end]
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix('"')?
                .strip_suffix("\",")
                .map(String::from)
        })
        .collect()
}

fn capability() -> Value {
    serde_json::from_str(&read("capabilities/default.json")).expect("capability JSON")
}

fn permissions() -> Vec<String> {
    capability()["permissions"]
        .as_array()
        .expect("permissions array")
        .iter()
        .map(|p| {
            p.as_str()
                .expect("plain permission identifiers")
                .to_string()
        })
        .collect()
}

#[test]
fn every_command_is_declared_granted_and_called_by_the_ui_and_nothing_else_is_granted() {
    let handler = handler_commands();
    assert!(handler.len() > 20, "parsed {handler:?}");
    assert_eq!(declared_commands(), handler, "build.rs COMMANDS vs main.rs");
    let ipc = read("ui/src/ipc/index.ts");
    for c in &handler {
        assert!(
            ipc.contains(&format!("\"{c}\"")),
            "{c} is registered but ui/src/ipc/index.ts never calls it: drop it"
        );
    }
    let mut granted_app = BTreeSet::new();
    for p in permissions() {
        if let Some(cmd) = p.strip_prefix("allow-") {
            granted_app.insert(cmd.replace('-', "_"));
        } else {
            assert!(
                CORE_PERMISSIONS.iter().any(|(c, _)| *c == p),
                "{p} is granted but not in the reviewed list of core permissions"
            );
        }
    }
    assert_eq!(granted_app, handler, "capability vs main.rs");
}

#[test]
fn the_capability_is_local_to_the_main_window() {
    let cap = capability();
    assert_eq!(cap["windows"], serde_json::json!(["main"]));
    assert!(cap.get("remote").is_none(), "no remote URLs may reach IPC");
    assert_ne!(cap["local"], Value::Bool(false));
    let text = read("capabilities/default.json");
    assert!(
        !permissions().iter().any(|p| p.ends_with(":default")),
        "a :default set (core:default above all) grants far too much"
    );
    assert!(
        !text
            .lines()
            .any(|l| !l.contains("$schema") && (l.contains("http:") || l.contains("https:"))),
        "no http(s) origin in the capability"
    );
}

#[test]
fn the_csp_allows_no_inline_eval_or_remote_code_and_connects_only_to_ipc() {
    let conf: Value = serde_json::from_str(&read("tauri.conf.json")).expect("tauri.conf.json");
    let security = &conf["app"]["security"];
    let csp = security["csp"].as_str().expect("a CSP string");
    assert!(!csp.contains("unsafe-"), "{csp}");
    assert!(!csp.contains("http:") && !csp.contains("https:"), "{csp}");
    assert!(!csp.contains('*'), "no wildcard sources: {csp}");
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find_map(|d| d.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{name} missing from {csp}"))
            .to_string()
    };
    assert_eq!(directive("connect-src"), "ipc:");
    assert_eq!(directive("script-src"), "'self'");
    assert_eq!(directive("default-src"), "'self'");
    assert_eq!(directive("object-src"), "'none'");
    assert_eq!(directive("base-uri"), "'none'");
    // Tauri adds hashes of its own injected scripts to the CSP unless this is set.
    assert!(security
        .get("dangerousDisableAssetCspModification")
        .is_none());
    assert!(
        security.get("devCsp").is_none(),
        "one CSP for dev and release"
    );
    assert_eq!(security["freezePrototype"], Value::Bool(true));
    assert_eq!(conf["app"]["withGlobalTauri"], Value::Bool(false));
    let text = read("tauri.conf.json");
    assert!(!text.contains("dangerous"), "no dangerous* settings at all");
}
