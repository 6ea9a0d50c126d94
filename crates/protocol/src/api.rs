//! The bodies of the custodians' HTTP API (`/v1`), shared by the node that serves them
//! and the wallet and station that call them. Every request is signed ([`crate::request`]).
//!
//! | call | signed by | body | answer |
//! | --- | --- | --- | --- |
//! | `POST /v1/enrol` | a registered station | [`EnrolRequest`] | [`OperationResult`] |
//! | `POST /v1/verify` | the record key | [`VerifyRequest`] | [`OperationResult`] |
//! | `POST /v1/delete` | the record key | [`DeleteRequest`] | [`OperationResult`] |
//! | `POST /v1/consents` | the record key | [`ConsentGrantRequest`] | [`OperationResult`] |
//! | `POST /v1/consents/revoke` | the record key | [`ConsentRevokeRequest`] | [`OperationResult`] |
//!
//! The same request (same id) goes to all three custodians; each gets its own sealed
//! blob. Errors are `application/problem+json` ([`Problem`]).

use crate::{
    PartyId, RequestId,
    consent::SignedConsent,
    custodian_name,
    entry::{Outcome, Refusal},
    ids::custodian_serde,
    receipt::Receipt,
    seal::SealedBlob,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `POST /v1/enrol`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolRequest {
    /// The new record's public key (Ed25519, hex), made by the wallet.
    pub record_key: String,
    /// This custodian's shares and the record's audit key, sealed to it.
    pub sealed: SealedBlob,
    /// The record key's signature over [`enrol_statement`]: the wallet holds the key.
    pub record_signature: String,
}

/// What the record key signs to enrol: the request, the custodian, the key and the
/// sealed blob's digest.
pub fn enrol_statement(
    request_id: &RequestId,
    audience: PartyId,
    record_key: &str,
    sealed: &SealedBlob,
) -> Vec<u8> {
    let mut digest = Sha256::new();
    digest.update(&sealed.enc);
    digest.update(&sealed.ciphertext);
    format!(
        "masque-enrol/v1\n{request_id}\n{}\n{record_key}\n{}\n",
        custodian_name(audience),
        hex::encode(digest.finalize())
    )
    .into_bytes()
}

/// `POST /v1/verify`: a 1:1 check of a fresh capture against the signer's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyRequest {
    /// This custodian's query shares, sealed to it.
    pub sealed: SealedBlob,
    /// The service the check is for; it needs a live consent naming it. Absent: the
    /// person's own check (before re-issuance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// `POST /v1/delete` (no fields: the signer's record is deleted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteRequest {}

/// `POST /v1/consents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentGrantRequest {
    /// The consent, signed by the record key.
    pub consent: SignedConsent,
}

/// `POST /v1/consents/revoke`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentRevokeRequest {
    /// The consent's id.
    pub consent_id: String,
}

/// `POST /v1/credentials/offer` (P0 only): the issuer's offer for the signer's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OfferAnswer {
    /// The `IssuanceOffer`, in masque-cred's JSON form.
    pub offer: String,
}

/// `POST /v1/credentials`: a credential request for the signer's record. The first one
/// after enrolment is an issuance; later ones are re-issuances and need a 1:1 match of
/// the person's own within the last hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// The `CredentialRequest`, in masque-cred's JSON form.
    pub request: String,
}

/// The answer to an operation, from one custodian.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperationResult {
    /// The request.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub request_id: RequestId,
    /// Which custodian answers.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    #[serde(with = "custodian_serde")]
    pub custodian: PartyId,
    /// The outcome all three custodians agreed on.
    pub outcome: Outcome,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Refusal>,
    /// The log entry, with the three custodians' signatures (JSON text as appended).
    pub entry: String,
    /// The receipt, once the entry is in a cosigned checkpoint (absent if the log or
    /// its witnesses were slow; the entry is appended all the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
    /// For an issuance, from the issuer (P0): the `IssuanceResponse` in masque-cred's
    /// JSON form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// An error answer (RFC 9457 `application/problem+json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` or `urn:masque:problem:…`).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short title.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What was wrong and what to do.
    pub detail: String,
}

/// Coordinator → peer: run request `request_id` as number `sequence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunOrder {
    /// The request.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub request_id: RequestId,
    /// Its sequence number (names its MPC sessions).
    pub sequence: u64,
    /// The hour written in its log entry.
    pub hour: u64,
    /// The gallery id a new record gets.
    pub gallery_id: u64,
}

/// Coordinator → peer: run enrolments together and prepare each. Their 1:N checks are
/// one computation, in which each member is also compared with the members before it,
/// so two enrolments of one person in a batch cannot both pass. Each member keeps its
/// own sequence number, prepared record, vote and decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchOrder {
    /// The members, in batch order; member `k`'s gallery id is the first member's plus
    /// `k`.
    pub members: Vec<RunOrder>,
}

/// Peer → coordinator: every member of a batch prepared; the votes in member order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchVotes {
    /// One vote per member.
    pub votes: Vec<Vote>,
}

/// Peer → coordinator: prepared, and this custodian's signature over the entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Vote {
    /// The signature over the entry body the peer computed.
    pub signature: crate::entry::CustodianSignature,
    /// The peer's first-round commitments for the joint signature of that entry (FROST
    /// `SigningCommitments`, hex, frost-ed25519's serialisation).
    pub commitments: String,
}

/// Coordinator → peer: the second round of the joint signature, for entries the peer
/// voted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CosignOrder {
    /// One per entry (one, or the members of a batch).
    pub members: Vec<CosignMember>,
}

/// One entry to sign jointly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CosignMember {
    /// The request the entry is about.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub request_id: RequestId,
    /// FROST's `SigningPackage` (hex): the entry's signed bytes and the three custodians'
    /// commitments. A peer signs only the entry it prepared itself.
    pub package: String,
}

/// Peer → coordinator: this custodian's signature shares, in member order (FROST
/// `SignatureShare`, hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CosignShares {
    /// One share per member.
    pub shares: Vec<String>,
}

/// Coordinator → peer: the decision on a prepared request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecideOrder {
    /// The request.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub request_id: RequestId,
    /// Commit or abort.
    pub commit: bool,
    /// The signed entry (commits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// The entry's index in the log (commits), once the coordinator appended it: each
    /// custodian then builds the receipt from the log itself, so the coordinator runs
    /// the next request while the witnesses cosign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
    /// Why it aborted (aborts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Coordinator → peer, on a peer's question about a prepared request after a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DecisionAnswer {
    /// Commit it.
    Commit,
    /// Drop it.
    Abort,
    /// Still running; ask again.
    Pending,
}
