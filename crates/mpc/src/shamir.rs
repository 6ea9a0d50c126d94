//! Degree-1 Shamir sharing over GR(2^16, 4), the storage format of templates.
//!
//! Party `Pj` is the evaluation point `α_j` (1, X, 1 + X): these and their pairwise
//! differences are units of the Galois ring, which is what Lagrange interpolation needs.
//! A secret `s` is shared as `s + r·α_j` with `r` uniform, so one party's share is
//! uniform and independent of `s`; any two reconstruct it.
//!
//! The product of two shares is a share of the product on a degree-2 polynomial, which
//! all three points determine: `Σ_j λ_j · a(α_j) b(α_j) = a·b` with the Lagrange
//! coefficients at zero `λ_j` ([`lagrange_at_zero`]). Each party multiplying its two
//! shares by `λ_j` therefore holds a 3-of-3 *additive* share of the product — the same
//! kind of share the replicated protocols start from, so the rest of the pipeline is
//! unchanged. Against the replicated sharing this halves both the stored bytes (one
//! share instead of a pair) and the multiply-adds per comparison (see [`crate::kernel`]).

use crate::galois::Gr4;
use crate::party::PartyId;
use rand::{CryptoRng, Rng};

/// The evaluation point of `party`.
pub fn point(party: PartyId) -> Gr4 {
    match party {
        PartyId::P0 => Gr4::ONE,
        PartyId::P1 => Gr4::X,
        PartyId::P2 => Gr4::ONE + Gr4::X,
    }
}

/// The Lagrange coefficient of `party` for evaluating, at zero, the polynomial of degree
/// at most 2 through the three parties' points.
pub fn lagrange_at_zero(party: PartyId) -> Gr4 {
    let own = point(party);
    PartyId::ALL
        .into_iter()
        .filter(|&p| p != party)
        .fold(Gr4::ONE, |acc, p| {
            let other = point(p);
            let difference = (other - own)
                .inverse()
                .expect("the parties' points differ by units");
            acc * other * difference
        })
}

/// Shares every element of `secret`: one vector per party, indexed by [`PartyId::index`].
pub fn share(secret: &[Gr4], rng: &mut (impl CryptoRng + ?Sized)) -> [Vec<Gr4>; 3] {
    let mut out: [Vec<Gr4>; 3] = Default::default();
    for v in &mut out {
        v.reserve_exact(secret.len());
    }
    for &s in secret {
        let mut r = Gr4(rng.random());
        for p in PartyId::ALL {
            out[p.index()].push(s + r * point(p));
        }
        zeroize::Zeroize::zeroize(&mut r);
    }
    out
}

/// Reconstructs degree-1 shares from two distinct parties (tests and the wallet's own
/// checks; custodians never do this).
///
/// # Panics
/// If the parties are the same or the vectors differ in length.
pub fn reconstruct(a: (PartyId, &[Gr4]), b: (PartyId, &[Gr4])) -> Vec<Gr4> {
    assert_ne!(a.0, b.0, "two different parties");
    assert_eq!(a.1.len(), b.1.len(), "shares of the same length");
    let (xa, xb) = (point(a.0), point(b.0));
    // f(0) = (xb·f(xa) − xa·f(xb)) / (xb − xa).
    let scale = (xb - xa).inverse().expect("points differ by a unit");
    a.1.iter()
        .zip(b.1)
        .map(|(&fa, &fb)| (xb * fa - xa * fb) * scale)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn secret() -> impl Strategy<Value = Vec<Gr4>> {
        proptest::collection::vec(any::<[u16; 4]>().prop_map(Gr4), 0..20)
    }

    proptest! {
        #[test]
        fn any_two_parties_reconstruct(s in secret(), seed in any::<u64>()) {
            let shares = share(&s, &mut ChaCha20Rng::seed_from_u64(seed));
            for (a, b) in [(0, 1), (1, 2), (2, 0)] {
                let (pa, pb) = (PartyId::ALL[a], PartyId::ALL[b]);
                prop_assert_eq!(reconstruct((pa, &shares[a]), (pb, &shares[b])), s.clone());
            }
        }

        #[test]
        fn lagrange_weighted_share_products_sum_to_the_product(
            s in secret(), seed in any::<u64>()
        ) {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let t: Vec<Gr4> = s.iter().map(|_| Gr4(rng.random())).collect();
            let (a, b) = (share(&s, &mut rng), share(&t, &mut rng));
            for k in 0..s.len() {
                let sum = PartyId::ALL.into_iter().fold(Gr4::ZERO, |acc, p| {
                    acc + lagrange_at_zero(p) * a[p.index()][k] * b[p.index()][k]
                });
                prop_assert_eq!(sum, s[k] * t[k]);
            }
        }
    }

    #[test]
    fn one_share_does_not_determine_the_secret() {
        // The same share at P1 is consistent with any secret: for every candidate s there
        // is an r with s + r·X = share (X is a unit), so P1's share carries no information.
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let s = vec![Gr4([5, 6, 7, 8])];
        let shares = share(&s, &mut rng);
        let inv = point(PartyId::P1).inverse().unwrap();
        for other in [Gr4::ZERO, Gr4([1, 2, 3, 4]), Gr4([0xffff; 4])] {
            let r = (shares[1][0] - other) * inv;
            assert_eq!(other + r * point(PartyId::P1), shares[1][0]);
        }
        // And fresh randomness gives a different share for the same secret.
        assert_ne!(share(&s, &mut rng)[1], shares[1]);
    }

    #[test]
    fn lagrange_coefficients_sum_to_one() {
        // Interpolating the constant polynomial 1 at zero.
        let sum = PartyId::ALL
            .into_iter()
            .fold(Gr4::ZERO, |acc, p| acc + lagrange_at_zero(p));
        assert_eq!(sum, Gr4::ONE);
    }
}
