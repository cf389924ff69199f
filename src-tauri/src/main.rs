//! Signoff desktop: the Tauri shell. Opens the configured workspace (or the demo), hands the
//! window to the UI in `ui/`, and forwards IPC calls to the core through `commands`.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod dto;
#[cfg(test)]
mod licenses;
#[cfg(test)]
mod lockdown;
mod session;
mod validate;

use commands::AppState;
use signoff_core::SystemClock;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

fn workspace_arg() -> Option<PathBuf> {
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        if a == "--workspace" {
            return args.next().map(PathBuf::from);
        }
    }
    std::env::var_os("SIGNOFF_WORKSPACE").map(PathBuf::from)
}

fn main() {
    // Before any thread starts: the environment is not safe to change once one has.
    signoff_api::prefer_one_decode_thread();
    let xdg = std::env::var_os("XDG_DATA_HOME").map(PathBuf::from);
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let explicit = workspace_arg();
    let choice =
        signoff_api::resolve_workspace(explicit.as_deref(), xdg.as_deref(), home.as_deref());
    let key_file = std::env::var_os("SIGNOFF_KEY_FILE").map(PathBuf::from);
    let clock = Arc::new(SystemClock);
    let session = match session::Session::open(choice.dir.clone(), choice.is_demo, key_file, clock)
    {
        Ok(s) => s.with_export_dir(home),
        Err(e) => {
            eprintln!(
                "signoff-desktop: cannot open workspace {}: {}",
                choice.dir.display(),
                e.message
            );
            std::process::exit(1);
        }
    };
    let result = tauri::Builder::default()
        .manage(AppState(Arc::new(Mutex::new(session))))
        .manage(commands::DraftRuns::default())
        .setup(|app| {
            // Long embedding runs (indexing a corpus version on first use) show a progress
            // bar in the window's top bar.
            use tauri::Emitter;
            let handle = app.handle().clone();
            signoff_embed::progress::set_hook(Some(Arc::new(move |done, total| {
                let p = dto::IndexProgressDto {
                    done: u32::try_from(done).unwrap_or(u32::MAX),
                    total: u32::try_from(total).unwrap_or(u32::MAX),
                };
                let _ = handle.emit("index-progress", p);
            })));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::session_info,
            commands::set_reviewer,
            commands::queue_page,
            commands::queue_count,
            commands::status_counts,
            commands::open_case,
            commands::decide,
            commands::check_reply,
            commands::undo,
            commands::stage_import,
            commands::run_import,
            commands::audit_page,
            commands::audit_actors,
            commands::audit_entry,
            commands::case_audit,
            commands::case_actions,
            commands::send_actions,
            commands::case_evidence,
            commands::case_draft_stream,
            commands::cancel_draft,
            commands::resolve_claim,
            commands::case_intake,
            commands::intake_thresholds,
            commands::corpus_overview,
            commands::corpus_approve,
            commands::audit_verify,
            commands::audit_export,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("signoff-desktop: {e}");
        std::process::exit(1);
    }
}
