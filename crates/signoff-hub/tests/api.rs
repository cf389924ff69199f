//! The hub's API suite: every test runs against a real server on 127.0.0.1, once on SQLite and
//! once on PostgreSQL (a throwaway cluster), through the workstation's signed client.

mod common;

use common::{enrolled, key, Backend, TestHub};
use signoff_sync::httpsig::{self, Target};
use signoff_sync::hub::HubClientError;
use std::io::{Read, Write};

/// Runs each listed test on both backends.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::Backend::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name(super::Backend::Postgres) } )*
        }
    };
}

both!(
    enrolment_and_roles,
    signatures_are_checked_and_replays_refused,
    cases_in_idempotent_with_conflicts_kept,
    bad_case_files_name_line_and_field_and_keep_nothing,
    leases_fence_renew_and_expire,
    oversized_body_is_refused_unread,
);

fn refused(r: Result<serde_json::Value, HubClientError>) -> (u16, String, String) {
    match r {
        Err(HubClientError::Refused {
            status,
            code,
            message,
            ..
        }) => (status, code, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn enrolment_and_roles(b: Backend) {
    let admin_key = key(1);
    let hub = TestHub::start(b, &admin_key);
    let admin = hub.client(&admin_key);
    let me = admin.call("me", "GET", "/v1/me", None).unwrap();
    assert_eq!(me["role"], "admin");

    // A new device enrols as pending and can do nothing else yet.
    let r_key = key(2);
    let rev = hub.client(&r_key);
    let d = rev.enrol("ws-2").unwrap();
    assert_eq!(d["role"], "pending");
    assert_eq!(d["device"], rev.device_id());
    let (status, code, msg) = refused(rev.call("me", "GET", "/v1/me", None));
    assert_eq!((status, code.as_str()), (403, "pending_device"));
    assert!(msg.contains("awaiting approval"), "{msg}");
    // Enrolling again returns the same record.
    assert_eq!(rev.enrol("ws-2").unwrap()["device"], d["device"]);

    // An unknown device is refused.
    let stranger = hub.client(&key(9));
    let (status, code, _) = refused(stranger.call("me", "GET", "/v1/me", None));
    assert_eq!((status, code.as_str()), (401, "unknown_device"));

    // The admin lists and approves.
    let list = admin.call("devices", "GET", "/v1/devices", None).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    let id = rev.device_id();
    let approved = admin
        .call(
            "approve",
            "POST",
            &format!("/v1/devices/{id}/role"),
            Some(&serde_json::json!({"role": "reviewer"})),
        )
        .unwrap();
    assert_eq!(approved["role"], "reviewer");
    assert_eq!(
        rev.call("me", "GET", "/v1/me", None).unwrap()["role"],
        "reviewer"
    );

    // A reviewer cannot list devices, approve one, or read another device's data.
    let (s, c, _) = refused(rev.call("devices", "GET", "/v1/devices", None));
    assert_eq!((s, c.as_str()), (403, "forbidden"));
    let other = key(3);
    hub.client(&other).enrol("ws-3").unwrap();
    let other_id = hub.client(&other).device_id();
    let (s, c, _) = refused(rev.call(
        "approve",
        "POST",
        &format!("/v1/devices/{other_id}/role"),
        Some(&serde_json::json!({"role": "reviewer"})),
    ));
    assert_eq!((s, c.as_str()), (403, "forbidden"));
    let admin_id = admin.device_id();
    let (s, _, msg) = refused(rev.call(
        "leases",
        "GET",
        &format!("/v1/devices/{admin_id}/leases"),
        None,
    ));
    assert_eq!(s, 403);
    assert!(msg.contains("another device's data"), "{msg}");
    rev.call("leases", "GET", &format!("/v1/devices/{id}/leases"), None)
        .unwrap();

    // A lead approves reviewers but cannot make leads; only the admin can.
    let lead_key = key(4);
    let lead_id = enrolled(&hub, &admin, &lead_key, "lead");
    let lead = hub.client(&lead_key);
    let (s, _, msg) = refused(lead.call(
        "approve",
        "POST",
        &format!("/v1/devices/{other_id}/role"),
        Some(&serde_json::json!({"role": "lead"})),
    ));
    assert_eq!(s, 403);
    assert!(msg.contains("an admin"), "{msg}");
    lead.call(
        "approve",
        "POST",
        &format!("/v1/devices/{other_id}/role"),
        Some(&serde_json::json!({"role": "reviewer"})),
    )
    .unwrap();
    assert!(lead.call("devices", "GET", "/v1/devices", None).is_ok());
    // Nobody changes their own role; unknown devices are named.
    let (s, _, _) = refused(lead.call(
        "self",
        "POST",
        &format!("/v1/devices/{lead_id}/role"),
        Some(&serde_json::json!({"role": "reviewer"})),
    ));
    assert_eq!(s, 403);
    let (s, c, _) = refused(admin.call(
        "approve",
        "POST",
        "/v1/devices/0000000000000000/role",
        Some(&serde_json::json!({"role": "reviewer"})),
    ));
    assert_eq!((s, c.as_str()), (404, "not_found"));

    // A revoked device is refused everything.
    admin
        .call(
            "revoke",
            "POST",
            &format!("/v1/devices/{id}/role"),
            Some(&serde_json::json!({"role": "revoked"})),
        )
        .unwrap();
    let (s, c, _) = refused(rev.call("me", "GET", "/v1/me", None));
    assert_eq!((s, c.as_str()), (403, "revoked_device"));
    let lease = rev.lease(1);
    assert!(
        matches!(lease, Err(HubClientError::Refused { status: 403, .. })),
        "{lease:?}"
    );
}

/// Sends a request with hand-made signature headers.
fn raw(
    hub: &TestHub,
    method: &str,
    path: &str,
    body: &[u8],
    headers: &httpsig::SignedHeaders,
) -> (u16, serde_json::Value) {
    let client = reqwest::blocking::Client::new();
    let r = client
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", hub.url),
        )
        .header("content-digest", &headers.content_digest)
        .header("signature-input", &headers.signature_input)
        .header("signature", &headers.signature)
        .body(body.to_vec())
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or_default())
}

fn signatures_are_checked_and_replays_refused(b: Backend) {
    let admin_key = key(1);
    let hub = TestHub::start(b, &admin_key);
    let now = hub.clock_now();
    let get_me = Target {
        method: "GET",
        path: "/v1/me",
        query: None,
    };
    let h = httpsig::sign(get_me, b"", now, "nonce-0000000001", &admin_key).unwrap();
    let (s, v) = raw(&hub, "GET", "/v1/me", b"", &h);
    assert_eq!(s, 200, "{v}");
    // The same request again is a replay.
    let (s, v) = raw(&hub, "GET", "/v1/me", b"", &h);
    assert_eq!((s, v["error"].as_str()), (401, Some("replayed")), "{v}");
    // Signed for another path.
    let h = httpsig::sign(get_me, b"", now, "nonce-0000000002", &admin_key).unwrap();
    let (s, v) = raw(&hub, "GET", "/v1/devices", b"", &h);
    assert_eq!(
        (s, v["error"].as_str()),
        (401, Some("bad_signature")),
        "{v}"
    );
    // A body that is not the one signed.
    let lease = Target {
        method: "POST",
        path: "/v1/leases",
        query: None,
    };
    let h = httpsig::sign(lease, b"{\"max\":1}", now, "nonce-0000000003", &admin_key).unwrap();
    let (s, v) = raw(&hub, "POST", "/v1/leases", b"{\"max\":9}", &h);
    assert_eq!(
        (s, v["error"].as_str()),
        (401, Some("bad_signature")),
        "{v}"
    );
    assert!(
        v["message"].as_str().unwrap().contains("Content-Digest"),
        "{v}"
    );
    // Too old, and from the future.
    for created in [now - 120, now + 120] {
        let h = httpsig::sign(
            get_me,
            b"",
            created,
            &format!("nonce-old-{created}"),
            &admin_key,
        )
        .unwrap();
        let (s, v) = raw(&hub, "GET", "/v1/me", b"", &h);
        assert_eq!(
            (s, v["error"].as_str()),
            (401, Some("stale_signature")),
            "{v}"
        );
    }
    // Signed by another key than the one claimed.
    let mut h = httpsig::sign(get_me, b"", now, "nonce-0000000004", &key(7)).unwrap();
    h.signature_input = h.signature_input.replace(
        &httpsig::device_id(&signoff_audit::note::Signer::public_key(&key(7))),
        &httpsig::device_id(&signoff_audit::note::Signer::public_key(&admin_key)),
    );
    let (s, v) = raw(&hub, "GET", "/v1/me", b"", &h);
    assert_eq!(
        (s, v["error"].as_str()),
        (401, Some("bad_signature")),
        "{v}"
    );
    // No signature at all.
    let r = reqwest::blocking::get(format!("{}/v1/me", hub.url)).unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let v: serde_json::Value = r.json().unwrap();
    assert!(
        v["message"].as_str().unwrap().contains("must be signed"),
        "{v}"
    );
}

const CASES: &str = r#"{"id":"C-1","subject":"Refund","body":"Where is my refund?","received_at":"2026-12-01T09:00:00Z","priority":1}
{"id":"C-2","subject":"Address","body":"Change my address","received_at":"2026-12-01T10:00:00Z","sla_due_at":"2026-12-02T10:00:00Z"}
{"id":"C-3","subject":"Invoice","body":"Send the invoice","received_at":"2026-12-01T11:00:00+01:00","metadata":{"channel":"mail"}}
"#;

fn post_cases(
    c: &signoff_sync::hub::HubClient,
    body: &str,
) -> Result<serde_json::Value, HubClientError> {
    c.call_bytes(
        "cases",
        "POST",
        "/v1/cases",
        body.as_bytes(),
        "application/x-ndjson",
    )
}

fn cases_in_idempotent_with_conflicts_kept(b: Backend) {
    let admin_key = key(1);
    let hub = TestHub::start(b, &admin_key);
    let admin = hub.client(&admin_key);
    let r = post_cases(&admin, CASES).unwrap();
    assert_eq!(
        (
            r["new"].as_u64(),
            r["unchanged"].as_u64(),
            r["conflicts"].as_u64()
        ),
        (Some(3), Some(0), Some(0))
    );
    let r = post_cases(&admin, CASES).unwrap();
    assert_eq!(
        (r["new"].as_u64(), r["unchanged"].as_u64()),
        (Some(0), Some(3))
    );
    // The same id with other content (also in other letter case) is a conflict, not applied.
    let changed = CASES
        .replace("Where is my refund?", "Refund now!")
        .replace("\"C-2\"", "\"c-2\"");
    let r = post_cases(&admin, &changed).unwrap();
    assert_eq!(
        (
            r["new"].as_u64(),
            r["unchanged"].as_u64(),
            r["conflicts"].as_u64()
        ),
        (Some(0), Some(1), Some(2))
    );
    assert_eq!(r["conflict_ids"][0]["line"], 1);
    assert_eq!(r["conflict_ids"][0]["id"], "C-1");
    // A JSON array and CSV are accepted too.
    let array = r#"[{"id":"C-4","subject":"A","body":"B","received_at":"2026-12-01T12:00:00Z"}]"#;
    let r = admin
        .call_bytes(
            "cases",
            "POST",
            "/v1/cases",
            array.as_bytes(),
            "application/json",
        )
        .unwrap();
    assert_eq!(r["new"], 1);
    let csv = "id,subject,body,received_at\nC-5,Csv,From a sheet,2026-12-01T13:00:00Z\n";
    let r = admin
        .call_bytes("cases", "POST", "/v1/cases", csv.as_bytes(), "text/csv")
        .unwrap();
    assert_eq!(r["new"], 1);
    // What a reviewer leases is the original text (queue order: SLA first, then priority).
    let rk = key(2);
    enrolled(&hub, &admin, &rk, "reviewer");
    let leased = hub.client(&rk).lease(10).unwrap();
    let ids: Vec<&str> = leased.leases.iter().map(|l| l.case.id.as_str()).collect();
    assert_eq!(ids, ["C-2", "C-1", "C-3", "C-4", "C-5"]);
    assert_eq!(leased.leases[1].case.body, "Where is my refund?");
    assert_eq!(
        leased.leases[2].case.metadata.as_ref().unwrap()["channel"],
        "mail"
    );
    // Reviewers do not post cases.
    let (s, c, _) = refused(post_cases(&hub.client(&rk), CASES));
    assert_eq!((s, c.as_str()), (403, "forbidden"));
}

fn bad_case_files_name_line_and_field_and_keep_nothing(b: Backend) {
    let admin_key = key(1);
    let hub = TestHub::start(b, &admin_key);
    let admin = hub.client(&admin_key);
    let bad = r#"{"id":"B-1","subject":"ok","body":"ok","received_at":"2026-12-01T09:00:00Z"}
{"id":"B-2","body":"no subject","received_at":"2026-12-01T09:00:00Z"}
{"id":"B-3","subject":"s","body":"b","received_at":"2026-12-01 09:00:00"}
{"id":"B-1","subject":"again","body":"dup","received_at":"2026-12-01T09:00:00Z"}
{"id":"B-5","subject":"s","body":"b","received_at":"2026-12-01T09:00:00Z","colour":"red"}
not json
"#;
    let (s, c, msg) = refused(post_cases(&admin, bad));
    assert_eq!((s, c.as_str()), (400, "invalid_cases"));
    for want in [
        "cases.jsonl:2: subject: required field is missing",
        "cases.jsonl:3: received_at:",
        "has no time zone",
        "cases.jsonl:4: id:",
        "already appears on line 1",
        "cases.jsonl:5: colour: unknown field",
        "cases.jsonl:6: malformed JSON",
        "nothing from this file was imported",
    ] {
        assert!(msg.contains(want), "missing {want:?} in:\n{msg}");
    }
    // An array names its elements as lines.
    let array = r#"[{"id":"A-1","subject":"s","body":"b","received_at":"2026-12-01T09:00:00Z"}, {"id":"A-2","subject":"s","received_at":"2026-12-01T09:00:00Z"}]"#;
    let (s, _, msg) = refused(admin.call_bytes(
        "cases",
        "POST",
        "/v1/cases",
        array.as_bytes(),
        "application/json",
    ));
    assert_eq!(s, 400);
    assert!(
        msg.contains("cases.json:2: body: required field is missing"),
        "{msg}"
    );
    let (s, _, msg) = refused(post_cases(&admin, ""));
    assert_eq!(s, 400);
    assert!(msg.contains("holds no cases"), "{msg}");
    // Nothing was kept: the valid first row of the bad file is not in the pool.
    let rk = key(2);
    enrolled(&hub, &admin, &rk, "reviewer");
    assert!(hub.client(&rk).lease(10).unwrap().leases.is_empty());
}

fn leases_fence_renew_and_expire(b: Backend) {
    let admin_key = key(1);
    let hub = TestHub::start_with(
        b,
        &admin_key,
        signoff_hub::HubConfig {
            lease_secs: 600,
            ..Default::default()
        },
    );
    let admin = hub.client(&admin_key);
    post_cases(&admin, CASES).unwrap();
    let (ak, bk) = (key(2), key(3));
    let a_id = enrolled(&hub, &admin, &ak, "reviewer");
    let b_id = enrolled(&hub, &admin, &bk, "reviewer");
    let (a, bc) = (hub.client(&ak), hub.client(&bk));
    let first = a.lease(2).unwrap();
    assert_eq!(first.new, 2);
    let a_cases: Vec<String> = first.leases.iter().map(|l| l.case.id.clone()).collect();
    assert!(first.leases.iter().all(|l| l.fence == 1));
    assert_eq!(first.leases[0].expires_at, "2026-12-07T09:10:00.000Z");
    // Asking again renews what A holds; nothing new.
    hub.clock.advance_secs(60);
    let again = a.lease(2).unwrap();
    assert_eq!(again.new, 0);
    assert_eq!(again.leases.len(), 2);
    assert_eq!(again.leases[0].fence, 1);
    assert_eq!(again.leases[0].expires_at, "2026-12-07T09:11:00.000Z");
    // B gets only what A does not hold.
    let bl = bc.lease(5).unwrap();
    assert_eq!(bl.new, 1);
    assert!(!a_cases.contains(&bl.leases[0].case.id));
    assert!(bc.lease(5).unwrap().new == 0);
    // The lead sees A's leases; A sees its own.
    let listed = admin
        .call("leases", "GET", &format!("/v1/devices/{a_id}/leases"), None)
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["device"], a_id.as_str());
    // A's leases expire: they return to the pool and B takes them with a higher fence.
    hub.clock.advance_secs(601);
    let taken = bc.lease(5).unwrap();
    // B's own lease expired too, so all three are new leases to B.
    assert_eq!(taken.new, 3);
    for l in &taken.leases {
        assert_eq!(l.fence, 2, "{}", l.case.id);
    }
    let a_now = a
        .call("leases", "GET", &format!("/v1/devices/{a_id}/leases"), None)
        .unwrap();
    assert!(a_now.as_array().unwrap().is_empty());
    let b_now = bc
        .call("leases", "GET", &format!("/v1/devices/{b_id}/leases"), None)
        .unwrap();
    assert_eq!(b_now.as_array().unwrap().len(), 3);
    let (s, _, msg) = refused(a.call(
        "lease",
        "POST",
        "/v1/leases",
        Some(&serde_json::json!({"max": 0})),
    ));
    assert_eq!(s, 400);
    assert!(msg.contains("max must be 1 to 1000"), "{msg}");
}

fn oversized_body_is_refused_unread(b: Backend) {
    let admin_key = key(1);
    let hub = TestHub::start(b, &admin_key);
    let addr = hub.url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    // A 1 GiB body is announced; a few bytes are sent; the answer must come without the rest.
    write!(
        s,
        "POST /v1/cases HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n{{\"id\":",
        1u64 << 30
    )
    .unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("too_large") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("too_large"), "{text}");
}

#[test]
fn openapi_document_is_checked_in() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let now = signoff_hub::openapi::document();
    if std::env::var_os("SIGNOFF_UPDATE_OPENAPI").is_some()
        || std::env::var_os("SIGNOFF_BLESS").is_some()
    {
        std::fs::write(&path, &now).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == now,
        "crates/signoff-hub/openapi.json is out of date with the code; regenerate it with \
         SIGNOFF_UPDATE_OPENAPI=1 cargo test -p signoff-hub --test api openapi"
    );
    for path in [
        "/v1/enrol",
        "/v1/cases",
        "/v1/leases",
        "/v1/devices/{device}/role",
    ] {
        assert!(now.contains(&format!("\"{path}\"")), "{path}");
    }
}
