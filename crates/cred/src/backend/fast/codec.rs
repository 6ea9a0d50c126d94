//! Octet encodings of the drafts' objects, with validation on every decode.
//!
//! Points are compressed (48 bytes in G1, 96 in G2) and must decode to a point of the
//! prime-order subgroup that is not the identity (blst's `from_compressed` checks the
//! curve equation and the subgroup); scalars are 32 big-endian bytes strictly below the
//! group order `r`; the signature's `e` (as the BBS draft's `octets_to_signature` requires)
//! and every proof scalar (a hardening: zero never occurs in an honest proof) must not be
//! zero. Any other input is refused with an error naming the object, never with a panic.

use blstrs::{G1Affine, G1Projective, G2Affine, Scalar};
use ff::Field;
use group::Group;
use group::prime::PrimeCurveAffine;

use crate::backend::{PUBLIC_KEY_LEN, SIGNATURE_LEN};
use crate::error::CredError;

/// Length of a compressed G1 point.
pub const G1_LEN: usize = 48;
/// Length of a scalar.
pub const SCALAR_LEN: usize = 32;

/// A valid, non-identity G1 point, or `err`.
pub fn g1(bytes: &[u8], err: CredError) -> Result<G1Projective, CredError> {
    let bytes: &[u8; G1_LEN] = bytes.try_into().map_err(|_| err.clone())?;
    let point: Option<G1Affine> = G1Affine::from_compressed(bytes).into();
    match point {
        Some(p) if !bool::from(p.is_identity()) => Ok(p.into()),
        _ => Err(err),
    }
}

/// A canonical scalar, or `err`.
pub fn scalar(bytes: &[u8], err: CredError) -> Result<Scalar, CredError> {
    let bytes: &[u8; SCALAR_LEN] = bytes.try_into().map_err(|_| err.clone())?;
    Option::from(Scalar::from_bytes_be(bytes)).ok_or(err)
}

/// A canonical non-zero scalar, or `err`.
pub fn nonzero_scalar(bytes: &[u8], err: CredError) -> Result<Scalar, CredError> {
    let s = scalar(bytes, err.clone())?;
    if bool::from(s.is_zero()) {
        return Err(err);
    }
    Ok(s)
}

/// A public key: a valid, non-identity G2 point ([`CredError::UnknownIssuerKey`] if not).
pub fn public_key(pk: &[u8; PUBLIC_KEY_LEN]) -> Result<G2Affine, CredError> {
    let point: Option<G2Affine> = G2Affine::from_compressed(pk).into();
    match point {
        Some(p) if !bool::from(p.is_identity()) => Ok(p),
        _ => Err(CredError::UnknownIssuerKey),
    }
}

/// A BBS signature `(A, e)`.
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    /// The G1 point `A`.
    pub a: G1Projective,
    /// The scalar `e`.
    pub e: Scalar,
}

impl Signature {
    /// Decodes `A || e`; `err` for anything invalid.
    pub fn decode(bytes: &[u8; SIGNATURE_LEN], err: CredError) -> Result<Self, CredError> {
        Ok(Self {
            a: g1(&bytes[..G1_LEN], err.clone())?,
            e: nonzero_scalar(&bytes[G1_LEN..], err)?,
        })
    }

    /// `A || e`.
    pub fn encode(&self) -> [u8; SIGNATURE_LEN] {
        let mut out = [0u8; SIGNATURE_LEN];
        out[..G1_LEN].copy_from_slice(&self.a.to_compressed());
        out[G1_LEN..].copy_from_slice(&self.e.to_bytes_be());
        out
    }
}

/// A commitment with its proof of correctness: `C || s^ || m^_1..m^_M || c`.
#[derive(Debug, Clone)]
pub struct CommitmentWithProof {
    /// The commitment `C`.
    pub commitment: G1Projective,
    /// Response for the prover blind.
    pub s_cap: Scalar,
    /// Responses for the committed messages (prover nyms last).
    pub m_caps: Vec<Scalar>,
    /// The challenge.
    pub challenge: Scalar,
}

impl CommitmentWithProof {
    /// Decodes; [`CredError::MalformedRequest`] for a wrong length or an invalid element.
    pub fn decode(bytes: &[u8]) -> Result<Self, CredError> {
        let err = CredError::MalformedRequest;
        let scalars = bytes.len().checked_sub(G1_LEN).ok_or(err.clone())?;
        if !scalars.is_multiple_of(SCALAR_LEN) || scalars < 2 * SCALAR_LEN {
            return Err(err);
        }
        let commitment = g1(&bytes[..G1_LEN], err.clone())?;
        let mut all = bytes[G1_LEN..]
            .chunks_exact(SCALAR_LEN)
            .map(|c| scalar(c, err.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let challenge = all.pop().ok_or(err.clone())?;
        let s_cap = all.remove(0);
        Ok(Self {
            commitment,
            s_cap,
            m_caps: all,
            challenge,
        })
    }

    /// The octets.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(G1_LEN + SCALAR_LEN * (self.m_caps.len() + 2));
        out.extend_from_slice(&self.commitment.to_compressed());
        out.extend_from_slice(&self.s_cap.to_bytes_be());
        for m in &self.m_caps {
            out.extend_from_slice(&m.to_bytes_be());
        }
        out.extend_from_slice(&self.challenge.to_bytes_be());
        out
    }
}

/// A proof of knowledge of a signature (with pseudonym):
/// `Abar || Bbar || D || e^ || r1^ || r3^ || m^_1..m^_U || c`.
#[derive(Debug, Clone)]
pub struct Proof {
    /// `Abar`.
    pub a_bar: G1Projective,
    /// `Bbar`.
    pub b_bar: G1Projective,
    /// `D`.
    pub d: G1Projective,
    /// `e^`.
    pub e_cap: Scalar,
    /// `r1^`.
    pub r1_cap: Scalar,
    /// `r3^`.
    pub r3_cap: Scalar,
    /// Responses for the undisclosed messages, in message order.
    pub m_caps: Vec<Scalar>,
    /// The challenge.
    pub challenge: Scalar,
}

impl Proof {
    /// Decodes; [`CredError::InvalidProof`] for a wrong length or an invalid element.
    pub fn decode(bytes: &[u8]) -> Result<Self, CredError> {
        let err = || CredError::InvalidProof;
        let fixed = 3 * G1_LEN + 4 * SCALAR_LEN;
        if bytes.len() < fixed || !(bytes.len() - fixed).is_multiple_of(SCALAR_LEN) {
            return Err(err());
        }
        let point = |i: usize| g1(&bytes[i * G1_LEN..(i + 1) * G1_LEN], err());
        let mut scalars = bytes[3 * G1_LEN..]
            .chunks_exact(SCALAR_LEN)
            .map(|c| nonzero_scalar(c, err()))
            .collect::<Result<Vec<_>, _>>()?;
        let challenge = scalars.pop().ok_or_else(err)?;
        let m_caps = scalars.split_off(3);
        Ok(Self {
            a_bar: point(0)?,
            b_bar: point(1)?,
            d: point(2)?,
            e_cap: scalars[0],
            r1_cap: scalars[1],
            r3_cap: scalars[2],
            m_caps,
            challenge,
        })
    }

    /// The octets.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(3 * G1_LEN + SCALAR_LEN * (self.m_caps.len() + 4));
        for p in [self.a_bar, self.b_bar, self.d] {
            out.extend_from_slice(&p.to_compressed());
        }
        for s in [self.e_cap, self.r1_cap, self.r3_cap]
            .iter()
            .chain(&self.m_caps)
            .chain([&self.challenge])
        {
            out.extend_from_slice(&s.to_bytes_be());
        }
        out
    }
}

/// Whether `p` is the identity.
pub fn is_identity(p: &G1Projective) -> bool {
    p.is_identity().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_and_garbage_points_are_refused() {
        let mut identity = [0u8; G1_LEN];
        identity[0] = 0xc0;
        assert!(g1(&identity, CredError::InvalidProof).is_err());
        assert!(g1(&[0xff; G1_LEN], CredError::InvalidProof).is_err());
        assert!(g1(&[0; 47], CredError::InvalidProof).is_err());
        let mut g2_identity = [0u8; PUBLIC_KEY_LEN];
        g2_identity[0] = 0xc0;
        assert_eq!(public_key(&g2_identity), Err(CredError::UnknownIssuerKey));
    }

    #[test]
    fn non_canonical_and_zero_scalars_are_refused() {
        let r_be = (-Scalar::ONE).to_bytes_be();
        let mut r = r_be;
        r[31] = r[31].wrapping_add(1); // r itself: one past the largest canonical scalar
        assert!(scalar(&r, CredError::InvalidProof).is_err());
        assert!(scalar(&r_be, CredError::InvalidProof).is_ok());
        assert!(nonzero_scalar(&[0; 32], CredError::InvalidProof).is_err());
        assert!(scalar(&[0; 32], CredError::InvalidProof).is_ok());
    }

    #[test]
    fn short_and_ragged_encodings_are_refused() {
        assert!(CommitmentWithProof::decode(&[0; 48 + 32]).is_err());
        assert!(CommitmentWithProof::decode(&[0; 10]).is_err());
        assert!(Proof::decode(&[0; 3 * 48 + 4 * 32 + 5]).is_err());
        assert!(Proof::decode(&[]).is_err());
    }
}
