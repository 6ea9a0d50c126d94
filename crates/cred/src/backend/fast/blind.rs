//! Key generation and blind issuance with pseudonyms: `CommitWithNym`, the signer's
//! commitment validation, `BlindSignWithNym` and `VerifyFinalizeWithNym`
//! (`draft-irtf-cfrg-bbs-blind-signatures-02` as
//! `draft-irtf-cfrg-bbs-per-verifier-linkability-02` uses it). Where the blind draft's text
//! and the pseudonym draft's published vectors disagree, this follows the vectors, as
//! zkryptium 0.8.0 does: the signing domain covers `Q_2` too, and `e` is hashed over
//! `SK || B` only (`core::sign_prepared`). The vectors pin the result byte for byte.
//!
//! Message layout (`L` signer messages, `M` committed messages, `N` prover nyms):
//! generators `Q1, H_1..H_L` (API id `API_ID_NYM`) followed by `Q2, J_1..J_{M+N}`
//! (`"BLIND_" || API_ID_NYM`); scalars `m_1..m_L, prover_blind, cm_1..cm_M, nym_1..nym_N`,
//! where the last nym secret includes the signer's entropy.

use blstrs::{G1Projective, Scalar};
use ff::Field;
use zeroize::Zeroizing;

use super::codec::{CommitmentWithProof, Signature};
use super::core::{
    API_ID_CORE, API_ID_NYM, API_ID_NYM_BLIND, combined_header, domain, h2s_dst, prepared_key,
    sign_prepared, sk_to_pk, verify_prepared, with_base_point,
};
use super::generators::generators;
use super::hash::{hash_to_scalar, i2osp8, messages_to_scalars};
use super::msm::{Rows, public_msm, secret_msm};
use super::secret::{Fr, SecretFrs, UniformBytes, from_secret, random_scalars, to_secret};
use crate::backend::{PUBLIC_KEY_LEN, SIGNATURE_LEN};
use crate::error::CredError;
use crate::secrets::SecretScalar;

/// `KeyGen(key_material, key_info, key_dst = API_ID || "KEYGEN_DST_")` and `SkToPk`.
pub fn keygen(
    key_material: &[u8],
    key_info: &[u8],
) -> Result<(SecretScalar, [u8; PUBLIC_KEY_LEN]), CredError> {
    if key_material.len() < 32 {
        return Err(CredError::Backend("key material must be at least 32 bytes"));
    }
    let info_len = u16::try_from(key_info.len())
        .map_err(|_| CredError::Backend("key_info longer than 65535 bytes"))?;
    let mut input = Zeroizing::new(Vec::with_capacity(key_material.len() + 2 + key_info.len()));
    input.extend_from_slice(key_material);
    input.extend_from_slice(&info_len.to_be_bytes());
    input.extend_from_slice(key_info);
    let sk = Zeroizing::new(Fr(hash_to_scalar(
        &input,
        &[API_ID_CORE, b"KEYGEN_DST_"].concat(),
    )?));
    if bool::from(sk.0.is_zero()) {
        return Err(CredError::Backend("derived secret key is zero"));
    }
    Ok((to_secret(&sk.0), sk_to_pk(&sk.0)))
}

/// The commitment proof's challenge: `I2OSP(M, 8) || Q2, J_1..J_M || C || Cbar`.
fn commitment_challenge(
    blind_compressed: &[[u8; 48]],
    commitment: &G1Projective,
    c_bar: &G1Projective,
) -> Result<Scalar, CredError> {
    let mut input = Vec::with_capacity(8 + 48 * (blind_compressed.len() + 2));
    input.extend_from_slice(&i2osp8(blind_compressed.len().saturating_sub(1)));
    for g in blind_compressed {
        input.extend_from_slice(g);
    }
    input.extend_from_slice(&commitment.to_compressed());
    input.extend_from_slice(&c_bar.to_compressed());
    hash_to_scalar(&input, &h2s_dst())
}

/// `CommitWithNym`: commits to `committed_messages` and `prover_nyms` (in that order);
/// returns `commitment_with_proof` and the secret prover blind.
pub fn commit_with_nym(
    committed_messages: &[Vec<u8>],
    prover_nyms: &[SecretScalar],
    rng: &mut dyn UniformBytes,
) -> Result<(Vec<u8>, SecretScalar), CredError> {
    let mut secrets: SecretFrs = Zeroizing::new(
        messages_to_scalars(committed_messages, API_ID_NYM)?
            .into_iter()
            .map(Fr)
            .collect(),
    );
    for nym in prover_nyms {
        secrets.push(*from_secret(nym)?);
    }
    let m = secrets.len();
    let blind_gens = generators(API_ID_NYM_BLIND, m + 1)?;
    let points = blind_gens.first(m + 1);
    let random = random_scalars(rng, m + 2)?;
    let (prover_blind, s_tilde, m_tildes) = (random[0].0, random[1].0, &random[2..]);

    let mut scalars: SecretFrs = Zeroizing::new(Vec::with_capacity(m + 1));
    scalars.push(Fr(prover_blind));
    scalars.extend(secrets.iter().copied());
    let commitment = secret_msm(points, &scalars);
    let c_bar = secret_msm(points, &random[1..]);
    let challenge = commitment_challenge(blind_gens.first_compressed(m + 1), &commitment, &c_bar)?;
    let proof = CommitmentWithProof {
        commitment,
        s_cap: s_tilde + prover_blind * challenge,
        m_caps: m_tildes
            .iter()
            .zip(secrets.iter())
            .map(|(t, s)| t.0 + s.0 * challenge)
            .collect(),
        challenge,
    };
    Ok((proof.encode(), to_secret(&prover_blind)))
}

/// The signer's validation of a commitment with proof (`deserialize_and_validate_commit`):
/// the commitment point if the proof verifies, [`CredError::MalformedRequest`] otherwise.
pub fn validate_commitment(bytes: &[u8]) -> Result<(G1Projective, usize), CredError> {
    let parsed = CommitmentWithProof::decode(bytes)?;
    let m = parsed.m_caps.len();
    let blind_gens =
        generators(API_ID_NYM_BLIND, m + 1).map_err(|_| CredError::MalformedRequest)?;
    // Cbar = Q2 * s^ + sum J_i * m^_i - C * c: public scalars, cached generator tables.
    let mut rows = Rows::with_capacity(m + 2);
    rows.extend_from(blind_gens.rows(), 0..m + 1);
    rows.extend_from(&Rows::precompute(&[parsed.commitment]), 0..1);
    let mut scalars = Vec::with_capacity(m + 2);
    scalars.push(parsed.s_cap);
    scalars.extend_from_slice(&parsed.m_caps);
    scalars.push(-parsed.challenge);
    let c_bar = public_msm(&rows, &scalars);
    let expected = commitment_challenge(
        blind_gens.first_compressed(m + 1),
        &parsed.commitment,
        &c_bar,
    )?;
    if expected != parsed.challenge {
        return Err(CredError::MalformedRequest);
    }
    Ok((parsed.commitment, m))
}

/// `BlindSignWithNym`: validates the commitment and signs it with the issuer-known
/// `messages`, adding `signer_nym_entropy` to the last committed nym.
pub fn blind_sign_with_nym(
    sk: &SecretScalar,
    pk: &[u8; PUBLIC_KEY_LEN],
    commitment_with_proof: &[u8],
    nym_count: usize,
    header: &[u8],
    signer_nym_entropy: &SecretScalar,
    messages: &[Vec<u8>],
) -> Result<[u8; SIGNATURE_LEN], CredError> {
    prepared_key(pk)?;
    let (commitment, m) = validate_commitment(commitment_with_proof)?;
    if nym_count == 0 || nym_count > m {
        return Err(CredError::MalformedRequest);
    }
    let l = messages.len();
    let gens = generators(API_ID_NYM, l + 1)?;
    let blind_gens = generators(API_ID_NYM_BLIND, m + 1)?;
    let domain = domain(
        pk,
        &[
            gens.first_compressed(l + 1),
            blind_gens.first_compressed(m + 1),
        ],
        &combined_header(header, nym_count),
    )?;
    let entropy = from_secret(signer_nym_entropy)?;
    // B = P1 + Q1 * domain + sum H_i * m_i + J_M * entropy + C (the entropy is secret).
    let nym_generator = blind_gens.first(m + 1)[m];
    let points = with_base_point(&[gens.first(l + 1), &[nym_generator, commitment]]);
    let mut scalars: SecretFrs = Zeroizing::new(Vec::with_capacity(l + 4));
    scalars.push(Fr(Scalar::ONE));
    scalars.push(Fr(domain));
    scalars.extend(
        messages_to_scalars(messages, API_ID_NYM)?
            .into_iter()
            .map(Fr),
    );
    scalars.push(*entropy);
    scalars.push(Fr(Scalar::ONE));
    let b = secret_msm(&points, &scalars);
    let sk = from_secret(sk)?;
    Ok(sign_prepared(&sk.0, &b)?.encode())
}

/// `VerifyFinalizeWithNym`: verifies the blind signature and returns the nym secrets (the
/// prover nyms, the last one plus the signer's entropy); [`CredError::InvalidIssuance`]
/// if it does not verify.
#[allow(clippy::too_many_arguments)]
pub fn verify_finalize_with_nym(
    pk: &[u8; PUBLIC_KEY_LEN],
    signature: &[u8; SIGNATURE_LEN],
    header: &[u8],
    messages: &[Vec<u8>],
    committed_messages: &[Vec<u8>],
    prover_nyms: &[SecretScalar],
    signer_nym_entropy: &SecretScalar,
    prover_blind: &SecretScalar,
) -> Result<Vec<SecretScalar>, CredError> {
    let w = prepared_key(pk)?;
    let sig = Signature::decode(signature, CredError::InvalidIssuance)?;
    let n = prover_nyms.len();
    let mut nym_secrets: SecretFrs = Zeroizing::new(Vec::with_capacity(n));
    for nym in prover_nyms {
        nym_secrets.push(*from_secret(nym)?);
    }
    let last = nym_secrets
        .last_mut()
        .ok_or(CredError::Backend("at least one prover nym is required"))?;
    last.0 += from_secret(signer_nym_entropy)?.0;

    let (l, m) = (messages.len(), committed_messages.len() + n);
    let gens = generators(API_ID_NYM, l + 1)?;
    let blind_gens = generators(API_ID_NYM_BLIND, m + 1)?;
    let domain = domain(
        pk,
        &[
            gens.first_compressed(l + 1),
            blind_gens.first_compressed(m + 1),
        ],
        &combined_header(header, n),
    )?;
    let points = with_base_point(&[gens.first(l + 1), blind_gens.first(m + 1)]);
    let mut scalars: SecretFrs = Zeroizing::new(Vec::with_capacity(l + m + 3));
    scalars.push(Fr(Scalar::ONE));
    scalars.push(Fr(domain));
    scalars.extend(
        messages_to_scalars(messages, API_ID_NYM)?
            .into_iter()
            .map(Fr),
    );
    scalars.push(*from_secret(prover_blind)?);
    scalars.extend(
        messages_to_scalars(committed_messages, API_ID_NYM)?
            .into_iter()
            .map(Fr),
    );
    scalars.extend(nym_secrets.iter().copied());
    let b = secret_msm(&points, &scalars);
    if !verify_prepared(&w, &sig, &b) {
        return Err(CredError::InvalidIssuance);
    }
    Ok(nym_secrets.iter().map(|f| to_secret(&f.0)).collect())
}
