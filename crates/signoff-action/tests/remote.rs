//! The OpenAI-compatible client against a real HTTP server on 127.0.0.1:
//! plain and streamed completions, a slow first byte, a stalled and a cut stream, 429 with
//! Retry-After, 5xx then success, retries exhausted, malformed JSON, HTML, cancellation,
//! the key kept out of errors, the delivery latency of streamed chunks, and the router's
//! binding and fallback.

mod remote_server;
mod support;

use remote_server::{completion, delta, json, start, stream, End, Reply};
use signoff_action::draft::{check, gazetteer_for, ClaimStatus, DraftRequest};
use signoff_action::prompt::render;
use signoff_action::remote::{
    ApiKey, Cancel, Completion, Message, RemoteClient, RemoteConfig, RemoteError,
};
use signoff_action::router::{draft_routed, Models};
use signoff_action::support::{SupportModel, SupportScorer};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::evidence;

fn cfg(url: &str) -> RemoteConfig {
    let mut c = RemoteConfig::new(url, "test-model");
    c.connect_timeout = Duration::from_secs(2);
    c.idle_timeout = Duration::from_millis(500);
    c.total_timeout = Duration::from_secs(10);
    c.max_attempts = 3;
    c.backoff_base = Duration::from_millis(20);
    c.backoff_max = Duration::from_millis(100);
    c
}

fn msgs() -> Vec<Message> {
    vec![Message {
        role: "user".into(),
        content: "Case text: is parking free?".into(),
    }]
}

/// Runs one call, collecting the streamed chunks.
fn call(c: RemoteConfig) -> (Result<Completion, RemoteError>, Vec<String>) {
    let client = RemoteClient::new(c).unwrap();
    let mut got = Vec::new();
    let r = client.complete_blocking(
        &msgs(),
        &mut |d: &str| got.push(d.to_string()),
        &Cancel::new(),
    );
    (r, got)
}

const MS: Duration = Duration::from_millis(1);

#[test]
fn plain_completion_sends_the_prompt_and_the_key_in_the_header_only() {
    let srv = start(vec![completion("Parking is free [1].")]);
    let mut c = cfg(&srv.base_url());
    c.stream = false;
    c.api_key = Some(ApiKey::new("sk-test-42"));
    let (r, got) = call(c);
    let r = r.unwrap();
    assert_eq!(r.text, "Parking is free [1].");
    assert_eq!(r.model, "test-model-2026");
    assert_eq!((r.attempts, got.len()), (1, 1));
    let seen = srv.requests();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].head.starts_with("POST /v1/chat/completions "),
        "{}",
        seen[0].head
    );
    assert!(seen[0]
        .head
        .to_ascii_lowercase()
        .contains("authorization: bearer sk-test-42"));
    let body: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["stream"], false);
    assert_eq!(
        body["messages"][0]["content"],
        "Case text: is parking free?"
    );
    assert!(!seen[0].body.contains("sk-test-42"));
}

#[test]
fn streaming_delivers_chunk_by_chunk() {
    let srv = start(vec![stream(
        &["Parking ", "is free", " [1]."],
        10 * MS,
        End::Done,
    )]);
    let (r, got) = call(cfg(&srv.base_url()));
    let r = r.unwrap();
    assert_eq!(got, ["Parking ", "is free", " [1]."]);
    assert_eq!(r.text, "Parking is free [1].");
    assert_eq!(r.chunks, 3);
    let body: serde_json::Value = serde_json::from_str(&srv.requests()[0].body).unwrap();
    assert_eq!(body["stream"], true);
}

#[test]
fn a_slow_first_byte_times_out_and_is_retried_within_the_attempts() {
    let slow = Reply::Body {
        status: 200,
        ctype: "application/json",
        headers: vec![],
        body: "{}".into(),
        delay: Duration::from_secs(3),
    };
    let srv = start(vec![slow.clone(), slow]);
    let mut c = cfg(&srv.base_url());
    c.idle_timeout = Duration::from_millis(200);
    c.max_attempts = 2;
    let t = Instant::now();
    let (r, _) = call(c);
    let e = r.unwrap_err();
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    match &e {
        RemoteError::GaveUp {
            attempts: 2, last, ..
        } => {
            assert!(
                matches!(
                    **last,
                    RemoteError::Timeout {
                        phase: "response",
                        ..
                    }
                ),
                "{e}"
            )
        }
        _ => panic!("{e}"),
    }
    assert!(e.to_string().contains("no response within 200 ms"), "{e}");
}

#[test]
fn a_stalled_stream_times_out_and_is_not_retried_after_text() {
    let srv = start(vec![Reply::Stream {
        events: vec![(MS, delta("Parking "))],
        end: End::Stall(Duration::from_secs(3)),
    }]);
    let mut c = cfg(&srv.base_url());
    c.idle_timeout = Duration::from_millis(200);
    let t = Instant::now();
    let (r, got) = call(c);
    let e = r.unwrap_err();
    assert!(t.elapsed() < Duration::from_millis(1500));
    assert!(matches!(e, RemoteError::Stalled { chunks: 1, .. }), "{e}");
    assert!(
        e.to_string()
            .contains("stalled after 1 chunk(s): nothing for 200 ms"),
        "{e}"
    );
    assert_eq!(got, ["Parking "]);
    assert_eq!(srv.requests().len(), 1);
}

#[test]
fn too_many_requests_waits_for_retry_after_then_succeeds() {
    let busy = Reply::Body {
        status: 429,
        ctype: "application/json",
        headers: vec![("retry-after", "1".into())],
        body: "{\"error\":{\"message\":\"slow down\"}}".into(),
        delay: Duration::ZERO,
    };
    let srv = start(vec![busy, completion("Parking is free [1].")]);
    let mut c = cfg(&srv.base_url());
    c.stream = false;
    let t = Instant::now();
    let (r, _) = call(c);
    let r = r.unwrap();
    assert_eq!(r.attempts, 2);
    // Retry-After: 1 is honoured (the jittered backoff alone would be ≤ 20 ms).
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(srv.requests().len(), 2);
}

#[test]
fn a_503_with_an_http_date_retry_after_waits_until_then() {
    let at =
        (chrono::Utc::now() + chrono::Duration::seconds(2)).format("%a, %d %b %Y %H:%M:%S GMT");
    let busy = Reply::Body {
        status: 503,
        ctype: "application/json",
        headers: vec![("retry-after", at.to_string())],
        body: "{}".into(),
        delay: Duration::ZERO,
    };
    let srv = start(vec![busy, stream(&["Parking is free [1]."], MS, End::Done)]);
    let t = Instant::now();
    let (r, _) = call(cfg(&srv.base_url()));
    assert_eq!(r.unwrap().attempts, 2);
    // The date has one-second resolution: at least one second away, at most about two.
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
}

#[test]
fn a_retry_after_beyond_the_deadline_gives_up_at_once() {
    let busy = Reply::Body {
        status: 429,
        ctype: "application/json",
        headers: vec![("retry-after", "60".into())],
        body: "{}".into(),
        delay: Duration::ZERO,
    };
    let srv = start(vec![busy]);
    let mut c = cfg(&srv.base_url());
    c.total_timeout = Duration::from_secs(2);
    let t = Instant::now();
    let e = call(c).0.unwrap_err();
    assert!(t.elapsed() < Duration::from_millis(500));
    assert!(e.to_string().contains("HTTP 429"), "{e}");
}

#[test]
fn server_errors_are_retried_until_success() {
    let srv = start(vec![
        json(500, "{\"error\":{\"message\":\"boom\"}}"),
        json(503, "{}"),
        stream(&["Parking is free [1]."], MS, End::Done),
    ]);
    let (r, _) = call(cfg(&srv.base_url()));
    assert_eq!(r.unwrap().attempts, 3);
    assert_eq!(srv.requests().len(), 3);
}

#[test]
fn retries_are_bounded_and_client_errors_are_not_retried() {
    let srv = start(vec![
        json(503, "{}"),
        json(502, "{}"),
        json(500, "{\"error\":{\"message\":\"still down\"}}"),
    ]);
    let e = call(cfg(&srv.base_url())).0.unwrap_err();
    assert!(matches!(e, RemoteError::GaveUp { attempts: 3, .. }), "{e}");
    assert!(e.to_string().contains("HTTP 500: still down"), "{e}");
    assert_eq!(srv.requests().len(), 3);

    let srv = start(vec![
        json(400, "{\"error\":{\"message\":\"bad model\"}}"),
        completion("x y z"),
    ]);
    let e = call(cfg(&srv.base_url())).0.unwrap_err();
    assert!(matches!(e, RemoteError::Status { status: 400, .. }), "{e}");
    assert_eq!(srv.requests().len(), 1);
}

#[test]
fn malformed_json_and_missing_content_are_clear_errors() {
    let srv = start(vec![json(200, "{\"choices\": [oops")]);
    let mut c = cfg(&srv.base_url());
    c.stream = false;
    let e = call(c.clone()).0.unwrap_err();
    assert!(
        e.to_string().contains("malformed reply: body is not JSON"),
        "{e}"
    );

    let srv = start(vec![json(200, "{\"choices\": []}")]);
    c.base_url = srv.base_url();
    let e = call(c).0.unwrap_err();
    assert!(
        e.to_string().contains("no choices[0].message.content"),
        "{e}"
    );

    let srv = start(vec![Reply::Stream {
        events: vec![(MS, delta("ok ")), (MS, "{not json".into())],
        end: End::Done,
    }]);
    let e = call(cfg(&srv.base_url())).0.unwrap_err();
    assert!(e.to_string().contains("stream event 2 is not JSON"), "{e}");
}

#[test]
fn an_html_page_is_named_as_such() {
    let page = |status| Reply::Body {
        status,
        ctype: "text/html",
        headers: vec![],
        body: "<!DOCTYPE html><html><body>Sign in</body></html>".into(),
        delay: Duration::ZERO,
    };
    let srv = start(vec![page(200)]);
    let e = call(cfg(&srv.base_url())).0.unwrap_err();
    assert!(e.to_string().contains("HTML page"), "{e}");
    assert_eq!(srv.requests().len(), 1);
    // A proxy's 502 page is retried like any 5xx.
    let srv = start(vec![page(502), completion("Parking is free [1].")]);
    let mut c = cfg(&srv.base_url());
    c.stream = false;
    assert_eq!(call(c).0.unwrap().attempts, 2);
}

#[test]
fn a_cut_stream_is_an_error_and_a_cut_before_text_is_retried() {
    let srv = start(vec![stream(&["Parking ", "is "], MS, End::Cut)]);
    let (r, got) = call(cfg(&srv.base_url()));
    let e = r.unwrap_err();
    assert!(matches!(e, RemoteError::Cut { chunks: 2, .. }), "{e}");
    assert_eq!(got.len(), 2);
    assert_eq!(srv.requests().len(), 1);

    let srv = start(vec![
        stream(&[], MS, End::Cut),
        stream(&["Parking is free [1]."], MS, End::Done),
    ]);
    let r = call(cfg(&srv.base_url())).0.unwrap();
    assert_eq!(r.attempts, 2);
}

#[test]
fn an_empty_reply_is_an_error() {
    let srv = start(vec![stream(&["", "  "], MS, End::Done)]);
    let e = call(cfg(&srv.base_url())).0.unwrap_err();
    assert!(matches!(e, RemoteError::Empty { .. }), "{e}");
}

#[test]
fn cancelling_mid_stream_stops_at_once() {
    let srv = start(vec![Reply::Stream {
        events: vec![
            (MS, delta("Parking ")),
            (Duration::from_secs(3), delta("is free")),
        ],
        end: End::Done,
    }]);
    let mut c = cfg(&srv.base_url());
    c.idle_timeout = Duration::from_secs(5);
    let client = RemoteClient::new(c).unwrap();
    let cancel = Cancel::new();
    let c2 = cancel.clone();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g2 = got.clone();
    let t = Instant::now();
    // Cancel from another thread as soon as the first chunk arrives.
    let r = client.complete_blocking(
        &msgs(),
        &mut move |d: &str| {
            g2.lock().unwrap().push(d.to_string());
            let c3 = c2.clone();
            std::thread::spawn(move || c3.cancel());
        },
        &cancel,
    );
    assert_eq!(r.unwrap_err(), RemoteError::Cancelled);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(*got.lock().unwrap(), ["Parking "]);
}

#[test]
fn the_api_key_never_reaches_an_error() {
    // A server that echoes the Authorization header back in its error body.
    let srv = start(vec![json(
        401,
        "{\"error\":{\"message\":\"invalid key Bearer sk-live-SECRET\"}}",
    )]);
    let mut c = cfg(&srv.base_url());
    c.api_key = Some(ApiKey::new("sk-live-SECRET"));
    let e = call(c).0.unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("sk-live-SECRET"), "{shown}");
    assert!(shown.contains("HTTP 401"), "{shown}");
}

#[test]
fn a_closed_port_is_a_connection_error_retried_then_given_up() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut c = cfg(&format!("http://127.0.0.1:{port}/v1"));
    c.max_attempts = 2;
    let e = call(c).0.unwrap_err();
    assert!(e.to_string().contains("cannot reach"), "{e}");
    assert!(matches!(e, RemoteError::GaveUp { attempts: 2, .. }), "{e}");
}

/// Time from a chunk being flushed by the server to the callback receiving it (target:
/// < 100 ms). Prints the figures.
#[test]
fn streamed_chunks_reach_the_callback_promptly() {
    let n = 40;
    let parts: Vec<String> = (0..n).map(|i| format!("w{i} ")).collect();
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    let srv = start(vec![stream(&refs, 5 * MS, End::Done)]);
    let client = RemoteClient::new(cfg(&srv.base_url())).unwrap();
    let mut arrived = Vec::new();
    client
        .complete_blocking(
            &msgs(),
            &mut |_d: &str| arrived.push(Instant::now()),
            &Cancel::new(),
        )
        .unwrap();
    let flushed = srv.flushed.lock().unwrap().clone();
    assert_eq!((arrived.len(), flushed.len()), (n, n));
    let mut lat: Vec<f64> = flushed
        .iter()
        .zip(&arrived)
        .map(|(f, a)| a.saturating_duration_since(*f).as_secs_f64() * 1000.0)
        .collect();
    lat.sort_by(f64::total_cmp);
    let (p50, p95, max) = (lat[n / 2], lat[n * 95 / 100], lat[n - 1]);
    println!("stream chunk flushed -> callback: p50 {p50:.3} ms, p95 {p95:.3} ms, max {max:.3} ms over {n} chunks");
    assert!(max < 100.0, "max {max} ms");
}

fn models(text: &str) -> Models {
    Models::parse(Path::new("models.toml"), text).unwrap()
}

#[test]
fn the_router_binds_markers_and_flags_passages_that_do_not_exist() {
    let srv = start(vec![stream(
        &[
            "Parking is free on site [1]. ",
            "Breakfast is served until 11am [5].",
        ],
        MS,
        End::Done,
    )]);
    let m = models(&format!(
        "[models.r]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"test-model\"\n[[routes]]\nmodel = \"r\"\n",
        srv.base_url()
    ));
    let ev = evidence();
    let prompt = render("p.v1", "Case: parking?", &Default::default()).unwrap();
    let req = DraftRequest {
        subject: "",
        body: "Is parking free?",
        evidence: &ev,
    };
    let chain = m.chain(None, None, None).unwrap();
    let mut chunks = 0;
    let r = draft_routed(
        &chain,
        &req,
        &prompt,
        &|_| Ok(None),
        &mut |_d: &str| chunks += 1,
        &Cancel::new(),
        None,
    )
    .unwrap();
    assert_eq!(
        (r.model_name.as_str(), r.model_version.as_str()),
        ("r", "test-model-2026")
    );
    assert!(r.skipped.is_empty());
    assert_eq!(chunks, 2);
    assert_eq!(r.bind.as_ref().unwrap().unknown_passages, [5]);
    assert_eq!(r.composed.citations.len(), 1);
    assert_eq!(r.composed.citations[0].chunk_id, "c1");
    let scorer = SupportScorer::new(SupportModel::default_model(), None, gazetteer_for(&ev, &[]));
    let claims = check(&r.composed.text, &r.composed.citations, &ev, &scorer).unwrap();
    let st: Vec<ClaimStatus> = claims.iter().map(|c| c.status).collect();
    assert_eq!(st, [ClaimStatus::Supported, ClaimStatus::BadCitation]);
    // The prompt is what the server received.
    let body: serde_json::Value = serde_json::from_str(&srv.requests()[0].body).unwrap();
    assert_eq!(body["messages"][0]["content"], "Case: parking?");
}

#[test]
fn the_router_falls_back_when_a_server_is_down_or_failing() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let failing = start(vec![json(500, "{}"), json(500, "{}")]);
    let m = models(&format!(
        "[models.down]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\nmodel = \"a\"\nmax_attempts = 1\n\
         [models.bad]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"b\"\nmax_attempts = 2\n\
         [models.keyed]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\nmodel = \"c\"\nkey = \"k\"\n\
         [[routes]]\nmodel = \"down\"\nfallbacks = [\"bad\", \"keyed\"]\n",
        failing.base_url()
    ));
    let ev = evidence();
    let prompt = render("p.v1", "x", &Default::default()).unwrap();
    let req = DraftRequest {
        subject: "",
        body: "Is parking free?",
        evidence: &ev,
    };
    let chain = m.chain(Some("any"), Some("low"), None).unwrap();
    let r = draft_routed(
        &chain,
        &req,
        &prompt,
        &|_| Ok(None),
        &mut |_d: &str| {},
        &Cancel::new(),
        None,
    )
    .unwrap();
    assert_eq!(r.model_name, "offline");
    assert_eq!(r.model_id, "signoff-extractive");
    let why: Vec<(&str, &str)> = r
        .skipped
        .iter()
        .map(|s| (s.model.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(why.len(), 3, "{why:?}");
    assert!(
        why[0].0 == "down" && why[0].1.contains("cannot reach"),
        "{why:?}"
    );
    assert!(
        why[1].0 == "bad" && why[1].1.contains("gave up after 2 attempt(s)"),
        "{why:?}"
    );
    assert!(
        why[2].0 == "keyed" && why[2].1.contains("no API key named \"k\""),
        "{why:?}"
    );
    assert!(r.route_note().starts_with("offline ran; down skipped: "));
    assert!(!r.composed.citations.is_empty());

    // No evidence: no remote call at all, the offline drafter says there is no grounding.
    let none = DraftRequest {
        subject: "",
        body: "?",
        evidence: &[],
    };
    let r = draft_routed(
        &chain,
        &none,
        &prompt,
        &|_| Ok(None),
        &mut |_d: &str| {},
        &Cancel::new(),
        None,
    )
    .unwrap();
    assert_eq!(r.composed.text, signoff_action::draft::NO_GROUNDING);
    assert!(r.skipped.iter().all(|s| s.reason.contains("no evidence")));

    // A cancel is not a fallback: the call ends with Cancelled.
    let cancel = Cancel::new();
    cancel.cancel();
    let e = draft_routed(
        &chain,
        &req,
        &prompt,
        &|_| Ok(None),
        &mut |_d: &str| {},
        &cancel,
        None,
    )
    .unwrap_err();
    assert!(e.to_string().contains("cancelled"), "{e}");
}
