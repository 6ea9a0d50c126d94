//! Request ids and custodian names.

use crate::ProtocolError;
use masque_mpc::PartyId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A request id: 16 random bytes chosen by the sender, written as 32 lower-case hex
/// digits. All three custodians see the same id for one operation; it keys the
/// all-or-nothing commit and the replay check, and appears in the log entry (it is
/// random, so it links nothing to a person).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub [u8; 16]);

impl RequestId {
    /// A fresh id from the operating system's generator.
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        rand::fill(&mut bytes);
        Self(bytes)
    }

    /// Parses 32 hex digits.
    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ProtocolError::malformed(
                "request id",
                "expected 32 hexadecimal digits",
            ));
        }
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| {
            ProtocolError::malformed("request id", "expected 32 hexadecimal digits (16 bytes)")
        })?;
        Ok(Self(bytes))
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A custodian's name on the wire: `P0`, `P1` or `P2`.
pub fn custodian_name(party: PartyId) -> &'static str {
    match party {
        PartyId::P0 => "P0",
        PartyId::P1 => "P1",
        PartyId::P2 => "P2",
    }
}

/// Parses `P0`, `P1` or `P2`.
pub fn parse_custodian(text: &str) -> Result<PartyId, ProtocolError> {
    match text {
        "P0" => Ok(PartyId::P0),
        "P1" => Ok(PartyId::P1),
        "P2" => Ok(PartyId::P2),
        _ => Err(ProtocolError::malformed(
            "custodian",
            format!("{text:?} is not a custodian; expected P0, P1 or P2"),
        )),
    }
}

/// Serde for a [`PartyId`] as its wire name.
pub mod custodian_serde {
    use super::*;

    /// Writes `P0`/`P1`/`P2`.
    pub fn serialize<S: Serializer>(party: &PartyId, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(custodian_name(*party))
    }

    /// Reads `P0`/`P1`/`P2`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PartyId, D::Error> {
        let text = String::deserialize(d)?;
        parse_custodian(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_round_trip_and_refuse_bad_text() {
        let id = RequestId::random();
        assert_eq!(RequestId::parse(&id.to_string()).unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<RequestId>(&json).unwrap(), id);
        assert!(RequestId::parse("abc").is_err());
        assert!(RequestId::parse(&"zz".repeat(16)).is_err());
        assert!(RequestId::parse(&"00".repeat(17)).is_err());
        assert_ne!(RequestId::random(), RequestId::random());
    }

    #[test]
    fn custodian_names() {
        for p in PartyId::ALL {
            assert_eq!(parse_custodian(custodian_name(p)).unwrap(), p);
        }
        assert!(parse_custodian("P3").is_err());
        assert!(parse_custodian("p0").is_err());
    }
}
