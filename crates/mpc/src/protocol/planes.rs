//! Bit-sliced XOR shares held contiguously, and the AND round over such buffers.
//!
//! [`Planes`] is one party's share of `count` bit planes of `len` bits each: plane `j`
//! is words `j·w .. (j+1)·w` of each component (`w` words per plane), so a whole layer
//! of a carry tree is one buffer and its gates one pass over it. The sharing is the one
//! of [`BitShares`] (components `i` and `i+1`, bits past `len` clear); a plane can be
//! copied out as a [`BitShares`] and back.
//!
//! [`and_local`] computes the local shares of many gates straight into a message buffer
//! and [`and_round`] masks, sends and receives it: the same gate and the same PRF draws
//! as [`super::bits::and_many`], without a vector per gate.

use super::Session;
use super::bits::{BitShares, words_for};
use crate::net::NetError;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// One party's share of `count` bit planes of `len` bits, stored plane after plane;
/// wiped when dropped ([`crate::wipe`]).
#[derive(Clone, PartialEq, Eq, Zeroize)]
pub struct Planes {
    this: Vec<u64>,
    next: Vec<u64>,
    len: usize,
    count: usize,
}

impl Drop for Planes {
    fn drop(&mut self) {
        crate::wipe::wipe(&mut self.this);
        crate::wipe::wipe(&mut self.next);
    }
}

impl ZeroizeOnDrop for Planes {}

impl std::fmt::Debug for Planes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Planes({} x {} bits)", self.count, self.len)
    }
}

impl Planes {
    /// Wraps components holding `count` planes of `len` bits each (plane `j` at words
    /// `j·w..(j+1)·w`, `w = words_for(len)`); the bits past `len` must be clear.
    ///
    /// # Panics
    /// If a component has another length (a programming error).
    pub fn new(this: Vec<u64>, next: Vec<u64>, len: usize, count: usize) -> Self {
        let words = words_for(len) * count;
        assert_eq!(this.len(), words, "component length");
        assert_eq!(next.len(), words, "component length");
        Self {
            this,
            next,
            len,
            count,
        }
    }

    /// The planes of `planes`, which all share `len` bits.
    pub fn from_bit_shares(planes: &[BitShares]) -> Self {
        let len = planes.first().map_or(0, BitShares::len);
        assert!(
            planes.iter().all(|p| p.len() == len),
            "planes of different lengths"
        );
        let this = planes.iter().flat_map(|p| p.this.iter().copied()).collect();
        let next = planes.iter().flat_map(|p| p.next.iter().copied()).collect();
        Self::new(this, next, len, planes.len())
    }

    /// Bits per plane.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the planes hold no bit.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of planes.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Words per plane.
    pub fn words(&self) -> usize {
        words_for(self.len)
    }

    /// Both components of plane `j`.
    pub fn plane(&self, j: usize) -> (&[u64], &[u64]) {
        let w = self.words();
        (
            &self.this[j * w..(j + 1) * w],
            &self.next[j * w..(j + 1) * w],
        )
    }

    /// Plane `j` as a [`BitShares`].
    pub fn bit_shares(&self, j: usize) -> BitShares {
        let (this, next) = self.plane(j);
        BitShares::from_components(this.to_vec(), next.to_vec(), self.len)
    }

    /// Every plane as a [`BitShares`].
    pub fn to_bit_shares(&self) -> Vec<BitShares> {
        (0..self.count).map(|j| self.bit_shares(j)).collect()
    }

    /// Both components, plane after plane.
    pub(super) fn components(&self) -> (&[u64], &[u64]) {
        (&self.this, &self.next)
    }
}

/// The local shares of `x[k] & y[k]` for every word `k` into `out`: component `i` of the
/// product before masking, `x_i y_i ^ x_i y_{i+1} ^ x_{i+1} y_i`, as
/// `x_i (y_i ^ y_{i+1}) ^ x_{i+1} y_i`. Slices are cut to `out`'s length.
pub fn and_local(out: &mut [u64], x: (&[u64], &[u64]), y: (&[u64], &[u64])) {
    let n = out.len();
    let (xt, xn, yt, yn) = (&x.0[..n], &x.1[..n], &y.0[..n], &y.1[..n]);
    for k in 0..n {
        out[k] = (xt[k] & (yt[k] ^ yn[k])) ^ (xn[k] & yt[k]);
    }
}

/// Finishes one round of AND gates whose local shares fill `mine`: masks them with a
/// boolean zero-sharing (in place: `mine` becomes this party's component of the
/// products), sends them to the previous party and returns the next party's component.
pub fn and_round(s: &mut Session<'_>, mine: &mut [u64]) -> Result<Vec<u64>, NetError> {
    s.rand.xor_zero_share_bits(mine);
    s.pass_words(mine)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::bits::tests::{deal_bits, reveal};
    use crate::protocol::bits::{and_many, pack};
    use crate::protocol::testing::run3;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// The AND round over a buffer is the AND gate of `and_many`: same products, and
        /// the same shares, since it draws the same zero-sharing.
        #[test]
        fn and_round_is_and_many(x in proptest::collection::vec(any::<bool>(), 0..300), seed: u64) {
            let y: Vec<bool> = x.iter().enumerate().map(|(k, &b)| b ^ (k % 5 < 2)).collect();
            let (xw, n) = pack(x.iter().copied());
            let (yw, _) = pack(y.iter().copied());
            let (xs, ys) = (deal_bits(&xw, n, seed), deal_bits(&yw, n, seed ^ 1));
            let out = run3(|p, s| {
                let i = p.index();
                let mut mine = vec![0u64; xs[i].this.len()];
                and_local(&mut mine, (&xs[i].this, &xs[i].next), (&ys[i].this, &ys[i].next));
                let theirs = and_round(s, &mut mine).unwrap();
                BitShares::from_components(mine, theirs, n)
            });
            let reference = run3(|p, s| {
                let i = p.index();
                and_many(s, &[(&xs[i], &ys[i])]).unwrap().remove(0)
            });
            prop_assert_eq!(&out, &reference);
            let want = pack(x.iter().zip(&y).map(|(a, b)| a & b)).0;
            prop_assert_eq!(reveal(&out), want);
        }

        #[test]
        fn planes_round_trip_through_bit_shares(len in 0usize..200, count in 1usize..5, seed: u64) {
            let planes: Vec<BitShares> = (0..count)
                .map(|j| {
                    let words: Vec<u64> = (0..words_for(len)).map(|k| (seed ^ (j * 31 + k) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).collect();
                    deal_bits(&words, len, seed + j as u64)[1].clone()
                })
                .collect();
            let contiguous = Planes::from_bit_shares(&planes);
            prop_assert_eq!(contiguous.count(), count);
            prop_assert_eq!(contiguous.to_bit_shares(), planes);
        }
    }
}
