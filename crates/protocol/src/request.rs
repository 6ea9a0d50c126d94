//! Signed requests.
//!
//! Every HTTP request to a custodian carries four headers:
//!
//! | header | value |
//! | --- | --- |
//! | `x-masque-key` | the signer's Ed25519 public key, 64 hex digits (a station key or a record key) |
//! | `x-masque-request-id` | the [`RequestId`], 32 hex digits |
//! | `x-masque-timestamp` | Unix seconds when the request was signed |
//! | `x-masque-signature` | Ed25519 signature, 128 hex digits, over [`signing_payload`] |
//!
//! The signed payload names the custodian the request is for, the method and path, the
//! request id, the timestamp and the SHA-256 of the body, so a request cannot be
//! altered, sent to another custodian, or sent again later. Whether the key may make the
//! request (a registered station, the record's key), whether the timestamp is within the
//! window ([`check_fresh`]) and whether the request id was seen before are the node's
//! checks.

use crate::{PartyId, ProtocolError, RequestId, custodian_name, keys::parse_verifying_key};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Header with the signer's public key.
pub const KEY_HEADER: &str = "x-masque-key";
/// Header with the request id.
pub const REQUEST_ID_HEADER: &str = "x-masque-request-id";
/// Header with the signing time.
pub const TIMESTAMP_HEADER: &str = "x-masque-timestamp";
/// Header with the signature.
pub const SIGNATURE_HEADER: &str = "x-masque-signature";

/// The bytes a request signature covers.
pub fn signing_payload(
    audience: PartyId,
    method: &str,
    path: &str,
    request_id: &RequestId,
    timestamp: u64,
    body: &[u8],
) -> Vec<u8> {
    format!(
        "masque-request/v1\n{}\n{}\n{}\n{}\n{}\n{}\n",
        custodian_name(audience),
        method.to_ascii_uppercase(),
        path,
        request_id,
        timestamp,
        hex::encode(Sha256::digest(body)),
    )
    .into_bytes()
}

/// The authentication of one request, as carried in its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestAuth {
    /// Who signed.
    pub key: VerifyingKey,
    /// The request id.
    pub request_id: RequestId,
    /// When it was signed (Unix seconds).
    pub timestamp: u64,
    /// The signature over [`signing_payload`].
    pub signature: Signature,
}

impl RequestAuth {
    /// Signs a request for `audience`.
    pub fn sign(
        key: &SigningKey,
        audience: PartyId,
        method: &str,
        path: &str,
        request_id: RequestId,
        timestamp: u64,
        body: &[u8],
    ) -> Self {
        let payload = signing_payload(audience, method, path, &request_id, timestamp, body);
        Self {
            key: key.verifying_key(),
            request_id,
            timestamp,
            signature: key.sign(&payload),
        }
    }

    /// Checks the signature for a request received by `audience` (strict Ed25519
    /// verification: no malleable or small-order signatures).
    pub fn verify(
        &self,
        audience: PartyId,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<(), ProtocolError> {
        let payload = signing_payload(
            audience,
            method,
            path,
            &self.request_id,
            self.timestamp,
            body,
        );
        self.key
            .verify_strict(&payload, &self.signature)
            .map_err(|_| ProtocolError::BadSignature {
                what: "the request",
            })
    }

    /// The four header (name, value) pairs.
    pub fn headers(&self) -> [(&'static str, String); 4] {
        [
            (KEY_HEADER, hex::encode(self.key.as_bytes())),
            (REQUEST_ID_HEADER, self.request_id.to_string()),
            (TIMESTAMP_HEADER, self.timestamp.to_string()),
            (SIGNATURE_HEADER, hex::encode(self.signature.to_bytes())),
        ]
    }

    /// Reads the four headers through `get` (a header lookup); a missing or malformed
    /// header is named in the error.
    pub fn from_headers<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, ProtocolError> {
        let header = |name: &'static str| {
            get(name).ok_or_else(|| {
                ProtocolError::malformed(
                    name,
                    "missing: every request must be signed (x-masque-key, x-masque-request-id, x-masque-timestamp, x-masque-signature)",
                )
            })
        };
        let key = parse_verifying_key(KEY_HEADER, header(KEY_HEADER)?)?;
        let request_id = RequestId::parse(header(REQUEST_ID_HEADER)?)
            .map_err(|_| ProtocolError::malformed(REQUEST_ID_HEADER, "expected 32 hex digits"))?;
        let timestamp = header(TIMESTAMP_HEADER)?
            .parse::<u64>()
            .map_err(|_| ProtocolError::malformed(TIMESTAMP_HEADER, "expected Unix seconds"))?;
        let signature: [u8; 64] = hex::decode(header(SIGNATURE_HEADER)?)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                ProtocolError::malformed(SIGNATURE_HEADER, "expected 128 hex digits (64 bytes)")
            })?;
        Ok(Self {
            key,
            request_id,
            timestamp,
            signature: Signature::from_bytes(&signature),
        })
    }
}

/// Refuses a timestamp more than `window` seconds away from `now`.
pub fn check_fresh(timestamp: u64, now: u64, window: u64) -> Result<(), ProtocolError> {
    let skew = timestamp.abs_diff(now);
    if skew > window {
        return Err(ProtocolError::Stale {
            timestamp,
            skew,
            window,
        });
    }
    Ok(())
}

/// The current Unix time in seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[3u8; 32])
    }

    #[test]
    fn a_signed_request_verifies_and_survives_its_headers() {
        let id = RequestId([9u8; 16]);
        let auth = RequestAuth::sign(&key(), PartyId::P1, "post", "/v1/enrol", id, 1000, b"body");
        auth.verify(PartyId::P1, "POST", "/v1/enrol", b"body")
            .unwrap();
        let headers: HashMap<&str, String> = auth.headers().into_iter().collect();
        let back = RequestAuth::from_headers(|n| headers.get(n).map(String::as_str)).unwrap();
        assert_eq!(back, auth);
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let id = RequestId([9u8; 16]);
        let auth = RequestAuth::sign(&key(), PartyId::P1, "POST", "/v1/enrol", id, 1000, b"body");
        assert!(
            auth.verify(PartyId::P0, "POST", "/v1/enrol", b"body")
                .is_err(),
            "other custodian"
        );
        assert!(
            auth.verify(PartyId::P1, "PUT", "/v1/enrol", b"body")
                .is_err(),
            "method"
        );
        assert!(
            auth.verify(PartyId::P1, "POST", "/v1/verify", b"body")
                .is_err(),
            "path"
        );
        assert!(
            auth.verify(PartyId::P1, "POST", "/v1/enrol", b"bodY")
                .is_err(),
            "body"
        );
        let mut later = auth.clone();
        later.timestamp += 1;
        assert!(
            later
                .verify(PartyId::P1, "POST", "/v1/enrol", b"body")
                .is_err(),
            "time"
        );
        let mut other_id = auth.clone();
        other_id.request_id = RequestId([8u8; 16]);
        assert!(
            other_id
                .verify(PartyId::P1, "POST", "/v1/enrol", b"body")
                .is_err(),
            "id"
        );
    }

    #[test]
    fn missing_and_malformed_headers_are_named() {
        let err = RequestAuth::from_headers(|_| None).unwrap_err();
        assert!(err.to_string().contains(KEY_HEADER), "{err}");
        let auth = RequestAuth::sign(&key(), PartyId::P0, "POST", "/", RequestId([1; 16]), 5, b"");
        let mut headers: HashMap<&str, String> = auth.headers().into_iter().collect();
        headers.insert(TIMESTAMP_HEADER, "soon".into());
        let err = RequestAuth::from_headers(|n| headers.get(n).map(String::as_str)).unwrap_err();
        assert!(err.to_string().contains(TIMESTAMP_HEADER), "{err}");
    }

    #[test]
    fn freshness_window() {
        check_fresh(100, 130, 30).unwrap();
        check_fresh(160, 130, 30).unwrap();
        let err = check_fresh(100, 131, 30).unwrap_err();
        assert!(err.to_string().contains("31 s"), "{err}");
    }

    proptest! {
        #[test]
        fn header_parsing_never_panics(
            k in ".{0,70}", r in ".{0,40}", t in ".{0,25}", s in ".{0,140}"
        ) {
            let headers: HashMap<&str, String> = [
                (KEY_HEADER, k), (REQUEST_ID_HEADER, r), (TIMESTAMP_HEADER, t), (SIGNATURE_HEADER, s),
            ].into_iter().collect();
            let _ = RequestAuth::from_headers(|n| headers.get(n).map(String::as_str));
        }
    }
}
