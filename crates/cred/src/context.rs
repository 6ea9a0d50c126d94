//! A service's `context_id`: the scope of its pseudonyms.
//!
//! The service fixes its context identifier (typically its origin, e.g.
//! `https://shop.example`); the holder never chooses it, it only copies it from the
//! service's challenge. Identifiers are normalised so that trivially different spellings
//! of the same service (`HTTPS://Shop.Example/`) give the same pseudonym: surrounding
//! whitespace is trimmed, ASCII letters are lower-cased and trailing slashes are dropped.
//! What remains must be 1..=255 printable ASCII characters without spaces.
//!
//! The bytes given to the BBS pseudonym computation are the normalised identifier behind a
//! masque-specific prefix, so masque pseudonyms never coincide with those of another
//! application of the same issuer key.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::CredError;

const CONTEXT_PREFIX: &[u8] = b"masque-cred/v1/context:";
const MAX_LEN: usize = 255;

/// A normalised service context identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContextId(String);

impl ContextId {
    /// Normalises `raw` (see the module docs) or says why it is unusable.
    pub fn new(raw: &str) -> Result<Self, CredError> {
        let trimmed = raw.trim().trim_end_matches('/');
        if trimmed.is_empty() {
            return Err(CredError::InvalidContextId("it is empty"));
        }
        if trimmed.len() > MAX_LEN {
            return Err(CredError::InvalidContextId("it is longer than 255 bytes"));
        }
        if !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(CredError::InvalidContextId(
                "only printable ASCII without spaces is allowed",
            ));
        }
        Ok(Self(trimmed.to_ascii_lowercase()))
    }

    /// The normalised identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The octets used as the BBS pseudonym `context_id`.
    pub(crate) fn pseudonym_scope(&self) -> Vec<u8> {
        [CONTEXT_PREFIX, self.0.as_bytes()].concat()
    }
}

impl fmt::Display for ContextId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ContextId {
    type Error = CredError;
    fn try_from(raw: String) -> Result<Self, CredError> {
        Self::new(&raw)
    }
}

impl From<ContextId> for String {
    fn from(c: ContextId) -> String {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spellings_of_one_service_normalise_alike() {
        let a = ContextId::new("https://shop.example").unwrap();
        let b = ContextId::new("  HTTPS://Shop.Example//\n").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "https://shop.example");
    }

    #[test]
    fn unusable_identifiers_are_refused() {
        for bad in ["", "   ", "///", "a b", "caf\u{e9}", &"x".repeat(256)] {
            assert!(ContextId::new(bad).is_err(), "{bad:?} accepted");
        }
        assert!(ContextId::new(&"x".repeat(255)).is_ok());
    }

    proptest! {
        #[test]
        fn normalisation_is_idempotent(raw in "[ -~]{0,40}") {
            if let Ok(c) = ContextId::new(&raw) {
                prop_assert_eq!(ContextId::new(c.as_str()).unwrap(), c);
            }
        }
    }
}
