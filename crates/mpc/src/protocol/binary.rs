//! Binary circuits on bit-sliced XOR shares: conversion from arithmetic shares, the
//! parallel-prefix adder, the sign bit, the 16→32-bit lift, bit injection, and OR/AND
//! trees.
//!
//! Values are *bit-sliced*: `k`-bit values are `k` [`BitShares`] planes, plane `j`
//! holding bit `j` of every value, so one AND message serves a whole batch.
//!
//! Arithmetic-to-boolean: `x = x0 + x1 + x2`; P0 knows `x0 + x1` and inputs it as XOR
//! shares (one message to P2), `x2` is already XOR-shared as `(0, 0, x2)`; a binary adder
//! of the two gives `x`. The sign needs only the carry into the top bit, computed by a
//! log-depth tree of (generate, propagate) pairs ([`carry_out`]); the full sum uses the
//! Kogge–Stone prefix ([`add`]).

use super::Session;
use super::arith::{input_from_p0, mul};
use super::bits::{BitShares, and_many, words_for};
use crate::net::NetError;
use crate::party::PartyId;
use crate::ring::{Ring, Z16, Z32};
use crate::share::ShareVec;

/// Bit `j` of every value, packed (plaintext transposition).
///
/// Sixty-four values at a time are transposed into a block of words held locally, then
/// stored: one store per plane word instead of a read-modify-write per bit. The block
/// transpose runs on AVX-512 BW where the CPU has it ([`transpose`], tested equal to the
/// portable reference).
pub fn planes_of<R: Ring>(values: &[R]) -> Vec<Vec<u64>> {
    let _t = crate::profile::timer(crate::profile::Phase::Transposes);
    let bits = R::BITS as usize;
    let simd = transpose::simd_available();
    let mut planes = vec![vec![0u64; words_for(values.len())]; bits];
    for (w, chunk) in values.chunks(64).enumerate() {
        let mut block = [0u64; 64];
        transpose::block(chunk, &mut block, simd);
        for (plane, &word) in planes.iter_mut().zip(&block) {
            plane[w] = word;
        }
    }
    planes
}

/// The two XOR-shared operands whose sum is `x`: `x0 + x1` input by P0, and `x2`.
pub fn split_operands<R: Ring>(
    s: &mut Session<'_>,
    x: &ShareVec<R>,
) -> Result<(Vec<BitShares>, Vec<BitShares>), NetError> {
    let (n, k) = (x.len(), R::BITS as usize);
    let words = words_for(n);
    let planes = |v: &[R]| planes_of(v);
    let zero = || vec![0u64; words];
    let (first, second): (Vec<BitShares>, Vec<BitShares>) = match s.party() {
        PartyId::P0 => {
            // `x0 + x1` and its bit planes are secret-dependent: wiped once masked.
            let sum: zeroize::Zeroizing<Vec<R>> =
                zeroize::Zeroizing::new(x.this.iter().zip(&x.next).map(|(&a, &b)| a + b).collect());
            let mask = s.rand.common_bits_with_next(words * k);
            let plain_planes = zeroize::Zeroizing::new(planes(&sum));
            let plain = zeroize::Zeroizing::new(plain_planes.concat());
            let masked: Vec<u64> = plain.iter().zip(&mask).map(|(a, b)| a ^ b).collect();
            s.send_words(PartyId::P2, &masked)?;
            let first = (0..k)
                .map(|j| {
                    let r = j * words..(j + 1) * words;
                    BitShares::from_components(masked[r.clone()].to_vec(), mask[r].to_vec(), n)
                })
                .collect();
            (first, (0..k).map(|_| BitShares::zeros(n)).collect())
        }
        PartyId::P1 => {
            let mask = s.rand.common_bits_with_prev(words * k);
            let first = (0..k)
                .map(|j| {
                    BitShares::from_components(mask[j * words..(j + 1) * words].to_vec(), zero(), n)
                })
                .collect();
            let x2 = planes(&x.next);
            let second = x2
                .into_iter()
                .map(|p| BitShares::from_components(zero(), p, n))
                .collect();
            (first, second)
        }
        PartyId::P2 => {
            let masked = s.recv_words(PartyId::P0, words * k)?;
            let first = (0..k)
                .map(|j| {
                    BitShares::from_components(
                        zero(),
                        masked[j * words..(j + 1) * words].to_vec(),
                        n,
                    )
                })
                .collect();
            let x2 = planes(&x.this);
            let second = x2
                .into_iter()
                .map(|p| BitShares::from_components(p, zero(), n))
                .collect();
            (first, second)
        }
    };
    Ok((first, second))
}

/// Per-bit generate `a & b` and propagate `a ^ b` (one round).
fn generate_propagate(
    s: &mut Session<'_>,
    a: &[BitShares],
    b: &[BitShares],
) -> Result<(Vec<BitShares>, Vec<BitShares>), NetError> {
    let pairs: Vec<_> = a.iter().zip(b).collect();
    let g = and_many(s, &pairs)?;
    let p = a.iter().zip(b).map(|(x, y)| x.xor(y)).collect();
    Ok((g, p))
}

/// `a + b mod 2^k` on bit-sliced shares, with a Kogge–Stone parallel prefix
/// (`1 + log2 k` rounds).
pub fn add(
    s: &mut Session<'_>,
    a: &[BitShares],
    b: &[BitShares],
) -> Result<Vec<BitShares>, NetError> {
    let k = a.len();
    let (mut g, mut p) = generate_propagate(s, a, b)?;
    let half_sums = p.clone();
    let mut d = 1;
    while d < k {
        // Group (j-d .. j] combined with the group below it, for every j >= d.
        let mut pairs = Vec::new();
        for j in d..k {
            pairs.push((&p[j], &g[j - d]));
            pairs.push((&p[j], &p[j - d]));
        }
        let products = and_many(s, &pairs)?;
        let (mut new_g, mut new_p) = (g.clone(), p.clone());
        for (idx, j) in (d..k).enumerate() {
            new_g[j] = g[j].xor(&products[2 * idx]);
            new_p[j] = products[2 * idx + 1].clone();
        }
        (g, p) = (new_g, new_p);
        d *= 2;
    }
    // Carry into bit j is the prefix generate of bits below j.
    Ok((0..k)
        .map(|j| {
            if j == 0 {
                half_sums[0].clone()
            } else {
                half_sums[j].xor(&g[j - 1])
            }
        })
        .collect())
}

/// The carry out of `a + b` for `k`-bit bit-sliced operands, by a binary tree of
/// (generate, propagate) combinations (`1 + ceil(log2 k)` rounds).
pub fn carry_out(
    s: &mut Session<'_>,
    a: &[BitShares],
    b: &[BitShares],
) -> Result<BitShares, NetError> {
    let (mut g, mut p) = generate_propagate(s, a, b)?;
    while g.len() > 1 {
        let pairs_n = g.len() / 2;
        let mut pairs = Vec::with_capacity(2 * pairs_n);
        for m in 0..pairs_n {
            let (lo, hi) = (2 * m, 2 * m + 1);
            pairs.push((&p[hi], &g[lo]));
            pairs.push((&p[hi], &p[lo]));
        }
        let products = and_many(s, &pairs)?;
        let mut new_g = Vec::with_capacity(pairs_n + 1);
        let mut new_p = Vec::with_capacity(pairs_n + 1);
        for m in 0..pairs_n {
            new_g.push(g[2 * m + 1].xor(&products[2 * m]));
            new_p.push(products[2 * m + 1].clone());
        }
        if g.len() % 2 == 1 {
            new_g.push(g[g.len() - 1].clone());
            new_p.push(p[p.len() - 1].clone());
        }
        (g, p) = (new_g, new_p);
    }
    Ok(g.remove(0))
}

/// Arithmetic-to-boolean conversion: the bit-sliced XOR shares of `x` (all `k` bits).
pub fn a2b<R: Ring>(s: &mut Session<'_>, x: &ShareVec<R>) -> Result<Vec<BitShares>, NetError> {
    let (a, b) = split_operands(s, x)?;
    add(s, &a, &b)
}

/// The most significant bit of each element of `x` in Z_2^32 (1 for negative values in
/// the two's-complement reading).
pub fn msb(s: &mut Session<'_>, x: &ShareVec<Z32>) -> Result<BitShares, NetError> {
    let (a, b) = split_operands(s, x)?;
    let carry = carry_out(s, &a[..31], &b[..31])?;
    Ok(a[31].xor(&b[31]).xor(&carry))
}

/// Bit injection: arithmetic shares in Z_2^32 of XOR-shared bits. P0 inputs `b0 ^ b1`,
/// `b2` is shared as `(0, 0, b2)`, and `u ^ v = u + v - 2uv` costs one multiplication.
pub fn inject(s: &mut Session<'_>, bits: &BitShares) -> Result<ShareVec<Z32>, NetError> {
    let n = bits.len();
    let bit_at = |w: &[u64], k: usize| Z32((w[k / 64] >> (k % 64) & 1) as u32);
    let p0_part: Option<Vec<Z32>> = (s.party() == PartyId::P0).then(|| {
        (0..n)
            .map(|k| Z32(bit_at(&bits.this, k).0 ^ bit_at(&bits.next, k).0))
            .collect()
    });
    let u = input_from_p0(s, p0_part.as_deref(), n)?;
    let v = match s.party() {
        PartyId::P0 => ShareVec::from_components(vec![Z32(0); n], vec![Z32(0); n]),
        PartyId::P1 => ShareVec::from_components(
            vec![Z32(0); n],
            (0..n).map(|k| bit_at(&bits.next, k)).collect(),
        ),
        PartyId::P2 => ShareVec::from_components(
            (0..n).map(|k| bit_at(&bits.this, k)).collect(),
            vec![Z32(0); n],
        ),
    };
    let uv = mul(s, &u, &v)?;
    // u + v − 2uv, one pass per component.
    let combine = |u: &[Z32], v: &[Z32], uv: &[Z32]| -> Vec<Z32> {
        u.iter()
            .zip(v.iter().zip(uv))
            .map(|(&u, (&v, &w))| u + v - w - w)
            .collect()
    };
    Ok(ShareVec::from_components(
        combine(&u.this, &v.this, &uv.this),
        combine(&u.next, &v.next, &uv.next),
    ))
}

/// Lifts shares of `x` in Z_2^16 to shares of the unsigned value `x ∈ [0, 2^16)` in
/// Z_2^32. The sum of the three components as integers is `x + 2^16 w` with wraps
/// `w = c01 + c2`: `c01`, the carry of `x0 + x1`, is known to P0 and input by it; `c2`,
/// the carry of `(x0 + x1 mod 2^16) + x2`, comes from [`carry_out`] and [`inject`].
pub fn lift(s: &mut Session<'_>, x: &ShareVec<Z16>) -> Result<ShareVec<Z32>, NetError> {
    let n = x.len();
    let (a, b) = split_operands(s, x)?;
    let c2 = carry_out(s, &a, &b)?;
    let c01: Option<Vec<Z32>> = (s.party() == PartyId::P0).then(|| {
        x.this
            .iter()
            .zip(&x.next)
            .map(|(&p, &q)| Z32(((u32::from(p.0) + u32::from(q.0)) >> 16) & 1))
            .collect()
    });
    let c01 = input_from_p0(s, c01.as_deref(), n)?;
    let c2 = inject(s, &c2)?;
    // x − 2^16·(c01 + c2), one pass per component (local and linear).
    let combine = |x: &[Z16], c01: &[Z32], c2: &[Z32]| -> Vec<Z32> {
        x.iter()
            .zip(c01.iter().zip(c2))
            .map(|(&x, (&a, &b))| Z32::from_z16(x) - (a + b) * Z32(1 << 16))
            .collect()
    };
    Ok(ShareVec::from_components(
        combine(&x.this, &c01.this, &c2.this),
        combine(&x.next, &c01.next, &c2.next),
    ))
}

/// Combines the members of each group with `op`: `bits` holds `members × groups` bits,
/// bit `m * groups + g` being member `m` of group `g`; the result holds one bit per
/// group. Depth `ceil(log2 members)` rounds.
fn reduce_groups(
    s: &mut Session<'_>,
    bits: &BitShares,
    groups: usize,
    or: bool,
) -> Result<BitShares, NetError> {
    assert!(
        groups > 0 && bits.len().is_multiple_of(groups),
        "bits must be members × groups"
    );
    let party = s.party();
    // OR(a, b) = !(!a & !b): work on complements throughout and flip back at the end.
    let mut cur = if or { bits.not(party) } else { bits.clone() };
    let mut members = bits.len() / groups;
    if members == 0 {
        // An empty OR is false, an empty AND true.
        let zeros = BitShares::zeros(groups);
        return Ok(if or { zeros } else { zeros.not(party) });
    }
    while members > 1 {
        let half = members / 2;
        let low = cur.slice(0, half * groups);
        let high = cur.slice(half * groups, half * groups);
        let mut combined = and_many(s, &[(&low, &high)])?.remove(0);
        if members % 2 == 1 {
            combined = BitShares::concat(&[&combined, &cur.slice(2 * half * groups, groups)]);
        }
        cur = combined;
        members = half + members % 2;
    }
    Ok(if or { cur.not(party) } else { cur })
}

/// OR over the members of each group (layout as in [`and_groups`]).
pub fn or_groups(
    s: &mut Session<'_>,
    bits: &BitShares,
    groups: usize,
) -> Result<BitShares, NetError> {
    reduce_groups(s, bits, groups, true)
}

/// AND over the members of each group: `bits` holds `members × groups` bits, bit
/// `m * groups + g` being member `m` of group `g`.
pub fn and_groups(
    s: &mut Session<'_>,
    bits: &BitShares,
    groups: usize,
) -> Result<BitShares, NetError> {
    reduce_groups(s, bits, groups, false)
}

mod transpose;

#[cfg(test)]
mod tests;
