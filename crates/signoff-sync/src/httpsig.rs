//! HTTP Message Signatures (RFC 9421) with Ed25519, the way a workstation signs every request
//! to a team hub and the hub checks it. One profile only, strict on both sides:
//!
//! - covered components, in this order: `"@method" "@path" "@query" "content-digest"`
//!   (the digest is RFC 9530 `sha-256=:…:` and is sent for every request, an empty body too);
//! - parameters `created` (Unix seconds), `nonce` (random, never reused), `keyid` (the device
//!   id, [`device_id`]) and `alg="ed25519"`;
//! - label `sig1` in both `Signature-Input` and `Signature`.
//!
//! The freshness window and the nonce store are the verifier's business (the hub keeps seen
//! nonces in its database so several hub processes agree); this module builds and checks the
//! signature base.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};
use signoff_audit::note::Signer;

/// The signature label used in both headers.
pub const LABEL: &str = "sig1";
/// The components every request covers, in order.
pub const COMPONENTS: [&str; 4] = ["@method", "@path", "@query", "content-digest"];
/// Header names.
pub const SIGNATURE_INPUT: &str = "signature-input";
/// Header carrying the signature itself.
pub const SIGNATURE: &str = "signature";
/// Header carrying the body digest (RFC 9530).
pub const CONTENT_DIGEST: &str = "content-digest";

/// Why a signature was refused; each says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    /// A header is missing.
    #[error("the request has no {0} header; every request to the hub must be signed (RFC 9421)")]
    Missing(&'static str),
    /// A header does not follow the profile.
    #[error("malformed {header} header: {why}")]
    Malformed {
        /// Which header.
        header: &'static str,
        /// What is wrong.
        why: String,
    },
    /// The body does not match its Content-Digest.
    #[error("the Content-Digest does not match the body")]
    Digest,
    /// The signature does not verify under the device's key.
    #[error("the signature does not verify under the key of device {0}")]
    Bad(String),
}

/// The hub's id for a device key: the first 8 bytes of SHA-256(public key), hex.
pub fn device_id(public_key: &[u8; 32]) -> String {
    hex::encode(&Sha256::digest(public_key)[..8])
}

/// The RFC 9530 `Content-Digest` value of `body` (`sha-256=:base64:`).
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", B64.encode(Sha256::digest(body)))
}

/// The three headers a signed request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `Content-Digest` value.
    pub content_digest: String,
    /// `Signature-Input` value.
    pub signature_input: String,
    /// `Signature` value.
    pub signature: String,
}

/// What a request looks like to the signature: method, path and query (without `?`).
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// The path, as sent.
    pub path: &'a str,
    /// The query string without `?`, if any.
    pub query: Option<&'a str>,
}

fn base(target: Target<'_>, digest: &str, params: &str) -> String {
    format!(
        "\"@method\": {}\n\"@path\": {}\n\"@query\": ?{}\n\"content-digest\": {}\n\"@signature-params\": {}",
        target.method,
        target.path,
        target.query.unwrap_or(""),
        digest,
        params
    )
}

/// Signs a request with the device key `signer` at Unix time `created` with a fresh `nonce`.
pub fn sign(
    target: Target<'_>,
    body: &[u8],
    created: i64,
    nonce: &str,
    signer: &dyn Signer,
) -> Result<SignedHeaders, SigError> {
    let keyid = device_id(&signer.public_key());
    let list = COMPONENTS
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(" ");
    let params =
        format!("({list});created={created};nonce=\"{nonce}\";keyid=\"{keyid}\";alg=\"ed25519\"");
    let digest = content_digest(body);
    let sig = signer
        .sign(base(target, &digest, &params).as_bytes())
        .map_err(|e| SigError::Bad(format!("{keyid} (signing failed: {e})")))?;
    Ok(SignedHeaders {
        content_digest: digest,
        signature_input: format!("{LABEL}={params}"),
        signature: format!("{LABEL}=:{}:", B64.encode(sig)),
    })
}

/// A parsed `Signature-Input` + `Signature` pair, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The device id the request claims.
    pub keyid: String,
    /// When it was signed (Unix seconds).
    pub created: i64,
    /// The request's nonce.
    pub nonce: String,
    params: String,
    signature: [u8; 64],
}

fn malformed(header: &'static str, why: impl Into<String>) -> SigError {
    SigError::Malformed {
        header,
        why: why.into(),
    }
}

/// Parses the two signature headers; anything outside the profile is refused.
pub fn parse(signature_input: &str, signature: &str) -> Result<Parsed, SigError> {
    let params = signature_input
        .trim()
        .strip_prefix(LABEL)
        .and_then(|s| s.strip_prefix('='))
        .ok_or_else(|| malformed("Signature-Input", format!("expected the label {LABEL}")))?;
    let rest = params
        .strip_prefix('(')
        .ok_or_else(|| malformed("Signature-Input", "expected a component list"))?;
    let (list, tail) = rest
        .split_once(')')
        .ok_or_else(|| malformed("Signature-Input", "unterminated component list"))?;
    let components: Vec<&str> = list.split(' ').filter(|s| !s.is_empty()).collect();
    let want: Vec<String> = COMPONENTS.iter().map(|c| format!("\"{c}\"")).collect();
    if components != want {
        return Err(malformed(
            "Signature-Input",
            format!("covered components must be {}", want.join(" ")),
        ));
    }
    let (mut created, mut nonce, mut keyid, mut alg) = (None, None, None, None);
    for p in tail.split(';').filter(|s| !s.is_empty()) {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| malformed("Signature-Input", format!("parameter {p:?}")))?;
        let quoted = || {
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .filter(|v| !v.contains(['"', '\\']))
                .map(str::to_string)
                .ok_or_else(|| malformed("Signature-Input", format!("{k} must be a quoted string")))
        };
        match k {
            "created" => {
                created = Some(v.parse::<i64>().map_err(|_| {
                    malformed(
                        "Signature-Input",
                        "created must be an integer (Unix seconds)",
                    )
                })?)
            }
            "nonce" => nonce = Some(quoted()?),
            "keyid" => keyid = Some(quoted()?),
            "alg" => alg = Some(quoted()?),
            other => {
                return Err(malformed(
                    "Signature-Input",
                    format!("unknown parameter {other}"),
                ))
            }
        }
    }
    if alg.as_deref() != Some("ed25519") {
        return Err(malformed("Signature-Input", "alg must be \"ed25519\""));
    }
    let nonce = nonce.ok_or_else(|| malformed("Signature-Input", "no nonce"))?;
    if nonce.len() < 16 || nonce.len() > 128 {
        return Err(malformed(
            "Signature-Input",
            "the nonce must be 16 to 128 characters",
        ));
    }
    let sig_b64 = signature
        .trim()
        .strip_prefix(LABEL)
        .and_then(|s| s.strip_prefix("=:"))
        .and_then(|s| s.strip_suffix(':'))
        .ok_or_else(|| malformed("Signature", format!("expected {LABEL}=:base64:")))?;
    let sig: [u8; 64] = B64
        .decode(sig_b64)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| malformed("Signature", "not a 64-byte Ed25519 signature in base64"))?;
    Ok(Parsed {
        keyid: keyid.ok_or_else(|| malformed("Signature-Input", "no keyid"))?,
        created: created.ok_or_else(|| malformed("Signature-Input", "no created time"))?,
        nonce,
        params: params.to_string(),
        signature: sig,
    })
}

/// Verifies a parsed signature over `target` and `body` under `public_key`, checking the
/// `Content-Digest` header against the body first. Freshness and nonce reuse are not checked
/// here.
pub fn verify(
    parsed: &Parsed,
    target: Target<'_>,
    content_digest_header: Option<&str>,
    body: &[u8],
    public_key: &[u8; 32],
) -> Result<(), SigError> {
    let digest = content_digest_header.ok_or(SigError::Missing("Content-Digest"))?;
    if digest.trim() != content_digest(body) {
        return Err(SigError::Digest);
    }
    let key =
        VerifyingKey::from_bytes(public_key).map_err(|_| SigError::Bad(parsed.keyid.clone()))?;
    key.verify(
        base(target, digest.trim(), &parsed.params).as_bytes(),
        &Signature::from_bytes(&parsed.signature),
    )
    .map_err(|_| SigError::Bad(parsed.keyid.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use signoff_audit::note::Ed25519Key;

    fn target() -> Target<'static> {
        Target {
            method: "POST",
            path: "/v1/cases",
            query: Some("x=1"),
        }
    }

    #[test]
    fn signs_and_verifies_and_refuses_any_change() {
        let key = Ed25519Key::from_seed([7; 32]);
        let h = sign(target(), b"{}", 1_700_000_000, "0123456789abcdef", &key).unwrap();
        assert!(h
            .signature_input
            .starts_with("sig1=(\"@method\" \"@path\" \"@query\" \"content-digest\");created=1700000000;nonce=\"0123456789abcdef\";keyid=\""));
        let p = parse(&h.signature_input, &h.signature).unwrap();
        assert_eq!(p.keyid, device_id(&key.public_key()));
        assert_eq!(p.created, 1_700_000_000);
        let pk = key.public_key();
        verify(&p, target(), Some(&h.content_digest), b"{}", &pk).unwrap();
        // A different body, method, path or query, or a different key, is refused.
        assert_eq!(
            verify(&p, target(), Some(&h.content_digest), b"{ }", &pk),
            Err(SigError::Digest)
        );
        let other = content_digest(b"{ }");
        assert!(matches!(
            verify(&p, target(), Some(&other), b"{ }", &pk),
            Err(SigError::Bad(_))
        ));
        for t in [
            Target {
                method: "GET",
                ..target()
            },
            Target {
                path: "/v1/devices",
                ..target()
            },
            Target {
                query: None,
                ..target()
            },
        ] {
            assert!(matches!(
                verify(&p, t, Some(&h.content_digest), b"{}", &pk),
                Err(SigError::Bad(_))
            ));
        }
        let stranger = Ed25519Key::from_seed([8; 32]).public_key();
        assert!(verify(&p, target(), Some(&h.content_digest), b"{}", &stranger).is_err());
        // A created time changed in the header no longer verifies.
        let forged = h.signature_input.replace("1700000000", "1700000999");
        let p2 = parse(&forged, &h.signature).unwrap();
        assert!(verify(&p2, target(), Some(&h.content_digest), b"{}", &pk).is_err());
    }

    #[test]
    fn parse_refuses_headers_outside_the_profile() {
        let key = Ed25519Key::from_seed([7; 32]);
        let h = sign(target(), b"", 5, "0123456789abcdef", &key).unwrap();
        let cases = [
            h.signature_input.replace("sig1=", "sig2="),
            h.signature_input.replace(" \"content-digest\"", ""),
            h.signature_input.replace(";nonce=\"0123456789abcdef\"", ""),
            h.signature_input
                .replace("\"ed25519\"", "\"rsa-pss-sha512\""),
            h.signature_input.replace("created=5", "created=soon"),
            h.signature_input.replace("0123456789abcdef", "short"),
            format!("{};expires=9", h.signature_input),
        ];
        for input in cases {
            assert!(
                matches!(parse(&input, &h.signature), Err(SigError::Malformed { .. })),
                "{input}"
            );
        }
        assert!(parse(&h.signature_input, "sig1=:AAAA:").is_err());
    }
}
