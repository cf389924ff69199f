//! End-to-end: the real Signoff window (WebKitGTK) driven through tauri-driver and
//! WebKitWebDriver under Xvfb. Run by the test script as
//! `xvfb-run cargo test --test e2e -- --ignored`; it needs a display, so it is ignored by a
//! plain `cargo test`. Before reviewing it checks the window's lockdown from inside the page
//! (commands outside the capability refused by Tauri's ACL, bad arguments refused naming the
//! field, eval, inline script and non-IPC fetches blocked by the CSP) and the About dialog's
//! licence list. After the reviewer's approval it opens the team lead's audit view,
//! filters it, verifies the whole log, exports it as CSV and opens the entry with its proof;
//! then undoes the approval, whose reply (posted to a test upstream) is withdrawn.

#[path = "../../crates/signoff-action/tests/remote_server/mod.rs"]
mod remote_server;
#[path = "../../crates/signoff-sync/tests/support/upstream.rs"]
mod upstream;

use fantoccini::{key::Key, Client, ClientBuilder, Locator};
use signoff_store::{Access, Workspace};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const CASES: &str = r#"{"id":"E2E-1","subject":"Card <b>declined</b> twice","body":"My card was declined <script>alert('x')</script> at two shops.","received_at":"2026-11-20T09:00:00Z","priority":2,"sla_due_at":"2026-11-21T09:00:00Z","label":"card_declined"}
{"id":"E2E-2","subject":"Where is my refund?","body":"I returned the parcel a week ago and see no refund yet.","received_at":"2026-11-20T10:00:00Z","priority":1,"sla_due_at":"2026-11-22T09:00:00Z","label":"refund"}
{"id":"E2E-3","subject":"Change my address","body":"Please update my postal address.","received_at":"2026-11-20T11:00:00Z","label":"address"}
"#;

/// tauri-driver in its own process group, killed with its WebKitWebDriver children on drop.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let pgid = self.0.id() as i32;
        let _ = Command::new("kill")
            .args(["-s", "TERM", "--", &format!("-{pgid}")])
            .status();
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{pgid}")])
            .status();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("test-artifacts dir");
    dir
}

async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = tokio::time::timeout(Duration::from_secs(10), probe()).await;
        if let Ok(Some(v)) = got {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text_of(c: &Client, css: &str) -> Option<String> {
    c.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

/// The audit table's rows as text. WebKitWebDriver's element text leaves out the cells of
/// these grid rows (it judges them clipped), so the DOM's own text is read instead.
async fn audit_rows(c: &Client) -> Option<Vec<String>> {
    let v = c
        .execute(
            "return Array.from(document.querySelectorAll('[data-testid=audit-row]'), r => Array.from(r.children, x => x.textContent).join(' | '))",
            vec![],
        )
        .await
        .ok()?;
    serde_json::from_value(v).ok()
}

async fn press(c: &Client, keys: &str) {
    let body = c.find(Locator::Css("body")).await.expect("body");
    let active = c.active_element().await.unwrap_or(body);
    active.send_keys(keys).await.expect("send keys");
}

/// Calls `window.__TAURI_INTERNALS__.invoke` from the page, as a compromised page could:
/// `{"ok": value}` or `{"err": error}` (a string, or the `{code, message}` object).
async fn invoke_raw(c: &Client, cmd: &str, args: serde_json::Value) -> serde_json::Value {
    c.execute_async(
        "const [cmd, args, done] = arguments;
         window.__TAURI_INTERNALS__.invoke(cmd, args).then(
           (v) => done({ ok: v === undefined ? null : v }),
           (e) => done({ err: e === undefined ? null : e }));",
        vec![cmd.into(), args],
    )
    .await
    .unwrap_or_else(|e| panic!("invoke {cmd} from the page: {e}"))
}

/// Runs a snippet in the page and returns its (JSON) result through a callback.
async fn page_async(c: &Client, script: &str) -> serde_json::Value {
    c.execute_async(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("page script: {e}"))
}

/// The window holds only what capabilities/default.json grants: Signoff's own commands and
/// listening to events. Core commands outside the capability and unknown commands are
/// refused by Tauri's ACL; granted commands refuse bad arguments naming the field; the CSP
/// blocks eval, inline script and every non-IPC connection.
async fn the_window_is_locked_down(c: &Client) {
    // A listener that must never see a connection from the page.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("probe listener");
    probe.set_nonblocking(true).expect("non-blocking");
    let remote_url = format!(
        "http://{}/v1/chat/completions",
        probe.local_addr().expect("addr")
    );
    let granted = invoke_raw(c, "session_info", serde_json::json!({})).await;
    assert!(
        granted.get("ok").is_some(),
        "a granted command works: {granted}"
    );
    for cmd in [
        "plugin:app|version",
        "plugin:event|emit",
        "plugin:window|set_title",
        "plugin:webview|print",
        "plugin:path|resolve_directory",
        "plugin:shell|execute",
        "no_such_command",
    ] {
        let r = invoke_raw(
            c,
            cmd,
            serde_json::json!({"event": "index-progress", "title": "x", "directory": 1}),
        )
        .await;
        let err = r
            .get("err")
            .unwrap_or_else(|| panic!("{cmd} must be refused, got {r}"));
        let text = err.to_string();
        assert!(
            text.contains("not allowed") || text.contains("not found"),
            "{cmd}: refused by the ACL, not by the command: {text}"
        );
        eprintln!(
            "e2e: {cmd} refused: {}",
            text.chars().take(120).collect::<String>()
        );
    }
    let bad = invoke_raw(
        c,
        "queue_page",
        serde_json::json!({"filter": {"status": "open", "band": null, "label": null, "text": null}, "after": null, "limit": 100000}),
    )
    .await;
    assert_eq!(bad["err"]["code"], "invalid", "{bad}");
    assert!(
        bad["err"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("limit:"),
        "{bad}"
    );
    let bad = invoke_raw(
        c,
        "audit_export",
        serde_json::json!({"filter": {}, "path": "/tmp/../etc/x.csv"}),
    )
    .await;
    assert!(
        bad["err"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("path:"),
        "{bad}"
    );

    let csp = page_async(
        c,
        &format!(
            "const done = arguments[0];
             let ev; try {{ ev = 'ran:' + eval('1 + 1'); }} catch (e) {{ ev = 'blocked:' + e.name; }}
             const s = document.createElement('script');
             s.textContent = 'window.__inlineRan = true;';
             document.body.appendChild(s);
             const inline = window.__inlineRan === true ? 'ran' : 'blocked';
             s.remove();
             fetch({remote_url:?}).then(() => 'fetched', (e) => 'blocked:' + e.name).then((f) =>
               done({{ eval: ev, inline, fetch: f }}));"
        ),
    )
    .await;
    assert_eq!(csp["eval"], "blocked:EvalError", "{csp}");
    assert_eq!(csp["inline"], "blocked", "{csp}");
    assert_eq!(csp["fetch"], "blocked:TypeError", "{csp}");
    assert!(
        matches!(probe.accept(), Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the CSP must stop a fetch to http://127.0.0.1 before it connects"
    );
}

fn start_driver(workspace: &Path, key_file: &Path, port: u16) -> Driver {
    use std::os::unix::process::CommandExt;
    let native = free_port();
    let child = Command::new("tauri-driver")
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        .env("SIGNOFF_WORKSPACE", workspace)
        .env("SIGNOFF_KEY_FILE", key_file)
        .process_group(0)
        .spawn()
        .expect("tauri-driver on PATH (cargo install tauri-driver --locked); see .ci/run");
    Driver(child)
}

async fn connect(port: u16) -> Client {
    let app = env!("CARGO_BIN_EXE_signoff-desktop");
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": app }),
    );
    let url = format!("http://127.0.0.1:{port}");
    wait_for("tauri-driver to listen", || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
    })
    .await;
    // tauri-driver accepts before its WebKitWebDriver is ready; give that a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
    builder.capabilities(caps);
    let attempt = builder.connect(&url);
    match tokio::time::timeout(Duration::from_secs(60), attempt).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => panic!("WebDriver session failed: {e}"),
        Err(_) => panic!("WebDriver session did not start within 60 s"),
    }
}

fn screenshot_root(path: &Path) {
    let ok = Command::new("import")
        .args(["-window", "root"])
        .arg(path)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "could not capture the Xvfb screen with ImageMagick's import"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a display, tauri-driver and WebKitWebDriver: run under xvfb-run with --ignored"]
async fn reviewer_opens_the_first_case_approves_it_by_keyboard_and_sees_the_next() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ws_dir = dir.path().join("ws");
    let key_file = dir.path().join("device.key");
    // The upstream approved replies are posted to, storing them by idempotency key.
    let up = upstream::Upstream::start();
    // A remote OpenAI-compatible model on 127.0.0.1 that refund cases are routed to: it streams
    // its first words, then holds the rest until the test opens the gate.
    let gate = std::sync::Arc::new(remote_server::Gate::default());
    let model = remote_server::start(vec![remote_server::Reply::Stream {
        events: vec![(
            Duration::from_millis(5),
            remote_server::delta("A refund is issued "),
        )],
        end: remote_server::End::Gated(
            gate.clone(),
            vec!["within 5 days of the returned parcel arriving [1].".into()],
        ),
    }]);
    {
        let mut ws = Workspace::open(&ws_dir, Access::Write).expect("workspace");
        let key =
            signoff_audit::keyfile::load_or_create(&key_file, signoff_audit::keyfile::os_seed)
                .expect("key file");
        ws.attach_key(std::sync::Arc::new(key)).expect("attach key");
        let file = dir.path().join("cases.jsonl");
        std::fs::write(&file, CASES).expect("cases file");
        let clock = signoff_core::FixedClock::new("2026-11-25T08:00:00Z".parse().expect("time"));
        let r = ws.import_file(&file, &clock, &mut |_| {}).expect("import");
        assert_eq!(r.new, 3);
        // An approved policy corpus, so the case view shows evidence; with 300 unrelated notes
        // too, so indexing it on first use is a run long enough for the progress bar.
        let mut policy_text = String::from(
            "# Refunds\n\nA refund is issued within 5 days of the returned parcel arriving.\n\n# Cards\n\nA declined card payment is retried once; tell the customer which shops were affected.\n",
        );
        for i in 1..=300 {
            policy_text.push_str(&format!(
                "\n# Garden note {i}\n\nPlot {i} of the staff garden grows tomatoes and is watered on weekday {}.\n",
                i % 7
            ));
        }
        let policy = signoff_store::corpus::ingest::ingest_bytes(
            "policy.md",
            "policy.md",
            policy_text.as_bytes(),
            signoff_store::corpus::ingest::Format::Markdown,
            "policy",
        )
        .expect("policy");
        let added = ws
            .corpus_add("policy", &[policy], Some(30), &clock)
            .expect("corpus add");
        ws.corpus_approve(&added.version, "Pat Policy", &clock)
            .expect("approve corpus");
        ws.set_upstream(Some(&up.base), "lead", &clock)
            .expect("upstream");
        // Long enough to undo the approval at the end of the walk-through.
        ws.set_setting("undo_grace_secs", "3600").expect("grace");
        // Intake: a rule and a small lexical model, so every case shows a band and its reason.
        std::fs::write(
            ws_dir.join(signoff_api::intake::RULES_FILE),
            "[[rule]]\nid = \"card-declined\"\nlabel = \"declined_card_payment\"\nband = \"high\"\nkeywords = [\"declined\"]\n",
        )
        .expect("rules file");
        std::fs::write(
            ws_dir.join("models.toml"),
            format!(
                "[models.remote]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"test-model\"\n\
                 idle_timeout_ms = 150000\ntotal_timeout_ms = 200000\n\n\
                 [[routes]]\nlabel = \"refund\"\nmodel = \"remote\"\n",
                model.base_url()
            ),
        )
        .expect("models.toml");
        let rows: String = [
            (
                "refund",
                ["refund", "returned parcel", "money back", "no refund yet"],
            ),
            (
                "address",
                ["address", "postal address", "moved house", "new address"],
            ),
            (
                "card_arrival",
                [
                    "card arrive",
                    "new card",
                    "card in the post",
                    "card delivery",
                ],
            ),
        ]
        .iter()
        .flat_map(|(label, words)| {
            (0..12).map(move |i| {
                format!(
                    "{{\"text\":\"{} please {i}\",\"label\":\"{label}\"}}\n",
                    words[i % 4]
                )
            })
        })
        .collect();
        let train = dir.path().join("train.jsonl");
        std::fs::write(&train, rows).expect("training rows");
        let no_encoder = dir.path().join("no-encoder");
        signoff_api::intake::train_file_into(
            &mut ws,
            &train,
            "lexical",
            &no_encoder,
            "lead",
            &clock,
        )
        .expect("train");
        let r = signoff_api::intake::classify(
            &mut ws,
            &signoff_store::intake::Scope::Unclassified,
            &no_encoder,
            &clock,
        )
        .expect("classify");
        assert_eq!((r.classified, r.by_rule), (3, 1), "{r:?}");
    }
    let port = free_port();
    let _driver = start_driver(&ws_dir, &key_file, port);
    eprintln!("e2e: tauri-driver on port {port}");
    let c = connect(port).await;
    eprintln!("e2e: session started");

    // First run asks who is reviewing.
    let name = wait_for("the first-run dialog", || async {
        c.find(Locator::Css("#reviewer-name")).await.ok()
    })
    .await;
    // Record every state of the indexing bar from now on (the corpus is embedded on first use,
    // in a second or two, so the bar comes and goes between two polls).
    c.execute(
        "const el = document.querySelector('[data-testid=index-progress]');
         window.__indexSeen = [];
         const note = () => { if (!el.hidden) window.__indexSeen.push(el.textContent); };
         note();
         new MutationObserver(note).observe(el, { attributes: true, childList: true, subtree: true, characterData: true });",
        vec![],
    )
    .await
    .expect("watch the indexing bar");
    name.send_keys("Erin Example").await.expect("type name");
    let id = c
        .find(Locator::Css("#reviewer-id"))
        .await
        .expect("id input");
    id.send_keys("erin").await.expect("type id");
    id.send_keys(&Key::Enter.to_string()).await.expect("submit");
    wait_for("the reviewer in the header", || async {
        text_of(&c, "[data-testid=reviewer]")
            .await
            .filter(|t| t.contains("erin"))
    })
    .await;

    // The queue shows the most urgent case first; Enter opens it.
    wait_for("queue rows", || async {
        c.find_all(Locator::Css(".queue-row[data-seq]"))
            .await
            .ok()
            .filter(|v| v.len() == 3)
    })
    .await;
    the_window_is_locked_down(&c).await;

    // `V` shows what Signoff ships and under which licences, models and npm packages included.
    press(&c, "V").await;
    // The DOM's own text: WebKitWebDriver leaves out rows scrolled out of the dialog.
    let about = wait_for("the About dialog", || async {
        c.execute(
            "const d = document.querySelector('[data-testid=about-dialog]'); return d ? d.textContent : null;",
            vec![],
        )
        .await
        .ok()?
        .as_str()
        .map(String::from)
    })
    .await;
    for must in [
        "SmolLM2-135M-Instruct",
        "all-MiniLM-L6-v2",
        "@tauri-apps/api",
        "tauri",
        "Apache-2.0",
    ] {
        assert!(about.contains(must), "About lists {must}");
    }
    press(&c, &Key::Escape.to_string()).await;
    wait_for("the About dialog to close", || async {
        c.find(Locator::Css("[data-testid=about-dialog]"))
            .await
            .err()
            .map(|_| ())
    })
    .await;
    press(&c, &Key::Enter.to_string()).await;
    wait_for("case E2E-1 to open", || async {
        text_of(&c, "[data-testid=case-id]")
            .await
            .filter(|t| t == "E2E-1")
    })
    .await;

    // Case text is text: the markup in it is shown literally, never parsed.
    let body = text_of(&c, "[data-testid=case-body]").await.expect("body");
    assert_eq!(
        body,
        "My card was declined <script>alert('x')</script> at two shops."
    );
    let parsed = c
        .find_all(Locator::Css(
            "[data-testid=case] script, [data-testid=case] b",
        ))
        .await
        .expect("query");
    assert!(parsed.is_empty(), "case text must never become elements");

    // `a` approves (once the checked draft is there, so the approval sends it) and advances
    // to the next case at once.
    wait_for("E2E-1's checked draft", || async {
        c.find(Locator::Css("[data-testid=grounded-draft]"))
            .await
            .ok()
    })
    .await;
    press(&c, "a").await;
    wait_for("the next case E2E-2 to show", || async {
        text_of(&c, "[data-testid=case-id]")
            .await
            .filter(|t| t == "E2E-2")
    })
    .await;
    wait_for("the open count to drop to 2", || async {
        text_of(&c, "[data-testid=count-open]")
            .await
            .filter(|t| t == "2")
    })
    .await;

    // E2E-2 (a refund) is routed to the remote model: its first words show as they stream,
    // not yet checked, with a cancel button; opening the gate lets it finish into the checked
    // draft with citations (below).
    wait_for(
        "the remote model's words streaming into the draft panel",
        || async {
            text_of(&c, "[data-testid=draft-stream-text]")
                .await
                .filter(|t| t.contains("A refund is issued"))
        },
    )
    .await;
    c.find(Locator::Css("[data-testid=cancel-draft]"))
        .await
        .expect("a cancel button while the model writes");
    // Stream latency end to end: the server flushed the first chunk → the webview showed it
    // (reqwest, the SSE parser, the Tauri channel and the DOM; both clocks are this machine's).
    let shown_ms: u128 = c
        .find(Locator::Css("[data-testid=draft-stream]"))
        .await
        .expect("the streaming draft")
        .attr("data-first-chunk-at")
        .await
        .expect("attribute")
        .expect("the time the first words were shown")
        .parse()
        .expect("epoch ms");
    let flushed_ms = model.flushed_ms.lock().expect("flush times")[0];
    println!(
        "first streamed chunk: flushed by the server -> shown in the draft panel: {} ms",
        shown_ms.saturating_sub(flushed_ms)
    );
    assert!(shown_ms + 5 >= flushed_ms, "shown before it was sent?");
    screenshot_root(&artifacts().join("e2e-draft-streaming.png"));
    gate.open();

    // WebKitWebDriver's own screenshot can hang or be stale; the X screen is the truth.
    screenshot_root(&artifacts().join("e2e-after-approve.png"));

    // The disposition is in the store, by the reviewer who pressed the key.
    let ws = Workspace::open(&ws_dir, Access::Read).expect("read workspace");
    let seq = ws.case_seq("E2E-1").expect("case");
    let history = ws.dispositions_of(seq).expect("dispositions");
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].kind, "approve");
    assert_eq!(history[0].reviewer_id, "erin");
    assert_eq!(history[0].reviewer_name, "Erin Example");
    assert_eq!(
        ws.case(seq).expect("case").status,
        signoff_core::CaseStatus::Approved
    );
    // The approval posted its reply upstream once, under the action's idempotency key.
    let key = wait_for("the reply to be posted upstream", || async {
        let ws = Workspace::open(&ws_dir, Access::Read).ok()?;
        let a = ws.actions(Some(seq)).ok()?.pop()?;
        (a.state == "sent").then_some(a.idempotency_key)
    })
    .await;
    assert_eq!(up.replies().keys().collect::<Vec<_>>(), [&key]);

    drop(ws);

    // The intake panel: the band chip and which path decided (the model, for E2E-2).
    let chip = wait_for("the intake chip of E2E-2", || async {
        text_of(&c, "[data-testid=intake-chip]")
            .await
            .filter(|t| ["high", "medium", "low"].iter().any(|b| t.starts_with(b)))
    })
    .await;
    let path = text_of(&c, "[data-testid=intake-path]")
        .await
        .expect("intake path");
    assert!(
        path.starts_with("Decided by model intake-"),
        "{chip} / {path}"
    );
    assert!(path.contains("thresholds v1"), "{path}");
    screenshot_root(&artifacts().join("e2e-intake.png"));

    // The calibration workbench (W): a preview with the reliability diagram and the what-if
    // replay, then a save that becomes threshold version 2 in the store and the audit log.
    press(&c, "W").await;
    wait_for("the workbench's replay line", || async {
        text_of(&c, "[data-testid=calibration-replay]")
            .await
            .filter(|t| t.starts_with("What if:"))
    })
    .await;
    c.find(Locator::Css("[data-testid=reliability]"))
        .await
        .expect("reliability diagram");
    // Let the dialog paint before the X screen is read.
    tokio::time::sleep(Duration::from_millis(700)).await;
    screenshot_root(&artifacts().join("e2e-calibration.png"));
    c.find(Locator::Css("[data-testid=calibration-save]"))
        .await
        .expect("save button")
        .click()
        .await
        .expect("click save");
    wait_for("the saved threshold version", || async {
        text_of(&c, "[data-testid=calibration-status]")
            .await
            .filter(|t| t.starts_with("Saved as threshold version 2"))
    })
    .await;
    press(&c, &Key::Escape.to_string()).await;
    {
        let ws = Workspace::open(&ws_dir, Access::Read).expect("read workspace");
        let v = ws.threshold_versions().expect("versions");
        assert_eq!((v.len(), v[0].set_by.as_str()), (2, "erin"));
    }

    // The next case's audit trail arrives with its proofs checked against the checkpoint.
    wait_for("the audit trail of E2E-2 with a proof mark", || async {
        text_of(&c, "[data-testid=timeline-item] .proof-mark")
            .await
            .filter(|t| t.starts_with("proof ✓"))
    })
    .await;

    // The evidence panel: the refund policy passage, matched words marked, its source shown.
    let marks = wait_for("evidence for E2E-2 with highlighted words", || async {
        let hit = text_of(&c, "[data-testid=evidence-hit] .evidence-text").await?;
        let marks = c
            .find_all(Locator::Css("[data-testid=evidence-hit] mark"))
            .await
            .ok()?;
        (hit.contains("refund is issued") && !marks.is_empty()).then_some(marks.len())
    })
    .await;
    assert!(marks >= 2, "{marks} marks");
    // With the embedding model installed, the corpus was embedded on first use and the top
    // bar showed it.
    if signoff_api::intake::embedder(&signoff_api::intake::model_dir_from_env()).is_ok() {
        let seen = c
            .execute("return window.__indexSeen", vec![])
            .await
            .expect("read what the indexing bar showed");
        let seen: Vec<String> = serde_json::from_value(seen).expect("strings");
        println!("indexing bar showed: {seen:?}");
        assert!(
            seen.iter()
                .any(|t| t.starts_with("Indexing the policy corpus:") && t.ends_with("passages")),
            "{seen:?}"
        );
    }
    let meta = text_of(&c, "[data-testid=evidence-hit] .evidence-meta")
        .await
        .expect("evidence meta");
    assert!(meta.starts_with("policy · policy.md · version "), "{meta}");
    screenshot_root(&artifacts().join("e2e-evidence.png"));

    // The grounded draft: claims with citation markers; a marker opens the frozen passage with
    // the cited span marked, and the evidence panel marks the passage as cited.
    wait_for(
        "a grounded draft for E2E-2 with citation markers",
        || async {
            let n = c
                .find_all(Locator::Css(
                    "[data-testid=grounded-draft] [data-testid=cite]",
                ))
                .await
                .ok()?
                .len();
            (n > 0).then_some(())
        },
    )
    .await;
    c.find(Locator::Css(
        "[data-testid=grounded-draft] [data-testid=cite]",
    ))
    .await
    .expect("a citation marker")
    .click()
    .await
    .expect("click the marker");
    let cited = wait_for("the cited passage with its span marked", || async {
        let view = text_of(&c, "[data-testid=cite-view] .cite-text").await?;
        let mark = text_of(&c, "[data-testid=cite-view] .cite-text mark").await?;
        (!mark.is_empty()).then_some((view, mark))
    })
    .await;
    assert!(cited.0.contains(&cited.1), "{cited:?}");
    wait_for("the evidence panel marking the cited passage", || async {
        text_of(
            &c,
            "[data-testid=evidence-hit].cited [data-testid=evidence-cited]",
        )
        .await
        .filter(|t| t == "cited by the draft")
    })
    .await;
    screenshot_root(&artifacts().join("e2e-draft.png"));
    let summary = text_of(&c, "[data-testid=grounded-draft] .evidence-summary")
        .await
        .expect("draft summary");
    assert!(summary.contains("test-model test-model-2026"), "{summary}");
    let asked = model.requests();
    assert_eq!(asked.len(), 1, "one remote call for the refund case");
    assert!(
        asked[0].body.contains("no refund yet"),
        "the prompt carries the case text"
    );
    {
        let ws = Workspace::open(&ws_dir, Access::Read).expect("read workspace");
        let n: i64 = ws
            .conn()
            .query_row("SELECT count(*) FROM retrievals", [], |r| r.get(0))
            .expect("retrievals");
        assert!(n >= 2, "each opened case records a retrieval ({n})");
        let drafts: i64 = ws
            .conn()
            .query_row("SELECT count(*) FROM drafts", [], |r| r.get(0))
            .expect("drafts");
        assert!(
            drafts >= 1,
            "the opened case was drafted and the draft stored"
        );
    }

    // The team lead's audit view: L opens it, the approval is a row in it.
    press(&c, "L").await;
    wait_for("the approval of E2E-1 in the audit table", || async {
        audit_rows(&c)
            .await?
            .iter()
            .any(|t| t.contains("E2E-1") && t.contains("Approved") && t.contains("erin"))
            .then_some(())
    })
    .await;

    // Filtering by disposition keeps the approval and drops the import.
    c.find(Locator::Css(
        "[data-testid=audit-disposition] option[value=approve]",
    ))
    .await
    .expect("disposition option")
    .click()
    .await
    .expect("pick approve");
    wait_for("only the approval to remain", || async {
        let rows = audit_rows(&c).await?;
        (rows.len() == 1 && rows[0].contains("E2E-1")).then_some(())
    })
    .await;

    // Verify the whole log: the progress bar runs and the result says it passed.
    c.find(Locator::Css("[data-testid=audit-verify]"))
        .await
        .expect("verify button")
        .click()
        .await
        .expect("click verify");
    let verdict = wait_for("the verification result", || async {
        text_of(&c, "[data-testid=verify-result]")
            .await
            .filter(|t| t.starts_with('✓') || t.starts_with('✗'))
    })
    .await;
    assert!(verdict.starts_with("✓ Log verified"), "{verdict}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    screenshot_root(&artifacts().join("e2e-audit-view.png"));

    // `c` exports the filtered entries as CSV to the path typed in the dialog.
    press(&c, "c").await;
    let path_input = wait_for("the export dialog", || async {
        c.find(Locator::Css("[data-testid=export-path]")).await.ok()
    })
    .await;
    let csv = dir.path().join("audit.csv");
    path_input.clear().await.expect("clear the suggested path");
    path_input
        .send_keys(&format!("{}{}", csv.display(), Key::Enter))
        .await
        .expect("type the path");
    wait_for("the export to finish", || async {
        text_of(&c, "[data-testid=export-status]")
            .await
            .filter(|t| t.starts_with("Wrote 1 entry"))
    })
    .await;
    let text = std::fs::read_to_string(&csv).expect("the exported file");
    assert!(
        text.starts_with("index,at,kind,actor,case_id,disposition"),
        "{text}"
    );
    assert!(
        text.contains("E2E-1") && !text.contains("declined"),
        "{text}"
    );
    press(&c, &Key::Escape.to_string()).await;
    wait_for("the export dialog to close", || async {
        c.find(Locator::Css("[data-testid=export-dialog]"))
            .await
            .is_err()
            .then_some(())
    })
    .await;

    // Opening the entry shows its canonical leaf, proof and checkpoint.
    c.find(Locator::Css("[data-testid=audit-row]"))
        .await
        .expect("the approval row")
        .click()
        .await
        .expect("open the entry");
    let proof = wait_for("the entry dialog", || async {
        text_of(&c, "[data-testid=entry-proof]").await
    })
    .await;
    assert!(proof.starts_with("Proof ✓"), "{proof}");
    let leaf = text_of(&c, "[data-testid=entry-leaf]").await.expect("leaf");
    assert!(
        leaf.contains("\"disposition\":\"approve\"") && leaf.contains("\"actor\":\"erin\""),
        "{leaf}"
    );
    assert!(
        !leaf.contains("declined"),
        "the log holds no case text: {leaf}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    screenshot_root(&artifacts().join("e2e-audit-entry.png"));

    // Esc closes the dialog, a second Esc returns to the queue.
    press(&c, &Key::Escape.to_string()).await;
    wait_for("the dialog to close", || async {
        c.find(Locator::Css("[data-testid=entry-dialog]"))
            .await
            .is_err()
            .then_some(())
    })
    .await;
    press(&c, &Key::Escape.to_string()).await;
    wait_for("the queue to show again", || async {
        let audit_hidden = c
            .find(Locator::Css("[data-testid=audit-view]"))
            .await
            .ok()?
            .attr("hidden")
            .await
            .ok()?
            .is_some();
        let queue = c
            .find(Locator::Css("[data-testid=queue]"))
            .await
            .ok()?
            .is_displayed()
            .await
            .ok()?;
        (audit_hidden && queue).then_some(())
    })
    .await;

    // `u` undoes the approval: E2E-1 reopens, its reply is withdrawn upstream (DELETE by
    // key) and the case view's outbound-actions panel says so.
    press(&c, "u").await;
    wait_for("E2E-1 to reopen", || async {
        text_of(&c, "[data-testid=case-id]")
            .await
            .filter(|t| t == "E2E-1")
    })
    .await;
    let state = wait_for("the action panel to show the reply withdrawn", || async {
        text_of(&c, "[data-testid=action-state]")
            .await
            .filter(|t| t.starts_with("Withdrawn"))
    })
    .await;
    assert!(state.contains("HTTP 204"), "{state}");
    assert!(up.replies().is_empty(), "the reply was removed upstream");
    // Bring the panel into view and let WebKit paint it before the X screen is captured.
    c.execute(
        "document.querySelector('[data-testid=actions]').scrollIntoView({block: 'center'})",
        vec![],
    )
    .await
    .expect("scroll to the actions");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    screenshot_root(&artifacts().join("e2e-actions.png"));

    // `e` edits the reopened E2E-1's reply; a sentence the reviewer adds that cites no passage
    // is flagged by the same claim check the draft passed, and goes out only with a rationale.
    wait_for("E2E-1's checked draft again", || async {
        c.find(Locator::Css("[data-testid=grounded-draft]"))
            .await
            .ok()
    })
    .await;
    press(&c, "e").await;
    let editor = wait_for("the edit dialog", || async {
        c.find(Locator::Css("[data-testid=edit-text]")).await.ok()
    })
    .await;
    let draft = {
        let ws = Workspace::open(&ws_dir, Access::Read).expect("read workspace");
        let seq = ws.case_seq("E2E-1").expect("case");
        ws.case(seq).expect("case").draft.expect("a draft")
    };
    editor.clear().await.expect("clear the editor");
    editor
        .send_keys(&format!("{draft} We will also refund the postage."))
        .await
        .expect("type the reply with an added sentence");
    c.find(Locator::Css("[data-testid=edit-continue]"))
        .await
        .expect("continue button")
        .click()
        .await
        .expect("continue");
    let flagged = wait_for("the flagged sentence of the edit", || async {
        text_of(&c, "[data-testid=flagged-sentence] blockquote").await
    })
    .await;
    assert!(flagged.contains("refund the postage"), "{flagged}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    screenshot_root(&artifacts().join("e2e-edit-flagged.png"));
    c.find(Locator::Css("[data-testid=flagged-send]"))
        .await
        .expect("send as written")
        .click()
        .await
        .expect("send as written");
    let rationale = wait_for("the reason dialog asking for a rationale", || async {
        c.find(Locator::Css("[data-testid=rationale]")).await.ok()
    })
    .await;
    press(&c, "1").await;
    rationale
        .send_keys("Postage refunds are agreed for this customer by the team lead.")
        .await
        .expect("type the rationale");
    c.find(Locator::Css("[data-testid=reason-confirm]"))
        .await
        .expect("confirm button")
        .click()
        .await
        .expect("confirm");
    let check = wait_for("the edit to be recorded with its re-check", || async {
        let ws = Workspace::open(&ws_dir, Access::Read).ok()?;
        let seq = ws.case_seq("E2E-1").ok()?;
        let last = ws.dispositions_of(seq).ok()?.pop()?;
        (last.kind == "edit").then_some(())?;
        let leaf: Vec<u8> = ws
            .conn()
            .query_row(
                "SELECT leaf FROM audit_entries WHERE kind = 'disposition' ORDER BY idx DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&leaf).ok()?;
        Some(v["payload"]["final_check"].clone())
    })
    .await;
    assert_eq!(check["rechecked"], true, "{check}");
    assert_eq!(check["flagged"][0]["status"], "uncited", "{check}");
    assert_eq!(check["flagged_accepted_in_rationale"], true, "{check}");
    {
        let ws = Workspace::open(&ws_dir, Access::Read).expect("read workspace");
        ws.audit_verify(None, &mut |_, _| {})
            .expect("the log verifies");
    }

    let _ = tokio::time::timeout(Duration::from_secs(10), c.close()).await;
}
