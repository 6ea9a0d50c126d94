//! [`BbsBackend`] on the `zkryptium` crate, version 0.8.0.
//!
//! Draft revisions implemented by zkryptium 0.8.0 (from its documentation and the
//! `#name-…` links in its source): `draft-irtf-cfrg-bbs-signatures-13`,
//! `draft-irtf-cfrg-bbs-blind-signatures-02` (with fixes from grotto-bbs-signatures) and
//! `draft-irtf-cfrg-bbs-per-verifier-linkability-03`; the pseudonym operations pass the
//! BLS12-381-SHA-256 fixtures of the pseudonym draft repository (see `tests/kat_nym.rs`).
//!
//! Limits of this backend, documented rather than hidden:
//! * zkryptium's own scalar and key types are not zeroized on drop; this module converts
//!   from and to zeroizing [`SecretScalar`]s at every call, so its copies live only for
//!   the duration of one operation.
//! * its randomness (commitments, proofs) comes from `rand` 0.8's `thread_rng`, a CSPRNG
//!   seeded from the operating system.
//! * several zkryptium deserialisers index slices without checking their length; every
//!   length is checked here before they are called.

use zkryptium::bbsplus::commitment::BlindFactor;
use zkryptium::bbsplus::keys::{BBSplusPublicKey, BBSplusSecretKey};
use zkryptium::bbsplus::pseudonym::{BBSplusPseudonym, PseudonymSecret};
use zkryptium::keys::pair::KeyPair;
use zkryptium::schemes::algorithms::BbsBls12381Sha256;
use zkryptium::schemes::generics::{BlindSignature, Commitment, PoKSignature};

use super::{BbsBackend, COMMITMENT_LEN, PSEUDONYM_LEN, PUBLIC_KEY_LEN, SIGNATURE_LEN, proof_len};
use crate::error::CredError;
use crate::secrets::SecretScalar;

type Suite = BbsBls12381Sha256;

/// Compressed encoding of the G2 identity point (never a valid public key).
const G2_IDENTITY: [u8; PUBLIC_KEY_LEN] = {
    let mut b = [0u8; PUBLIC_KEY_LEN];
    b[0] = 0xc0;
    b
};

/// The zkryptium 0.8.0 backend (BLS12-381-SHA-256).
#[derive(Debug, Clone, Copy, Default)]
pub struct Zkryptium;

fn public_key(pk: &[u8; PUBLIC_KEY_LEN]) -> Result<BBSplusPublicKey, CredError> {
    if pk == &G2_IDENTITY {
        return Err(CredError::UnknownIssuerKey);
    }
    BBSplusPublicKey::from_bytes(pk).map_err(|_| CredError::UnknownIssuerKey)
}

fn nym(s: &SecretScalar) -> Result<PseudonymSecret, CredError> {
    PseudonymSecret::from_bytes(s.bytes()).map_err(|_| CredError::Backend("non-canonical scalar"))
}

fn blind(s: &SecretScalar) -> Result<BlindFactor, CredError> {
    BlindFactor::from_bytes(s.bytes()).map_err(|_| CredError::Backend("non-canonical scalar"))
}

fn signature(sig: &[u8; SIGNATURE_LEN]) -> Result<BlindSignature<Suite>, CredError> {
    BlindSignature::<Suite>::from_bytes(sig).map_err(|_| CredError::InvalidIssuance)
}

impl BbsBackend for Zkryptium {
    fn name(&self) -> &'static str {
        "zkryptium 0.8.0"
    }

    fn keygen(
        &self,
        key_material: &[u8],
    ) -> Result<(SecretScalar, [u8; PUBLIC_KEY_LEN]), CredError> {
        let pair = KeyPair::<Suite>::generate(key_material, None, None)
            .map_err(|_| CredError::Backend("BBS key generation failed"))?;
        let (sk, pk) = pair.into_parts();
        Ok((SecretScalar(sk.to_bytes()), pk.to_bytes()))
    }

    fn validate_public_key(&self, pk: &[u8; PUBLIC_KEY_LEN]) -> Result<(), CredError> {
        public_key(pk).map(|_| ())
    }

    fn commit(&self, prover_nym: &SecretScalar) -> Result<(Vec<u8>, SecretScalar), CredError> {
        let (commitment, prover_blind) =
            Commitment::<Suite>::commit_with_nym(None, vec![nym(prover_nym)?])
                .map_err(|_| CredError::Backend("commitment failed"))?;
        Ok((commitment.to_bytes(), SecretScalar(prover_blind.to_bytes())))
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
        let sk = BBSplusSecretKey::from_bytes(sk.bytes())
            .map_err(|_| CredError::Backend("invalid issuer secret key"))?;
        let sig = BlindSignature::<Suite>::blind_sign_with_nym(
            &sk,
            &public_key(pk)?,
            Some(commitment_with_proof),
            1,
            Some(header),
            &nym(signer_nym_entropy)?,
            Some(messages),
        )
        .map_err(|e| match e {
            zkryptium::errors::Error::InvalidCommitment
            | zkryptium::errors::Error::InvalidCommitmentProof
            | zkryptium::errors::Error::DeserializationError(_) => CredError::MalformedRequest,
            _ => CredError::Backend("blind signing failed"),
        })?;
        Ok(sig.to_bytes())
    }

    fn verify_finalize(
        &self,
        pk: &[u8; PUBLIC_KEY_LEN],
        sig: &[u8; SIGNATURE_LEN],
        header: &[u8],
        messages: &[Vec<u8>],
        prover_nym: &SecretScalar,
        signer_nym_entropy: &SecretScalar,
        prover_blind: &SecretScalar,
    ) -> Result<SecretScalar, CredError> {
        let nym_secrets = signature(sig)?
            .verify_finalize_with_nym(
                &public_key(pk)?,
                Some(header),
                Some(messages),
                None,
                vec![nym(prover_nym)?],
                Some(&nym(signer_nym_entropy)?),
                Some(&blind(prover_blind)?),
            )
            .map_err(|_| CredError::InvalidIssuance)?;
        match nym_secrets.as_slice() {
            [single] => Ok(SecretScalar(single.to_bytes())),
            _ => Err(CredError::Backend("unexpected nym vector length")),
        }
    }

    fn proof_gen(
        &self,
        pk: &[u8; PUBLIC_KEY_LEN],
        sig: &[u8; SIGNATURE_LEN],
        header: &[u8],
        presentation_header: &[u8],
        nym_secret: &SecretScalar,
        context_id: &[u8],
        messages: &[Vec<u8>],
        disclosed: &[usize],
        prover_blind: &SecretScalar,
    ) -> Result<(Vec<u8>, [u8; PSEUDONYM_LEN]), CredError> {
        if disclosed.iter().any(|&i| i >= messages.len()) || !disclosed.is_sorted_by(|a, b| a < b) {
            return Err(CredError::Backend(
                "disclosed indexes must be ascending and in range",
            ));
        }
        let (proof, pseudonym) = PoKSignature::<Suite>::proof_gen_with_nym(
            &public_key(pk)?,
            sig,
            Some(header),
            Some(presentation_header),
            &vec![nym(nym_secret)?],
            context_id,
            Some(messages),
            None,
            Some(disclosed),
            None,
            Some(&blind(prover_blind)?),
        )
        .map_err(|_| CredError::Backend("proof generation failed"))?;
        let pseudonym: [u8; PSEUDONYM_LEN] = pseudonym
            .to_bytes()
            .try_into()
            .map_err(|_| CredError::Backend("pseudonym encoding has an unexpected length"))?;
        Ok((proof.to_bytes(), pseudonym))
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
        let ascending = disclosed.windows(2).all(|w| w[0].0 < w[1].0);
        let in_range = disclosed.iter().all(|(i, _)| *i < message_count);
        if !ascending || !in_range || proof.len() != proof_len(message_count, disclosed.len()) {
            return Err(CredError::InvalidProof);
        }
        let proof =
            PoKSignature::<Suite>::from_bytes(proof).map_err(|_| CredError::InvalidProof)?;
        let pseudonym =
            BBSplusPseudonym::from_bytes(pseudonym).map_err(|_| CredError::InvalidProof)?;
        let indexes: Vec<usize> = disclosed.iter().map(|(i, _)| *i).collect();
        let values: Vec<Vec<u8>> = disclosed.iter().map(|(_, m)| m.clone()).collect();
        proof
            .proof_verify_with_nym(
                &public_key(pk)?,
                Some(header),
                Some(presentation_header),
                &pseudonym,
                context_id,
                1,
                Some(message_count),
                Some(&values),
                None,
                Some(&indexes),
                None,
            )
            .map_err(|_| CredError::InvalidProof)
    }
}
