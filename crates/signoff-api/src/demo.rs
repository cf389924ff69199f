//! The demo workspace: cases derived from public datasets (see assets/demo/ATTRIBUTION.md),
//! embedded in the binary so the app opens on something real without any set-up.

use signoff_core::Clock;
use signoff_store::{Access, ImportReport, Workspace};
use std::path::Path;

/// The demo cases, as committed in `assets/demo/cases.jsonl`.
pub const DEMO_CASES: &str = include_str!("../../../assets/demo/cases.jsonl");
/// Where the demo's data comes from, with licences.
pub const DEMO_ATTRIBUTION: &str = include_str!("../../../assets/demo/ATTRIBUTION.md");
/// Settings key marking a workspace as seeded with the demo.
const DEMO_KEY: &str = "demo_seeded";

/// Imports the demo cases into `ws` unless it was seeded before. Idempotent.
pub fn seed(
    ws: &mut Workspace,
    clock: &dyn Clock,
) -> Result<Option<ImportReport>, crate::ApiError> {
    if ws.setting(DEMO_KEY)?.is_some() {
        return Ok(None);
    }
    let tmp = ws.dir().join("demo-cases.jsonl");
    std::fs::write(&tmp, DEMO_CASES)
        .map_err(|e| crate::ApiError::Request(format!("{}: {e}", tmp.display())))?;
    let report = ws.import_file(&tmp, clock, &mut |_| {});
    let _ = std::fs::remove_file(&tmp);
    let report = report?;
    ws.set_setting(DEMO_KEY, "1")?;
    Ok(Some(report))
}

/// Opens the workspace in `dir` for writing with its device key, seeding the demo when `is_demo`.
pub fn open(
    dir: &Path,
    is_demo: bool,
    key_file: Option<&Path>,
    clock: &dyn Clock,
) -> Result<Workspace, crate::ApiError> {
    let key = crate::keys::device_key(key_file, dir, is_demo)?;
    let mut ws = Workspace::open(dir, Access::Write)?;
    ws.attach_key(key)?;
    if is_demo {
        seed(&mut ws, clock)?;
    }
    Ok(ws)
}
