//! C2SP `tlog-cosignature`, Ed25519 `cosignature/v1` (signature type `0x04`).
//!
//! A witness signs `"cosignature/v1\ntime <t>\n" || checkpoint note text` and writes the
//! signature line `— <witness name> base64(key ID || u64 t || Ed25519 signature)`. The
//! name is not signed, so one key must serve only one witness name. The v1 statement is:
//! "as of time t, this is the largest consistent tree I have seen for this origin".
//!
//! Only Ed25519 v1 cosignatures are implemented; ML-DSA-44 subtree cosignatures are not.

use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::Signature as DalekSignature;

use crate::keys::{KeyError, KeyId, KeyName, PublicKey, SecretKey, TYPE_COSIGNATURE_V1};
use crate::note::{NoteSignature, NoteSigner, NoteVerifier};

/// Length of a v1 cosignature after the key ID: 8-byte timestamp and 64-byte signature.
pub const COSIGNATURE_LEN: usize = 72;

/// The message a v1 cosignature signs.
pub fn signed_message(timestamp: u64, checkpoint_text: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}").into_bytes()
}

/// Seconds since the Unix epoch now.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Produces v1 cosignatures with a witness's secret key.
#[derive(Debug)]
pub struct CosignatureSigner<'a> {
    key: &'a SecretKey,
    id: KeyId,
}

impl<'a> CosignatureSigner<'a> {
    /// Cosigns with `key` under its name.
    pub fn new(key: &'a SecretKey) -> CosignatureSigner<'a> {
        CosignatureSigner {
            id: key.public_key(TYPE_COSIGNATURE_V1).id(),
            key,
        }
    }

    /// The cosignature over `checkpoint_text` at `timestamp` (seconds, at most 2^63 - 1).
    pub fn sign_at(&self, checkpoint_text: &str, timestamp: u64) -> NoteSignature {
        let timestamp = timestamp.min(i64::MAX as u64);
        let mut bytes = timestamp.to_be_bytes().to_vec();
        bytes.extend_from_slice(
            &self
                .key
                .sign_raw(&signed_message(timestamp, checkpoint_text)),
        );
        NoteSignature {
            name: self.key.name().clone(),
            id: self.id,
            bytes,
        }
    }
}

impl NoteSigner for CosignatureSigner<'_> {
    /// Cosigns at the current time.
    fn sign(&self, text: &[u8]) -> NoteSignature {
        // Note text is always UTF-8 (the note type guarantees it).
        self.sign_at(&String::from_utf8_lossy(text), now_unix())
    }
}

/// Verifies v1 cosignatures by one witness key.
#[derive(Debug, Clone)]
pub struct CosignatureVerifier {
    key: PublicKey,
}

impl CosignatureVerifier {
    /// A verifier for `key`, which must be of type `0x04`.
    pub fn new(key: PublicKey) -> Result<CosignatureVerifier, KeyError> {
        if key.signature_type() != TYPE_COSIGNATURE_V1 {
            return Err(KeyError::UnsupportedType(key.signature_type()));
        }
        Ok(CosignatureVerifier { key })
    }

    /// The witness public key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// The timestamp a cosignature claims (not verified by this call).
    pub fn timestamp(signature: &[u8]) -> Option<u64> {
        (signature.len() == COSIGNATURE_LEN)
            .then(|| u64::from_be_bytes(signature[..8].try_into().expect("8 bytes")))
    }
}

impl NoteVerifier for CosignatureVerifier {
    fn name(&self) -> &KeyName {
        self.key.name()
    }
    fn id(&self) -> KeyId {
        self.key.id()
    }
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        let Some(timestamp) = CosignatureVerifier::timestamp(signature) else {
            return false;
        };
        if timestamp > i64::MAX as u64 {
            return false;
        }
        let Ok(text) = std::str::from_utf8(text) else {
            return false;
        };
        let Ok(sig) = DalekSignature::from_slice(&signature[8..]) else {
            return false;
        };
        self.key
            .verifying_key()
            .verify_strict(&signed_message(timestamp, text), &sig)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::TYPE_ED25519;
    use crate::note::{self, Ed25519Signer, Ed25519Verifier, Note};

    const TEXT: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn message_layout_matches_the_spec_example() {
        assert_eq!(
            String::from_utf8(signed_message(1679315147, TEXT)).unwrap(),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn cosignature_verifies_independently_and_is_not_a_note_signature() {
        let witness = SecretKey::from_seed(KeyName::new("witness.example/w1").unwrap(), &[7; 32]);
        let sig = CosignatureSigner::new(&witness).sign_at(TEXT, 1679315147);
        assert_eq!(sig.bytes.len(), COSIGNATURE_LEN);
        assert_eq!(&sig.bytes[..8], &1679315147u64.to_be_bytes());
        // Independent check with the raw Ed25519 key over the spec's message.
        let raw = DalekSignature::from_slice(&sig.bytes[8..]).unwrap();
        let vk = witness.public_key(TYPE_COSIGNATURE_V1);
        assert!(
            vk.verifying_key()
                .verify_strict(&signed_message(1679315147, TEXT), &raw)
                .is_ok()
        );
        // Key IDs differ between the two signature types of one key.
        assert_ne!(vk.id(), witness.public_key(TYPE_ED25519).id());
        let v = CosignatureVerifier::new(vk).unwrap();
        let mut n = Note::new(TEXT).unwrap();
        n.add_signature(sig.clone());
        assert!(note::open(&n.to_bytes(), &[&v]).is_ok());
        // A changed timestamp breaks it.
        let mut shifted = sig.clone();
        shifted.bytes[7] ^= 1;
        assert!(!v.verify(TEXT.as_bytes(), &shifted.bytes));
        // The same key as a plain note signer is a different key ID: not accepted.
        let mut plain = Note::new(TEXT).unwrap();
        plain.sign(&Ed25519Signer::new(&witness));
        assert!(note::open(&plain.to_bytes(), &[&v]).is_err());
        let ev = Ed25519Verifier::new(witness.public_key(TYPE_ED25519)).unwrap();
        assert!(note::open(&n.to_bytes(), &[&ev]).is_err());
    }

    #[test]
    fn timestamps_beyond_i64_are_refused() {
        let witness = SecretKey::from_seed(KeyName::new("w").unwrap(), &[9; 32]);
        let v = CosignatureVerifier::new(witness.public_key(TYPE_COSIGNATURE_V1)).unwrap();
        let ts = 1u64 << 63;
        let mut bytes = ts.to_be_bytes().to_vec();
        bytes.extend_from_slice(&witness.sign_raw(&signed_message(ts, TEXT)));
        assert!(!v.verify(TEXT.as_bytes(), &bytes));
    }
}
