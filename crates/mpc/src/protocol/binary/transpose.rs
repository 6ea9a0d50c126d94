//! Bit-plane transposes of 64 values at a time: word `j` of a block gets bit `j` of value
//! `k` at bit `k`.
//!
//! [`block_portable`] is the reference (one shift, mask and OR per bit and value). On
//! x86-64 with AVX-512 BW, [`block`] extracts a plane of 32 16-bit values (or 16 32-bit
//! values) with one `vptestmw` (`vptestmd`) against the plane's bit, a few instructions
//! per plane instead of one per value; it is tested equal to the reference.

use crate::ring::Ring;

/// Whether the vector transpose can run here (checked once per call of
/// [`super::planes_of`]; the standard library caches the CPU flags).
pub(super) fn simd_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The reference: the planes of up to 64 values into `block[..R::BITS]`.
pub(super) fn block_portable<R: Ring>(chunk: &[R], block: &mut [u64; 64]) {
    let bits = R::BITS as usize;
    for (k, v) in chunk.iter().enumerate() {
        let v = v.to_u64();
        for (j, word) in block.iter_mut().enumerate().take(bits) {
            *word |= (v >> j & 1) << k;
        }
    }
}

/// The planes of up to 64 values into `block[..R::BITS]` (`block` starts zeroed): the
/// vector version where `simd` (from [`simd_available`]) and the width allows, else the
/// reference.
pub(super) fn block<R: Ring>(chunk: &[R], block: &mut [u64; 64], simd: bool) {
    #[cfg(target_arch = "x86_64")]
    if simd {
        match R::BITS {
            16 => {
                let mut values = [0u16; 64];
                for (v, x) in values.iter_mut().zip(chunk) {
                    *v = x.to_u64() as u16;
                }
                // SAFETY: `simd` comes from `simd_available`, which confirmed AVX-512 F
                // and BW on this CPU.
                unsafe { planes16(&values, block) };
                return;
            }
            32 => {
                let mut values = [0u32; 64];
                for (v, x) in values.iter_mut().zip(chunk) {
                    *v = x.to_u64() as u32;
                }
                // SAFETY: as above.
                unsafe { planes32(&values, block) };
                return;
            }
            _ => {}
        }
    }
    let _ = simd;
    block_portable(chunk, block);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
fn planes16(values: &[u16; 64], block: &mut [u64; 64]) {
    use core::arch::x86_64::*;
    // SAFETY: `values` is 128 bytes, so both 64-byte unaligned loads are inside it.
    let (lo, hi) = unsafe {
        (
            _mm512_loadu_si512(values.as_ptr().cast()),
            _mm512_loadu_si512(values.as_ptr().add(32).cast()),
        )
    };
    for (j, word) in block.iter_mut().enumerate().take(16) {
        let plane = _mm512_set1_epi16(1 << j);
        let a = u64::from(_mm512_test_epi16_mask(lo, plane));
        let b = u64::from(_mm512_test_epi16_mask(hi, plane));
        *word = a | b << 32;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
fn planes32(values: &[u32; 64], block: &mut [u64; 64]) {
    use core::arch::x86_64::*;
    // SAFETY: `values` is 256 bytes, so the four 64-byte unaligned loads at 0, 16, 32 and
    // 48 values are inside it.
    let (v0, v1, v2, v3) = unsafe {
        let p = values.as_ptr();
        (
            _mm512_loadu_si512(p.cast()),
            _mm512_loadu_si512(p.add(16).cast()),
            _mm512_loadu_si512(p.add(32).cast()),
            _mm512_loadu_si512(p.add(48).cast()),
        )
    };
    for (j, word) in block.iter_mut().enumerate().take(32) {
        let plane = _mm512_set1_epi32(1 << j);
        *word = u64::from(_mm512_test_epi32_mask(v0, plane))
            | u64::from(_mm512_test_epi32_mask(v1, plane)) << 16
            | u64::from(_mm512_test_epi32_mask(v2, plane)) << 32
            | u64::from(_mm512_test_epi32_mask(v3, plane)) << 48;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::{Z16, Z32};
    use proptest::prelude::*;

    fn both<R: Ring>(values: &[R]) -> ([u64; 64], [u64; 64]) {
        let (mut reference, mut fast) = ([0u64; 64], [0u64; 64]);
        block_portable(values, &mut reference);
        block(values, &mut fast, simd_available());
        (reference, fast)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn the_vector_transpose_equals_the_reference(
            a in proptest::collection::vec(any::<u32>(), 0..=64),
            edges in any::<bool>(),
        ) {
            let a: Vec<u32> = if edges {
                a.iter().map(|&x| [0, u32::MAX, 1 << 31, 1, x][x as usize % 5]).collect()
            } else {
                a
            };
            let z16: Vec<Z16> = a.iter().map(|&x| Z16(x as u16)).collect();
            let z32: Vec<Z32> = a.iter().map(|&x| Z32(x)).collect();
            let (r, f) = both(&z16);
            prop_assert_eq!(r, f);
            let (r, f) = both(&z32);
            prop_assert_eq!(r, f);
        }
    }
}
