//! Consents: the person's signed permission for one service to have their record
//! checked 1:1, for a stated purpose, until an expiry.
//!
//! A consent is signed by the record key over `"masque-consent/v1\n"` followed by the
//! consent's JSON (fields in the order below). Its [`ConsentId`] is the SHA-256 of those
//! signed bytes; a revocation names it. A custodian refuses a 1:1 check for a service
//! unless the request carries a consent for that record and service that verifies, has
//! not expired and was not revoked.

use crate::{ProtocolError, keys::verifying_key_hex};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Longest service name or purpose accepted, in bytes.
pub const MAX_TEXT: usize = 256;

/// What the person agrees to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Consent {
    /// Format version (1).
    pub v: u32,
    /// The record's public key.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    #[serde(with = "verifying_key_hex")]
    pub record_key: VerifyingKey,
    /// The service allowed to ask, by its context id.
    pub service: String,
    /// Why, in the service's words.
    pub purpose: String,
    /// When the consent was given (Unix seconds).
    pub issued_at: u64,
    /// Last second at which it is valid (Unix seconds).
    pub not_after: u64,
}

/// A consent's id: SHA-256 of its signed bytes, 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentId(pub String);

/// A consent with the record key's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedConsent {
    /// The consent.
    pub consent: Consent,
    /// Ed25519 signature by `consent.record_key`, 128 hex digits.
    pub signature: String,
}

fn signed_bytes(consent: &Consent) -> Vec<u8> {
    let mut bytes = b"masque-consent/v1\n".to_vec();
    bytes.extend_from_slice(&serde_json::to_vec(consent).expect("a consent serialises"));
    bytes
}

impl Consent {
    /// Checks the fields: version, non-empty bounded texts, expiry after issue.
    pub fn check(&self) -> Result<(), ProtocolError> {
        if self.v != 1 {
            return Err(ProtocolError::malformed(
                "consent.v",
                "only version 1 is known",
            ));
        }
        for (field, text) in [
            ("consent.service", &self.service),
            ("consent.purpose", &self.purpose),
        ] {
            if text.trim().is_empty() || text.len() > MAX_TEXT || text.chars().any(char::is_control)
            {
                return Err(ProtocolError::malformed(
                    field,
                    format!("must be 1 to {MAX_TEXT} bytes of printable text"),
                ));
            }
        }
        if self.not_after <= self.issued_at {
            return Err(ProtocolError::malformed(
                "consent.not_after",
                "must be after issued_at",
            ));
        }
        Ok(())
    }
}

impl SignedConsent {
    /// Signs `consent` with the record key (which must be `consent.record_key`).
    pub fn sign(key: &SigningKey, consent: Consent) -> Result<Self, ProtocolError> {
        consent.check()?;
        if key.verifying_key() != consent.record_key {
            return Err(ProtocolError::malformed(
                "consent.record_key",
                "is not the key signing the consent",
            ));
        }
        let signature = key.sign(&signed_bytes(&consent));
        Ok(Self {
            consent,
            signature: hex::encode(signature.to_bytes()),
        })
    }

    /// Checks fields and signature.
    pub fn verify(&self) -> Result<ConsentId, ProtocolError> {
        self.consent.check()?;
        let bytes: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                ProtocolError::malformed("consent.signature", "expected 128 hex digits")
            })?;
        self.consent
            .record_key
            .verify_strict(&signed_bytes(&self.consent), &Signature::from_bytes(&bytes))
            .map_err(|_| ProtocolError::BadSignature {
                what: "the consent",
            })?;
        Ok(self.id())
    }

    /// The consent's id.
    pub fn id(&self) -> ConsentId {
        ConsentId(hex::encode(Sha256::digest(signed_bytes(&self.consent))))
    }

    /// Whether it is within its validity at `now` (Unix seconds).
    pub fn is_live(&self, now: u64) -> bool {
        self.consent.issued_at <= now + 300 && now <= self.consent.not_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent(key: &SigningKey) -> Consent {
        Consent {
            v: 1,
            record_key: key.verifying_key(),
            service: "aid-desk/north".into(),
            purpose: "re-issue".into(),
            issued_at: 1000,
            not_after: 2000,
        }
    }

    #[test]
    fn sign_verify_and_tamper() {
        let key = SigningKey::from_bytes(&[1u8; 32]);
        let signed = SignedConsent::sign(&key, consent(&key)).unwrap();
        let id = signed.verify().unwrap();
        assert_eq!(id, signed.id());
        assert!(signed.is_live(1500));
        assert!(!signed.is_live(2001));
        let mut other = signed.clone();
        other.consent.service = "another".into();
        assert!(matches!(
            other.verify(),
            Err(ProtocolError::BadSignature { .. })
        ));
        assert_ne!(other.id(), id);
        let json = serde_json::to_string(&signed).unwrap();
        assert_eq!(
            serde_json::from_str::<SignedConsent>(&json).unwrap(),
            signed
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let key = SigningKey::from_bytes(&[1u8; 32]);
        let mut c = consent(&key);
        c.not_after = 999;
        assert!(
            SignedConsent::sign(&key, c)
                .unwrap_err()
                .to_string()
                .contains("not_after")
        );
        let mut c = consent(&key);
        c.service = String::new();
        assert!(
            SignedConsent::sign(&key, c)
                .unwrap_err()
                .to_string()
                .contains("service")
        );
        let other = SigningKey::from_bytes(&[2u8; 32]);
        assert!(SignedConsent::sign(&other, consent(&key)).is_err());
    }
}
