//! Versioned, compact serialisation of every credential object.
//!
//! An object is written as JSON `{"v":1,"kind":"<kind>","body":{…}}` with every byte
//! string in unpadded base64url, and the compact form is that JSON in unpadded base64url
//! again (safe in URLs, headers and QR codes). Reading checks, in order: the base64url, the
//! JSON shape, the version, the kind, then each object's own invariants; each failure is
//! its own [`DecodeError`]. Objects that hold secrets (pending issuance, credentials)
//! serialise them too — they are meant for the wallet's encrypted storage only.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::DecodeError;

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// An object with a versioned compact form.
pub trait WireObject: Serialize + DeserializeOwned {
    /// The kind tag written in the envelope.
    const KIND: &'static str;

    /// Checks invariants serde cannot (lengths that depend on other fields, …).
    fn validate(&self) -> Result<(), DecodeError> {
        Ok(())
    }

    /// The JSON envelope.
    fn to_json(&self) -> String {
        let envelope = Envelope {
            v: FORMAT_VERSION,
            kind: Self::KIND.to_owned(),
            body: self,
        };
        serde_json::to_string(&envelope).expect("credential objects always serialise")
    }

    /// The compact (base64url of the JSON envelope) form.
    fn to_compact(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.to_json())
    }

    /// Reads the JSON envelope.
    fn from_json(json: &[u8]) -> Result<Self, DecodeError> {
        let json_error = |e: serde_json::Error| DecodeError::Json {
            kind: Self::KIND,
            reason: e.to_string(),
        };
        let header: EnvelopeHeader = serde_json::from_slice(json).map_err(json_error)?;
        if header.v != FORMAT_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                kind: Self::KIND,
                found: header.v,
                supported: FORMAT_VERSION,
            });
        }
        if header.kind != Self::KIND {
            return Err(DecodeError::WrongKind {
                expected: Self::KIND,
                found: header.kind.chars().take(32).collect(),
            });
        }
        let envelope: Envelope<Self> = serde_json::from_slice(json).map_err(json_error)?;
        envelope.body.validate()?;
        Ok(envelope.body)
    }

    /// Reads the compact form.
    fn from_compact(compact: &str) -> Result<Self, DecodeError> {
        let json = URL_SAFE_NO_PAD
            .decode(compact.trim())
            .map_err(|_| DecodeError::Base64)?;
        Self::from_json(&json)
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    v: u32,
    kind: String,
    body: T,
}

#[derive(Deserialize)]
struct EnvelopeHeader {
    v: u32,
    kind: String,
}

/// serde helpers: byte strings as unpadded base64url, with a length check on fixed arrays.
pub(crate) mod b64 {
    use super::*;
    use serde::{Deserializer, Serializer, de::Error as _};

    pub(crate) fn serialize<S: Serializer, T: AsRef<[u8]>>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(v.as_ref()))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>, T: TryFrom<Vec<u8>>>(
        d: D,
    ) -> Result<T, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(text.as_bytes())
            .map_err(|_| D::Error::custom("byte field is not unpadded base64url"))?;
        let len = bytes.len();
        T::try_from(bytes)
            .map_err(|_| D::Error::custom(format!("byte field has the wrong length ({len})")))
    }
}
