//! Multi-scalar multiplication in G1, two ways, chosen by whether the scalars are secret.
//!
//! * [`public_msm`]: for public scalars (verification, the issuer's check of a
//!   commitment proof). blst's windowed multi-point multiplication (`blst_p1s_mult_wbits`,
//!   window [`WBITS`]): all points share one chain of 255 doublings, and each point
//!   contributes one table look-up and one addition per window. Its tables are
//!   precomputed once per generator (cached with the generators) and per call for the
//!   few variable points. The look-ups are indexed by scalar bits, so it is **not**
//!   constant time: it never sees a secret scalar.
//! * [`secret_msm`]: for secret scalars (commitments, proofs, signing). A sum of blst's
//!   constant-time single-point multiplications (`blst_p1_mult`, GLV with a
//!   constant-time table scan). blst's Pippenger MSM is not constant time, and for fewer
//!   than 32 points it multiplies point by point anyway, so nothing is lost.
//!
//! The `unsafe` here is confined to three blst calls whose buffer sizes come from blst's
//! own `*_sizeof` functions; [`public_msm`] is tested against the naive sum.

use blst::{
    blst_p1_affine, blst_p1s_mult_wbits, blst_p1s_mult_wbits_precompute,
    blst_p1s_mult_wbits_precompute_sizeof, blst_p1s_mult_wbits_scratch_sizeof, limb_t,
};
use blstrs::{G1Affine, G1Projective, Scalar};
use group::{Curve, Group};

use super::secret::Fr;

/// Window width of the precomputed tables: rows of `2^(WBITS-1)` = 8 affine points.
pub const WBITS: usize = 4;
const ROW: usize = 1 << (WBITS - 1);

/// Precomputed table rows, one row of `2^(WBITS-1)` affine points per base point.
#[derive(Clone, Default)]
pub struct Rows(Vec<blst_p1_affine>);

impl std::fmt::Debug for Rows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rows({} points)", self.points())
    }
}

impl Rows {
    /// Tables for `points`.
    pub fn precompute(points: &[G1Projective]) -> Self {
        if points.is_empty() {
            return Self::default();
        }
        let mut affine = vec![G1Affine::default(); points.len()];
        G1Projective::batch_normalize(points, &mut affine);
        let flat: Vec<blst_p1_affine> = affine.iter().map(|p| *p.as_ref()).collect();
        // SAFETY: pure size computation.
        let bytes = unsafe { blst_p1s_mult_wbits_precompute_sizeof(WBITS, flat.len()) };
        let mut rows = vec![blst_p1_affine::default(); bytes / size_of::<blst_p1_affine>()];
        debug_assert_eq!(rows.len(), flat.len() * ROW);
        let inputs: [*const blst_p1_affine; 2] = [flat.as_ptr(), std::ptr::null()];
        // SAFETY: `rows` has exactly the size blst asked for `flat.len()` points at this
        // window; `inputs` is a null-terminated pointer list whose single entry points to
        // `flat.len()` contiguous affine points (blst reads the rest as `point + 1`).
        unsafe {
            blst_p1s_mult_wbits_precompute(rows.as_mut_ptr(), WBITS, inputs.as_ptr(), flat.len())
        };
        Self(rows)
    }

    /// Number of base points.
    pub fn points(&self) -> usize {
        self.0.len() / ROW
    }

    /// Appends the rows of `other`'s points `range` (in order).
    pub fn extend_from(&mut self, other: &Rows, range: std::ops::Range<usize>) {
        self.0
            .extend_from_slice(&other.0[range.start * ROW..range.end * ROW]);
    }

    /// An empty table with room for `points` rows.
    pub fn with_capacity(points: usize) -> Self {
        Self(Vec::with_capacity(points * ROW))
    }
}

/// `sum scalars[i] * P_i` over the base points of `rows` (variable time: public scalars
/// only). Returns the identity when the lengths differ or there are no points.
pub fn public_msm(rows: &Rows, scalars: &[Scalar]) -> G1Projective {
    let n = rows.points();
    if n == 0 || n != scalars.len() {
        return G1Projective::identity();
    }
    let mut le = Vec::with_capacity(32 * n);
    for s in scalars {
        le.extend_from_slice(&s.to_bytes_le());
    }
    let scalar_ptrs: [*const u8; 2] = [le.as_ptr(), std::ptr::null()];
    // SAFETY: pure size computation.
    let scratch_bytes = unsafe { blst_p1s_mult_wbits_scratch_sizeof(n) };
    let mut scratch = vec![0 as limb_t; scratch_bytes.div_ceil(size_of::<limb_t>())];
    let mut out = G1Projective::identity();
    // SAFETY: `rows` holds `n` rows of `ROW` points computed by blst at `WBITS`; `le`
    // holds `n` contiguous 32-byte little-endian scalars of at most 255 bits, reached
    // through the null-terminated pointer list; `scratch` is at least as large as blst's
    // `scratch_sizeof(n)`; `out` is a valid blst point to overwrite.
    unsafe {
        blst_p1s_mult_wbits(
            out.as_mut(),
            rows.0.as_ptr(),
            WBITS,
            n,
            scalar_ptrs.as_ptr(),
            255,
            scratch.as_mut_ptr(),
        )
    };
    out
}

/// `sum scalars[i] * points[i]` with constant-time single-point multiplications.
pub fn secret_msm(points: &[G1Projective], scalars: &[Fr]) -> G1Projective {
    debug_assert_eq!(points.len(), scalars.len());
    points
        .iter()
        .zip(scalars)
        .map(|(p, s)| p * s.0)
        .fold(G1Projective::identity(), |acc, term| acc + term)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::Field;
    use proptest::prelude::*;

    fn naive(points: &[G1Projective], scalars: &[Scalar]) -> G1Projective {
        points.iter().zip(scalars).map(|(p, s)| p * s).sum()
    }

    #[test]
    fn edge_scalars_and_points() {
        let g = G1Projective::generator();
        let points = [g, g * Scalar::from(7u64), G1Projective::identity(), -g];
        let scalars = [Scalar::ZERO, Scalar::ONE, Scalar::from(5u64), -Scalar::ONE];
        let rows = Rows::precompute(&points);
        assert_eq!(rows.points(), 4);
        assert_eq!(public_msm(&rows, &scalars), naive(&points, &scalars));
        assert_eq!(public_msm(&Rows::default(), &[]), G1Projective::identity());
        assert_eq!(public_msm(&rows, &scalars[..3]), G1Projective::identity());
    }

    #[test]
    fn concatenated_rows_equal_a_fresh_table() {
        let g = G1Projective::generator();
        let points: Vec<_> = (1..6u64).map(|i| g * Scalar::from(i * 1000 + 3)).collect();
        let scalars: Vec<_> = (1..6u64).map(|i| -Scalar::from(i * 77)).collect();
        let whole = Rows::precompute(&points);
        let mut parts = Rows::with_capacity(5);
        parts.extend_from(&Rows::precompute(&points[..2]), 0..2);
        parts.extend_from(&whole, 2..5);
        assert_eq!(public_msm(&parts, &scalars), public_msm(&whole, &scalars));
        assert_eq!(
            public_msm(&whole, &scalars).to_affine(),
            naive(&points, &scalars).to_affine()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn public_and_secret_msm_match_the_naive_sum(
            seeds in proptest::collection::vec((any::<u64>(), any::<[u8; 32]>()), 1..12),
        ) {
            let points: Vec<G1Projective> = seeds
                .iter()
                .map(|(k, _)| G1Projective::generator() * Scalar::from(*k))
                .collect();
            let scalars: Vec<Scalar> = seeds
                .iter()
                .map(|(_, b)| {
                    let mut wide = [0u8; 48];
                    wide[16..].copy_from_slice(b);
                    crate::backend::fast::hash::scalar_from_okm(&wide)
                })
                .collect();
            let expected = naive(&points, &scalars);
            prop_assert_eq!(public_msm(&Rows::precompute(&points), &scalars), expected);
            let secret: Vec<Fr> = scalars.iter().copied().map(Fr).collect();
            prop_assert_eq!(secret_msm(&points, &secret), expected);
        }
    }
}
