//! [`BbsBackend`] on `blstrs` 0.7.1 (supranational blst): the default backend.
//!
//! It implements the operations zkryptium 0.8.0 implements, with the same message layout
//! and the same departures from the draft texts, in the BLS12-381-SHA-256 ciphersuite,
//! and passes the same published fixtures byte for byte, including the generated
//! commitments and proofs under the drafts' mocked random scalars. Which draft revisions
//! that amounts to, and where each was checked, is in `docs/cred.md` (section "Scheme and
//! revisions").
//!
//! Why it is faster than [`super::zkryptium::Zkryptium`]:
//! * generators are derived once per `(api_id, count)` and cached for the process, with
//!   their compressed encodings and MSM tables;
//! * every public-scalar multi-scalar multiplication is one blst windowed multi-point
//!   multiplication over cached tables, with `Bv` folded into `T2`;
//! * each pairing equation is one multi-Miller loop with one final exponentiation, with
//!   `-BP2` and the issuer key prepared once.
//!
//! Safety of inputs: every point is checked to be in the prime-order subgroup and not
//! the identity, every scalar to be canonical (and non-zero where the draft says so);
//! malformed input is an error, never a panic. Secrets are held in zeroizing containers;
//! blst's internal buffers and register copies are not covered. Sums over secret scalars
//! use blst's constant-time single-point multiplication, never its (variable-time) MSM
//! routines.
//!
//! # Public surface
//!
//! Only [`Fast`] is public. The modules behind it (blind issuance, pseudonym proofs,
//! encodings, generators, hashing, MSMs, secret scalars) are internal to the crate; the
//! general operations (any number of messages, committed messages and nym secrets) and the
//! drafts' mocked random scalars are public only with the `test-vectors` feature, in
//! `test_vectors`. Without it they cannot be named:
//!
//! ```compile_fail
//! use masque_cred::backend::fast::secret::MockedRandom;
//! ```
//!
//! ```compile_fail
//! use masque_cred::backend::fast::blind::commit_with_nym;
//! ```

pub(crate) mod blind;
pub(crate) mod codec;
pub(crate) mod core;
pub(crate) mod generators;
pub(crate) mod hash;
pub(crate) mod msm;
pub(crate) mod nym_proof;
pub(crate) mod secret;
#[cfg(feature = "test-vectors")]
pub mod test_vectors;

use super::{BbsBackend, COMMITMENT_LEN, PSEUDONYM_LEN, PUBLIC_KEY_LEN, SIGNATURE_LEN};
use crate::error::CredError;
use crate::secrets::SecretScalar;
use nym_proof::{Disclosed, Disclosure, HolderSecrets, ProofContext};
use secret::OsRandom;

/// The blst-based backend (BLS12-381-SHA-256).
#[derive(Debug, Clone, Copy, Default)]
pub struct Fast;

impl BbsBackend for Fast {
    fn name(&self) -> &'static str {
        "fast (blstrs 0.7.1 / blst)"
    }

    fn keygen(
        &self,
        key_material: &[u8],
    ) -> Result<(SecretScalar, [u8; PUBLIC_KEY_LEN]), CredError> {
        blind::keygen(key_material, &[])
    }

    fn validate_public_key(&self, pk: &[u8; PUBLIC_KEY_LEN]) -> Result<(), CredError> {
        core::prepared_key(pk).map(|_| ())
    }

    fn commit(&self, prover_nym: &SecretScalar) -> Result<(Vec<u8>, SecretScalar), CredError> {
        blind::commit_with_nym(&[], std::slice::from_ref(prover_nym), &mut OsRandom)
    }

    fn blind_sign(
        &self,
        sk: &SecretScalar,
        pk: &[u8; PUBLIC_KEY_LEN],
        commitment_with_proof: &[u8],
        header: &[u8],
        signer_nym_entropy: &SecretScalar,
        messages: &[Vec<u8>],
    ) -> Result<[u8; SIGNATURE_LEN], CredError> {
        if commitment_with_proof.len() != COMMITMENT_LEN {
            return Err(CredError::MalformedRequest);
        }
        blind::blind_sign_with_nym(
            sk,
            pk,
            commitment_with_proof,
            1,
            header,
            signer_nym_entropy,
            messages,
        )
    }

    fn verify_finalize(
        &self,
        pk: &[u8; PUBLIC_KEY_LEN],
        signature: &[u8; SIGNATURE_LEN],
        header: &[u8],
        messages: &[Vec<u8>],
        prover_nym: &SecretScalar,
        signer_nym_entropy: &SecretScalar,
        prover_blind: &SecretScalar,
    ) -> Result<SecretScalar, CredError> {
        let mut nym_secrets = blind::verify_finalize_with_nym(
            pk,
            signature,
            header,
            messages,
            &[],
            std::slice::from_ref(prover_nym),
            signer_nym_entropy,
            prover_blind,
        )?;
        nym_secrets
            .pop()
            .ok_or(CredError::Backend("unexpected nym vector length"))
    }

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
    ) -> Result<(Vec<u8>, [u8; PSEUDONYM_LEN]), CredError> {
        nym_proof::proof_gen_with_nym(
            &ProofContext {
                pk,
                header,
                presentation_header,
                context_id,
            },
            signature,
            &HolderSecrets {
                nym_secrets: std::slice::from_ref(nym_secret),
                prover_blind,
            },
            &Disclosure {
                messages,
                committed_messages: &[],
                disclosed,
                disclosed_committed: &[],
            },
            &mut OsRandom,
        )
    }

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
    ) -> Result<(), CredError> {
        if proof.len() != super::proof_len(message_count, disclosed.len()) {
            return Err(CredError::InvalidProof);
        }
        nym_proof::proof_verify_with_nym(
            &ProofContext {
                pk,
                header,
                presentation_header,
                context_id,
            },
            proof,
            pseudonym,
            &Disclosed {
                message_count,
                nym_count: 1,
                messages: disclosed,
                committed: &[],
            },
        )
    }
}
