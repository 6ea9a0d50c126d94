//! What a wallet keeps besides its keys: the person's records and what the network gave
//! them (consents, credentials, receipts). Keys are not stored: they derive from the
//! recovery phrase (see [`crate::keys`]).
//!
//! Consents, credentials and receipts are kept as [`StoredItem`]s: a kind, the record
//! they belong to, a time and a JSON value whose schema belongs to the protocol that made
//! it (the custodian node's wire types). The wallet stores them faithfully and never
//! interprets them.
//!
//! Unknown fields are refused when reading, so a wallet written by a newer masque is never
//! silently rewritten without the fields this version does not know.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::keys::RecordIndex;

/// The wallet's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletState {
    /// When the wallet was created (Unix seconds).
    pub created_at: u64,
    /// The index the next record will take. Indexes are never reused, so a re-enrolment
    /// after deletion has keys unrelated to the deleted record's.
    pub next_record_index: u32,
    /// The person's records, one per enrolment.
    pub records: Vec<Record>,
    /// Consents the person signed (grant and revoke statements, as the node defines them).
    pub consents: Vec<StoredItem>,
    /// Credentials issued to the person.
    pub credentials: Vec<StoredItem>,
    /// Receipts of operations (signed outcomes, inclusion proofs).
    pub receipts: Vec<StoredItem>,
}

impl WalletState {
    /// The state of a new wallet created at `now` (Unix seconds): nothing in it.
    pub fn new(now: u64) -> Self {
        Self {
            created_at: now,
            next_record_index: 0,
            records: Vec::new(),
            consents: Vec::new(),
            credentials: Vec::new(),
            receipts: Vec::new(),
        }
    }
}

/// One enrolment of the person at the custodians.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The index its keys derive from.
    pub index: RecordIndex,
    /// The custodians' handle of the record (its bytes are the node's business).
    pub handle: OpaqueBytes,
    /// When the enrolment was committed (Unix seconds).
    pub enrolled_at: u64,
    /// How many operations on the record have been logged so far; the next one's audit
    /// tag uses `n = ops` (the enrolment is `n = 0`).
    pub ops: u64,
    /// Anything else the node wants kept per record (its ids at each custodian, ...);
    /// `null` when nothing.
    #[serde(default)]
    pub details: serde_json::Value,
}

/// A consent, credential or receipt, stored as the protocol gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredItem {
    /// What it is, in the protocol's own words ("consent-grant", "bbs-credential", ...).
    pub kind: String,
    /// The record it belongs to, if any.
    pub record: Option<RecordIndex>,
    /// When the wallet stored it (Unix seconds).
    pub stored_at: u64,
    /// The item itself.
    pub value: serde_json::Value,
}

/// Bytes whose meaning the wallet does not know, as unpadded base64url in JSON.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct OpaqueBytes(pub Vec<u8>);

impl fmt::Debug for OpaqueBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpaqueBytes({})", URL_SAFE_NO_PAD.encode(&self.0))
    }
}

impl Serialize for OpaqueBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for OpaqueBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        URL_SAFE_NO_PAD
            .decode(text.as_bytes())
            .map(OpaqueBytes)
            .map_err(|_| serde::de::Error::custom("a byte field is not unpadded base64url"))
    }
}

/// Secret text (the recovery phrase) in a zeroized string; serialised as a JSON string,
/// deserialised straight into zeroized memory.
pub(crate) struct SecretText(pub Zeroizing<String>);

impl Serialize for SecretText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SecretText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the recovery phrase as a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SecretText, E> {
                let mut out = Zeroizing::new(String::with_capacity(v.len()));
                out.push_str(v);
                Ok(SecretText(out))
            }
        }
        d.deserialize_str(Visitor)
    }
}

/// What the file's (encrypted) body holds.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Body {
    /// The 24 words, from which every key derives.
    pub recovery_phrase: SecretText,
    /// Everything else.
    pub state: WalletState,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_bytes_are_base64url_and_bad_text_is_refused() {
        let bytes = OpaqueBytes(vec![0xfb, 0xff, 0x00]);
        let json = serde_json::to_string(&bytes).unwrap();
        assert_eq!(json, "\"-_8A\"");
        assert_eq!(serde_json::from_str::<OpaqueBytes>(&json).unwrap(), bytes);
        assert!(serde_json::from_str::<OpaqueBytes>("\"+/8A\"").is_err());
        assert!(serde_json::from_str::<OpaqueBytes>("\"-_8A==\"").is_err());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut value = serde_json::to_value(WalletState::new(5)).unwrap();
        value["future_field"] = 1.into();
        assert!(serde_json::from_value::<WalletState>(value).is_err());
    }
}
