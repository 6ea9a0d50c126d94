//! `ProofGenWithNym` and `ProofVerifyWithNym` (`draft-irtf-cfrg-bbs-per-verifier-linkability`,
//! as its -02 test vectors pin it, over the BBS draft's proof, with the blind-signature
//! message layout of [`super::blind`]).
//!
//! The pseudonym for `context_id` is `OP * (nym_1 + nym_2 z + .. + nym_N z^(N-1))` with
//! `OP = hash_to_curve_g1(context_id, API_ID_NYM)` and
//! `z = hash_to_scalar(context_id, API_ID_NYM || "VECT_NYM_SECRETS")`; the proof shows the
//! same nym secrets are the signed ones.
//!
//! Verification cost: one windowed MSM each for `T1`, `T2` (with `Bv` folded in) and
//! `Uv`, one hash-to-curve, and one two-pairing check (multi-Miller loop,
//! one final exponentiation).

use blstrs::{G1Projective, Scalar};
use ff::Field;
use zeroize::Zeroizing;

use super::codec::{Proof, Signature, g1, is_identity};
use super::core::{
    API_ID_NYM, API_ID_NYM_BLIND, combined_header, domain, h2s_dst, pairing_check, prepared_key,
    with_base_point,
};
use super::generators::{base_point_rows, generators};
use super::hash::{hash_to_g1, hash_to_scalar, i2osp8, messages_to_scalars};
use super::msm::{Rows, public_msm, secret_msm};
use super::secret::{Fr, SecretFrs, UniformBytes, from_secret, random_scalars};
use crate::backend::{PSEUDONYM_LEN, PUBLIC_KEY_LEN, SIGNATURE_LEN};
use crate::error::CredError;
use crate::secrets::SecretScalar;

/// What a proof reveals and binds, besides the signed messages themselves.
#[derive(Debug, Clone, Copy)]
pub struct ProofContext<'a> {
    /// The issuer's public key.
    pub pk: &'a [u8; PUBLIC_KEY_LEN],
    /// The signature's header.
    pub header: &'a [u8],
    /// The presentation header (the verifier's nonce).
    pub presentation_header: &'a [u8],
    /// The verifier's context id (pseudonym scope).
    pub context_id: &'a [u8],
}

/// The secrets of a credential: the holder's nym secrets and prover blind.
#[derive(Debug, Clone, Copy)]
pub struct HolderSecrets<'a> {
    /// Nym secrets (as returned by finalisation).
    pub nym_secrets: &'a [SecretScalar],
    /// The prover blind of the commitment.
    pub prover_blind: &'a SecretScalar,
}

/// The messages of a credential and which of them to disclose (ascending indexes).
#[derive(Debug, Clone, Copy)]
pub struct Disclosure<'a> {
    /// Issuer-known messages.
    pub messages: &'a [Vec<u8>],
    /// Prover-committed messages.
    pub committed_messages: &'a [Vec<u8>],
    /// Indexes into `messages` to disclose.
    pub disclosed: &'a [usize],
    /// Indexes into `committed_messages` to disclose.
    pub disclosed_committed: &'a [usize],
}

/// What the verifier knows of the messages: how many issuer-known messages there are,
/// and the disclosed `(index, message)` pairs (ascending).
#[derive(Debug, Clone, Copy)]
pub struct Disclosed<'a> {
    /// Number of issuer-known messages `L`.
    pub message_count: usize,
    /// Number of nym secrets `N`.
    pub nym_count: usize,
    /// Disclosed issuer-known messages.
    pub messages: &'a [(usize, Vec<u8>)],
    /// Disclosed committed messages.
    pub committed: &'a [(usize, Vec<u8>)],
}

/// Whether `indexes` are strictly ascending and all below `bound`.
fn ascending_below(indexes: &[usize], bound: usize) -> bool {
    indexes.iter().all(|&i| i < bound) && indexes.windows(2).all(|w| w[0] < w[1])
}

/// `OP` and `z` for a context id.
fn pseudonym_base(context_id: &[u8]) -> Result<(G1Projective, Scalar), CredError> {
    let op = hash_to_g1(context_id, API_ID_NYM);
    let z = hash_to_scalar(context_id, &[API_ID_NYM, b"VECT_NYM_SECRETS"].concat())?;
    Ok((op, z))
}

/// `v_1 + v_2 z + .. + v_N z^(N-1)`.
fn poly_eval(values: impl Iterator<Item = Scalar>, z: Scalar) -> Scalar {
    let mut power = Scalar::ONE;
    values.fold(Scalar::ZERO, |acc, v| {
        let term = acc + v * power;
        power *= z;
        term
    })
}

/// Inputs of the proof challenge.
struct ChallengeInput<'a> {
    disclosed: &'a [(usize, Scalar)],
    points: [G1Projective; 7],
    domain: Scalar,
    presentation_header: &'a [u8],
    context_id: &'a [u8],
}

/// `I2OSP(R,8) || (I2OSP(i,8) || m_i)* || Abar || Bbar || D || T1 || T2 || pseudonym || U
/// || domain || I2OSP(len ph, 8) || ph || I2OSP(len ctx, 8) || ctx`, hashed to a scalar.
fn challenge(input: &ChallengeInput) -> Result<Scalar, CredError> {
    let mut out = Vec::with_capacity(
        8 + 40 * input.disclosed.len()
            + 7 * 48
            + 32
            + 16
            + input.presentation_header.len()
            + input.context_id.len(),
    );
    out.extend_from_slice(&i2osp8(input.disclosed.len()));
    for (i, m) in input.disclosed {
        out.extend_from_slice(&i2osp8(*i));
        out.extend_from_slice(&m.to_bytes_be());
    }
    for p in &input.points {
        out.extend_from_slice(&p.to_compressed());
    }
    out.extend_from_slice(&input.domain.to_bytes_be());
    out.extend_from_slice(&i2osp8(input.presentation_header.len()));
    out.extend_from_slice(input.presentation_header);
    out.extend_from_slice(&i2osp8(input.context_id.len()));
    out.extend_from_slice(input.context_id);
    hash_to_scalar(&out, &h2s_dst())
}

/// `ProofGenWithNym`: the proof and the pseudonym for `ctx.context_id`.
pub fn proof_gen_with_nym(
    ctx: &ProofContext,
    signature: &[u8; SIGNATURE_LEN],
    secrets: &HolderSecrets,
    disclosure: &Disclosure,
    rng: &mut dyn UniformBytes,
) -> Result<(Vec<u8>, [u8; PSEUDONYM_LEN]), CredError> {
    let bad_index = CredError::Backend("disclosed indexes must be ascending and in range");
    let (l, m, n) = (
        disclosure.messages.len(),
        disclosure.committed_messages.len(),
        secrets.nym_secrets.len(),
    );
    if n == 0 {
        return Err(CredError::Backend("at least one nym secret is required"));
    }
    if !ascending_below(disclosure.disclosed, l)
        || !ascending_below(disclosure.disclosed_committed, m)
    {
        return Err(bad_index);
    }
    prepared_key(ctx.pk)?;
    let sig = Signature::decode(signature, CredError::Backend("invalid signature encoding"))?;

    // All messages: m_1..m_L, prover_blind, cm_1..cm_M, nym_1..nym_N.
    let mut all: SecretFrs = Zeroizing::new(Vec::with_capacity(l + 1 + m + n));
    all.extend(
        messages_to_scalars(disclosure.messages, API_ID_NYM)?
            .into_iter()
            .map(Fr),
    );
    all.push(*from_secret(secrets.prover_blind)?);
    all.extend(
        messages_to_scalars(disclosure.committed_messages, API_ID_NYM)?
            .into_iter()
            .map(Fr),
    );
    for nym in secrets.nym_secrets {
        all.push(*from_secret(nym)?);
    }
    let total = all.len();
    let disclosed: Vec<usize> = disclosure
        .disclosed
        .iter()
        .copied()
        .chain(disclosure.disclosed_committed.iter().map(|j| j + l + 1))
        .collect();
    let undisclosed: Vec<usize> = (0..total).filter(|i| !disclosed.contains(i)).collect();

    let gens = generators(API_ID_NYM, l + 1)?;
    let blind_gens = generators(API_ID_NYM_BLIND, m + n + 1)?;
    let h: Vec<G1Projective> = [gens.first(l + 1), blind_gens.first(m + n + 1)].concat();
    let domain = domain(
        ctx.pk,
        &[
            gens.first_compressed(l + 1),
            blind_gens.first_compressed(m + n + 1),
        ],
        &combined_header(ctx.header, n),
    )?;

    let random = random_scalars(rng, 5 + undisclosed.len())?;
    let [r1, r2, e_tilde, r1_tilde, r3_tilde] = std::array::from_fn(|i| random[i].0);
    let m_tildes = &random[5..];

    let mut b_scalars: SecretFrs = Zeroizing::new(Vec::with_capacity(total + 2));
    b_scalars.push(Fr(Scalar::ONE));
    b_scalars.push(Fr(domain));
    b_scalars.extend(all.iter().copied());
    let b = secret_msm(&with_base_point(&[&h]), &b_scalars);

    let d = b * r2;
    let a_bar = sig.a * (r1 * r2);
    let b_bar = secret_msm(&[d, a_bar], &[Fr(r1), Fr(-sig.e)]);
    let t1 = secret_msm(&[a_bar, d], &[Fr(e_tilde), Fr(r1_tilde)]);
    let mut t2_points = Vec::with_capacity(undisclosed.len() + 1);
    t2_points.push(d);
    t2_points.extend(undisclosed.iter().map(|&k| h[k + 1]));
    let mut t2_scalars: SecretFrs = Zeroizing::new(Vec::with_capacity(undisclosed.len() + 1));
    t2_scalars.push(Fr(r3_tilde));
    t2_scalars.extend(m_tildes.iter().copied());
    let t2 = secret_msm(&t2_points, &t2_scalars);

    // The nym secrets are the last N messages, all undisclosed: their m~ are the last N.
    let (op, z) = pseudonym_base(ctx.context_id)?;
    let nym_value = Zeroizing::new(Fr(poly_eval(all[total - n..].iter().map(|f| f.0), z)));
    let nym_blind = Zeroizing::new(Fr(poly_eval(
        m_tildes[m_tildes.len() - n..].iter().map(|f| f.0),
        z,
    )));
    let pseudonym = op * nym_value.0;
    if is_identity(&pseudonym) {
        return Err(CredError::Backend("pseudonym is the identity"));
    }
    let u = op * nym_blind.0;

    let disclosed_pairs: Vec<(usize, Scalar)> = disclosed.iter().map(|&i| (i, all[i].0)).collect();
    let c = challenge(&ChallengeInput {
        disclosed: &disclosed_pairs,
        points: [a_bar, b_bar, d, t1, t2, pseudonym, u],
        domain,
        presentation_header: ctx.presentation_header,
        context_id: ctx.context_id,
    })?;

    let r3: Option<Scalar> = r2.invert().into();
    let r3 = Zeroizing::new(Fr(r3.ok_or(CredError::Backend("r2 is zero"))?));
    let proof = Proof {
        a_bar,
        b_bar,
        d,
        e_cap: e_tilde + sig.e * c,
        r1_cap: r1_tilde - r1 * c,
        r3_cap: r3_tilde - r3.0 * c,
        m_caps: undisclosed
            .iter()
            .zip(m_tildes.iter())
            .map(|(&k, t)| t.0 + all[k].0 * c)
            .collect(),
        challenge: c,
    };
    Ok((proof.encode(), pseudonym.to_compressed()))
}

/// `ProofVerifyWithNym`: `Ok` iff `proof` is valid for `pseudonym`; every failure is
/// [`CredError::InvalidProof`] (or [`CredError::UnknownIssuerKey`] for an invalid key).
pub fn proof_verify_with_nym(
    ctx: &ProofContext,
    proof: &[u8],
    pseudonym: &[u8; PSEUDONYM_LEN],
    disclosed: &Disclosed,
) -> Result<(), CredError> {
    let invalid = || CredError::InvalidProof;
    let w = prepared_key(ctx.pk)?;
    let proof = Proof::decode(proof)?;
    let pseudonym = g1(pseudonym, invalid())?;
    let (l, n) = (disclosed.message_count, disclosed.nym_count);
    let total = proof.m_caps.len() + disclosed.messages.len() + disclosed.committed.len();
    // total = L + 1 (prover blind) + M committed + N nyms.
    let m = total
        .checked_sub(l + 1 + n)
        .filter(|_| n > 0)
        .ok_or_else(invalid)?;
    let indexes = |pairs: &[(usize, Vec<u8>)]| pairs.iter().map(|(i, _)| *i).collect::<Vec<_>>();
    if !ascending_below(&indexes(disclosed.messages), l)
        || !ascending_below(&indexes(disclosed.committed), m)
    {
        return Err(invalid());
    }
    let signer = messages_to_scalars(
        &disclosed
            .messages
            .iter()
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>(),
        API_ID_NYM,
    )?;
    let committed = messages_to_scalars(
        &disclosed
            .committed
            .iter()
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>(),
        API_ID_NYM,
    )?;
    let disclosed_pairs: Vec<(usize, Scalar)> = disclosed
        .messages
        .iter()
        .map(|(i, _)| *i)
        .zip(signer)
        .chain(
            disclosed
                .committed
                .iter()
                .map(|(j, _)| j + l + 1)
                .zip(committed),
        )
        .collect();
    let undisclosed: Vec<usize> = (0..total)
        .filter(|i| !disclosed_pairs.iter().any(|(k, _)| k == i))
        .collect();

    let gens = generators(API_ID_NYM, l + 1).map_err(|_| invalid())?;
    let blind_gens = generators(API_ID_NYM_BLIND, m + n + 1).map_err(|_| invalid())?;
    let domain = domain(
        ctx.pk,
        &[
            gens.first_compressed(l + 1),
            blind_gens.first_compressed(m + n + 1),
        ],
        &combined_header(ctx.header, n),
    )?;
    let c = proof.challenge;

    // All scalars here are public: windowed MSMs with precomputed tables (cached for the
    // generators, per call for the proof's own points).
    let proof_rows = Rows::precompute(&[proof.b_bar, proof.a_bar, proof.d]);
    let t1 = public_msm(&proof_rows, &[c, proof.e_cap, proof.r1_cap]);
    // T2 = Bv * c + D * r3^ + sum H_j * m^_j with Bv = P1 + Q1 * domain + sum H_i * m_i.
    let generator_row = |rows: &mut Rows, k: usize| {
        if k <= l {
            rows.extend_from(gens.rows(), k..k + 1);
        } else {
            rows.extend_from(blind_gens.rows(), k - l - 1..k - l);
        }
    };
    let mut t2_rows = Rows::with_capacity(total + 3);
    let mut t2_scalars = Vec::with_capacity(total + 3);
    t2_rows.extend_from(base_point_rows(), 0..1);
    generator_row(&mut t2_rows, 0);
    t2_rows.extend_from(&proof_rows, 2..3);
    t2_scalars.extend([c, domain * c, proof.r3_cap]);
    for (i, v) in &disclosed_pairs {
        generator_row(&mut t2_rows, i + 1);
        t2_scalars.push(*v * c);
    }
    for (k, m_cap) in undisclosed.iter().zip(&proof.m_caps) {
        generator_row(&mut t2_rows, k + 1);
        t2_scalars.push(*m_cap);
    }
    let t2 = public_msm(&t2_rows, &t2_scalars);

    let (op, z) = pseudonym_base(ctx.context_id)?;
    let nym_caps = &proof.m_caps[proof.m_caps.len() - n..];
    let u = public_msm(
        &Rows::precompute(&[op, pseudonym]),
        &[poly_eval(nym_caps.iter().copied(), z), -c],
    );
    if is_identity(&u) {
        return Err(invalid());
    }
    let expected = challenge(&ChallengeInput {
        disclosed: &disclosed_pairs,
        points: [proof.a_bar, proof.b_bar, proof.d, t1, t2, pseudonym, u],
        domain,
        presentation_header: ctx.presentation_header,
        context_id: ctx.context_id,
    })?;
    if expected != c || !pairing_check(&proof.a_bar, &w, &proof.b_bar) {
        return Err(invalid());
    }
    Ok(())
}
