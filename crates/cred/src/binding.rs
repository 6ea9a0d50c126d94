//! One prover nym per record: the holder's nym anchor and the proof that binds a
//! credential request to it.
//!
//! The blind-issuance commitment of a request is `C = b·Q_2 + n·J_1`, where `n` is the
//! wallet's prover nym, `b` a fresh random prover blind, and `Q_2, J_1` the first two
//! generators of the blind API id (`"BLIND_" || API_ID_NYM`). The holder's *nym anchor*
//! for a record is the Pedersen commitment `A = ρ·Q_2 + n·J_1` over the same generators,
//! with `ρ` derived from the wallet seed, the issuer's key id and the record's binding
//! salt ([`crate::secrets`]), so a wallet restored from its mnemonic recomputes it.
//!
//! Both commit to the same nym iff `C − A = (b − ρ)·Q_2`, a multiple of `Q_2` alone. The
//! holder proves knowledge of `δ = b − ρ` with a Schnorr proof made non-interactive by
//! Fiat–Shamir: `T = k·Q_2` for a fresh random `k`, challenge
//! `c = hash_to_scalar(Q_2 || PK || salt || A || I2OSP(len, 8) || commitment_with_proof || T,
//! "MASQUE_CRED_V1_NYM_BINDING_H2S_")`, response `s = k + c·δ`; the issuer recomputes
//! `T = s·Q_2 − c·(C − A)` and checks the challenge. The transcript binds the proof to the
//! issuer key, the record (its salt), the anchor and the whole request, so a proof cannot
//! be moved to another record, issuer or request.
//!
//! Why it is binding: if a request commits to a nym `n' ≠ n` then `C − A = δ'·Q_2 +
//! (n' − n)·J_1`, and a valid proof (from which `δ` can be extracted by rewinding) would
//! give `(n' − n)·J_1 = (δ − δ')·Q_2`: the discrete logarithm of `J_1` to the base `Q_2`,
//! two hash-to-curve points whose relation nobody knows. The anchor is hiding: `ρ` is a
//! PRF output under the wallet seed, unknown to the issuer.
//!
//! The check runs at the issuer, above the [`crate::backend::BbsBackend`], on the
//! commitment bytes every backend produces in the drafts' encoding, so both backends
//! behave the same. Curve arithmetic is `blstrs` (the fast backend's generators, hashing
//! and constant-time secret multiplications).

use blstrs::{G1Projective, Scalar};
use zeroize::Zeroizing;

use crate::backend::PUBLIC_KEY_LEN;
use crate::backend::fast::codec::{G1_LEN, g1, nonzero_scalar, scalar};
use crate::backend::fast::core::API_ID_NYM_BLIND;
use crate::backend::fast::generators::generators;
use crate::backend::fast::hash::{hash_to_scalar, i2osp8};
use crate::backend::fast::msm::secret_msm;
use crate::backend::fast::secret::{Fr, UniformBytes, from_secret, random_scalars};
use crate::error::CredError;
use crate::objects::{BindingSalt, NymAnchor, NymBinding};
use crate::secrets::SecretScalar;

/// `hash_to_scalar` DST of the binding proof's challenge.
const BINDING_DST: &[u8] = b"MASQUE_CRED_V1_NYM_BINDING_H2S_";

/// `Q_2` and `J_1`: the blind generators of a one-nym commitment, and `Q_2` compressed.
fn blind_generators() -> Result<(G1Projective, G1Projective, [u8; G1_LEN]), CredError> {
    let gens = generators(API_ID_NYM_BLIND, 2)?;
    let points = gens.first(2);
    Ok((points[0], points[1], gens.first_compressed(1)[0]))
}

/// The holder's nym anchor `ρ·Q_2 + n·J_1` (constant-time in both secrets).
pub(crate) fn anchor(
    prover_nym: &SecretScalar,
    anchor_blind: &SecretScalar,
) -> Result<NymAnchor, CredError> {
    let (q2, j1, _) = blind_generators()?;
    let scalars = Zeroizing::new(vec![*from_secret(anchor_blind)?, *from_secret(prover_nym)?]);
    Ok(NymAnchor(secret_msm(&[q2, j1], &scalars).to_compressed()))
}

/// What a binding proof is about: the issuer key, the record's salt, the anchor and the
/// request's commitment with its proof.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Statement<'a> {
    /// The issuer's public key.
    pub issuer: &'a [u8; PUBLIC_KEY_LEN],
    /// The record's binding salt.
    pub salt: &'a BindingSalt,
    /// The holder's anchor for the record.
    pub anchor: &'a NymAnchor,
    /// The request's `commitment_with_proof` (its first 48 bytes are `C`).
    pub commitment_with_proof: &'a [u8],
}

impl Statement<'_> {
    /// `C − A`, or an error naming which point is invalid.
    fn difference(&self) -> Result<G1Projective, CredError> {
        let c = g1(
            self.commitment_with_proof.get(..G1_LEN).unwrap_or_default(),
            CredError::MalformedRequest,
        )?;
        let a = g1(&self.anchor.0, CredError::InvalidNymBinding)?;
        Ok(c - a)
    }

    /// The Fiat–Shamir challenge for the commitment `t`.
    fn challenge(&self, q2: &[u8; G1_LEN], t: &G1Projective) -> Result<Scalar, CredError> {
        let cwp = self.commitment_with_proof;
        let mut input = Vec::with_capacity(3 * G1_LEN + PUBLIC_KEY_LEN + 32 + 8 + cwp.len());
        input.extend_from_slice(q2);
        input.extend_from_slice(self.issuer);
        input.extend_from_slice(&self.salt.0);
        input.extend_from_slice(&self.anchor.0);
        input.extend_from_slice(&i2osp8(cwp.len()));
        input.extend_from_slice(cwp);
        input.extend_from_slice(&t.to_compressed());
        hash_to_scalar(&input, BINDING_DST)
    }
}

/// The holder's proof for `statement`, knowing the request's prover blind and the anchor
/// blind; `rng` supplies the Schnorr nonce.
pub(crate) fn prove(
    statement: &Statement<'_>,
    prover_blind: &SecretScalar,
    anchor_blind: &SecretScalar,
    rng: &mut dyn UniformBytes,
) -> Result<NymBinding, CredError> {
    let (q2, _, q2_compressed) = blind_generators()?;
    let delta = Zeroizing::new(Fr(
        from_secret(prover_blind)?.0 - from_secret(anchor_blind)?.0
    ));
    let nonce = random_scalars(rng, 1)?;
    let t = secret_msm(&[q2], &nonce);
    let challenge = statement.challenge(&q2_compressed, &t)?;
    let response = Zeroizing::new(Fr(nonce[0].0 + challenge * delta.0));
    Ok(NymBinding {
        anchor: *statement.anchor,
        challenge: challenge.to_bytes_be(),
        response: response.0.to_bytes_be(),
    })
}

/// Checks `binding` against `statement` (whose anchor must be the binding's):
/// [`CredError::InvalidNymBinding`] unless the request's commitment provably hides the
/// anchor's nym; [`CredError::MalformedRequest`] if the commitment is not a valid point.
pub(crate) fn verify(statement: &Statement<'_>, binding: &NymBinding) -> Result<(), CredError> {
    let invalid = || CredError::InvalidNymBinding;
    if binding.anchor != *statement.anchor {
        return Err(invalid());
    }
    let (q2, _, q2_compressed) = blind_generators()?;
    let d = statement.difference()?;
    let c = nonzero_scalar(&binding.challenge, invalid())?;
    let s = scalar(&binding.response, invalid())?;
    // Public values only: plain (variable-time) arithmetic is fine here.
    let t = q2 * s - d * c;
    if statement.challenge(&q2_compressed, &t)? != c {
        return Err(invalid());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::fast::secret::OsRandom;
    use crate::backend::fast::secret::to_secret;
    use ff::Field;
    use proptest::prelude::*;

    /// A fixed, valid G2 public key (the fast backend's `SkToPk` of a fixed key).
    fn issuer_key() -> [u8; PUBLIC_KEY_LEN] {
        crate::backend::fast::blind::keygen(&[7; 32], &[])
            .unwrap()
            .1
    }

    /// `commitment_with_proof` bytes whose commitment is `b·Q_2 + n·J_1` (the proof part
    /// is filler: the binding proof only reads `C` and hashes the rest).
    fn request_bytes(nym: &Scalar, blind: &Scalar, filler: u8) -> Vec<u8> {
        let (q2, j1, _) = blind_generators().unwrap();
        let c = q2 * blind + j1 * nym;
        let mut out = c.to_compressed().to_vec();
        out.extend_from_slice(&[filler; 96]);
        out
    }

    fn scalar_from(bytes: [u8; 32]) -> Scalar {
        crate::backend::fast::hash::hash_to_scalar(&bytes, b"TEST_SCALAR").unwrap()
    }

    struct Case {
        pk: [u8; PUBLIC_KEY_LEN],
        salt: BindingSalt,
        nym: Scalar,
        rho: Scalar,
        blind: Scalar,
        request: Vec<u8>,
    }

    impl Case {
        fn new(nym: Scalar, rho: Scalar, blind: Scalar, salt: [u8; 32]) -> Self {
            Self {
                pk: issuer_key(),
                salt: BindingSalt(salt),
                nym,
                rho,
                blind,
                request: request_bytes(&nym, &blind, 0x11),
            }
        }

        fn anchor(&self) -> NymAnchor {
            anchor(&to_secret(&self.nym), &to_secret(&self.rho)).unwrap()
        }

        fn prove_with(&self, anchor: &NymAnchor) -> NymBinding {
            let statement = Statement {
                issuer: &self.pk,
                salt: &self.salt,
                anchor,
                commitment_with_proof: &self.request,
            };
            prove(
                &statement,
                &to_secret(&self.blind),
                &to_secret(&self.rho),
                &mut OsRandom,
            )
            .unwrap()
        }

        fn verify(&self, binding: &NymBinding) -> Result<(), CredError> {
            verify(
                &Statement {
                    issuer: &self.pk,
                    salt: &self.salt,
                    anchor: &binding.anchor,
                    commitment_with_proof: &self.request,
                },
                binding,
            )
        }
    }

    #[test]
    fn an_honest_proof_verifies_and_a_copied_anchor_does_not_help() {
        let honest = Case::new(
            scalar_from([1; 32]),
            scalar_from([2; 32]),
            scalar_from([3; 32]),
            [9; 32],
        );
        let binding = honest.prove_with(&honest.anchor());
        assert_eq!(honest.verify(&binding), Ok(()));

        // Another nym (another wallet seed) that knows the recorded anchor cannot prove
        // its commitment against it.
        let other = Case::new(
            scalar_from([4; 32]),
            scalar_from([2; 32]),
            scalar_from([3; 32]),
            [9; 32],
        );
        let forged = other.prove_with(&honest.anchor());
        assert_eq!(other.verify(&forged), Err(CredError::InvalidNymBinding));
    }

    #[test]
    fn edge_scalars_still_give_valid_proofs() {
        // The request's blind equal to the anchor's (C = A, δ = 0), and a blind of one.
        for (rho, blind) in [
            (scalar_from([2; 32]), scalar_from([2; 32])),
            (Scalar::ONE, Scalar::ONE),
            (Scalar::ONE, -Scalar::ONE),
        ] {
            let case = Case::new(scalar_from([5; 32]), rho, blind, [0; 32]);
            let binding = case.prove_with(&case.anchor());
            assert_eq!(case.verify(&binding), Ok(()));
        }
    }

    #[test]
    fn malformed_points_and_scalars_are_typed_errors() {
        let case = Case::new(
            scalar_from([1; 32]),
            scalar_from([2; 32]),
            scalar_from([3; 32]),
            [9; 32],
        );
        let good = case.prove_with(&case.anchor());
        let mut zero_challenge = good.clone();
        zero_challenge.challenge = [0; 32];
        let mut non_canonical = good.clone();
        non_canonical.response = [0xff; 32];
        let mut bad_anchor = good.clone();
        bad_anchor.anchor = NymAnchor([0xff; 48]);
        let mut identity_anchor = good.clone();
        identity_anchor.anchor =
            NymAnchor(<G1Projective as group::Group>::identity().to_compressed());
        for b in [zero_challenge, non_canonical, bad_anchor, identity_anchor] {
            assert_eq!(case.verify(&b), Err(CredError::InvalidNymBinding));
        }
        // A commitment that is not a point is the request's fault.
        let statement = Statement {
            issuer: &case.pk,
            salt: &case.salt,
            anchor: &good.anchor,
            commitment_with_proof: &[0u8; 10],
        };
        assert_eq!(verify(&statement, &good), Err(CredError::MalformedRequest));
        // The statement's anchor must be the binding's.
        let other_anchor = Case::new(
            scalar_from([1; 32]),
            scalar_from([8; 32]),
            scalar_from([3; 32]),
            [9; 32],
        )
        .anchor();
        let statement = Statement {
            anchor: &other_anchor,
            ..statement
        };
        assert_eq!(verify(&statement, &good), Err(CredError::InvalidNymBinding));
    }

    #[test]
    fn anchors_hide_with_the_blind_and_bind_the_nym() {
        let n = to_secret(&scalar_from([1; 32]));
        let a = anchor(&n, &to_secret(&scalar_from([2; 32]))).unwrap();
        assert_eq!(a, anchor(&n, &to_secret(&scalar_from([2; 32]))).unwrap());
        assert_ne!(a, anchor(&n, &to_secret(&scalar_from([3; 32]))).unwrap());
        assert_ne!(
            a,
            anchor(
                &to_secret(&scalar_from([4; 32])),
                &to_secret(&scalar_from([2; 32]))
            )
            .unwrap()
        );
    }

    /// Which single field of a proof or its statement a test changes.
    #[derive(Debug, Clone, Copy)]
    enum Changed {
        Issuer,
        Salt,
        Anchor,
        Request,
        Challenge,
        Response,
    }

    fn flip(bytes: &mut [u8], at: usize, bit: u8) {
        let i = at % bytes.len();
        bytes[i] ^= 1 << (bit % 8);
    }

    fn arb_scalar() -> impl Strategy<Value = Scalar> {
        prop_oneof![
            Just(Scalar::ONE),
            Just(-Scalar::ONE),
            any::<[u8; 32]>().prop_map(scalar_from),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn valid_proofs_verify(
            nym in arb_scalar(), rho in arb_scalar(), blind in arb_scalar(), salt in any::<[u8; 32]>(),
        ) {
            let case = Case::new(nym, rho, blind, salt);
            let binding = case.prove_with(&case.anchor());
            prop_assert_eq!(case.verify(&binding), Ok(()));
        }

        #[test]
        fn any_single_field_change_fails(
            nym in arb_scalar(), rho in arb_scalar(), blind in arb_scalar(), salt in any::<[u8; 32]>(),
            field in prop_oneof![
                Just(Changed::Issuer), Just(Changed::Salt), Just(Changed::Anchor),
                Just(Changed::Request), Just(Changed::Challenge), Just(Changed::Response),
            ],
            at in any::<usize>(), bit in any::<u8>(),
        ) {
            let mut case = Case::new(nym, rho, blind, salt);
            let mut binding = case.prove_with(&case.anchor());
            match field {
                Changed::Issuer => {
                    // Another valid key, so the change is in the transcript, not a decode.
                    case.pk = crate::backend::fast::blind::keygen(&[at as u8 ^ 1; 32], &[]).unwrap().1;
                    prop_assume!(case.pk != issuer_key());
                }
                Changed::Salt => flip(&mut case.salt.0, at, bit),
                Changed::Anchor => flip(&mut binding.anchor.0, at, bit),
                Changed::Request => flip(&mut case.request, at, bit),
                Changed::Challenge => flip(&mut binding.challenge, at, bit),
                Changed::Response => flip(&mut binding.response, at, bit),
            }
            let result = case.verify(&binding);
            prop_assert!(
                matches!(result, Err(CredError::InvalidNymBinding | CredError::MalformedRequest)),
                "{:?} change accepted: {:?}", field, result
            );
        }

        #[test]
        fn a_different_nym_never_verifies_against_the_anchor(
            nym in arb_scalar(), other in arb_scalar(), rho in arb_scalar(), blind in arb_scalar(),
        ) {
            prop_assume!(nym != other);
            let honest = Case::new(nym, rho, blind, [3; 32]);
            // The cheater's request commits to `other` and proves with the right `ρ`.
            let cheat = Case::new(other, rho, blind, [3; 32]);
            let forged = cheat.prove_with(&honest.anchor());
            prop_assert_eq!(cheat.verify(&forged), Err(CredError::InvalidNymBinding));
        }
    }
}
