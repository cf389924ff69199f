//! Who is asking: every request's RFC 9421 signature is checked against the device key the
//! hub holds, within a freshness window, with its nonce recorded in the database so a replay
//! is refused by every hub process sharing it.

use crate::model::{Device, Role};
use crate::server::HubState;
use crate::HubError;
use axum::http::{HeaderMap, Method, Uri};
use signoff_sync::httpsig::{self, Parsed, SigError, Target};

/// The signature headers, parsed.
pub(crate) fn parse(headers: &HeaderMap) -> Result<Parsed, HubError> {
    let get = |name: &'static str, shown: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or(SigError::Missing(shown))
    };
    Ok(httpsig::parse(
        get(httpsig::SIGNATURE_INPUT, "Signature-Input")?,
        get(httpsig::SIGNATURE, "Signature")?,
    )?)
}

/// Checks the signature under `public_key` (hex), its freshness and its nonce.
pub(crate) async fn check(
    state: &HubState,
    parsed: &Parsed,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    public_key: &str,
) -> Result<(), HubError> {
    let key: [u8; 32] = hex::decode(public_key)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| HubError::BadRequest("public_key must be 64 hex characters".into()))?;
    if httpsig::device_id(&key) != parsed.keyid {
        return Err(SigError::Bad(parsed.keyid.clone()).into());
    }
    httpsig::verify(
        parsed,
        Target {
            method: method.as_str(),
            path: uri.path(),
            query: uri.query(),
        },
        headers
            .get(httpsig::CONTENT_DIGEST)
            .and_then(|v| v.to_str().ok()),
        body,
        &key,
    )?;
    let now = state.clock.now().timestamp();
    let window = state.config.window_secs;
    if (parsed.created - now).abs() > window {
        return Err(HubError::Stale {
            created: parsed.created,
            now,
            window,
        });
    }
    if !state
        .store
        .use_nonce(
            &parsed.keyid,
            &parsed.nonce,
            parsed.created,
            now - 2 * window,
        )
        .await?
    {
        return Err(HubError::Replay(parsed.nonce.clone()));
    }
    Ok(())
}

/// Authenticates a request from an enrolled, approved device and returns it.
pub(crate) async fn device(
    state: &HubState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Device, HubError> {
    let parsed = parse(headers)?;
    let device = state
        .store
        .device(&parsed.keyid)
        .await?
        .ok_or_else(|| HubError::UnknownDevice(parsed.keyid.clone()))?;
    check(
        state,
        &parsed,
        method,
        uri,
        headers,
        body,
        &device.public_key,
    )
    .await?;
    match device.role {
        Role::Pending => Err(HubError::Pending(device.device)),
        Role::Revoked => Err(HubError::Revoked(device.device)),
        _ => Ok(device),
    }
}

/// Refuses a device that is not a lead or admin.
pub(crate) fn need_lead(device: &Device, what: &str) -> Result<(), HubError> {
    if device.role.is_lead() {
        Ok(())
    } else {
        Err(HubError::Forbidden {
            device: device.device.clone(),
            role: device.role.as_str().into(),
            what: what.into(),
            needs: "a lead or admin".into(),
        })
    }
}
