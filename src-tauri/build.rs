//! Tauri's build step: reads tauri.conf.json and the capabilities, and declares the app's own
//! commands so that each gets an `allow-…` permission. Once an app manifest lists commands,
//! Tauri checks app commands against the capabilities too: a command missing from
//! `capabilities/default.json` (or from this list) cannot be called from the window.

/// Every command in `main.rs`'s `generate_handler!`; a test in `commands.rs` keeps the three
/// lists (this one, the handler and the capability) the same.
const COMMANDS: &[&str] = &[
    "session_info",
    "set_reviewer",
    "queue_page",
    "queue_count",
    "status_counts",
    "open_case",
    "decide",
    "check_reply",
    "undo",
    "stage_import",
    "run_import",
    "audit_page",
    "audit_actors",
    "audit_entry",
    "case_audit",
    "case_actions",
    "send_actions",
    "case_evidence",
    "case_draft_stream",
    "cancel_draft",
    "resolve_claim",
    "case_intake",
    "intake_thresholds",
    "corpus_overview",
    "corpus_approve",
    "audit_verify",
    "audit_export",
];

fn main() {
    let attrs = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attrs) {
        panic!("tauri build step failed: {e:#}");
    }
}
