//! Fuzz target: the drafting router's models.toml. It parses or fails with an error naming
//! the file and a line of it; a parsed file's routes name only defined models, and every chain
//! of models a case can get ends with an offline model (a draft is always possible).
#![no_main]

use libfuzzer_sys::fuzz_target;
use signoff_action::router::{ModelKind, Models};
use signoff_action::ActionError;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.split('\n').count();
    let path = Path::new("ws/models.toml");
    match Models::parse(path, text) {
        Ok(m) => {
            for r in &m.routes {
                assert!(
                    r.line >= 1 && r.line <= lines,
                    "route line {} of {lines}",
                    r.line
                );
                assert!(r.models.iter().all(|n| m.models.contains_key(n)));
            }
            let labels = m.routes.iter().map(|r| r.label.as_deref());
            for label in labels.chain([None, Some("other")]) {
                for band in [None, Some("high"), Some("medium"), Some("low")] {
                    let chain = m.chain(label, band, None).unwrap();
                    let last = chain.last().expect("a chain is never empty");
                    assert_eq!(
                        last.kind,
                        ModelKind::Offline,
                        "chain ends offline: {chain:?}"
                    );
                }
            }
            for name in m.models.keys() {
                let chain = m.chain(None, None, Some(name)).unwrap();
                assert_eq!(chain.last().unwrap().kind, ModelKind::Offline);
            }
        }
        Err(ActionError::Parse { path: p, line, .. }) => {
            assert_eq!(p, path);
            assert!(line >= 1 && line <= lines, "line {line} of {lines}");
        }
        Err(e) => panic!("unexpected error kind: {e}"),
    }
});
