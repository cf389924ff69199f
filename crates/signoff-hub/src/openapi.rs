//! The hub API's OpenAPI document, generated from the handlers and bodies (utoipa). The
//! checked-in copy (`crates/signoff-hub/openapi.json`) is compared with it by a test.

use utoipa::OpenApi;

/// The hub API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Signoff team hub",
        description = "Every request is signed by the device's Ed25519 key with HTTP Message Signatures (RFC 9421): headers Content-Digest (RFC 9530, sha-256), Signature-Input `sig1=(\"@method\" \"@path\" \"@query\" \"content-digest\");created=UNIX;nonce=\"…\";keyid=\"DEVICE\";alg=\"ed25519\"` and Signature `sig1=:base64:`. A request signed more than 60 s from the hub's clock, or with a nonce seen before, is refused (401). `GET /v1/witness` is the one unsigned route."
    ),
    paths(
        crate::server::enrol,
        crate::server::me,
        crate::server::devices,
        crate::server::set_role,
        crate::server::device_leases,
        crate::server::post_cases,
        crate::server::lease,
        crate::server::push_log,
        crate::server::device_log,
        crate::server::conflicts,
        crate::server::resolve,
        crate::server::witness_key,
        crate::server::history,
        crate::server::verify_all,
    )
)]
pub struct ApiDoc;

/// The OpenAPI document as pretty JSON (what is checked in).
pub fn document() -> String {
    let mut s = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
