//! Fuzz target: intake rules (TOML) and their decisions. Input: the rules file, then after a
//! NUL byte the text of a case (its subject and body; metadata when it is a JSON object). The
//! rules parse or fail with an error naming the file and a line of it; a parsed rule sits on a
//! line of the file, and a decision names one of the rules and the file's version.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signoff_intake::rules::{CaseFields, Rules};
use signoff_intake::IntakeError;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let (rules, case) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(text) = std::str::from_utf8(rules) else {
        return;
    };
    let case = String::from_utf8_lossy(case);
    let lines = text.split('\n').count();
    let path = Path::new("ws/intake-rules.toml");
    match Rules::parse(text, path) {
        Ok(r) => {
            for rule in &r.rules {
                assert!(
                    rule.line >= 1 && rule.line <= lines,
                    "line {} of {lines}",
                    rule.line
                );
            }
            let metadata = match serde_json::from_str(&case) {
                Ok(serde_json::Value::Object(m)) => m,
                _ => serde_json::Map::new(),
            };
            let (subject, body) = case.split_once('\n').unwrap_or((&case, ""));
            let fields = CaseFields {
                subject,
                body,
                metadata: &metadata,
            };
            if let Some(m) = r.decide(fields) {
                assert_eq!(m.rules_version, r.version);
                let rule = r
                    .rules
                    .iter()
                    .find(|x| x.id == m.rule_id)
                    .expect("a rule decided");
                assert_eq!(
                    (&m.label, m.band, m.route),
                    (&rule.label, rule.band, rule.route)
                );
            }
        }
        Err(IntakeError::Parse { path: p, line, .. }) => {
            assert_eq!(p, path);
            assert!(line >= 1 && line <= lines, "line {line} of {lines}");
        }
        Err(e) => panic!("unexpected error kind: {e}"),
    }
});
