//! Signoff's team hub: a third host over the same core as the desktop app and the CLI.
//! Workstations enrol with their device key, every request is signed (RFC 9421), cases come in
//! by `POST /v1/cases` (validated by the store's import code) and go out under leases with
//! fencing tokens. Storage is one trait ([`store::HubStore`]) with a PostgreSQL backend for
//! teams and a SQLite one for a one-machine trial.

mod auth;
pub mod error;
pub mod model;
pub mod openapi;
pub mod push;
pub mod record;
pub mod server;
pub mod store;
pub mod witness;

pub use error::HubError;
pub use server::{router, serve, HubConfig, HubState};

use signoff_audit::note::Signer;

/// Creates or migrates the hub database at `db` and makes the device with `signer`'s key its
/// administrator (the first admin of a new hub). Returns the admin's record.
pub async fn init(
    db: &str,
    signer: &dyn Signer,
    name: &str,
    now_ms: i64,
) -> Result<model::Device, HubError> {
    let store = store::open(db).await?;
    let pk = signer.public_key();
    store
        .put_admin(&model::Device {
            device: signoff_sync::httpsig::device_id(&pk),
            public_key: hex::encode(pk),
            name: name.into(),
            role: model::Role::Admin,
            enrolled_at: store::rfc3339(now_ms),
        })
        .await
}
