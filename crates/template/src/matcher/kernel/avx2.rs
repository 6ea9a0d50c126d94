//! AVX2 kernel: 256-bit logic, popcount by a 4-bit lookup table (`VPSHUFB`), byte sums
//! folded into 64-bit lanes with `VPSADBW`.
//!
//! AVX2 has no vector popcount; this path serves CPUs without AVX-512.

use super::super::gallery::EyePlanes;
use super::super::layout::{BLOCKS_PER_PLANE, Block, PackedEye, PackedRotations};
use crate::HammingCounts;
use std::arch::x86_64::*;
use std::ops::Range;

/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
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
        while start + 4 <= rotations {
            group::<4>(
                &query.eyes[start..start + 4],
                planes,
                &mut row[start..start + 4],
            );
            start += 4;
        }
        for r in start..rotations {
            group::<1>(&query.eyes[r..r + 1], planes, &mut row[r..r + 1]);
        }
    }
}

#[inline]
#[target_feature(enable = "avx2")]
fn group<const G: usize>(
    queries: &[PackedEye],
    (re, im, mask): (&[Block], &[Block], &[Block]),
    out: &mut [HammingCounts],
) {
    let mut differing = [_mm256_setzero_si256(); G];
    let mut overlap = [_mm256_setzero_si256(); G];
    for j in 0..BLOCKS_PER_PLANE {
        for half in 0..2 {
            let (g_re, g_im, g_mask) =
                (load(&re[j], half), load(&im[j], half), load(&mask[j], half));
            for (g, q) in queries.iter().enumerate().take(G) {
                let valid = _mm256_and_si256(load(&q.mask[j], half), g_mask);
                let d_re = _mm256_and_si256(_mm256_xor_si256(load(&q.re[j], half), g_re), valid);
                let d_im = _mm256_and_si256(_mm256_xor_si256(load(&q.im[j], half), g_im), valid);
                // At most 16 per byte: no overflow before the byte sums are folded.
                let d = _mm256_add_epi8(popcount_bytes(d_re), popcount_bytes(d_im));
                differing[g] = _mm256_add_epi64(differing[g], sum_bytes(d));
                overlap[g] = _mm256_add_epi64(overlap[g], sum_bytes(popcount_bytes(valid)));
            }
        }
    }
    for g in 0..G {
        out[g] = HammingCounts {
            differing: horizontal_sum(differing[g]),
            overlap: 2 * horizontal_sum(overlap[g]),
        };
    }
}

/// Per-byte popcount by looking up each nibble in a 16-entry table.
#[inline]
#[target_feature(enable = "avx2")]
fn popcount_bytes(v: __m256i) -> __m256i {
    let table = _mm256_setr_epi8(
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3,
        3, 4,
    );
    let low_nibbles = _mm256_set1_epi8(0x0F);
    let lo = _mm256_and_si256(v, low_nibbles);
    let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), low_nibbles);
    _mm256_add_epi8(
        _mm256_shuffle_epi8(table, lo),
        _mm256_shuffle_epi8(table, hi),
    )
}

/// Sums each group of 8 bytes into a 64-bit lane.
#[inline]
#[target_feature(enable = "avx2")]
fn sum_bytes(v: __m256i) -> __m256i {
    _mm256_sad_epu8(v, _mm256_setzero_si256())
}

#[inline]
#[target_feature(enable = "avx2")]
fn horizontal_sum(v: __m256i) -> u32 {
    let mut lanes = [0u64; 4];
    // SAFETY: `lanes` is 32 bytes; an unaligned store is allowed.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), v) };
    lanes.iter().sum::<u64>() as u32
}

#[inline]
#[target_feature(enable = "avx2")]
fn load(block: &Block, half: usize) -> __m256i {
    debug_assert!(half < 2);
    // SAFETY: `Block` is 64 bytes, 64-byte aligned; `half * 4` words is 0 or 32 bytes
    // in, so this is an aligned in-bounds read of 256 bits.
    unsafe { _mm256_load_si256(block.0.as_ptr().add(half * 4).cast()) }
}
