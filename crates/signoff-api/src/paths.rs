//! Which workspace to open: an explicit directory, else the demo in the user's data dir.
//! Hosts pass in the environment values; nothing here reads the environment itself.

use std::path::{Path, PathBuf};

/// The workspace a host should open, and whether it is the built-in demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceChoice {
    /// The workspace directory.
    pub dir: PathBuf,
    /// True when nothing was configured and the demo was chosen.
    pub is_demo: bool,
}

/// Picks the workspace: `explicit` (flag or `SIGNOFF_WORKSPACE`) wins; otherwise the demo
/// workspace under the data directory (`XDG_DATA_HOME`, else `HOME/.local/share`).
pub fn resolve_workspace(
    explicit: Option<&Path>,
    xdg_data_home: Option<&Path>,
    home: Option<&Path>,
) -> WorkspaceChoice {
    if let Some(dir) = explicit.filter(|p| !p.as_os_str().is_empty()) {
        return WorkspaceChoice {
            dir: dir.to_path_buf(),
            is_demo: false,
        };
    }
    let data = xdg_data_home
        .filter(|p| p.is_absolute())
        .map(Path::to_path_buf)
        .or_else(|| home.map(|h| h.join(".local").join("share")))
        .unwrap_or_else(|| PathBuf::from("."));
    WorkspaceChoice {
        dir: data.join("signoff").join("demo"),
        is_demo: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_workspace_wins_over_the_demo() {
        let c = resolve_workspace(Some(Path::new("/w")), None, Some(Path::new("/home/a")));
        assert_eq!(
            c,
            WorkspaceChoice {
                dir: "/w".into(),
                is_demo: false
            }
        );
    }

    #[test]
    fn without_configuration_the_demo_lives_in_the_data_dir() {
        let c = resolve_workspace(None, None, Some(Path::new("/home/a")));
        assert_eq!(c.dir, PathBuf::from("/home/a/.local/share/signoff/demo"));
        assert!(c.is_demo);
        let c = resolve_workspace(None, Some(Path::new("/x")), Some(Path::new("/home/a")));
        assert_eq!(c.dir, PathBuf::from("/x/signoff/demo"));
    }
}
