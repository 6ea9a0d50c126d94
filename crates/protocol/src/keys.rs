//! Key types on the wire: Ed25519 verifying keys (stations, records, custodians) and
//! X25519 HPKE keys (custodians), written as hex.

use crate::ProtocolError;
use ed25519_dalek::VerifyingKey;
use hpke::{Deserializable, Kem as _, Serializable, kem::X25519HkdfSha256};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Parses an Ed25519 public key from 64 hex digits.
pub fn parse_verifying_key(field: &'static str, text: &str) -> Result<VerifyingKey, ProtocolError> {
    let bytes: [u8; 32] = hex::decode(text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            ProtocolError::malformed(field, "expected an Ed25519 public key as 64 hex digits")
        })?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|_| ProtocolError::malformed(field, "not a valid Ed25519 public key"))
}

/// Serde for an Ed25519 [`VerifyingKey`] as 64 hex digits.
pub mod verifying_key_hex {
    use super::*;

    /// Writes the key as hex.
    pub fn serialize<S: Serializer>(key: &VerifyingKey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(key.as_bytes()))
    }

    /// Reads a key from hex.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<VerifyingKey, D::Error> {
        let text = String::deserialize(d)?;
        parse_verifying_key("key", &text).map_err(serde::de::Error::custom)
    }
}

/// A custodian's HPKE public key (X25519), to which wallets seal its shares.
#[derive(Clone, PartialEq, Eq)]
pub struct HpkePublicKey(pub(crate) [u8; 32]);

impl std::fmt::Debug for HpkePublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HpkePublicKey({})", hex::encode(self.0))
    }
}

impl HpkePublicKey {
    /// Parses 64 hex digits.
    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        let bytes: [u8; 32] = hex::decode(text)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                ProtocolError::malformed(
                    "hpke key",
                    "expected an X25519 public key as 64 hex digits",
                )
            })?;
        Ok(Self(bytes))
    }

    /// The raw key.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub(crate) fn to_hpke(
        &self,
    ) -> Result<<X25519HkdfSha256 as hpke::Kem>::PublicKey, ProtocolError> {
        <X25519HkdfSha256 as hpke::Kem>::PublicKey::from_bytes(&self.0)
            .map_err(|_| ProtocolError::malformed("hpke key", "not an X25519 public key"))
    }
}

impl Serialize for HpkePublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for HpkePublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A custodian's HPKE private key. Wiped on drop; never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct HpkeSecretKey([u8; 32]);

impl std::fmt::Debug for HpkeSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HpkeSecretKey(..)")
    }
}

impl HpkeSecretKey {
    /// A fresh key pair from the operating system's generator.
    pub fn generate() -> (Self, HpkePublicKey) {
        let mut rng = rand::rng();
        let (secret, public) = X25519HkdfSha256::gen_keypair(&mut rng);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&secret.to_bytes());
        let mut public_bytes = [0u8; 32];
        public_bytes.copy_from_slice(&public.to_bytes());
        (Self(bytes), HpkePublicKey(public_bytes))
    }

    /// The key from its 32 bytes (as stored in the custodian's key file).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
            ProtocolError::malformed("hpke secret key", "expected exactly 32 bytes")
        })?;
        Ok(Self(bytes))
    }

    /// The raw key, for writing the key file (0600).
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Its public key.
    pub fn public_key(&self) -> Result<HpkePublicKey, ProtocolError> {
        let secret = self.to_hpke()?;
        let public = X25519HkdfSha256::sk_to_pk(&secret);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&public.to_bytes());
        Ok(HpkePublicKey(bytes))
    }

    pub(crate) fn to_hpke(
        &self,
    ) -> Result<<X25519HkdfSha256 as hpke::Kem>::PrivateKey, ProtocolError> {
        <X25519HkdfSha256 as hpke::Kem>::PrivateKey::from_bytes(&self.0)
            .map_err(|_| ProtocolError::malformed("hpke secret key", "not an X25519 private key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpke_keys_round_trip() {
        let (secret, public) = HpkeSecretKey::generate();
        assert_eq!(secret.public_key().unwrap(), public);
        let again = HpkeSecretKey::from_bytes(secret.expose_bytes()).unwrap();
        assert_eq!(again.public_key().unwrap(), public);
        let json = serde_json::to_string(&public).unwrap();
        assert_eq!(
            serde_json::from_str::<HpkePublicKey>(&json).unwrap(),
            public
        );
        assert_eq!(format!("{secret:?}"), "HpkeSecretKey(..)");
        assert!(HpkePublicKey::parse("00").is_err());
        assert!(HpkeSecretKey::from_bytes(&[0u8; 31]).is_err());
    }

    #[test]
    fn verifying_keys_parse_from_hex() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]).verifying_key();
        assert_eq!(
            parse_verifying_key("k", &hex::encode(key.as_bytes())).unwrap(),
            key
        );
        assert!(parse_verifying_key("k", "12").is_err());
    }
}
