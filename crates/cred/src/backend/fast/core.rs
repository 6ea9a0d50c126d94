//! The core BBS operations shared by blind issuance and proofs (the BBS draft's core
//! operations and utilities, as the pseudonym draft's vectors use them): the domain
//! scalar, signing a prepared `B`, signature verification, and the pairing check.
//!
//! Every pairing equation is one multi-Miller loop followed by a single final
//! exponentiation; multi-scalar sums are in [`super::msm`].

use std::sync::{Arc, Mutex, OnceLock};

use blstrs::{Bls12, G1Affine, G1Projective, G2Affine, G2Prepared, Scalar};
use ff::Field;
use group::{Curve, Group};
use pairing::{MillerLoopResult, MultiMillerLoop};
use zeroize::Zeroizing;

use super::codec::{Signature, is_identity, public_key};
use super::generators::base_point;
use super::hash::{hash_to_scalar, i2osp8};
use super::secret::Fr;
use crate::backend::PUBLIC_KEY_LEN;
use crate::error::CredError;

/// `api_id` of the pseudonym draft for BLS12-381-SHA-256.
pub const API_ID_NYM: &[u8] = b"BBS_BLS12381G1_XMD:SHA-256_SSWU_RO_H2G_HM2S_PSEUDONYM_";
/// `api_id` of the blind generators: `"BLIND_" || API_ID_NYM`.
pub const API_ID_NYM_BLIND: &[u8] = b"BLIND_BBS_BLS12381G1_XMD:SHA-256_SSWU_RO_H2G_HM2S_PSEUDONYM_";
/// `api_id` of the core BBS interface (used by `KeyGen`'s default DST).
pub const API_ID_CORE: &[u8] = b"BBS_BLS12381G1_XMD:SHA-256_SSWU_RO_H2G_HM2S_";

/// `hash_to_scalar` DST for domains and challenges: `api_id || "H2S_"`.
pub fn h2s_dst() -> Vec<u8> {
    [API_ID_NYM, b"H2S_"].concat()
}

/// `calculate_domain`: binds the key, the generators `Q1, H_1.., Q2, J_1..` (compressed),
/// the API id and the header.
pub fn domain(
    pk: &[u8; PUBLIC_KEY_LEN],
    compressed_generators: &[&[[u8; 48]]],
    header: &[u8],
) -> Result<Scalar, CredError> {
    let count: usize = compressed_generators.iter().map(|g| g.len()).sum();
    let mut input = Vec::with_capacity(PUBLIC_KEY_LEN + 8 + 48 * count + 128 + header.len());
    input.extend_from_slice(pk);
    input.extend_from_slice(&i2osp8(count.saturating_sub(1)));
    for list in compressed_generators {
        for g in *list {
            input.extend_from_slice(g);
        }
    }
    input.extend_from_slice(API_ID_NYM);
    input.extend_from_slice(&i2osp8(header.len()));
    input.extend_from_slice(header);
    hash_to_scalar(&input, &h2s_dst())
}

/// The header the pseudonym draft signs: `header || I2OSP(nym_count, 8)`.
pub fn combined_header(header: &[u8], nym_count: usize) -> Vec<u8> {
    [header, &i2osp8(nym_count)[..]].concat()
}

/// `-BP2`, prepared for Miller loops once per process.
fn neg_g2_generator() -> &'static G2Prepared {
    static NEG: OnceLock<G2Prepared> = OnceLock::new();
    NEG.get_or_init(|| G2Prepared::from(-<G2Affine as group::prime::PrimeCurveAffine>::generator()))
}

/// A validated public key with its Miller-loop lines.
#[derive(Debug)]
pub struct PreparedKey {
    prepared: G2Prepared,
}

/// The most public keys kept prepared (issuers a process verifies against).
const PREPARED_KEYS: usize = 16;

/// `pk` validated ([`public_key`]) and prepared for pairings, from a small process-wide
/// cache (validation and line precomputation cost about as much as a Miller loop).
pub fn prepared_key(pk: &[u8; PUBLIC_KEY_LEN]) -> Result<Arc<PreparedKey>, CredError> {
    type Cache = Mutex<Vec<([u8; PUBLIC_KEY_LEN], Arc<PreparedKey>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    if let Some((_, found)) = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(k, _)| k == pk)
    {
        return Ok(Arc::clone(found));
    }
    let prepared = Arc::new(PreparedKey {
        prepared: G2Prepared::from(public_key(pk)?),
    });
    let mut entries = cache.lock().unwrap_or_else(|e| e.into_inner());
    if entries.len() >= PREPARED_KEYS {
        entries.remove(0);
    }
    entries.push((*pk, Arc::clone(&prepared)));
    Ok(prepared)
}

/// Whether `e(p1, pk) * e(p2, -BP2) == 1`: one multi-Miller loop, one final exponentiation.
pub fn pairing_check(p1: &G1Projective, pk: &PreparedKey, p2: &G1Projective) -> bool {
    let mut affine = [G1Affine::default(); 2];
    G1Projective::batch_normalize(&[*p1, *p2], &mut affine);
    let result =
        Bls12::multi_miller_loop(&[(&affine[0], &pk.prepared), (&affine[1], neg_g2_generator())])
            .final_exponentiation();
    result.is_identity().into()
}

/// The last step of (blind) signing: given `B` (already including `Q1 * domain`),
/// `e = hash_to_scalar(SK || B)` and `A = B * 1/(SK + e)`.
pub fn sign_prepared(sk: &Scalar, b: &G1Projective) -> Result<Signature, CredError> {
    if is_identity(b) {
        return Err(CredError::Backend("B is the identity"));
    }
    let mut e_input = Zeroizing::new(Vec::with_capacity(32 + 48));
    e_input.extend_from_slice(&sk.to_bytes_be());
    e_input.extend_from_slice(&b.to_compressed());
    let e = hash_to_scalar(&e_input, &h2s_dst())?;
    let sk_plus_e = Zeroizing::new(Fr(sk + e));
    let inverse: Option<Scalar> = sk_plus_e.0.invert().into();
    let inverse = Zeroizing::new(Fr(inverse.ok_or(CredError::Backend("SK + e is zero"))?));
    Ok(Signature {
        a: b * inverse.0,
        e,
    })
}

/// `CoreVerify` once `B = P1 + Q1 * domain + sum H_i * m_i` is known: whether
/// `e(A, W) * e(A * e - B, BP2) == 1`, i.e. `e(A, W) * e(B - A * e, -BP2) == 1`.
pub fn verify_prepared(pk: &PreparedKey, sig: &Signature, b: &G1Projective) -> bool {
    let rhs = b - sig.a * sig.e;
    pairing_check(&sig.a, pk, &rhs)
}

/// `P1` followed by `points`, for MSMs that start with the base point.
pub fn with_base_point(points: &[&[G1Projective]]) -> Vec<G1Projective> {
    let mut all = Vec::with_capacity(1 + points.iter().map(|p| p.len()).sum::<usize>());
    all.push(base_point());
    for list in points {
        all.extend_from_slice(list);
    }
    all
}

/// `SK * BP2`, compressed.
pub fn sk_to_pk(sk: &Scalar) -> [u8; PUBLIC_KEY_LEN] {
    (blstrs::G2Projective::generator() * sk)
        .to_affine()
        .to_compressed()
}
