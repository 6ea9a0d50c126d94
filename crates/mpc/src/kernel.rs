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
//! mask columns. Those products run as integer matrix products in [`crate::matmul`]
//! (query rows × stored rows), called from [`crate::gallery::Gallery::dot_products`].

use crate::dealer::QueryShare;
use crate::encode::{ELEMENTS, rotate_into};
use crate::galois::Gr4;
use crate::shamir::lagrange_at_zero;
use crate::wipe::Wiped;
use masque_template::iris::{ROTATION_COUNT, ROTATIONS};

/// The rows of one query share, one per rotation in [`ROTATIONS`] order, back to back
/// ([`ELEMENTS`] values each): for each packed group, the four coefficients of
/// `g ↦ Tr(g · λ_j u)` with `λ_j` the Lagrange coefficient of the share's party.
///
/// The forms are computed once; each rotation is then [`rotate_into`], two copies per
/// block of 200 groups.
pub fn prepare_query(share: &QueryShare) -> Wiped<u16> {
    let lambda = lagrange_at_zero(share.party());
    let forms: Wiped<u16> = Wiped::new(
        share
            .groups()
            .iter()
            .flat_map(|&u| (lambda * u).trace_form())
            .collect(),
    );
    let mut rows = Wiped::zeroed(ROTATION_COUNT * ELEMENTS);
    for (row, r) in rows.chunks_exact_mut(ELEMENTS).zip(ROTATIONS) {
        rotate_into(&forms, r, row);
    }
    rows
}

/// The stored row of an enrolment share: its groups' coefficients.
pub fn stored_row(groups: &[Gr4]) -> Vec<u16> {
    groups.iter().flat_map(|g| g.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_rows_are_the_rotated_forms() {
        use crate::dealer::query_shares_seeded;
        use crate::encode::rotate;
        use crate::ring::Z16;
        use masque_template::IrisCode;
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(6);
        let code = IrisCode::from_fn(|i| i % 3 == 0, |i| (i / 2) % 7 != 0).unwrap();
        for share in query_shares_seeded(&code, &mut rng) {
            let lambda = lagrange_at_zero(share.party());
            // `rotate` is tested against `IrisCode::rotated` in `encode`.
            let forms: Vec<Z16> = share
                .groups()
                .iter()
                .flat_map(|&u| (lambda * u).trace_form().map(Z16))
                .collect();
            let rows = prepare_query(&share);
            for (row, r) in rows.chunks_exact(ELEMENTS).zip(ROTATIONS) {
                let want: Vec<u16> = rotate(&forms, r).iter().map(|z| z.0).collect();
                assert_eq!(row, want.as_slice(), "rotation {r}");
            }
        }
    }
}
