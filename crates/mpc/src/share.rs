//! Replicated secret shares.
//!
//! A secret `x` in a ring is split as `x = x0 + x1 + x2`; party `Pi` holds the pair
//! `(x_i, x_{i+1})` ([`Share`], or [`ShareVec`] for many secrets at once). Any two parties
//! together can reconstruct; any single party's pair is uniformly random and independent of
//! `x`. Shares are created by the wallet ([`share_vec`]) and reconstructed only in tests and
//! by the protocols' final one-bit opening.
//!
//! Share types zeroize their components on drop and never print them.

use crate::party::PartyId;
use crate::ring::Ring;
use rand::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// One party's share pair of one secret: components `i` (`this`) and `i+1` (`next`).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Share<R: Ring> {
    /// Component `i` of `Pi`.
    pub this: R,
    /// Component `i+1`.
    pub next: R,
}

impl<R: Ring> std::fmt::Debug for Share<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Share(..)")
    }
}

/// One party's share pairs of many secrets, component-wise in two contiguous vectors.
///
/// Both components are wiped when it is dropped ([`crate::wipe`]: one volatile store per
/// word over the whole allocation, where `ZeroizeOnDrop` would also store byte by byte).
#[derive(Clone, PartialEq, Eq, Default, Zeroize)]
pub struct ShareVec<R: Ring> {
    /// Components `i` of every secret.
    pub this: Vec<R>,
    /// Components `i+1` of every secret.
    pub next: Vec<R>,
}

impl<R: Ring> Drop for ShareVec<R> {
    fn drop(&mut self) {
        crate::wipe::wipe(&mut self.this);
        crate::wipe::wipe(&mut self.next);
    }
}

impl<R: Ring> zeroize::ZeroizeOnDrop for ShareVec<R> {}

impl<R: Ring> std::fmt::Debug for ShareVec<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShareVec(len {})", self.this.len())
    }
}

impl<R: Ring> ShareVec<R> {
    /// Wraps two component vectors of equal length.
    ///
    /// # Panics
    /// If the lengths differ (a programming error inside the protocols).
    pub fn from_components(this: Vec<R>, next: Vec<R>) -> Self {
        assert_eq!(this.len(), next.len(), "share components differ in length");
        Self { this, next }
    }

    /// Number of shared secrets.
    pub fn len(&self) -> usize {
        self.this.len()
    }

    /// Whether no secret is shared.
    pub fn is_empty(&self) -> bool {
        self.this.is_empty()
    }

    /// Share `k`.
    pub fn get(&self, k: usize) -> Share<R> {
        Share {
            this: self.this[k],
            next: self.next[k],
        }
    }

    /// Splits into the first `k` secrets and the rest, moving the first part's storage
    /// (only the tail is copied).
    ///
    /// # Panics
    /// If `k > self.len()` (a programming error inside the protocols).
    pub fn split_at(mut self, k: usize) -> (Self, Self) {
        let tail = Self {
            this: self.this.split_off(k),
            next: self.next.split_off(k),
        };
        let head = Self {
            this: std::mem::take(&mut self.this),
            next: std::mem::take(&mut self.next),
        };
        (head, tail)
    }

    /// Applies a local linear map to both components.
    pub fn map<S: Ring>(&self, f: impl Fn(R) -> S) -> ShareVec<S> {
        ShareVec {
            this: self.this.iter().map(|&x| f(x)).collect(),
            next: self.next.iter().map(|&x| f(x)).collect(),
        }
    }

    /// Component-wise `self + other` (addition of the secrets).
    pub fn add(&self, other: &Self) -> Self {
        let zip = |a: &[R], b: &[R]| a.iter().zip(b).map(|(&x, &y)| x + y).collect();
        Self {
            this: zip(&self.this, &other.this),
            next: zip(&self.next, &other.next),
        }
    }

    /// Component-wise `self - other` (subtraction of the secrets).
    pub fn sub(&self, other: &Self) -> Self {
        let zip = |a: &[R], b: &[R]| a.iter().zip(b).map(|(&x, &y)| x - y).collect();
        Self {
            this: zip(&self.this, &other.this),
            next: zip(&self.next, &other.next),
        }
    }

    /// Adds a public constant to every secret: only component 0 changes, held by P0
    /// (`this`) and P2 (`next`).
    pub fn add_public(&mut self, party: PartyId, c: R) {
        match party {
            PartyId::P0 => self.this.iter_mut().for_each(|x| *x += c),
            PartyId::P2 => self.next.iter_mut().for_each(|x| *x += c),
            PartyId::P1 => {}
        }
    }

    /// Adds the public constant `c(k)` to secret `k`, for every `k` (as
    /// [`ShareVec::add_public`], one constant per secret).
    pub fn add_public_each(&mut self, party: PartyId, c: impl Fn(usize) -> R) {
        match party {
            PartyId::P0 => self
                .this
                .iter_mut()
                .enumerate()
                .for_each(|(k, x)| *x += c(k)),
            PartyId::P2 => self
                .next
                .iter_mut()
                .enumerate()
                .for_each(|(k, x)| *x += c(k)),
            PartyId::P1 => {}
        }
    }
}

/// The three parties' shares of a vector of secrets, as the wallet makes them.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DealtShares<R: Ring> {
    components: [Vec<R>; 3],
}

impl<R: Ring> std::fmt::Debug for DealtShares<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DealtShares(len {})", self.components[0].len())
    }
}

impl<R: Ring> DealtShares<R> {
    /// The pair for `party`: components `i` and `i+1`.
    pub fn for_party(&self, party: PartyId) -> ShareVec<R> {
        ShareVec {
            this: self.components[party.index()].clone(),
            next: self.components[party.next().index()].clone(),
        }
    }
}

/// Splits `secrets` into replicated shares: components 0 and 1 uniformly random (from the
/// operating system's generator), component 2 the difference.
pub fn share_vec<R: Ring>(secrets: &[R]) -> DealtShares<R> {
    share_vec_with(secrets, &mut crate::os_rng())
}

/// [`share_vec`] from a caller's generator: reproducible tests and benches only (feature
/// `seeded-rng`).
#[cfg(any(test, feature = "seeded-rng"))]
pub fn share_vec_seeded<R: Ring>(
    secrets: &[R],
    rng: &mut (impl CryptoRng + ?Sized),
) -> DealtShares<R> {
    share_vec_with(secrets, rng)
}

pub(crate) fn share_vec_with<R: Ring>(
    secrets: &[R],
    rng: &mut (impl CryptoRng + ?Sized),
) -> DealtShares<R> {
    let c0: Vec<R> = secrets.iter().map(|_| R::random(rng)).collect();
    let c1: Vec<R> = secrets.iter().map(|_| R::random(rng)).collect();
    let c2 = secrets
        .iter()
        .zip(c0.iter().zip(&c1))
        .map(|(&x, (&a, &b))| x - a - b)
        .collect();
    DealtShares {
        components: [c0, c1, c2],
    }
}

/// Reconstructs secrets from all three parties' shares (tests and tools; the protocols
/// open only through the network). Checks that the replicated components agree.
///
/// # Panics
/// If the shares are inconsistent: a party's `next` differs from its next party's `this`.
pub fn reconstruct<R: Ring>(shares: [&ShareVec<R>; 3]) -> Vec<R> {
    for p in PartyId::ALL {
        assert!(
            shares[p.index()].next == shares[p.next().index()].this,
            "inconsistent replicated shares between {p} and {}",
            p.next()
        );
    }
    (0..shares[0].len())
        .map(|k| shares[0].this[k] + shares[1].this[k] + shares[2].this[k])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_at_keeps_every_share_in_order() {
        let v = ShareVec::from_components(
            (0..10u32).map(crate::ring::Z32).collect(),
            (10..20u32).map(crate::ring::Z32).collect(),
        );
        let (head, tail) = v.clone().split_at(4);
        assert_eq!((head.len(), tail.len()), (4, 6));
        assert_eq!(head.get(3), v.get(3));
        assert_eq!(tail.get(0), v.get(4));
        assert_eq!(tail.get(5), v.get(9));
        let (all, none) = v.clone().split_at(10);
        assert_eq!((all.len(), none.len()), (10, 0));
    }
    use crate::ring::{Z16, Z32};
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn deal<R: Ring>(secrets: &[R], seed: u64) -> [ShareVec<R>; 3] {
        let dealt = share_vec_seeded(secrets, &mut ChaCha20Rng::seed_from_u64(seed));
        PartyId::ALL.map(|p| dealt.for_party(p))
    }

    proptest! {
        #[test]
        fn share_then_reconstruct(values: Vec<u16>, seed: u64) {
            let secrets: Vec<Z16> = values.iter().map(|&v| Z16(v)).collect();
            let parts = deal(&secrets, seed);
            prop_assert_eq!(reconstruct([&parts[0], &parts[1], &parts[2]]), secrets);
        }

        #[test]
        fn local_linear_ops(a: Vec<u32>, seed: u64, c: u32) {
            let x: Vec<Z32> = a.iter().map(|&v| Z32(v)).collect();
            let y: Vec<Z32> = a.iter().map(|&v| Z32(v.rotate_left(7))).collect();
            let xs = deal(&x, seed);
            let ys = deal(&y, seed ^ 1);
            let mut sums: Vec<ShareVec<Z32>> = (0..3).map(|i| xs[i].add(&ys[i])).collect();
            for p in PartyId::ALL {
                sums[p.index()].add_public(p, Z32(c));
            }
            let want: Vec<Z32> = x.iter().zip(&y).map(|(&a, &b)| a + b + Z32(c)).collect();
            prop_assert_eq!(reconstruct([&sums[0], &sums[1], &sums[2]]), want);
        }
    }

    #[test]
    fn one_party_sees_uniform_components() {
        // The same party's view for two different secrets has the same distribution;
        // spot check: the first component of P1 is not the secret.
        let a = deal(&[Z16(7); 64], 1);
        assert_ne!(a[1].this, vec![Z16(7); 64]);
        assert_eq!(format!("{:?}", a[0]), "ShareVec(len 64)");
    }

    #[test]
    #[should_panic(expected = "inconsistent")]
    fn inconsistent_shares_are_detected() {
        let mut parts = deal(&[Z32(5)], 3);
        parts[1].this[0] += Z32(1);
        reconstruct([&parts[0], &parts[1], &parts[2]]);
    }
}
