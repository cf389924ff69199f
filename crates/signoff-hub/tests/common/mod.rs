//! The hub test harness: a real hub server on 127.0.0.1 (its own tokio runtime on a thread)
//! over either backend, a test clock shared with the clients, and signed clients.

#![allow(dead_code)]

pub mod pg;

use signoff_audit::note::{Ed25519Key, Signer};
use signoff_core::{Clock, FixedClock};
use signoff_hub::{HubConfig, HubState};
use signoff_sync::hub::HubClient;
use std::sync::Arc;
use std::time::Duration;

/// Which database the hub runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the shared throwaway cluster.
    Postgres,
}

/// A running hub and what it runs on.
pub struct TestHub {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The `--db` URL.
    pub db: String,
    /// The clock the hub and the clients share.
    pub clock: Arc<FixedClock>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

/// The fixed start of every test's clock.
pub fn start_time() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-12-07T09:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc)
}

impl TestHub {
    /// Creates a database on `backend`, makes `admin` its first admin, and serves it.
    pub fn start(backend: Backend, admin: &Ed25519Key) -> TestHub {
        Self::start_with(backend, admin, HubConfig::default())
    }

    /// As [`TestHub::start`] with settings.
    pub fn start_with(backend: Backend, admin: &Ed25519Key, config: HubConfig) -> TestHub {
        let dir = tempfile::tempdir().unwrap();
        let db = match backend {
            Backend::Sqlite => format!("sqlite:{}", dir.path().join("hub.sqlite").display()),
            Backend::Postgres => pg::database(),
        };
        let clock = Arc::new(FixedClock::new(start_time()));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(signoff_hub::init(&db, admin, "admin", 0))
            .expect("hub init");
        drop(rt);
        Self::serve(db, clock, config, dir)
    }

    fn serve(
        db: String,
        clock: Arc<FixedClock>,
        config: HubConfig,
        dir: tempfile::TempDir,
    ) -> TestHub {
        let (url_tx, url_rx) = std::sync::mpsc::channel::<Result<String, String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (db2, clock2) = (db.clone(), clock.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let store = match signoff_hub::store::open(&db2).await {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = url_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let _ = url_tx.send(Ok(format!("http://{addr}")));
                let state = HubState::open(store, clock2, config).await.unwrap();
                signoff_hub::serve(listener, state, async {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
            });
        });
        let url = url_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("hub start-up timed out")
            .expect("hub start-up");
        TestHub {
            url,
            db,
            clock,
            stop: Some(stop_tx),
            thread: Some(thread),
            _dir: dir,
        }
    }

    /// A signed client for `key`.
    pub fn client(&self, key: &Ed25519Key) -> HubClient {
        let signer: Arc<dyn Signer> = Arc::new(Ed25519Key::from_seed(key.seed()));
        let clock: Arc<dyn Clock> = self.clock.clone();
        HubClient::new(&self.url, signer, clock).unwrap()
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A deterministic device key.
pub fn key(n: u8) -> Ed25519Key {
    Ed25519Key::from_seed([n; 32])
}

/// Enrols `key` and has `admin` approve it with `role`; returns its device id.
pub fn enrolled(hub: &TestHub, admin: &HubClient, key: &Ed25519Key, role: &str) -> String {
    let c = hub.client(key);
    let d = c.enrol("workstation").unwrap();
    let id = d["device"].as_str().unwrap().to_string();
    admin
        .call(
            "approve",
            "POST",
            &format!("/v1/devices/{id}/role"),
            Some(&serde_json::json!({ "role": role })),
        )
        .unwrap();
    id
}

impl TestHub {
    /// The shared clock's time, Unix seconds.
    pub fn clock_now(&self) -> i64 {
        self.clock.now().timestamp()
    }
}
