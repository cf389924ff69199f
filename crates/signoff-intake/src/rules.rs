//! Deterministic intake rules, checked before the learned classifier: a workspace TOML file
//! of rules matching keywords or a regex over subject and body, and metadata fields, each
//! assigning a label, a fixed band and optionally a route (e.g. always escalate a legal
//! threat). The first matching rule in file order wins. A rule error names `file:line`, and
//! [`RulesInForce::reload`] keeps the previous valid rules when the new file is bad.
//!
//! ```toml
//! [[rule]]
//! id = "legal-threat"
//! label = "complaint"
//! band = "high"
//! route = "escalate"
//! keywords = ["lawyer", "legal action"]   # any of them, case-insensitive, whole words
//! regex = "small claims? court"           # optional; matched case-insensitively
//! fields = ["subject", "body"]            # where to look (default: both)
//! metadata = { channel = "email" }        # every listed field must equal this value
//! ```

use crate::error::{IntakeError, Result};
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The band a rule assigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleBand {
    /// High.
    High,
    /// Medium.
    Medium,
    /// Low.
    Low,
}

/// Where a matched case goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    /// Straight to escalation.
    Escalate,
    /// The normal queue.
    Queue,
}

/// The text fields a rule can search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    /// The case subject.
    Subject,
    /// The case body.
    Body,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    label: String,
    band: RuleBand,
    route: Option<Route>,
    #[serde(default)]
    keywords: Vec<String>,
    regex: Option<Spanned<String>>,
    fields: Option<Vec<Field>>,
    #[serde(default)]
    metadata: BTreeMap<String, toml::Value>,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable id, recorded with every classification it makes.
    pub id: String,
    /// The label it assigns.
    pub label: String,
    /// The band it assigns.
    pub band: RuleBand,
    /// Its route, if any.
    pub route: Option<Route>,
    /// 1-based line of the rule in its file.
    pub line: usize,
    keywords: Option<Regex>,
    regex: Option<Regex>,
    fields: Vec<Field>,
    metadata: BTreeMap<String, String>,
}

/// A loaded rules file.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// SHA-256 of the file's bytes (hex): the version recorded with every rule decision.
    pub version: String,
    /// Where they came from.
    pub path: PathBuf,
}

/// What a rule decided about a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleMatch {
    /// The rule's id.
    pub rule_id: String,
    /// The rules file version.
    pub rules_version: String,
    /// The label.
    pub label: String,
    /// The band.
    pub band: RuleBand,
    /// The route, if any.
    pub route: Option<Route>,
    /// Why: the condition that matched and the text it matched.
    pub why: String,
}

/// The parts of a case rules look at.
#[derive(Debug, Clone, Copy)]
pub struct CaseFields<'a> {
    /// Subject line.
    pub subject: &'a str,
    /// Body text.
    pub body: &'a str,
    /// Metadata object (may be empty).
    pub metadata: &'a serde_json::Map<String, serde_json::Value>,
}

/// 1-based line of a byte offset (which may fall inside a character: a TOML error can point
/// into one).
fn line_of(text: &str, offset: usize) -> usize {
    let before = &text.as_bytes()[..offset.min(text.len())];
    before.iter().filter(|b| **b == b'\n').count() + 1
}

fn metadata_string(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Rules {
    /// Parses and compiles rules from `text` (read from `path`, used in error messages).
    pub fn parse(text: &str, path: &Path) -> Result<Rules> {
        let err = |offset: usize, message: String| IntakeError::Parse {
            path: path.to_path_buf(),
            line: line_of(text, offset),
            message,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start);
            err(at, e.message().to_string())
        })?;
        let mut rules: Vec<Rule> = Vec::new();
        for spanned in raw.rule {
            let at = spanned.span().start;
            let r = spanned.into_inner();
            let id_at = r.id.span().start;
            let id = r.id.into_inner();
            if id.trim().is_empty() {
                return Err(err(id_at, "rule id is empty".into()));
            }
            if rules.iter().any(|o| o.id == id) {
                return Err(err(id_at, format!("rule id {id:?} is used twice")));
            }
            let regex = match r.regex {
                Some(s) => {
                    let re_at = s.span().start;
                    Some(
                        RegexBuilder::new(s.get_ref())
                            .case_insensitive(true)
                            .size_limit(1 << 20)
                            .build()
                            .map_err(|e| err(re_at, format!("rule {id:?}: bad regex: {e}")))?,
                    )
                }
                None => None,
            };
            let keywords = if r.keywords.is_empty() {
                None
            } else {
                let alts: Vec<String> =
                    r.keywords.iter().map(|k| regex::escape(k.trim())).collect();
                let pattern = format!(r"\b(?:{})\b", alts.join("|"));
                Some(
                    RegexBuilder::new(&pattern)
                        .case_insensitive(true)
                        .build()
                        .map_err(|e| err(at, format!("rule {id:?}: keywords: {e}")))?,
                )
            };
            let mut metadata = BTreeMap::new();
            for (k, v) in &r.metadata {
                let s = metadata_string(v).ok_or_else(|| {
                    err(
                        at,
                        format!("rule {id:?}: metadata field {k:?} must be a string, integer or boolean"),
                    )
                })?;
                metadata.insert(k.clone(), s);
            }
            if keywords.is_none() && regex.is_none() && metadata.is_empty() {
                return Err(err(
                    at,
                    format!("rule {id:?} has no condition (keywords, regex or metadata)"),
                ));
            }
            rules.push(Rule {
                id,
                label: r.label,
                band: r.band,
                route: r.route,
                line: line_of(text, at),
                keywords,
                regex,
                fields: r
                    .fields
                    .unwrap_or_else(|| vec![Field::Subject, Field::Body]),
                metadata,
            });
        }
        Ok(Rules {
            rules,
            version: hex::encode(Sha256::digest(text.as_bytes())),
            path: path.to_path_buf(),
        })
    }

    /// Reads and parses a rules file.
    pub fn load(path: &Path) -> Result<Rules> {
        let text = std::fs::read_to_string(path).map_err(|source| IntakeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Rules::parse(&text, path)
    }

    /// The first rule that matches the case, if any.
    pub fn decide(&self, case: CaseFields<'_>) -> Option<RuleMatch> {
        self.rules.iter().find_map(|r| {
            let why = r.matches(case)?;
            Some(RuleMatch {
                rule_id: r.id.clone(),
                rules_version: self.version.clone(),
                label: r.label.clone(),
                band: r.band,
                route: r.route,
                why,
            })
        })
    }
}

impl Rule {
    /// `Some(why)` when the rule matches.
    fn matches(&self, case: CaseFields<'_>) -> Option<String> {
        let mut why = Vec::new();
        for (k, want) in &self.metadata {
            let got = case.metadata.get(k)?;
            let got = match got {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if &got != want {
                return None;
            }
            why.push(format!("metadata {k} = {want:?}"));
        }
        if self.keywords.is_some() || self.regex.is_some() {
            let texts = self.fields.iter().map(|f| match f {
                Field::Subject => ("subject", case.subject),
                Field::Body => ("body", case.body),
            });
            let mut hit = None;
            for (name, t) in texts {
                if let Some(m) = self.keywords.as_ref().and_then(|re| re.find(t)) {
                    hit = Some(format!("keyword {:?} in {name}", m.as_str()));
                    break;
                }
                if let Some(m) = self.regex.as_ref().and_then(|re| re.find(t)) {
                    hit = Some(format!(
                        "regex /{}/ matched {:?} in {name}",
                        self.regex.as_ref().map_or("", |r| r.as_str()),
                        m.as_str()
                    ));
                    break;
                }
            }
            why.push(hit?);
        }
        Some(format!(
            "rule {} (line {}): {}",
            self.id,
            self.line,
            why.join(", ")
        ))
    }
}

/// The rules currently applied: a reload that fails leaves the previous valid rules in force.
#[derive(Debug, Default)]
pub struct RulesInForce {
    current: Option<Rules>,
}

impl RulesInForce {
    /// The rules in force, if any file has loaded.
    pub fn current(&self) -> Option<&Rules> {
        self.current.as_ref()
    }

    /// Loads `path`; on error, returns it and keeps what was in force.
    pub fn reload(&mut self, path: &Path) -> Result<&Rules> {
        let rules = Rules::load(path)?;
        Ok(self.current.insert(rules))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[rule]]
id = "legal-threat"
label = "complaint"
band = "high"
route = "escalate"
keywords = ["lawyer", "legal action"]

[[rule]]
id = "vip"
label = "priority"
band = "medium"
metadata = { tier = "vip" }
regex = "refund(ed|s)?"
fields = ["subject"]
"#;

    fn case<'a>(
        subject: &'a str,
        body: &'a str,
        meta: &'a serde_json::Map<String, serde_json::Value>,
    ) -> CaseFields<'a> {
        CaseFields {
            subject,
            body,
            metadata: meta,
        }
    }

    #[test]
    fn first_matching_rule_wins_and_says_why() {
        let rules = Rules::parse(GOOD, Path::new("rules.toml")).unwrap();
        let none = serde_json::Map::new();
        let m = rules
            .decide(case("hello", "I will take LEGAL ACTION today", &none))
            .unwrap();
        assert_eq!(
            (m.rule_id.as_str(), m.route),
            ("legal-threat", Some(Route::Escalate))
        );
        assert!(m.why.contains("\"LEGAL ACTION\" in body"), "{}", m.why);
        assert_eq!(m.rules_version.len(), 64);
        // Whole words only.
        assert!(rules.decide(case("lawyers", "", &none)).is_none());
        let vip: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(r#"{"tier":"vip"}"#).unwrap();
        assert_eq!(
            rules.decide(case("Refunds", "", &vip)).unwrap().rule_id,
            "vip"
        );
        assert!(
            rules.decide(case("hello", "refunds", &vip)).is_none(),
            "subject only"
        );
        assert!(
            rules.decide(case("Refunds", "", &none)).is_none(),
            "metadata required"
        );
    }

    #[test]
    fn bad_regex_is_reported_with_file_and_line() {
        let text = GOOD.replace("refund(ed|s)?", "refund(ed|s");
        let e = Rules::parse(&text, Path::new("ws/rules.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("ws/rules.toml:14: rule \"vip\": bad regex"),
            "{e}"
        );
    }

    #[test]
    fn unknown_field_and_band_are_reported_with_their_line() {
        let text = GOOD.replace("fields = [\"subject\"]", "feilds = [\"subject\"]");
        let e = Rules::parse(&text, Path::new("r.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("r.toml:15:") && e.contains("feilds"), "{e}");
        let text = GOOD.replace("fields = [\"subject\"]", "fields = [\"subjct\"]");
        let e = Rules::parse(&text, Path::new("r.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("r.toml:15:") && e.contains("subjct"), "{e}");
        let text = GOOD.replace("band = \"high\"", "band = \"urgent\"");
        let e = Rules::parse(&text, Path::new("r.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("r.toml:5:") && e.contains("urgent"), "{e}");
    }

    #[test]
    fn failed_reload_keeps_the_previous_rules() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rules.toml");
        std::fs::write(&p, GOOD).unwrap();
        let mut inforce = RulesInForce::default();
        let v1 = inforce.reload(&p).unwrap().version.clone();
        std::fs::write(&p, "[[rule]]\nid = \"x\"\nlabel = 3\n").unwrap();
        let e = inforce.reload(&p).unwrap_err().to_string();
        assert!(e.contains("rules.toml:3:"), "{e}");
        assert_eq!(inforce.current().unwrap().version, v1);
        assert_eq!(inforce.current().unwrap().rules.len(), 2);
    }
}
