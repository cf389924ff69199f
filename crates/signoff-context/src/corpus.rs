//! Corpus versions and governance rules, as pure functions over chunk ids and hashes: a
//! version's id, the diff between two versions, staleness of a source, and the allow-list
//! that says which sources may feed a case of a given label (queue).

use crate::error::{ContextError, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// A version's id: SHA-256 (hex) over its sorted, distinct chunk hashes, one per line.
pub fn version_id<'a>(hashes: impl IntoIterator<Item = &'a str>) -> String {
    let set: BTreeSet<&str> = hashes.into_iter().collect();
    let mut h = Sha256::new();
    h.update(b"signoff-corpus-v1\n");
    for x in set {
        h.update(x.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// What changed between two versions, by chunk id (sorted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CorpusDiff {
    /// Ids only in the newer version.
    pub added: Vec<String>,
    /// Ids only in the older version.
    pub removed: Vec<String>,
    /// Ids in both whose hash differs (text, title or flags changed).
    pub changed: Vec<String>,
    /// How many ids are in both with the same hash.
    pub unchanged: usize,
}

impl CorpusDiff {
    /// Whether the two versions hold the same chunks.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// The diff from `old` to `new`, each given as `(chunk id, chunk hash)` pairs.
pub fn diff(old: &[(String, String)], new: &[(String, String)]) -> CorpusDiff {
    let a: BTreeMap<&str, &str> = old.iter().map(|(i, h)| (i.as_str(), h.as_str())).collect();
    let b: BTreeMap<&str, &str> = new.iter().map(|(i, h)| (i.as_str(), h.as_str())).collect();
    let mut d = CorpusDiff::default();
    for (id, h) in &b {
        match a.get(id) {
            None => d.added.push(id.to_string()),
            Some(old) if old != h => d.changed.push(id.to_string()),
            Some(_) => d.unchanged += 1,
        }
    }
    d.removed = a
        .keys()
        .filter(|id| !b.contains_key(*id))
        .map(|s| s.to_string())
        .collect();
    d
}

/// Whether a source last checked at `checked_ms` is due for a refresh at `now_ms`, given its
/// cadence in days (none: never stale).
pub fn is_stale(checked_ms: i64, refresh_days: Option<u32>, now_ms: i64) -> bool {
    match refresh_days {
        Some(d) => now_ms.saturating_sub(checked_ms) > i64::from(d) * 86_400_000,
        None => false,
    }
}

/// Which corpus sources may feed cases of each label (queue). Written as TOML:
///
/// ```toml
/// # Sources for labels not listed below, and for cases without a label.
/// # Leave it out to allow every source there.
/// default = ["abcd-guidelines"]
///
/// [labels]
/// refund = ["abcd-guidelines", "refund-policy"]
/// legal = []            # nothing is retrieved for this queue
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowList {
    /// Sources for labels not listed, and for cases without a label; `None`: every source.
    #[serde(default)]
    pub default: Option<BTreeSet<String>>,
    /// Sources per label.
    #[serde(default)]
    pub labels: BTreeMap<String, BTreeSet<String>>,
}

impl AllowList {
    /// Parses the TOML form; errors name `file:line`.
    pub fn parse(text: &str, file: &str) -> Result<AllowList> {
        toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                // A byte offset, which may fall inside a character.
                .map(|s| {
                    let before = &text.as_bytes()[..s.start.min(text.len())];
                    before.iter().filter(|b| **b == b'\n').count() + 1
                });
            ContextError::Ingest {
                file: file.to_string(),
                line,
                field: None,
                message: e.message().to_string(),
            }
        })
    }

    /// The sources allowed for a case with `label`; `None` means every source.
    pub fn allowed(&self, label: Option<&str>) -> Option<&BTreeSet<String>> {
        label
            .and_then(|l| self.labels.get(l))
            .or(self.default.as_ref())
    }

    /// Whether `source` may feed a case with `label`.
    pub fn permits(&self, label: Option<&str>, source: &str) -> bool {
        self.allowed(label).is_none_or(|s| s.contains(source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn version_id_is_a_set_hash() {
        assert_eq!(version_id(["b", "a", "a"]), version_id(["a", "b"]));
        assert_ne!(version_id(["a"]), version_id(["a", "b"]));
        assert_eq!(version_id(["a"]).len(), 64);
    }

    #[test]
    fn diff_names_added_removed_and_changed() {
        let old = pairs(&[("x", "1"), ("y", "2"), ("z", "3")]);
        let new = pairs(&[("x", "1"), ("y", "9"), ("w", "4")]);
        let d = diff(&old, &new);
        assert_eq!(d.added, ["w"]);
        assert_eq!(d.removed, ["z"]);
        assert_eq!(d.changed, ["y"]);
        assert_eq!(d.unchanged, 1);
        assert!(diff(&old, &old).is_empty());
    }

    #[test]
    fn staleness_follows_the_cadence() {
        let day = 86_400_000;
        assert!(!is_stale(0, Some(7), 7 * day));
        assert!(is_stale(0, Some(7), 7 * day + 1));
        assert!(!is_stale(0, None, 1000 * day));
    }

    #[test]
    fn allow_list_by_label_with_default() {
        let a = AllowList::parse(
            "default = [\"policies\"]\n[labels]\nrefund = [\"policies\", \"refunds\"]\nlegal = []\n",
            "allow.toml",
        )
        .unwrap();
        assert!(a.permits(Some("refund"), "refunds"));
        assert!(!a.permits(Some("legal"), "policies"));
        assert!(a.permits(Some("other"), "policies"));
        assert!(!a.permits(None, "refunds"));
        assert!(AllowList::default().permits(Some("x"), "anything"));
        let e = AllowList::parse("default = [\"a\"]\n\nlabel = 3\n", "allow.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("allow.toml:3:"), "{e}");
    }
}
