//! Arithmetic protocols on replicated shares.
//!
//! - [`reshare`]: a 3-of-3 additive sharing (what a local product yields) back to
//!   replicated form, masked by a PRF zero-sharing; one ring element sent per value.
//! - [`mul`]: element-wise product of two shared vectors (local cross terms, then
//!   [`reshare`]).
//! - [`input_from_p0`]: P0 shares a value only it knows (one element sent, to P2).
//! - [`open`]: reveals the secrets to every party (used only for the final output bit
//!   and in tests).

use super::Session;
use crate::net::NetError;
use crate::party::PartyId;
use crate::ring::Ring;
use crate::share::ShareVec;

/// Turns this party's additive share `z_i` (with `z0 + z1 + z2 = z`) into a replicated
/// share of `z`. Each party adds its zero-share, sends the sum to its previous party and
/// receives its next party's.
pub fn reshare<R: Ring>(
    s: &mut Session<'_>,
    mut additive: Vec<R>,
) -> Result<ShareVec<R>, NetError> {
    let zero: Vec<R> = s.rand.zero_share(additive.len());
    additive.iter_mut().zip(zero).for_each(|(z, a)| *z += a);
    let next = s.pass_ring(&additive)?;
    Ok(ShareVec::from_components(additive, next))
}

/// The additive share of `x * y` from replicated shares:
/// `x_i y_i + x_i y_{i+1} + x_{i+1} y_i`.
pub fn mul_local<R: Ring>(x: &ShareVec<R>, y: &ShareVec<R>) -> Vec<R> {
    (0..x.len())
        .map(|k| x.this[k] * y.this[k] + x.this[k] * y.next[k] + x.next[k] * y.this[k])
        .collect()
}

/// Element-wise product of two shared vectors of equal length.
pub fn mul<R: Ring>(
    s: &mut Session<'_>,
    x: &ShareVec<R>,
    y: &ShareVec<R>,
) -> Result<ShareVec<R>, NetError> {
    reshare(s, mul_local(x, y))
}

/// P0 shares `n` values only it knows (`values` is `Some` exactly at P0). The sharing is
/// `(v - r, r, 0)` with `r` from the P0–P1 seed; P0 sends `v - r` to P2. P1's view is `r`
/// (pseudorandom), P2's is `v - r` (masked by `r`, which it does not know).
///
/// # Panics
/// If `values` is given at a party other than P0 or missing at P0, or has length other
/// than `n` (programming errors).
pub fn input_from_p0<R: Ring>(
    s: &mut Session<'_>,
    values: Option<&[R]>,
    n: usize,
) -> Result<ShareVec<R>, NetError> {
    assert_eq!(values.is_some(), s.party() == PartyId::P0, "only P0 inputs");
    match s.party() {
        PartyId::P0 => {
            let values = values.expect("checked above");
            assert_eq!(values.len(), n);
            let r: Vec<R> = s.rand.common_with_next(n);
            let masked: Vec<R> = values.iter().zip(&r).map(|(&v, &r)| v - r).collect();
            s.send_ring(PartyId::P2, &masked)?;
            Ok(ShareVec::from_components(masked, r))
        }
        PartyId::P1 => {
            let r: Vec<R> = s.rand.common_with_prev(n);
            Ok(ShareVec::from_components(r, vec![R::ZERO; n]))
        }
        PartyId::P2 => {
            let masked = s.recv_ring(PartyId::P0, n)?;
            Ok(ShareVec::from_components(vec![R::ZERO; n], masked))
        }
    }
}

/// Reveals the secrets to every party: each sends its `next` component to its previous
/// party, which lacked exactly that component.
pub fn open<R: Ring>(s: &mut Session<'_>, x: &ShareVec<R>) -> Result<Vec<R>, NetError> {
    let missing = s.pass_ring(&x.next)?;
    Ok((0..x.len())
        .map(|k| x.this[k] + x.next[k] + missing[k])
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::testing::run3;
    use crate::ring::{Z16, Z32};
    use crate::share::{reconstruct, share_vec_seeded};
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn deal<R: Ring>(v: &[R], seed: u64) -> [ShareVec<R>; 3] {
        let d = share_vec_seeded(v, &mut ChaCha20Rng::seed_from_u64(seed));
        PartyId::ALL.map(|p| d.for_party(p))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn mul_and_open_match_plaintext(a in proptest::collection::vec(any::<u32>(), 0..40), seed: u64) {
            let x: Vec<Z32> = a.iter().map(|&v| Z32(v)).collect();
            let y: Vec<Z32> = a.iter().map(|&v| Z32(v ^ 0x5555_1234)).collect();
            let (xs, ys) = (deal(&x, seed), deal(&y, !seed));
            let out = run3(|p, s| {
                let z = mul(s, &xs[p.index()], &ys[p.index()]).unwrap();
                let opened = open(s, &z).unwrap();
                (z, opened)
            });
            let want: Vec<Z32> = x.iter().zip(&y).map(|(&a, &b)| a * b).collect();
            prop_assert_eq!(reconstruct([&out[0].0, &out[1].0, &out[2].0]), want.clone());
            for o in &out {
                prop_assert_eq!(&o.1, &want);
            }
        }

        #[test]
        fn reshare_of_additive_shares(a in proptest::collection::vec(any::<[u16; 3]>(), 0..40)) {
            let out = run3(|p, s| {
                reshare(s, a.iter().map(|t| Z16(t[p.index()])).collect()).unwrap()
            });
            let want: Vec<Z16> = a.iter().map(|t| Z16(t[0]) + Z16(t[1]) + Z16(t[2])).collect();
            prop_assert_eq!(reconstruct([&out[0], &out[1], &out[2]]), want);
        }

        #[test]
        fn input_by_p0(a in proptest::collection::vec(any::<u32>(), 0..40)) {
            let v: Vec<Z32> = a.iter().map(|&x| Z32(x)).collect();
            let out = run3(|p, s| {
                let mine = (p == PartyId::P0).then_some(v.as_slice());
                input_from_p0(s, mine, v.len()).unwrap()
            });
            prop_assert_eq!(reconstruct([&out[0], &out[1], &out[2]]), v);
        }
    }
}
