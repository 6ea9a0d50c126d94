//! The swap point for the BBS cryptography.
//!
//! [`BbsBackend`] is the narrow, byte-level interface the roles ([`crate::issuer`],
//! [`crate::holder`], [`crate::verifier`]) use: the operations of the IRTF CFRG drafts
//! *BBS Signatures*, *Blind BBS Signatures* and *BBS per Verifier Linkability* in the
//! BLS12-381-SHA-256 ciphersuite, restricted to the shape masque uses (one prover nym
//! scalar, no prover-committed messages, issuer-known messages only). Two implementations
//! pass the same published fixtures and agree byte for byte: [`fast::Fast`] (the
//! default) and [`zkryptium::Zkryptium`] (the reference); any other that passes them can
//! replace either.
//!
//! Contract for implementations: never panic on malformed input (return
//! [`CredError`]), validate points and scalars, and hold secrets only in zeroizing types
//! where the underlying library allows it.

pub mod fast;
#[cfg(test)]
mod kat_nym;
pub mod zkryptium;

use crate::error::CredError;
use crate::secrets::SecretScalar;

/// Length of a compressed BLS12-381 G2 public key.
pub const PUBLIC_KEY_LEN: usize = 96;
/// Length of a BBS signature (G1 point `A` and scalar `e`).
pub const SIGNATURE_LEN: usize = 80;
/// Length of a pseudonym (compressed G1 point).
pub const PSEUDONYM_LEN: usize = 48;
/// Length of a commitment with proof for one prover nym and no committed messages:
/// a G1 point, `s^`, one `m^` and the challenge.
pub const COMMITMENT_LEN: usize = 48 + 3 * 32;

/// Length of a proof with pseudonym when `disclosed` of `message_count` issuer-known
/// messages are disclosed: three G1 points, `e^`, `r1^`, `r3^`, one response per hidden
/// message plus the prover blind and the nym secret, and the challenge.
pub fn proof_len(message_count: usize, disclosed: usize) -> usize {
    3 * 48 + 3 * 32 + 32 * (message_count.saturating_sub(disclosed) + 2) + 32
}

/// A BBS implementation with blind issuance and pseudonyms (BLS12-381-SHA-256).
pub trait BbsBackend: Send + Sync {
    /// Human-readable name and version of the implementation.
    fn name(&self) -> &'static str;

    /// `KeyGen` from at least 32 bytes of key material: the secret key and the public key.
    fn keygen(
        &self,
        key_material: &[u8],
    ) -> Result<(SecretScalar, [u8; PUBLIC_KEY_LEN]), CredError>;

    /// Whether `pk` is a valid public key (a point of the G2 subgroup, not the identity).
    fn validate_public_key(&self, pk: &[u8; PUBLIC_KEY_LEN]) -> Result<(), CredError>;

    /// `CommitWithNym` over the prover nym: the commitment with its proof of correctness
    /// and the secret prover blind.
    fn commit(&self, prover_nym: &SecretScalar) -> Result<(Vec<u8>, SecretScalar), CredError>;

    /// `BlindSignWithNym`: verifies the commitment's proof (else
    /// [`CredError::MalformedRequest`]) and signs it with the issuer-known `messages`.
    #[allow(clippy::too_many_arguments)]
    fn blind_sign(
        &self,
        sk: &SecretScalar,
        pk: &[u8; PUBLIC_KEY_LEN],
        commitment_with_proof: &[u8],
        header: &[u8],
        signer_nym_entropy: &SecretScalar,
        messages: &[Vec<u8>],
    ) -> Result<[u8; SIGNATURE_LEN], CredError>;

    /// `VerifyFinalizeWithNym`: checks the blind signature and returns the final nym secret
    /// (`prover_nym + signer_nym_entropy`).
    #[allow(clippy::too_many_arguments)]
    fn verify_finalize(
        &self,
        pk: &[u8; PUBLIC_KEY_LEN],
        signature: &[u8; SIGNATURE_LEN],
        header: &[u8],
        messages: &[Vec<u8>],
        prover_nym: &SecretScalar,
        signer_nym_entropy: &SecretScalar,
        prover_blind: &SecretScalar,
    ) -> Result<SecretScalar, CredError>;

    /// `ProofGenWithNym`: a proof disclosing `messages[i]` for `i` in `disclosed`
    /// (ascending), bound to `presentation_header`, and the pseudonym for `context_id`.
    #[allow(clippy::too_many_arguments)]
    fn proof_gen(
        &self,
        pk: &[u8; PUBLIC_KEY_LEN],
        signature: &[u8; SIGNATURE_LEN],
        header: &[u8],
        presentation_header: &[u8],
        nym_secret: &SecretScalar,
        context_id: &[u8],
        messages: &[Vec<u8>],
        disclosed: &[usize],
        prover_blind: &SecretScalar,
    ) -> Result<(Vec<u8>, [u8; PSEUDONYM_LEN]), CredError>;

    /// `ProofVerifyWithNym`: `Ok` iff the proof is valid for the disclosed
    /// `(index, message)` pairs (ascending index) out of `message_count` messages, the
    /// pseudonym and `context_id`; [`CredError::InvalidProof`] otherwise.
    #[allow(clippy::too_many_arguments)]
    fn proof_verify(
        &self,
        pk: &[u8; PUBLIC_KEY_LEN],
        proof: &[u8],
        header: &[u8],
        presentation_header: &[u8],
        pseudonym: &[u8; PSEUDONYM_LEN],
        context_id: &[u8],
        message_count: usize,
        disclosed: &[(usize, Vec<u8>)],
    ) -> Result<(), CredError>;
}
