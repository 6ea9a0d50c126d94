//! [`BbsBackend`] on the `zkryptium` crate, version 0.8.0.
//!
//! zkryptium 0.8.0's README and the draft links in its source name
//! `draft-irtf-cfrg-bbs-signatures-13`, `draft-irtf-cfrg-bbs-blind-signatures-02` (with
//! fixes from grotto-bbs-signatures) and `draft-irtf-cfrg-bbs-per-verifier-linkability-03`.
//! Those figures are zkryptium's own: no BBS revision past -11 and no pseudonym revision
//! past -02 was found published. What this backend is checked against is the pseudonym
//! draft's published BLS12-381-SHA-256 test vectors (`src/backend/kat_nym.rs`); the
//! revisions that amounts to, and where each was checked, are in `docs/cred.md`.
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

#[cfg(test)]
mod tests {
    //! The backend seen through [`BbsBackend`], against the published fixtures whose shape
    //! is masque's (one prover nym, no prover-committed messages).
    use super::*;

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn scalar(text: &str) -> SecretScalar {
        SecretScalar(unhex(text).try_into().unwrap())
    }

    #[test]
    fn trait_reproduces_published_signatures() {
        for text in [
            include_str!(
                "../../tests/fixtures/bls12-381-sha-256/nymSignature/nymSignature001.json"
            ),
            include_str!(
                "../../tests/fixtures/bls12-381-sha-256/nymSignature/nymSignature003.json"
            ),
        ] {
            let f: serde_json::Value = serde_json::from_str(text).unwrap();
            let s = |k: &str| f[k].as_str().unwrap();
            let sk = scalar(f["signerKeyPair"]["secretKey"].as_str().unwrap());
            let pk: [u8; PUBLIC_KEY_LEN] = unhex(f["signerKeyPair"]["publicKey"].as_str().unwrap())
                .try_into()
                .unwrap();
            let messages: Vec<Vec<u8>> = f["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| unhex(m.as_str().unwrap()))
                .collect();
            let prover_nym = scalar(f["proverNyms"][0].as_str().unwrap());
            let entropy = scalar(s("signer_nym_entropy"));
            let header = unhex(s("header"));
            let commitment = unhex(s("commitmentWithProof"));
            assert_eq!(commitment.len(), COMMITMENT_LEN);

            let backend = Zkryptium;
            backend.validate_public_key(&pk).unwrap();
            let sig = backend
                .blind_sign(&sk, &pk, &commitment, &header, &entropy, &messages)
                .unwrap();
            assert_eq!(sig.to_vec(), unhex(s("signature")));
            let nym_secret = backend
                .verify_finalize(
                    &pk,
                    &sig,
                    &header,
                    &messages,
                    &prover_nym,
                    &entropy,
                    &scalar(s("proverBlind")),
                )
                .unwrap();
            assert_eq!(nym_secret, scalar(f["nym_secrets"][0].as_str().unwrap()));

            // Proof sizes follow `proof_len`, and proofs verify, for every disclosure.
            let ctx = b"kat-context";
            for disclosed in [
                vec![],
                (0..messages.len()).step_by(2).collect(),
                (0..messages.len()).collect::<Vec<_>>(),
            ] {
                let (proof, nym) = backend
                    .proof_gen(
                        &pk,
                        &sig,
                        &header,
                        b"ph",
                        &nym_secret,
                        ctx,
                        &messages,
                        &disclosed,
                        &scalar(s("proverBlind")),
                    )
                    .unwrap();
                assert_eq!(proof.len(), proof_len(messages.len(), disclosed.len()));
                let shown: Vec<(usize, Vec<u8>)> = disclosed
                    .iter()
                    .map(|&i| (i, messages[i].clone()))
                    .collect();
                backend
                    .proof_verify(
                        &pk,
                        &proof,
                        &header,
                        b"ph",
                        &nym,
                        ctx,
                        messages.len(),
                        &shown,
                    )
                    .unwrap();
                // Truncated or extended proofs are refused without panicking.
                for bad in [
                    &proof[..proof.len() - 1],
                    &proof[..10],
                    &[proof.clone(), vec![0; 32]].concat()[..],
                ] {
                    assert_eq!(
                        backend.proof_verify(
                            &pk,
                            bad,
                            &header,
                            b"ph",
                            &nym,
                            ctx,
                            messages.len(),
                            &shown
                        ),
                        Err(CredError::InvalidProof)
                    );
                }
            }
        }
    }

    #[test]
    fn identity_and_garbage_public_keys_are_refused() {
        let backend = Zkryptium;
        assert!(backend.validate_public_key(&G2_IDENTITY).is_err());
        assert!(
            backend
                .validate_public_key(&[0xff; PUBLIC_KEY_LEN])
                .is_err()
        );
        assert!(backend.validate_public_key(&[0; PUBLIC_KEY_LEN]).is_err());
    }
}
