//! Ed25519 keys for signed notes: key names, key IDs, verifier keys (`vkey`) and secret
//! key strings, exactly as C2SP `signed-note` and `tlog-cosignature` define them.
//!
//! * key ID = `SHA-256(name || 0x0A || type || public key)[:4]`, type `0x01` for note
//!   signatures and `0x04` for `cosignature/v1` witness cosignatures;
//! * vkey = `name+hex(key ID)+base64(type || public key)`;
//! * secret key = `PRIVATE+KEY+name+hex(key ID)+base64(0x01 || 32-byte seed)`, the format
//!   of Go's `golang.org/x/mod/sumdb/note`, so keys move between tools.
//!
//! Secret seeds are zeroized on drop and never appear in `Debug` output or errors.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

/// Signature type byte of Ed25519 note signatures.
pub const TYPE_ED25519: u8 = 0x01;
/// Signature type byte of timestamped Ed25519 checkpoint cosignatures (`cosignature/v1`).
pub const TYPE_COSIGNATURE_V1: u8 = 0x04;

/// Malformed key material or key strings.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The name is empty or contains a space or `+`.
    #[error("invalid key name {0:?}: it must be non-empty, without spaces or '+'")]
    InvalidName(String),
    /// The vkey or secret key string does not have the expected `+`-separated parts.
    #[error("malformed key string: {0}")]
    Malformed(&'static str),
    /// The key ID in the string does not match the one computed from name and key.
    #[error("key ID in the key string does not match its name and key")]
    KeyIdMismatch,
    /// The type byte names an algorithm this crate does not use.
    #[error("unsupported signature type 0x{0:02x} (expected 0x01 Ed25519 or 0x04 cosignature/v1)")]
    UnsupportedType(u8),
    /// The public key bytes are not a valid Ed25519 point.
    #[error("invalid Ed25519 public key")]
    InvalidPublicKey,
}

/// A validated key name: non-empty, no Unicode whitespace, no `+`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyName(String);

impl KeyName {
    /// Validates a key name.
    pub fn new(name: &str) -> Result<KeyName, KeyError> {
        if is_valid_name(name) {
            Ok(KeyName(name.to_owned()))
        } else {
            Err(KeyError::InvalidName(name.to_owned()))
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// True for a name a signature line may carry (spec: non-empty, no Unicode spaces, no `+`).
/// Control characters are excluded too, as the note format forbids them anywhere.
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

/// The 32-bit key ID that prefixes every signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub u32);

impl KeyId {
    /// `SHA-256(name || "\n" || type || public key)[:4]`, big-endian.
    pub fn compute(name: &KeyName, signature_type: u8, public_key: &[u8]) -> KeyId {
        let mut h = Sha256::new();
        h.update(name.as_str().as_bytes());
        h.update([b'\n', signature_type]);
        h.update(public_key);
        let d = h.finalize();
        KeyId(u32::from_be_bytes([d[0], d[1], d[2], d[3]]))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({:08x})", self.0)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

/// A public Ed25519 key with its name and signature type: what a `vkey` string encodes.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    name: KeyName,
    signature_type: u8,
    key: VerifyingKey,
    id: KeyId,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl PublicKey {
    /// A named key of the given type (`TYPE_ED25519` or `TYPE_COSIGNATURE_V1`).
    pub fn new(
        name: KeyName,
        signature_type: u8,
        key: VerifyingKey,
    ) -> Result<PublicKey, KeyError> {
        if signature_type != TYPE_ED25519 && signature_type != TYPE_COSIGNATURE_V1 {
            return Err(KeyError::UnsupportedType(signature_type));
        }
        let id = KeyId::compute(&name, signature_type, key.as_bytes());
        Ok(PublicKey {
            name,
            signature_type,
            key,
            id,
        })
    }

    /// Parses `name+hex(key ID)+base64(type || key)`, checking the ID against the key.
    pub fn from_vkey(vkey: &str) -> Result<PublicKey, KeyError> {
        // The base64 key data may itself contain '+': split off name and ID only.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(KeyError::Malformed("a vkey is name+keyid+base64key"));
        };
        let name = KeyName::new(name)?;
        let id = parse_key_id(id)?;
        let data = STANDARD
            .decode(data)
            .map_err(|_| KeyError::Malformed("key data is not base64"))?;
        let Some((&signature_type, key)) = data.split_first() else {
            return Err(KeyError::Malformed("empty key data"));
        };
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| KeyError::Malformed("Ed25519 public key must be 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| KeyError::InvalidPublicKey)?;
        let parsed = PublicKey::new(name, signature_type, key)?;
        if parsed.id != id {
            return Err(KeyError::KeyIdMismatch);
        }
        Ok(parsed)
    }

    /// The `vkey` encoding.
    pub fn to_vkey(&self) -> String {
        let mut data = vec![self.signature_type];
        data.extend_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, self.id, STANDARD.encode(data))
    }

    /// The key's name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key ID signatures by this key carry.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The signature type byte.
    pub fn signature_type(&self) -> u8 {
        self.signature_type
    }

    /// The raw Ed25519 key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The same key used for the other signature type (note signature ↔ cosignature).
    pub fn with_type(&self, signature_type: u8) -> Result<PublicKey, KeyError> {
        PublicKey::new(self.name.clone(), signature_type, self.key)
    }
}

fn parse_key_id(hex: &str) -> Result<KeyId, KeyError> {
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KeyError::Malformed("key ID must be 8 hex digits"));
    }
    u32::from_str_radix(hex, 16)
        .map(KeyId)
        .map_err(|_| KeyError::Malformed("key ID must be 8 hex digits"))
}

/// A named Ed25519 secret key. Signs notes (type `0x01`) or cosignatures (type `0x04`)
/// through [`crate::note::Ed25519Signer`] and [`crate::cosignature::CosignatureSigner`].
/// The seed is zeroized on drop; `Debug` shows only the name and key ID.
pub struct SecretKey {
    name: KeyName,
    key: SigningKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SecretKey({} {:?})",
            self.name,
            KeyId::compute(
                &self.name,
                TYPE_ED25519,
                self.key.verifying_key().as_bytes()
            )
        )
    }
}

impl SecretKey {
    /// A fresh key from the operating system's random number generator.
    pub fn generate(name: KeyName) -> SecretKey {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::fill(&mut seed[..]);
        SecretKey::from_seed(name, &seed)
    }

    /// The key for a 32-byte RFC 8032 seed.
    pub fn from_seed(name: KeyName, seed: &[u8; 32]) -> SecretKey {
        SecretKey {
            name,
            key: SigningKey::from_bytes(seed),
        }
    }

    /// Parses Go's `PRIVATE+KEY+name+hex(id)+base64(0x01 || seed)` format.
    pub fn from_skey(skey: &str) -> Result<SecretKey, KeyError> {
        let rest = skey
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(KeyError::Malformed("a secret key starts with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(KeyError::Malformed(
                "a secret key is PRIVATE+KEY+name+keyid+base64key",
            ));
        };
        let name = KeyName::new(name)?;
        let id = parse_key_id(id)?;
        let mut data = Zeroizing::new(
            STANDARD
                .decode(data)
                .map_err(|_| KeyError::Malformed("key data is not base64"))?,
        );
        if data.len() != 33 {
            return Err(KeyError::Malformed(
                "Ed25519 secret key data must be 33 bytes",
            ));
        }
        if data[0] != TYPE_ED25519 {
            return Err(KeyError::UnsupportedType(data[0]));
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&data[1..]);
        data.zeroize();
        let key = SecretKey::from_seed(name, &seed);
        if key.public_key(TYPE_ED25519).id() != id {
            return Err(KeyError::KeyIdMismatch);
        }
        Ok(key)
    }

    /// The secret key string (Go `note` format). The caller must keep it secret; it is
    /// returned in a zeroizing buffer.
    pub fn to_skey(&self) -> Zeroizing<String> {
        let mut data = Zeroizing::new(vec![TYPE_ED25519]);
        data.extend_from_slice(self.key.as_bytes());
        Zeroizing::new(format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            self.public_key(TYPE_ED25519).id(),
            STANDARD.encode(&data[..])
        ))
    }

    /// The key's name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The public half, for signatures of the given type.
    ///
    /// # Panics
    /// Never for the two type constants of this module.
    pub fn public_key(&self, signature_type: u8) -> PublicKey {
        PublicKey::new(self.name.clone(), signature_type, self.key.verifying_key())
            .expect("supported signature type")
    }

    /// Raw Ed25519 signature over `message`.
    pub(crate) fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_vkey_parses_with_its_key_id() {
        // c2sp.org/signed-note, "Verifier keys" example.
        let vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
        let key = PublicKey::from_vkey(vkey).unwrap();
        assert_eq!(key.id(), KeyId(0x530d903a));
        assert_eq!(key.to_vkey(), vkey);
    }

    #[test]
    fn go_note_example_skey_round_trips() {
        // golang.org/x/mod/sumdb/note documentation example key pair.
        let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        let key = SecretKey::from_skey(skey).unwrap();
        assert_eq!(&*key.to_skey(), skey);
        assert_eq!(
            key.public_key(TYPE_ED25519).to_vkey(),
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        );
        assert!(!format!("{key:?}").contains("AYEKFALV"));
    }

    #[test]
    fn malformed_keys_are_refused() {
        let good = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
        for bad in [
            "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "example.com/foo+530d903a",
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k+",
            "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "example.com/foo+530d903a+!!!",
            "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",
            "example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        ] {
            assert!(PublicKey::from_vkey(bad).is_err(), "{bad}");
        }
        assert!(PublicKey::from_vkey(good).is_ok());
        assert!(KeyName::new("a+b").is_err());
        assert!(KeyName::new("a\u{a0}b").is_err());
        assert!(SecretKey::from_skey("PRIVATE+KEY+x+00000000+AA==").is_err());
    }
}
