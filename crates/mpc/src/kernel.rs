//! The local dot products: query rotations against stored eyes.
//!
//! Party `Pj` holds a stored share `g` ([`crate::dealer::EnrolmentShare`]) and a query
//! share `u` ([`crate::dealer::QueryShare`]), both Shamir shares over GR(2^16, 4). Its
//! additive share of the dot product of the two eyes is
//! `Σ_k Tr(λ_j · g_k · u_k)` over the packed groups `k` ([`crate::shamir`]). For a fixed
//! query, `g ↦ Tr(g · λ_j u_k)` is a linear form with four coefficients
//! ([`Gr4::trace_form`]), so [`prepare_query`] turns each query rotation into one row
//! of [`ELEMENTS`] values once, and each comparison is then a plain dot product of two
//! rows in Z_2^16: one multiply-add per element, taken separately over the code and the
//! mask columns.
//!
//! [`dot16_portable`] is the reference: plain wrapping arithmetic in fixed-width lanes
//! that the compiler vectorises; [`dot16`] compiles the same body for AVX2 or AVX-512 and
//! picks one at run time (tested equal to the reference).

use crate::dealer::QueryShare;
use crate::encode::{CODE_ELEMENTS, ELEMENTS, GROUP};
use crate::galois::Gr4;
use crate::ring::Z16;
use crate::shamir::lagrange_at_zero;
use masque_template::iris::{COLUMNS, ROTATION_COUNT, ROTATIONS};

const LANES: usize = 128;

/// The dot product body, written so the compiler vectorises it for whatever target
/// features the calling function enables.
#[inline(always)]
fn dot16_body(a: &[Z16], b: &[Z16]) -> Z16 {
    let mut acc = [0u16; LANES];
    let n = a.len().min(b.len()) / LANES * LANES;
    for (x, y) in a[..n].chunks_exact(LANES).zip(b[..n].chunks_exact(LANES)) {
        for ((s, p), q) in acc.iter_mut().zip(x).zip(y) {
            *s = s.wrapping_add(p.0.wrapping_mul(q.0));
        }
    }
    let mut sum = acc.iter().fold(0u16, |s, &v| s.wrapping_add(v));
    for (x, y) in a[n..].iter().zip(&b[n..]) {
        sum = sum.wrapping_add(x.0.wrapping_mul(y.0));
    }
    Z16(sum)
}

/// The portable reference: `Σ a_k b_k mod 2^16`.
pub fn dot16_portable(a: &[Z16], b: &[Z16]) -> Z16 {
    dot16_body(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
fn dot16_avx512(a: &[Z16], b: &[Z16]) -> Z16 {
    dot16_body(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot16_avx2(a: &[Z16], b: &[Z16]) -> Z16 {
    dot16_body(a, b)
}

/// `Σ a_k b_k mod 2^16`, with the widest vector instructions the CPU offers (detected
/// at run time); the same result as [`dot16_portable`].
pub fn dot16(a: &[Z16], b: &[Z16]) -> Z16 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512bw") {
            // SAFETY: the CPU supports AVX-512 F and BW, checked just above; the function
            // is safe Rust otherwise.
            return unsafe { dot16_avx512(a, b) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { dot16_avx2(a, b) };
        }
    }
    dot16_portable(a, b)
}

/// The rows of one query share, one per rotation in [`ROTATIONS`] order, back to back
/// ([`ELEMENTS`] values each): for each packed group, the four coefficients of
/// `g ↦ Tr(g · λ_j u)` with `λ_j` the Lagrange coefficient of the share's party.
///
/// The forms are computed once; each rotation is then a cyclic shift of every block of
/// 200 groups (one iris row, or two mask rows), i.e. two copies per block.
pub fn prepare_query(share: &QueryShare) -> Vec<Z16> {
    let lambda = lagrange_at_zero(share.party());
    let forms: Vec<Z16> = share
        .groups()
        .iter()
        .flat_map(|&u| (lambda * u).trace_form().map(Z16))
        .collect();
    let block = COLUMNS * GROUP;
    let mut rows = vec![Z16(0); ROTATION_COUNT * ELEMENTS];
    for (row, r) in rows.chunks_exact_mut(ELEMENTS).zip(ROTATIONS) {
        // Column c of the result is column c − r of the input.
        let shift = r.rem_euclid(COLUMNS as i32) as usize * GROUP;
        for (dst, src) in row.chunks_exact_mut(block).zip(forms.chunks_exact(block)) {
            dst[shift..].copy_from_slice(&src[..block - shift]);
            dst[..shift].copy_from_slice(&src[block - shift..]);
        }
    }
    rows
}

/// This party's additive shares of `(code_dot, mask_dot)` for a prepared query row and a
/// stored row (`mask_dot` doubled, see [`crate::encode`]).
pub fn comparison_shares(query: &[Z16], stored: &[Z16]) -> (Z16, Z16) {
    let c = CODE_ELEMENTS;
    let code = dot16(&query[..c], &stored[..c]);
    let mask = dot16(&query[c..ELEMENTS], &stored[c..ELEMENTS]);
    (code, mask + mask)
}

/// The stored row of an enrolment share: its groups' coefficients.
pub fn stored_row(groups: &[Gr4]) -> Vec<Z16> {
    groups.iter().flat_map(|g| g.0.map(Z16)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn dot_matches_naive(v in proptest::collection::vec(any::<(u16, u16)>(), 0..200)) {
            let a: Vec<Z16> = v.iter().map(|t| Z16(t.0)).collect();
            let b: Vec<Z16> = v.iter().map(|t| Z16(t.1)).collect();
            let naive = v.iter().fold(0u16, |s, t| s.wrapping_add(t.0.wrapping_mul(t.1)));
            prop_assert_eq!(dot16(&a, &b), Z16(naive));
            prop_assert_eq!(dot16_portable(&a, &b), Z16(naive));
        }
    }

    #[test]
    fn prepared_rows_are_the_rotated_forms() {
        use crate::dealer::query_shares;
        use crate::encode::rotate_groups;
        use masque_template::IrisCode;
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(6);
        let code = IrisCode::from_fn(|i| i % 3 == 0, |i| (i / 2) % 7 != 0).unwrap();
        for share in query_shares(&code, &mut rng) {
            let lambda = lagrange_at_zero(share.party());
            let forms: Vec<[u16; 4]> = share
                .groups()
                .iter()
                .map(|&u| (lambda * u).trace_form())
                .collect();
            let rows = prepare_query(&share);
            for (row, r) in rows.chunks_exact(ELEMENTS).zip(ROTATIONS) {
                let want: Vec<Z16> = rotate_groups(&forms, r)
                    .concat()
                    .into_iter()
                    .map(Z16)
                    .collect();
                assert_eq!(row, want.as_slice(), "rotation {r}");
            }
        }
    }
}
