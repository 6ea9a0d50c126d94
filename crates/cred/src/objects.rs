//! The objects exchanged between issuer, holder and verifier, and the holder's records.
//!
//! Public objects (issuer key, request, response, challenge, presentation) carry no
//! secret of the holder. [`PendingIssuance`] and [`Credential`] do, so they zeroize their
//! secret parts on drop and print them as `<redacted>`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::attributes::{
    AttributeKind, CredentialAttributes, EnrolmentQuarter, Epoch, Modalities, Timestamp,
};
use crate::backend::{COMMITMENT_LEN, PSEUDONYM_LEN, PUBLIC_KEY_LEN, SIGNATURE_LEN, proof_len};
use crate::context::ContextId;
use crate::error::DecodeError;
use crate::secrets::{SecretScalar, is_canonical_scalar};
use crate::wire::{WireObject, b64};

/// BBS header signed into every masque credential (binds signatures to this application).
pub(crate) const CREDENTIAL_HEADER: &[u8] = b"masque-cred/v1/credential";

impl Serialize for SecretScalar {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        b64::serialize(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for SecretScalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes: [u8; 32] = b64::deserialize(d)?;
        if !is_canonical_scalar(&bytes) {
            return Err(serde::de::Error::custom("scalar is not canonical"));
        }
        Ok(SecretScalar(bytes))
    }
}

/// The issuer's public key (a BLS12-381 G2 point), as published in the transparency log.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IssuerPublicKey {
    #[serde(with = "b64")]
    pub(crate) key: [u8; PUBLIC_KEY_LEN],
}

impl IssuerPublicKey {
    /// The raw compressed point.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.key
    }

    /// A short stable identifier: SHA-256 over a label and the key.
    pub fn key_id(&self) -> KeyId {
        let digest = Sha256::new()
            .chain_update(b"masque-cred/v1/issuer-key-id")
            .chain_update(self.key)
            .finalize();
        KeyId(digest.into())
    }
}

impl fmt::Debug for IssuerPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IssuerPublicKey({})", self.key_id())
    }
}

impl WireObject for IssuerPublicKey {
    const KIND: &'static str = "issuer-public-key";
}

/// SHA-256 identifier of an issuer public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyId(#[serde(with = "b64")] pub [u8; 32]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0[..8].iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A record's public binding salt: 32 bytes the issuer derives from its secret and the
/// record handle and sends in its [`IssuanceOffer`]. The wallet derives the blind of its
/// [`NymAnchor`] for the record from it (and from its seed), so a restored wallet
/// recomputes the anchor; salts of different records are unrelated.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BindingSalt(#[serde(with = "b64")] pub(crate) [u8; 32]);

impl fmt::Debug for BindingSalt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BindingSalt(")?;
        self.0[..8].iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        f.write_str("…)")
    }
}

/// What the issuer tells a holder before it requests a credential for a record: which
/// issuer key will sign, and the record's [`BindingSalt`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuanceOffer {
    pub(crate) issuer_key_id: KeyId,
    pub(crate) binding_salt: BindingSalt,
}

impl IssuanceOffer {
    /// The key id of the issuer key that will sign.
    pub fn issuer_key_id(&self) -> KeyId {
        self.issuer_key_id
    }

    /// The record's binding salt.
    pub fn binding_salt(&self) -> &BindingSalt {
        &self.binding_salt
    }
}

impl WireObject for IssuanceOffer {
    const KIND: &'static str = "issuance-offer";
}

/// The holder's nym anchor for one record: a Pedersen commitment
/// `anchor_blind·Q_2 + prover_nym·J_1` (compressed G1 point, over the blind-issuance
/// generators) to the wallet's prover nym. It hides the nym; the issuer keeps the anchor
/// of a record's first issuance and every later request for the record must prove that
/// its commitment hides the same nym (see [`crate::binding`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NymAnchor(#[serde(with = "b64")] pub(crate) [u8; ANCHOR_LEN]);

/// Length of a [`NymAnchor`] (a compressed G1 point).
pub const ANCHOR_LEN: usize = 48;

impl NymAnchor {
    /// The compressed point.
    pub fn as_bytes(&self) -> &[u8; ANCHOR_LEN] {
        &self.0
    }

    /// The anchor from its compressed point bytes (validated when a proof is checked).
    pub fn from_bytes(bytes: [u8; ANCHOR_LEN]) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for NymAnchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NymAnchor(")?;
        self.0[..8].iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        f.write_str("…)")
    }
}

/// The holder's proof that its request's commitment hides the same prover nym as its
/// [`NymAnchor`] for the record: the anchor and a Fiat–Shamir Schnorr proof of knowledge
/// of `δ` with `C − anchor = δ·Q_2` (challenge and response).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NymBinding {
    pub(crate) anchor: NymAnchor,
    #[serde(with = "b64")]
    pub(crate) challenge: [u8; 32],
    #[serde(with = "b64")]
    pub(crate) response: [u8; 32],
}

impl NymBinding {
    /// The anchor this binding proves the request's commitment against.
    pub fn anchor(&self) -> &NymAnchor {
        &self.anchor
    }
}

/// What the holder sends the issuer: a hiding commitment to its prover nym with a proof
/// of correctness, and the proof that it commits to the same nym as the holder's anchor
/// for the record. It reveals nothing about the nym.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRequest {
    #[serde(with = "b64")]
    pub(crate) commitment_with_proof: Vec<u8>,
    pub(crate) nym_binding: NymBinding,
}

impl CredentialRequest {
    /// The binding of this request to the holder's nym anchor.
    pub fn nym_binding(&self) -> &NymBinding {
        &self.nym_binding
    }
}

impl WireObject for CredentialRequest {
    const KIND: &'static str = "credential-request";
    fn validate(&self) -> Result<(), DecodeError> {
        expect_len(
            "commitment_with_proof",
            COMMITMENT_LEN,
            self.commitment_with_proof.len(),
        )
    }
}

/// The holder's secret state between request and finalisation.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingIssuance {
    pub(crate) issuer: IssuerPublicKey,
    pub(crate) request: CredentialRequest,
    pub(crate) prover_blind: SecretScalar,
}

impl fmt::Debug for PendingIssuance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingIssuance")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl WireObject for PendingIssuance {
    const KIND: &'static str = "pending-issuance";
    fn validate(&self) -> Result<(), DecodeError> {
        self.request.validate()
    }
}

/// The issuer's answer: the blind signature, its nym entropy and the signed attributes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuanceResponse {
    pub(crate) issuer_key_id: KeyId,
    pub(crate) attributes: CredentialAttributes,
    #[serde(with = "b64")]
    pub(crate) signature: [u8; SIGNATURE_LEN],
    pub(crate) signer_nym_entropy: SecretScalar,
}

impl IssuanceResponse {
    /// The attributes the issuer signed.
    pub fn attributes(&self) -> &CredentialAttributes {
        &self.attributes
    }
}

impl fmt::Debug for IssuanceResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuanceResponse")
            .field("issuer_key_id", &self.issuer_key_id)
            .field("attributes", &self.attributes)
            .finish_non_exhaustive()
    }
}

impl WireObject for IssuanceResponse {
    const KIND: &'static str = "issuance-response";
}

/// A finalised credential, kept in the wallet. Holds the nym secret and prover blind.
#[derive(Clone, Serialize, Deserialize)]
pub struct Credential {
    pub(crate) issuer: IssuerPublicKey,
    pub(crate) attributes: CredentialAttributes,
    #[serde(with = "b64")]
    pub(crate) signature: [u8; SIGNATURE_LEN],
    pub(crate) nym_secret: SecretScalar,
    pub(crate) prover_blind: SecretScalar,
}

impl Credential {
    /// The signed attributes.
    pub fn attributes(&self) -> &CredentialAttributes {
        &self.attributes
    }

    /// The issuer key the credential verifies under.
    pub fn issuer(&self) -> &IssuerPublicKey {
        &self.issuer
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("issuer", &self.issuer)
            .field("attributes", &self.attributes)
            .finish_non_exhaustive()
    }
}

impl WireObject for Credential {
    const KIND: &'static str = "credential";
}

/// Length of a verifier nonce.
pub const NONCE_LEN: usize = 32;

/// A service's challenge: its context, a fresh single-use nonce, its expiry and the
/// attributes the service requires to be disclosed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub(crate) context_id: ContextId,
    #[serde(with = "b64")]
    pub(crate) nonce: [u8; NONCE_LEN],
    pub(crate) expires_at: Timestamp,
    pub(crate) required: Vec<AttributeKind>,
}

impl Challenge {
    /// The service's context.
    pub fn context_id(&self) -> &ContextId {
        &self.context_id
    }

    /// Attributes the service requires.
    pub fn required(&self) -> &[AttributeKind] {
        &self.required
    }

    /// When the nonce expires.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
}

impl WireObject for Challenge {
    const KIND: &'static str = "challenge";
}

/// The BBS presentation header: binds a proof to one nonce.
pub(crate) fn presentation_header(nonce: &[u8; NONCE_LEN]) -> Vec<u8> {
    [&b"masque-cred/v1/nonce:"[..], &nonce[..]].concat()
}

/// What the holder sends the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presentation {
    pub(crate) context_id: ContextId,
    #[serde(with = "b64")]
    pub(crate) nonce: [u8; NONCE_LEN],
    pub(crate) issuer_key_id: KeyId,
    pub(crate) epoch: Epoch,
    pub(crate) modalities: Option<Modalities>,
    pub(crate) enrolment_quarter: Option<EnrolmentQuarter>,
    pub(crate) pseudonym: Pseudonym,
    #[serde(with = "b64")]
    pub(crate) proof: Vec<u8>,
}

impl Presentation {
    /// Number of disclosed issuer-known messages (the epoch plus any optional attributes).
    pub(crate) fn disclosed_count(&self) -> usize {
        1 + usize::from(self.modalities.is_some()) + usize::from(self.enrolment_quarter.is_some())
    }
}

impl WireObject for Presentation {
    const KIND: &'static str = "presentation";
    fn validate(&self) -> Result<(), DecodeError> {
        let expected = proof_len(crate::attributes::MESSAGE_COUNT, self.disclosed_count());
        expect_len("proof", expected, self.proof.len())
    }
}

/// A per-service pseudonym: a compressed G1 point, stable for one person and one service.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pseudonym(#[serde(with = "b64")] pub(crate) [u8; PSEUDONYM_LEN]);

impl Pseudonym {
    /// The raw bytes (what a service stores as the account key).
    pub fn as_bytes(&self) -> &[u8; PSEUDONYM_LEN] {
        &self.0
    }
}

impl fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use base64::Engine as _;
        f.write_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pseudonym({self})")
    }
}

/// What a service learns from a valid presentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPresentation {
    /// The person's pseudonym at this service.
    pub pseudonym: Pseudonym,
    /// The credential's epoch.
    pub epoch: Epoch,
    /// Modalities, if disclosed.
    pub modalities: Option<Modalities>,
    /// Enrolment quarter, if disclosed.
    pub enrolment_quarter: Option<EnrolmentQuarter>,
}

fn expect_len(field: &'static str, expected: usize, found: usize) -> Result<(), DecodeError> {
    if expected == found {
        Ok(())
    } else {
        Err(DecodeError::Length {
            field,
            expected,
            found,
        })
    }
}
