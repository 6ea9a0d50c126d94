//! XOR shares of many bits, packed 64 to a word, and the AND gate.
//!
//! [`BitShares`] is one party's replicated XOR sharing of `len` bits: bit `k` of the
//! secret is `b0 ^ b1 ^ b2` at word `k / 64`, position `k % 64`; the party holds
//! components `i` (`this`) and `i+1` (`next`). Bits past `len` in the last word are zero
//! in every component. XOR and NOT are local; AND costs one bit sent per gate per party
//! ([`and_many`] batches many gates into one message).

use super::Session;
use crate::net::NetError;
use crate::party::PartyId;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// One party's share of `len` secret bits, wiped when dropped ([`crate::wipe`]).
#[derive(Clone, PartialEq, Eq, Default, Zeroize)]
pub struct BitShares {
    /// Component `i`, packed.
    pub this: Vec<u64>,
    /// Component `i+1`, packed.
    pub next: Vec<u64>,
    len: usize,
}

impl Drop for BitShares {
    fn drop(&mut self) {
        crate::wipe::wipe(&mut self.this);
        crate::wipe::wipe(&mut self.next);
    }
}

impl ZeroizeOnDrop for BitShares {}

impl std::fmt::Debug for BitShares {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BitShares(len {})", self.len)
    }
}

/// Words needed for `len` bits.
pub fn words_for(len: usize) -> usize {
    len.div_ceil(64)
}

/// Clears the bits past `len` in the last word.
fn trim(words: &mut [u64], len: usize) {
    if !len.is_multiple_of(64)
        && let Some(last) = words.last_mut()
    {
        *last &= (1u64 << (len % 64)) - 1;
    }
}

/// Bits `start..start + len` of a packed vector, packed from bit 0.
pub fn extract(words: &[u64], start: usize, len: usize) -> Vec<u64> {
    let mut out = vec![0u64; words_for(len)];
    let (w0, shift) = (start / 64, start % 64);
    for (k, o) in out.iter_mut().enumerate() {
        let lo = words.get(w0 + k).copied().unwrap_or(0) >> shift;
        let hi = if shift == 0 {
            0
        } else {
            words.get(w0 + k + 1).copied().unwrap_or(0) << (64 - shift)
        };
        *o = lo | hi;
    }
    trim(&mut out, len);
    out
}

/// Packs `bits` into words.
pub fn pack(bits: impl IntoIterator<Item = bool>) -> (Vec<u64>, usize) {
    let mut words = Vec::new();
    let mut len = 0;
    for b in bits {
        if len % 64 == 0 {
            words.push(0);
        }
        if b {
            words[len / 64] |= 1 << (len % 64);
        }
        len += 1;
    }
    (words, len)
}

/// Bit `k` of a packed vector.
pub fn bit(words: &[u64], k: usize) -> bool {
    words[k / 64] >> (k % 64) & 1 == 1
}

impl BitShares {
    /// Wraps components of `len` bits (extra high bits are cleared).
    ///
    /// # Panics
    /// If a component has the wrong number of words (a programming error).
    pub fn from_components(mut this: Vec<u64>, mut next: Vec<u64>, len: usize) -> Self {
        assert_eq!(this.len(), words_for(len), "component length");
        assert_eq!(next.len(), words_for(len), "component length");
        trim(&mut this, len);
        trim(&mut next, len);
        Self { this, next, len }
    }

    /// The sharing of `len` public zero bits.
    pub fn zeros(len: usize) -> Self {
        Self::from_components(vec![0; words_for(len)], vec![0; words_for(len)], len)
    }

    /// Number of shared bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no bit is shared.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `self ^ other`, locally.
    pub fn xor(&self, other: &Self) -> Self {
        assert_eq!(self.len, other.len, "xor of different lengths");
        let zip = |a: &[u64], b: &[u64]| a.iter().zip(b).map(|(x, y)| x ^ y).collect();
        Self {
            this: zip(&self.this, &other.this),
            next: zip(&self.next, &other.next),
            len: self.len,
        }
    }

    /// `!self`, locally: flips component 0 (P0's `this`, P2's `next`).
    pub fn not(&self, party: PartyId) -> Self {
        let mut out = self.clone();
        let flip = |w: &mut Vec<u64>| {
            w.iter_mut().for_each(|x| *x = !*x);
            trim(w, out.len);
        };
        match party {
            PartyId::P0 => flip(&mut out.this),
            PartyId::P2 => flip(&mut out.next),
            PartyId::P1 => {}
        }
        out
    }

    /// Bits `start..start + len`.
    pub fn slice(&self, start: usize, len: usize) -> Self {
        assert!(start + len <= self.len, "slice out of range");
        Self {
            this: extract(&self.this, start, len),
            next: extract(&self.next, start, len),
            len,
        }
    }

    /// The concatenation of `parts`.
    pub fn concat(parts: &[&Self]) -> Self {
        let len = parts.iter().map(|p| p.len).sum();
        let mut this = vec![0u64; words_for(len)];
        let mut next = vec![0u64; words_for(len)];
        let mut at = 0;
        for p in parts {
            for k in 0..p.len {
                let (t, n) = (bit(&p.this, k), bit(&p.next, k));
                this[(at + k) / 64] |= u64::from(t) << ((at + k) % 64);
                next[(at + k) / 64] |= u64::from(n) << ((at + k) % 64);
            }
            at += p.len;
        }
        Self { this, next, len }
    }

    /// This party's share of a public bit vector (`words` of `len` bits).
    pub fn public(party: PartyId, words: &[u64], len: usize) -> Self {
        Self::zeros(len).xor_public(party, words)
    }

    /// `self ^ c` for a public packed bit vector `c`.
    pub fn xor_public(&self, party: PartyId, c: &[u64]) -> Self {
        let mut out = self.clone();
        let apply = |w: &mut Vec<u64>| w.iter_mut().zip(c).for_each(|(x, y)| *x ^= y);
        match party {
            PartyId::P0 => apply(&mut out.this),
            PartyId::P2 => apply(&mut out.next),
            PartyId::P1 => {}
        }
        trim(&mut out.this, out.len);
        trim(&mut out.next, out.len);
        out
    }
}

/// `x[k] & y[k]` for every pair, in one round: each party sends
/// `x_i y_i ^ x_i y_{i+1} ^ x_{i+1} y_i ^ a_i` (with a boolean zero-sharing `a`) to its
/// previous party and receives its next party's, one bit per gate.
pub fn and_many(
    s: &mut Session<'_>,
    pairs: &[(&BitShares, &BitShares)],
) -> Result<Vec<BitShares>, NetError> {
    // Each pair's local share, masked by the zero-sharing drawn word by word in order
    // (the same draws as one `zero_share_bits(total)`), then one message of all of them,
    // serialised straight from the per-pair vectors and read straight into them: no
    // concatenated copies of the whole batch.
    let mut mine: Vec<Vec<u64>> = Vec::with_capacity(pairs.len());
    for (x, y) in pairs {
        assert_eq!(x.len, y.len, "and of different lengths");
        let zero = s.rand.zero_share_bits(x.this.len());
        mine.push(
            (0..x.this.len())
                .zip(zero)
                .map(|(w, z)| {
                    (x.this[w] & y.this[w]) ^ (x.this[w] & y.next[w]) ^ (x.next[w] & y.this[w]) ^ z
                })
                .collect(),
        );
    }
    let total: usize = mine.iter().map(Vec::len).sum();
    let mut bytes = Vec::with_capacity(8 * total);
    for part in &mine {
        part.iter()
            .for_each(|w| bytes.extend_from_slice(&w.to_le_bytes()));
    }
    let (prev, next) = (s.party().prev(), s.party().next());
    s.send_bytes(prev, bytes)?;
    let received = s.recv_bytes(next, 8 * total)?;
    let mut words = received
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8-byte chunk")));
    Ok(pairs
        .iter()
        .zip(mine)
        .map(|((x, _), this)| {
            let next: Vec<u64> = words.by_ref().take(this.len()).collect();
            BitShares::from_components(this, next, x.len)
        })
        .collect())
}

/// `x & y` (one round).
pub fn and(s: &mut Session<'_>, x: &BitShares, y: &BitShares) -> Result<BitShares, NetError> {
    Ok(and_many(s, &[(x, y)])?.remove(0))
}

/// Reveals the bits to every party (packed).
pub fn open_bits(s: &mut Session<'_>, x: &BitShares) -> Result<Vec<u64>, NetError> {
    let missing = s.pass_words(&x.next)?;
    let mut out: Vec<u64> = (0..x.this.len())
        .map(|w| x.this[w] ^ x.next[w] ^ missing[w])
        .collect();
    trim(&mut out, x.len);
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::protocol::testing::run3;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    /// XOR-shares packed bits for the three parties.
    pub fn deal_bits(words: &[u64], len: usize, seed: u64) -> [BitShares; 3] {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let c0: Vec<u64> = words.iter().map(|_| rng.random()).collect();
        let c1: Vec<u64> = words.iter().map(|_| rng.random()).collect();
        let c2: Vec<u64> = (0..words.len()).map(|w| words[w] ^ c0[w] ^ c1[w]).collect();
        let c = [c0, c1, c2];
        PartyId::ALL.map(|p| {
            BitShares::from_components(c[p.index()].clone(), c[p.next().index()].clone(), len)
        })
    }

    /// Reconstructs packed bits from the three parties' shares.
    pub fn reveal(parts: &[BitShares; 3]) -> Vec<u64> {
        for p in PartyId::ALL {
            assert_eq!(parts[p.index()].next, parts[p.next().index()].this);
        }
        (0..parts[0].this.len())
            .map(|w| parts[0].this[w] ^ parts[1].this[w] ^ parts[2].this[w])
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn and_xor_not_match_plaintext(x in proptest::collection::vec(any::<bool>(), 0..200), seed: u64) {
            let y: Vec<bool> = x.iter().enumerate().map(|(k, &b)| b ^ (k % 3 == 0)).collect();
            let (xw, n) = pack(x.iter().copied());
            let (yw, _) = pack(y.iter().copied());
            let (xs, ys) = (deal_bits(&xw, n, seed), deal_bits(&yw, n, !seed));
            let out = run3(|p, s| {
                let i = p.index();
                let a = and(s, &xs[i], &ys[i]).unwrap();
                let o = open_bits(s, &a).unwrap();
                (a, xs[i].xor(&ys[i]).not(p), o)
            });
            let and_want = pack(x.iter().zip(&y).map(|(a, b)| a & b)).0;
            let xor_not = pack(x.iter().zip(&y).map(|(a, b)| !(a ^ b))).0;
            prop_assert_eq!(reveal(&[out[0].0.clone(), out[1].0.clone(), out[2].0.clone()]), and_want.clone());
            prop_assert_eq!(reveal(&[out[0].1.clone(), out[1].1.clone(), out[2].1.clone()]), xor_not);
            prop_assert_eq!(&out[1].2, &and_want);
        }

        #[test]
        fn slice_and_concat(x in proptest::collection::vec(any::<bool>(), 1..300), cut in 0usize..300) {
            let cut = cut % x.len();
            let (w, n) = pack(x.iter().copied());
            let shares = deal_bits(&w, n, 5);
            let parts = shares.clone().map(|s| (s.slice(0, cut), s.slice(cut, n - cut)));
            let left: [BitShares; 3] = parts.clone().map(|p| p.0);
            prop_assert_eq!(reveal(&left), pack(x[..cut].iter().copied()).0);
            let joined = parts.map(|p| BitShares::concat(&[&p.0, &p.1]));
            prop_assert_eq!(reveal(&joined), w);
        }
    }
}
