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
    let first = eyes.start;
    // Tiles of EYE_TILE stored eyes x 8 rotations: both tiles (about 20 KB each) stay in
    // L1 while they are reused, instead of streaming all 31 rotations (77 KB) from L2
    // for every stored eye.
    let mut tile_start = eyes.start;
    while tile_start < eyes.end {
        let tile = tile_start..(tile_start + EYE_TILE).min(eyes.end);
        for start in (0..rotations).step_by(8) {
            let queries = &query.eyes[start..(start + 8).min(rotations)];
            for e in tile.clone() {
                let planes = gallery.eye(e);
                let k = e - first;
                let row = &mut out[k * rotations + start..k * rotations + start + queries.len()];
                match queries.len() {
                    8 => group::<8>(queries, planes, row),
                    7 => group::<7>(queries, planes, row),
                    _ => {
                        for (r, q) in queries.iter().enumerate() {
                            group::<1>(std::slice::from_ref(q), planes, &mut row[r..r + 1]);
                        }
                    }
                }
            }
        }
        tile_start = tile.end;
    }
}

/// Stored eyes per tile (8 x 2,496 bytes).
const EYE_TILE: usize = 8;

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
