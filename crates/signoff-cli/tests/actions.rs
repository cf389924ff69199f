//! `signoff upstream` and `signoff actions` through the binary against a real upstream on
//! 127.0.0.1: an approval posts its reply once (decide sends what it queued), a refused post
//! is failed and retried by id, compensation deletes the reply, and the log verifies.

mod support;
#[path = "../../signoff-sync/tests/support/upstream.rs"]
mod upstream;

use support::{fails, json, ok, run};
use upstream::{Fault, Upstream};

#[test]
fn replies_go_upstream_once_and_can_be_retried_and_compensated() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let up = Upstream::start();
    ok(run(
        &["--reviewer", "r1", "init", "--reviewer-name", "Ada"],
        &ws,
    ));
    let cases = t.path().join("cases.jsonl");
    std::fs::write(
        &cases,
        concat!(
            r#"{"id":"A-1","subject":"Parking","body":"Is parking free?","received_at":"2026-11-20T10:00:00Z"}"#,
            "\n",
            r#"{"id":"A-2","subject":"Wifi","body":"Is there wifi?","received_at":"2026-11-20T10:00:00Z"}"#,
            "\n"
        ),
    )
    .unwrap();
    ok(run(&["import", cases.to_str().unwrap()], &ws));
    fails(run(&["upstream", "set", "ftp://example"], &ws), "http://");
    let set = json(run(
        &["--reviewer", "r1", "upstream", "set", &up.base, "--json"],
        &ws,
    ));
    assert_eq!(set["upstream"], up.base.as_str());
    assert_eq!(
        json(run(&["upstream", "show", "--json"], &ws))["upstream"],
        up.base.as_str()
    );

    let reply = t.path().join("reply.txt");
    std::fs::write(&reply, "Parking is free for guests.").unwrap();
    let decide = |case: &str| {
        run(
            &[
                "--reviewer",
                "r1",
                "decide",
                case,
                "--disposition",
                "approve",
                "--final-text",
                reply.to_str().unwrap(),
                "--rationale",
                "checked with the front desk",
            ],
            &ws,
        )
    };
    let out = ok(decide("A-1"));
    assert!(out.contains("action #1: sent"), "{out}");
    assert_eq!(up.replies().len(), 1);

    up.fail_next(&[Fault::Status(422)]);
    let o = decide("A-2");
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "the disposition stands: {err}");
    assert!(
        err.contains("action #2 is failed") && err.contains("422"),
        "{err}"
    );
    let list = json(run(&["actions", "list", "--json"], &ws));
    let states: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["failed", "sent"], "newest first");
    assert_eq!(list[0]["attempts"], 1);
    let table = ok(run(&["actions", "list", "--case", "A-2"], &ws));
    assert!(table.contains("failed") && table.contains("422"), "{table}");

    up.fail_next(&[Fault::Status(400)]);
    fails(
        run(&["actions", "send", "2", "--attempts", "2"], &ws),
        "did not go through",
    );
    let retried = json(run(&["actions", "send", "2", "--json"], &ws));
    assert_eq!(retried[0]["state"], "sent");
    assert_eq!(up.replies().len(), 2);

    let comp = json(run(
        &[
            "--reviewer",
            "r1",
            "actions",
            "compensate",
            "1",
            "--reason",
            "wrong case",
            "--json",
        ],
        &ws,
    ));
    assert_eq!(comp[0]["state"], "compensated");
    assert_eq!(up.replies().len(), 1);
    fails(
        run(&["actions", "compensate", "1", "--reason", "again"], &ws),
        "already compensated",
    );
    fails(run(&["actions", "send", "99"], &ws), "no action #99");
    let hist = ok(run(&["audit", "history", "--case", "A-1"], &ws));
    for kind in [
        "action_queued",
        "action_done",
        "action_compensation_queued",
        "action_compensated",
    ] {
        assert!(hist.contains(kind), "{kind}: {hist}");
    }
    ok(run(&["audit", "verify"], &ws));
}
