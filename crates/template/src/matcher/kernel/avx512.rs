//! AVX-512 kernel: `VPTERNLOGQ` computes `(a ^ b) & valid` in one instruction and
//! `VPOPCNTQ` counts 512 bits at once.
//!
//! Rotations are processed in groups of eight so that the sixteen accumulators stay in
//! registers while each gallery block is loaded once per group.

use super::super::gallery::EyePlanes;
use super::super::layout::{BLOCKS_PER_PLANE, Block, PackedEye, PackedRotations};
use crate::HammingCounts;
use std::arch::x86_64::*;
use std::ops::Range;

/// `(a ^ b) & c` as a `VPTERNLOGQ` truth table (a = 0xF0, b = 0xCC, c = 0xAA).
const XOR_AND: i32 = 0x28;

/// # Safety
/// The CPU must support AVX-512F and AVX512_VPOPCNTDQ.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
pub(super) unsafe fn count(
    query: &PackedRotations,
    gallery: &EyePlanes,
    eyes: Range<usize>,
    out: &mut [HammingCounts],
) {
    let rotations = query.eyes.len();
    for (k, e) in eyes.enumerate() {
        let planes = gallery.eye(e);
        let row = &mut out[k * rotations..(k + 1) * rotations];
        let mut start = 0;
        while start + 8 <= rotations {
            group::<8>(
                &query.eyes[start..start + 8],
                planes,
                &mut row[start..start + 8],
            );
            start += 8;
        }
        let rest = rotations - start;
        match rest {
            0 => {}
            7 => group::<7>(&query.eyes[start..], planes, &mut row[start..]),
            _ => {
                for r in start..rotations {
                    group::<1>(&query.eyes[r..r + 1], planes, &mut row[r..r + 1]);
                }
            }
        }
    }
}

#[inline]
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
fn group<const G: usize>(
    queries: &[PackedEye],
    (re, im, mask): (&[Block], &[Block], &[Block]),
    out: &mut [HammingCounts],
) {
    let mut differing = [_mm512_setzero_si512(); G];
    let mut overlap = [_mm512_setzero_si512(); G];
    for j in 0..BLOCKS_PER_PLANE {
        let (g_re, g_im, g_mask) = (load(&re[j]), load(&im[j]), load(&mask[j]));
        for (g, q) in queries.iter().enumerate().take(G) {
            let valid = _mm512_and_si512(load(&q.mask[j]), g_mask);
            let d_re = _mm512_ternarylogic_epi64::<XOR_AND>(load(&q.re[j]), g_re, valid);
            let d_im = _mm512_ternarylogic_epi64::<XOR_AND>(load(&q.im[j]), g_im, valid);
            let d = _mm512_add_epi64(_mm512_popcnt_epi64(d_re), _mm512_popcnt_epi64(d_im));
            differing[g] = _mm512_add_epi64(differing[g], d);
            overlap[g] = _mm512_add_epi64(overlap[g], _mm512_popcnt_epi64(valid));
        }
    }
    for g in 0..G {
        out[g] = HammingCounts {
            differing: _mm512_reduce_add_epi64(differing[g]) as u32,
            overlap: 2 * _mm512_reduce_add_epi64(overlap[g]) as u32,
        };
    }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn load(block: &Block) -> __m512i {
    // SAFETY: `Block` is 64 bytes and 64-byte aligned, so this is an aligned in-bounds
    // read of one 512-bit vector.
    unsafe { _mm512_load_si512(block.0.as_ptr().cast()) }
}
