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
use super::planes::{Planes, and_local, and_round};
use crate::net::NetError;
use crate::party::PartyId;
use crate::ring::{Ring, Z16, Z32};
use crate::share::ShareVec;
use crate::wipe::Wiped;

/// Bit `j` of every value, packed, plane after plane: plane `j` is words
/// `j·w..(j+1)·w` with `w = words_for(values.len())` (plaintext transposition).
///
/// Sixty-four values at a time are transposed into a block of words held locally, then
/// stored: one store per plane word instead of a read-modify-write per bit. The block
/// transpose runs on AVX-512 BW where the CPU has it (module `transpose`, tested equal to the
/// portable reference).
pub fn planes_of<R: Ring>(values: &[R]) -> Vec<u64> {
    let _t = crate::profile::timer(crate::profile::Phase::Transposes);
    let (bits, words) = (R::BITS as usize, words_for(values.len()));
    let simd = transpose::simd_available();
    let mut planes = vec![0u64; bits * words];
    for (w, chunk) in values.chunks(64).enumerate() {
        let mut block = [0u64; 64];
        transpose::block(chunk, &mut block, simd);
        for (j, &word) in block.iter().take(bits).enumerate() {
            planes[j * words + w] = word;
        }
    }
    planes
}

/// The two XOR-shared operands whose sum is `x`, all `R::BITS` planes of each: `x0 + x1`
/// input by P0, and `x2`.
pub fn split_operands<R: Ring>(
    s: &mut Session<'_>,
    x: &ShareVec<R>,
) -> Result<(Planes, Planes), NetError> {
    let (n, k) = (x.len(), R::BITS as usize);
    let zeros = || vec![0u64; words_for(n) * k];
    let operands = |a: (Vec<u64>, Vec<u64>), b: (Vec<u64>, Vec<u64>)| {
        (Planes::new(a.0, a.1, n, k), Planes::new(b.0, b.1, n, k))
    };
    Ok(match s.party() {
        PartyId::P0 => {
            // `x0 + x1` and its bit planes are secret-dependent: wiped once masked.
            let sum = Wiped::new(x.this.iter().zip(&x.next).map(|(&a, &b)| a + b).collect());
            let mut masked = Wiped::new(planes_of(&sum));
            let mask = s.rand.common_bits_with_next(masked.len());
            masked.iter_mut().zip(&mask).for_each(|(a, b)| *a ^= b);
            let masked = std::mem::take(&mut *masked);
            s.send_words(PartyId::P2, &masked)?;
            operands((masked, mask), (zeros(), zeros()))
        }
        PartyId::P1 => {
            let mask = s.rand.common_bits_with_prev(words_for(n) * k);
            operands((mask, zeros()), (zeros(), planes_of(&x.next)))
        }
        PartyId::P2 => {
            let masked = s.recv_words(PartyId::P0, words_for(n) * k)?;
            operands((zeros(), masked), (planes_of(&x.this), zeros()))
        }
    })
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

/// The carry out of `a + b` for the low `k` planes of bit-sliced operands, by a binary
/// tree of (generate, propagate) combinations (`1 + ceil(log2 k)` rounds).
///
/// Each layer of the tree is one buffer ([`Planes`]) and one message. The propagate of
/// the lowest group is never computed: a group only combines with the groups below it,
/// and the lowest has none, so each round after the first sends one gate less per
/// value than the full (generate, propagate) combination.
pub fn carry_out(
    s: &mut Session<'_>,
    a: &Planes,
    b: &Planes,
    k: usize,
) -> Result<BitShares, NetError> {
    assert!(k >= 1 && k <= a.count() && k <= b.count(), "planes to add");
    assert_eq!(a.len(), b.len(), "operands of different lengths");
    let (n, w) = (a.len(), a.words());
    let ((a_this, a_next), (b_this, b_next)) = (a.components(), b.components());
    // Generate of every bit: `a & b`.
    let mut g_this = vec![0u64; k * w];
    and_local(&mut g_this, (a_this, a_next), (b_this, b_next));
    let g_next = and_round(s, &mut g_this)?;
    let mut g = Planes::new(g_this, g_next, n, k);
    // Propagate `a ^ b` of bits 1..k: plane `j - 1` of `p` is the propagate of group `j`.
    let xor = |x: &[u64], y: &[u64]| -> Vec<u64> {
        x[w..k * w]
            .iter()
            .zip(&y[w..k * w])
            .map(|(x, y)| x ^ y)
            .collect()
    };
    let mut p = Planes::new(xor(a_this, b_this), xor(a_next, b_next), n, k - 1);
    let mut groups = k;
    while groups > 1 {
        let pairs = groups / 2;
        // Gates: `p[2m+1] & g[2m]` for every pair m, then `p[2m+1] & p[2m]` for m ≥ 1.
        let mut mine = vec![0u64; (2 * pairs - 1) * w];
        {
            let (gates_g, gates_p) = mine.split_at_mut(pairs * w);
            for m in 0..pairs {
                let out = &mut gates_g[m * w..(m + 1) * w];
                and_local(out, p.plane(2 * m), g.plane(2 * m));
            }
            for m in 1..pairs {
                let out = &mut gates_p[(m - 1) * w..m * w];
                and_local(out, p.plane(2 * m), p.plane(2 * m - 1));
            }
        }
        let mut theirs = and_round(s, &mut mine)?;
        // New propagates (groups 1..pairs), then the odd group's, carried over.
        let (mut p_this, mut p_next) = (mine.split_off(pairs * w), theirs.split_off(pairs * w));
        // New generates: `g[2m+1] ^ (p[2m+1] & g[2m])`, then the odd group's.
        let (g_this, g_next) = g.components();
        for m in 0..pairs {
            let hi = (2 * m + 1) * w..(2 * m + 2) * w;
            let out = m * w..(m + 1) * w;
            xor_into(&mut mine[out.clone()], &g_this[hi.clone()]);
            xor_into(&mut theirs[out], &g_next[hi]);
        }
        if groups % 2 == 1 {
            let last = (groups - 1) * w..groups * w;
            mine.extend_from_slice(&g_this[last.clone()]);
            theirs.extend_from_slice(&g_next[last]);
            let (pt, pn) = p.plane(groups - 2);
            p_this.extend_from_slice(pt);
            p_next.extend_from_slice(pn);
        }
        groups = pairs + groups % 2;
        g = Planes::new(mine, theirs, n, groups);
        p = Planes::new(p_this, p_next, n, groups - 1);
    }
    Ok(g.bit_shares(0))
}

/// `out ^= x`, word by word.
fn xor_into(out: &mut [u64], x: &[u64]) {
    out.iter_mut().zip(x).for_each(|(o, x)| *o ^= x);
}

/// Arithmetic-to-boolean conversion: the bit-sliced XOR shares of `x` (all `k` bits).
pub fn a2b<R: Ring>(s: &mut Session<'_>, x: &ShareVec<R>) -> Result<Vec<BitShares>, NetError> {
    let (a, b) = split_operands(s, x)?;
    add(s, &a.to_bit_shares(), &b.to_bit_shares())
}

/// The most significant bit of each element of `x` in Z_2^32 (1 for negative values in
/// the two's-complement reading).
pub fn msb(s: &mut Session<'_>, x: &ShareVec<Z32>) -> Result<BitShares, NetError> {
    let (a, b) = split_operands(s, x)?;
    let carry = carry_out(s, &a, &b, 31)?;
    Ok(a.bit_shares(31).xor(&b.bit_shares(31)).xor(&carry))
}

/// Bit injection: arithmetic shares in Z_2^32 of XOR-shared bits. P0 inputs `b0 ^ b1`,
/// `b2` is shared as `(0, 0, b2)`, and `u ^ v = u + v - 2uv` costs one multiplication.
pub fn inject(s: &mut Session<'_>, bits: &BitShares) -> Result<ShareVec<Z32>, NetError> {
    let n = bits.len();
    let p0_part: Option<Wiped<Z32>> = (s.party() == PartyId::P0).then(|| {
        let plain = Wiped::new(
            bits.this
                .iter()
                .zip(&bits.next)
                .map(|(a, b)| a ^ b)
                .collect(),
        );
        Wiped::new(unpack(&plain, n))
    });
    let u = input_from_p0(s, p0_part.as_deref().map(Vec::as_slice), n)?;
    let v = match s.party() {
        PartyId::P0 => ShareVec::from_components(vec![Z32(0); n], vec![Z32(0); n]),
        PartyId::P1 => ShareVec::from_components(vec![Z32(0); n], unpack(&bits.next, n)),
        PartyId::P2 => ShareVec::from_components(unpack(&bits.this, n), vec![Z32(0); n]),
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

/// The first `n` bits of packed `words` as 0/1 ring elements.
fn unpack(words: &[u64], n: usize) -> Vec<Z32> {
    let mut out = Vec::with_capacity(n);
    for &word in words {
        let take = (n - out.len()).min(64);
        out.extend((0..take).map(|b| Z32((word >> b & 1) as u32)));
    }
    out
}

/// Lifts shares of `x` in Z_2^16 to shares of the unsigned value `x ∈ [0, 2^16)` in
/// Z_2^32. The sum of the three components as integers is `x + 2^16 w` with wraps
/// `w = c01 + c2`: `c01`, the carry of `x0 + x1`, is known to P0 and input by it; `c2`,
/// the carry of `(x0 + x1 mod 2^16) + x2`, comes from [`carry_out`] and [`inject`].
pub fn lift(s: &mut Session<'_>, x: &ShareVec<Z16>) -> Result<ShareVec<Z32>, NetError> {
    let n = x.len();
    let (a, b) = split_operands(s, x)?;
    let c2 = carry_out(s, &a, &b, 16)?;
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
