//! The log entry, schema version 1.
//!
//! Every operation on biometric data, and every refusal of one, appends exactly one entry
//! to the transparency log. An entry is one JSON object (under 64 KiB):
//!
//! | field | meaning |
//! | --- | --- |
//! | `v` | schema version, 1 |
//! | `op` | [`Operation`] |
//! | `hour` | Unix time of the operation rounded down to the hour |
//! | `request_id` | the request's random id |
//! | `outcome` | [`Outcome`] |
//! | `reason` | for `refused`: a [`Refusal`] code |
//! | `station` | the station's registered pseudonym, when a station made the request |
//! | `service` | for a 1:1 check or a consent: the service (its context id) |
//! | `consent` | for a 1:1 check, a grant or a revocation: the [`ConsentId`] |
//! | `consent_not_after` | that consent's expiry |
//! | `audit_tag` | `HMAC(k_record, n)` ([`crate::audit`]) when the entry is about a known record |
//! | `joint_signature` | the three custodians' joint signature over the entry without the signature fields (below) |
//! | `signatures` | in an entry without a joint signature: individual custodians' Ed25519 signatures |
//!
//! The custodians sign each entry together: a FROST(Ed25519, SHA-512) signature (RFC 9591)
//! that takes all three of them, and which is an ordinary Ed25519 signature under the
//! network's joint key ([`crate::network::JointKeyInfo`]). One signature to check per
//! entry instead of three is what lets a watcher keep up with a busy log. An entry that
//! carries individual signatures instead was not signed jointly: it is valid only with
//! all three (the format of entries written one custodian at a time), and one with fewer
//! is the evidence against the custodians whose keys signed it alone. An entry carries
//! one form or the other, never both.
//! What it never carries: a template or anything derived from one, a record key, a
//! stable record id, a time finer than the hour. A `duplicate` names no record. Two
//! entries about one record can be linked only with its `k_record`, except entries that
//! name the same consent (one service's checks under one consent; the service knows this
//! already).

use crate::{
    PartyId, ProtocolError, RequestId, consent::ConsentId, ids::custodian_serde,
    network::CustodianKeys,
};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// The schema version written by this crate.
pub const ENTRY_VERSION: u32 = 1;
/// Entries are at most this long (the log's limit).
pub const MAX_ENTRY_BYTES: usize = 65_535;

/// What was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Operation {
    /// Enrolment (1:N uniqueness, then store).
    Enrol,
    /// 1:1 verification against one record.
    Verify,
    /// Deletion of a record.
    Delete,
    /// A consent given.
    ConsentGrant,
    /// A consent revoked.
    ConsentRevoke,
    /// A credential issued at enrolment.
    Issue,
    /// A credential re-issued after a 1:1 verification.
    Reissue,
}

/// What came of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Outcome {
    /// The person was unique and is now enrolled.
    Enrolled,
    /// The person is already enrolled; nothing was stored.
    Duplicate,
    /// The capture matches the record.
    Match,
    /// The capture does not match the record.
    NoMatch,
    /// The record was deleted.
    Deleted,
    /// The consent was recorded.
    Granted,
    /// The consent was revoked.
    Revoked,
    /// A credential was issued.
    Issued,
    /// The request was refused (see `reason`).
    Refused,
}

/// Why a request was refused (codes, never free text, so no personal data can slip in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Refusal {
    /// A 1:1 check without a consent for that service.
    NoConsent,
    /// The consent has expired.
    ConsentExpired,
    /// The consent was revoked.
    ConsentRevoked,
    /// The record does not exist (never enrolled, or deleted).
    UnknownRecord,
    /// The template's shares failed validation (not a possible iris encoding, or the
    /// enrolment and query shares encode different templates).
    InvalidTemplate,
    /// Too few unmasked bits (the coverage gate).
    LowCoverage,
    /// Re-issuance without a matching 1:1 verification.
    NotVerified,
    /// An enrolment for a record key that is already enrolled.
    RecordExists,
    /// A revocation of a consent the record never gave.
    UnknownConsent,
}

/// The signed part of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryBody {
    /// Schema version.
    pub v: u32,
    /// The operation.
    pub op: Operation,
    /// Unix time rounded down to the hour.
    pub hour: u64,
    /// The request id.
    pub request_id: RequestId,
    /// The outcome.
    pub outcome: Outcome,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Refusal>,
    /// The station's pseudonym.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station: Option<String>,
    /// The service concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The consent concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentId>,
    /// That consent's expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_not_after: Option<u64>,
    /// The record's audit tag for this operation, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_tag: Option<String>,
}

/// One custodian's signature over an entry body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustodianSignature {
    /// The custodian.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    #[serde(with = "custodian_serde")]
    pub custodian: PartyId,
    /// Ed25519 signature, 128 hex digits.
    pub signature: String,
}

/// A complete entry: the body and the custodians' signatures (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "WireEntry")]
pub struct LogEntry {
    /// The signed fields.
    #[serde(flatten)]
    pub body: EntryBody,
    /// The three custodians' joint Ed25519 signature, 128 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joint_signature: Option<String>,
    /// Without a joint signature: one signature per custodian that signed, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<CustodianSignature>,
}

/// An entry as it is read: every field at one level. (A flattened [`EntryBody`] would be
/// read through serde's buffered `flatten`, several times slower; a watcher reads
/// every entry of the log.)
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEntry {
    v: u32,
    op: Operation,
    hour: u64,
    request_id: RequestId,
    outcome: Outcome,
    #[serde(default)]
    reason: Option<Refusal>,
    #[serde(default)]
    station: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    consent: Option<ConsentId>,
    #[serde(default)]
    consent_not_after: Option<u64>,
    #[serde(default)]
    audit_tag: Option<String>,
    #[serde(default)]
    joint_signature: Option<String>,
    #[serde(default)]
    signatures: Vec<CustodianSignature>,
}

impl From<WireEntry> for LogEntry {
    fn from(w: WireEntry) -> Self {
        LogEntry {
            body: EntryBody {
                v: w.v,
                op: w.op,
                hour: w.hour,
                request_id: w.request_id,
                outcome: w.outcome,
                reason: w.reason,
                station: w.station,
                service: w.service,
                consent: w.consent,
                consent_not_after: w.consent_not_after,
                audit_tag: w.audit_tag,
            },
            joint_signature: w.joint_signature,
            signatures: w.signatures,
        }
    }
}

/// Rounds Unix seconds down to the hour.
pub fn hour_of(unix_seconds: u64) -> u64 {
    unix_seconds - unix_seconds % 3600
}

impl EntryBody {
    /// A body of schema version 1 with no optional field set.
    pub fn new(op: Operation, hour: u64, request_id: RequestId, outcome: Outcome) -> Self {
        Self {
            v: ENTRY_VERSION,
            op,
            hour,
            request_id,
            outcome,
            reason: None,
            station: None,
            service: None,
            consent: None,
            consent_not_after: None,
            audit_tag: None,
        }
    }

    /// The bytes each custodian signs.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut bytes = b"masque-log-entry/v1\n".to_vec();
        bytes.extend_from_slice(&serde_json::to_vec(self).expect("an entry body serialises"));
        bytes
    }

    /// This custodian's signature over the body.
    pub fn sign(&self, custodian: PartyId, key: &SigningKey) -> CustodianSignature {
        CustodianSignature {
            custodian,
            signature: hex::encode(key.sign(&self.signed_bytes()).to_bytes()),
        }
    }

    /// Checks one custodian signature with that custodian's key.
    pub fn verify_signature(
        &self,
        signature: &CustodianSignature,
        key: &VerifyingKey,
    ) -> Result<(), ProtocolError> {
        let signature = parse_signature("signatures", &signature.signature)?;
        key.verify_strict(&self.signed_bytes(), &signature)
            .map_err(|_| ProtocolError::BadSignature {
                what: "a custodian's log entry",
            })
    }

    /// Checks a joint signature (128 hex digits) with the custodians' joint key.
    pub fn verify_joint(&self, signature: &str, joint: &VerifyingKey) -> Result<(), ProtocolError> {
        let signature = parse_signature("joint_signature", signature)?;
        joint
            .verify_strict(&self.signed_bytes(), &signature)
            .map_err(|_| ProtocolError::BadSignature {
                what: "the custodians' joint signature of a log entry",
            })
    }
}

/// An Ed25519 signature from 128 hex digits.
pub fn parse_signature(field: &'static str, hex_text: &str) -> Result<Signature, ProtocolError> {
    let mut bytes = [0u8; 64];
    hex::decode_to_slice(hex_text, &mut bytes)
        .map_err(|_| ProtocolError::malformed(field, "expected 128 hex digits"))?;
    Ok(Signature::from_bytes(&bytes))
}

impl LogEntry {
    /// `body` signed by each custodian on its own (`keys[i]` is Pi's), in order P0, P1,
    /// P2.
    pub fn signed(body: EntryBody, keys: &[SigningKey; 3]) -> Self {
        let signatures = PartyId::ALL
            .iter()
            .map(|p| body.sign(*p, &keys[p.index()]))
            .collect();
        LogEntry {
            body,
            joint_signature: None,
            signatures,
        }
    }

    /// `body` with a joint signature made by the custodians (FROST's aggregate, or, in
    /// tests and synthetic logs, a plain signature with a key standing for the joint
    /// one: the two cannot be told apart).
    pub fn jointly_signed(body: EntryBody, signature: &Signature) -> Self {
        LogEntry {
            body,
            joint_signature: Some(hex::encode(signature.to_bytes())),
            signatures: Vec::new(),
        }
    }

    /// The entry as appended to the log (compact JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an entry serialises")
    }

    /// Parses an entry from log bytes; refuses unknown versions.
    pub fn parse(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let entry: LogEntry = serde_json::from_slice(bytes)
            .map_err(|e| ProtocolError::malformed("log entry", e.to_string()))?;
        if entry.joint_signature.is_some() && !entry.signatures.is_empty() {
            return Err(ProtocolError::malformed(
                "log entry",
                "carries both a joint signature and individual ones; an entry has one or the other",
            ));
        }
        if entry.body.v != ENTRY_VERSION {
            return Err(ProtocolError::malformed(
                "log entry v",
                format!(
                    "version {} is not known (this build reads {ENTRY_VERSION})",
                    entry.body.v
                ),
            ));
        }
        Ok(entry)
    }

    /// Checks that the three custodians signed: jointly with their joint key, or, in an
    /// entry without a joint signature, each exactly once, in order, with its own key.
    pub fn verify(&self, keys: &CustodianKeys) -> Result<(), ProtocolError> {
        if let Some(joint) = &self.joint_signature {
            if !self.signatures.is_empty() {
                return Err(ProtocolError::malformed(
                    "signatures",
                    "an entry with a joint signature carries no individual ones",
                ));
            }
            return self.body.verify_joint(joint, &keys.joint);
        }
        if self.signatures.len() != 3 {
            return Err(ProtocolError::malformed(
                "signatures",
                format!(
                    "expected one per custodian (3), found {}",
                    self.signatures.len()
                ),
            ));
        }
        for (party, signature) in PartyId::ALL.iter().zip(&self.signatures) {
            if signature.custodian != *party {
                return Err(ProtocolError::malformed(
                    "signatures",
                    "expected the custodians' signatures in order P0, P1, P2",
                ));
            }
            self.body
                .verify_signature(signature, &keys.each[party.index()])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn signed_entry(keys: &[SigningKey; 3]) -> LogEntry {
        let body = EntryBody {
            station: Some("station-1".into()),
            audit_tag: Some(hex::encode(crate::audit::audit_tag(&[1u8; 32], 0))),
            ..EntryBody::new(
                Operation::Enrol,
                hour_of(1_700_001_234),
                RequestId([2u8; 16]),
                Outcome::Enrolled,
            )
        };
        LogEntry::signed(body, keys)
    }

    fn keys() -> [SigningKey; 3] {
        [1u8, 2, 3].map(|b| SigningKey::from_bytes(&[b; 32]))
    }

    fn joint_key() -> SigningKey {
        SigningKey::from_bytes(&[4u8; 32])
    }

    fn public(keys: &[SigningKey; 3]) -> CustodianKeys {
        CustodianKeys {
            each: keys.clone().map(|k| k.verifying_key()),
            joint: joint_key().verifying_key(),
        }
    }

    #[test]
    fn jointly_signed_entries_round_trip_and_verify_with_the_joint_key_only() {
        let keys = keys();
        let body = signed_entry(&keys).body;
        let signature = joint_key().sign(&body.signed_bytes());
        let entry = LogEntry::jointly_signed(body, &signature);
        let bytes = entry.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.contains("\"joint_signature\"") && !text.contains("\"signatures\""),
            "{text}"
        );
        let back = LogEntry::parse(&bytes).unwrap();
        assert_eq!(back, entry);
        back.verify(&public(&keys)).unwrap();
        // The same signature under one custodian's key is not a joint signature.
        let mut wrong = public(&keys);
        wrong.joint = keys[0].verifying_key();
        assert!(matches!(
            back.verify(&wrong),
            Err(ProtocolError::BadSignature { .. })
        ));
        // A changed body or a changed signature fails.
        let mut changed = entry.clone();
        changed.body.outcome = Outcome::Duplicate;
        assert!(changed.verify(&public(&keys)).is_err());
        let mut changed = entry.clone();
        changed.joint_signature = Some("00".repeat(64));
        assert!(changed.verify(&public(&keys)).is_err());
        changed.joint_signature = Some("zz".into());
        assert!(
            changed
                .verify(&public(&keys))
                .unwrap_err()
                .to_string()
                .contains("128 hex")
        );
    }

    #[test]
    fn an_entry_with_both_kinds_of_signature_is_refused() {
        let keys = keys();
        let mut entry = signed_entry(&keys);
        entry.joint_signature = Some(hex::encode(
            joint_key().sign(&entry.body.signed_bytes()).to_bytes(),
        ));
        assert!(entry.verify(&public(&keys)).is_err());
        let error = LogEntry::parse(&entry.to_bytes()).unwrap_err().to_string();
        assert!(error.contains("one or the other"), "{error}");
    }

    #[test]
    fn entries_round_trip_and_verify() {
        let keys = keys();
        let public = public(&keys);
        let entry = signed_entry(&keys);
        let bytes = entry.to_bytes();
        assert!(bytes.len() < 1024);
        let back = LogEntry::parse(&bytes).unwrap();
        assert_eq!(back, entry);
        back.verify(&public).unwrap();
        assert_eq!(entry.body.hour % 3600, 0);
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.contains("\"op\":\"enrol\"") && !text.contains("reason"),
            "{text}"
        );
    }

    #[test]
    fn a_missing_swapped_or_forged_signature_is_refused() {
        let keys = keys();
        let public = public(&keys);
        let mut entry = signed_entry(&keys);
        entry.signatures.pop();
        assert!(entry.verify(&public).is_err());
        let mut entry = signed_entry(&keys);
        entry.signatures.swap(0, 1);
        assert!(entry.verify(&public).is_err());
        let mut entry = signed_entry(&keys);
        entry.body.outcome = Outcome::Duplicate;
        assert!(matches!(
            entry.verify(&public),
            Err(ProtocolError::BadSignature { .. })
        ));
        // A rogue key in P2's slot.
        let mut entry = signed_entry(&keys);
        entry.signatures[2] = entry
            .body
            .sign(PartyId::P2, &SigningKey::from_bytes(&[9u8; 32]));
        assert!(entry.verify(&public).is_err());
    }

    #[test]
    fn unknown_versions_and_fields_are_refused() {
        let entry = signed_entry(&keys());
        let mut value: serde_json::Value = serde_json::from_slice(&entry.to_bytes()).unwrap();
        value["v"] = 2.into();
        assert!(
            LogEntry::parse(value.to_string().as_bytes())
                .unwrap_err()
                .to_string()
                .contains("version 2")
        );
        assert!(LogEntry::parse(b"{}").is_err());
        assert!(LogEntry::parse(b"not json").is_err());
        let mut value: serde_json::Value = serde_json::from_slice(&entry.to_bytes()).unwrap();
        value["extra"] = 1.into();
        let error = LogEntry::parse(value.to_string().as_bytes())
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown field `extra`"), "{error}");
    }

    use proptest::prelude::*;

    proptest! {
        /// Reading (every field at one level) gives back exactly what writing (the body
        /// flattened into the entry) wrote, whichever optional fields are set.
        #[test]
        fn entries_read_back_as_written(
            hour in 0u64..4_000_000_000,
            id: [u8; 16],
            optional: [bool; 6],
            text in "[a-z0-9.-]{1,20}",
            not_after: u64,
            joint: bool,
        ) {
            let body = EntryBody {
                reason: optional[0].then_some(Refusal::NoConsent),
                station: optional[1].then(|| text.clone()),
                service: optional[2].then(|| format!("{text}.example")),
                consent: optional[3].then(|| ConsentId(hex::encode([7u8; 32]))),
                consent_not_after: optional[4].then_some(not_after),
                audit_tag: optional[5].then(|| hex::encode(id)),
                ..EntryBody::new(Operation::Verify, hour_of(hour), RequestId(id), Outcome::Refused)
            };
            let entry = if joint {
                LogEntry::jointly_signed(body, &joint_key().sign(b"any"))
            } else {
                LogEntry::signed(body, &keys())
            };
            let back = LogEntry::parse(&entry.to_bytes()).unwrap();
            prop_assert_eq!(&back, &entry);
            prop_assert_eq!(back.to_bytes(), entry.to_bytes());
        }
    }
}
