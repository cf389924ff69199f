//! The prompt repository: versioned template files in the workspace (`prompts/<id>.v<N>.txt`),
//! seeded with Signoff's defaults. Rendering fills `{{name}}` variables and fingerprints the
//! rendered text (SHA-256) so a draft can be replayed; a template naming a variable the caller
//! did not supply is an error, never a silent blank.

use crate::error::{ActionError, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The templates Signoff ships: (file name, text).
pub const DEFAULTS: &[(&str, &str)] = &[(
    "draft_reply.v1.txt",
    include_str!("../prompts/draft_reply.v1.txt"),
)];

/// A rendered prompt with its provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// `<id>.v<N>` (the file stem).
    pub prompt_id: String,
    /// The text after substitution.
    pub text: String,
    /// SHA-256 (hex) of `text`.
    pub fingerprint: String,
}

/// A directory of prompt templates.
#[derive(Debug, Clone)]
pub struct PromptRepo {
    dir: PathBuf,
}

impl PromptRepo {
    /// Opens `dir`, creating it and writing any default template that is not there yet
    /// (existing files are never overwritten: they are the workspace's versions).
    pub fn open(dir: &Path) -> Result<Self> {
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| ActionError::Io { path: p, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        for (name, text) in DEFAULTS {
            let p = dir.join(name);
            if !p.exists() {
                std::fs::write(&p, text).map_err(io(&p))?;
            }
        }
        Ok(PromptRepo {
            dir: dir.to_path_buf(),
        })
    }

    /// The newest version of a prompt: `id` is `draft_reply` (newest) or `draft_reply.v1`.
    pub fn load(&self, id: &str) -> Result<(String, String)> {
        let stem = if id.contains(".v") {
            id.to_string()
        } else {
            let mut best: Option<(u32, String)> = None;
            let entries = std::fs::read_dir(&self.dir).map_err(|source| ActionError::Io {
                path: self.dir.clone(),
                source,
            })?;
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if let Some(v) = name
                    .strip_prefix(&format!("{id}.v"))
                    .and_then(|r| r.strip_suffix(".txt"))
                    .and_then(|v| v.parse::<u32>().ok())
                {
                    if best.as_ref().is_none_or(|b| v > b.0) {
                        best = Some((v, format!("{id}.v{v}")));
                    }
                }
            }
            best.map(|b| b.1).ok_or_else(|| ActionError::Prompt {
                prompt: id.to_string(),
                message: format!("no template {id}.v<N>.txt in {}", self.dir.display()),
            })?
        };
        let path = self.dir.join(format!("{stem}.txt"));
        let text =
            std::fs::read_to_string(&path).map_err(|source| ActionError::Io { path, source })?;
        Ok((stem, text))
    }

    /// Loads and renders a prompt.
    pub fn render(&self, id: &str, vars: &BTreeMap<&str, String>) -> Result<Rendered> {
        let (stem, template) = self.load(id)?;
        render(&stem, &template, vars)
    }
}

/// Fills `{{name}}` placeholders. An unknown name, or an unclosed `{{`, is an error naming
/// the prompt, the line and the variable.
pub fn render(prompt_id: &str, template: &str, vars: &BTreeMap<&str, String>) -> Result<Rendered> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    // 1-based line of a position given by the rest of the template from there.
    let line_of = |at: &str| template[..template.len() - at.len()].matches('\n').count() + 1;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let j = after.find("}}").ok_or_else(|| ActionError::Prompt {
            prompt: prompt_id.to_string(),
            message: format!("line {}: unclosed '{{{{'", line_of(&rest[i..])),
        })?;
        let name = after[..j].trim();
        let value = vars.get(name).ok_or_else(|| ActionError::Prompt {
            prompt: prompt_id.to_string(),
            message: format!(
                "line {}: unknown variable '{name}' (known: {})",
                line_of(&rest[i..]),
                vars.keys().copied().collect::<Vec<_>>().join(", ")
            ),
        })?;
        out.push_str(value);
        rest = &after[j + 2..];
    }
    out.push_str(rest);
    let fingerprint = hex::encode(Sha256::digest(out.as_bytes()));
    Ok(Rendered {
        prompt_id: prompt_id.to_string(),
        text: out,
        fingerprint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<&'static str, String> {
        [
            ("subject", "Parking"),
            ("body", "Is there parking?"),
            ("passages", "[1] Yes."),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect()
    }

    #[test]
    fn defaults_are_seeded_and_the_fingerprint_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let repo = PromptRepo::open(dir.path()).unwrap();
        let a = repo.render("draft_reply", &vars()).unwrap();
        let b = repo.render("draft_reply.v1", &vars()).unwrap();
        assert_eq!(a.prompt_id, "draft_reply.v1");
        assert_eq!(a.fingerprint, b.fingerprint);
        assert!(a.text.contains("Is there parking?"));
        let mut other = vars();
        other.insert("body", "Is there a pool?".into());
        assert_ne!(
            repo.render("draft_reply", &other).unwrap().fingerprint,
            a.fingerprint
        );
    }

    #[test]
    fn newest_version_wins_and_workspace_edits_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("draft_reply.v1.txt"), "edited {{body}}").unwrap();
        std::fs::write(dir.path().join("draft_reply.v2.txt"), "v2 {{subject}}").unwrap();
        let repo = PromptRepo::open(dir.path()).unwrap();
        assert_eq!(
            repo.render("draft_reply", &vars()).unwrap().text,
            "v2 Parking"
        );
        assert_eq!(
            repo.render("draft_reply.v1", &vars()).unwrap().text,
            "edited Is there parking?"
        );
    }

    #[test]
    fn unknown_variable_is_named_with_its_line() {
        let e = render("p.v1", "a\nb {{ customer }}", &vars())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("p.v1") && e.contains("line 2") && e.contains("'customer'"),
            "{e}"
        );
        let e = render("p.v1", "a {{body", &vars()).unwrap_err().to_string();
        assert!(e.contains("unclosed"), "{e}");
    }

    #[test]
    fn missing_prompt_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let repo = PromptRepo::open(dir.path()).unwrap();
        let e = repo.render("nope", &vars()).unwrap_err().to_string();
        assert!(e.contains("nope.v<N>.txt"), "{e}");
    }
}
