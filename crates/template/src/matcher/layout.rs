//! The matcher's packed layout of an eye: three bit planes in 64-byte blocks.
//!
//! Masks are equal on each real/imag pair, so an iris code carries 6,400 mask bits of
//! information in 12,800. The matcher splits a code by pair index `p = i / 2`
//! (`400*row + 2*col + filter`) into three planes of 6,400 bits: the real code bits, the
//! imaginary code bits and the mask bits. A comparison then needs one mask AND per pair
//! instead of two, and an eye takes 2,496 bytes instead of 3,200. Counts come out
//! identical to the flat formula: `differing = pc(d_re) + pc(d_im)`,
//! `overlap = 2 * pc(m_a & m_b)`.
//!
//! Each plane is padded with zero bits to 13 blocks of 512 bits; padding is masked out,
//! so it never counts.

use crate::IrisCode;
use crate::iris::{ROTATION_COUNT, ROTATIONS};

/// 512 bits, aligned so that SIMD loads of a block never split a cache line.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct Block(pub [u64; 8]);

impl std::fmt::Debug for Block {
    // Blocks hold template bits: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Block(..)")
    }
}

/// Blocks per plane: 6,400 bits rounded up to whole 512-bit blocks.
pub const BLOCKS_PER_PLANE: usize = 13;
/// Meaningful bits per plane.
pub const PLANE_BITS: usize = 6_400;

/// One eye as three planes: real code bits, imaginary code bits, mask bits.
#[derive(Clone, PartialEq, Eq)]
pub struct PackedEye {
    /// Real-part code bits by pair index.
    pub re: [Block; BLOCKS_PER_PLANE],
    /// Imaginary-part code bits by pair index.
    pub im: [Block; BLOCKS_PER_PLANE],
    /// Mask bits by pair index (one per real/imag pair).
    pub mask: [Block; BLOCKS_PER_PLANE],
}

impl PackedEye {
    /// Packs an iris code.
    pub fn new(code: &IrisCode) -> Self {
        let mut out = Self {
            re: [Block::default(); BLOCKS_PER_PLANE],
            im: [Block::default(); BLOCKS_PER_PLANE],
            mask: [Block::default(); BLOCKS_PER_PLANE],
        };
        let (code_words, mask_words) = (code.code_words(), code.mask_words());
        for (w, (&c, &m)) in code_words.iter().zip(mask_words).enumerate() {
            // 64 flat bits = 32 pairs: even bits are real, odd bits imaginary.
            let (re, im, mask) = (even_bits(c), even_bits(c >> 1), even_bits(m));
            let pair = w * 32;
            set32(&mut out.re, pair, re);
            set32(&mut out.im, pair, im);
            set32(&mut out.mask, pair, mask);
        }
        out
    }
}

/// The 31 rotations of a query, packed, in the order of [`ROTATIONS`].
#[derive(Clone)]
pub struct PackedRotations {
    /// `eyes[r]` is the query rotated by `ROTATIONS.start() + r` columns.
    pub eyes: Vec<PackedEye>,
}

impl PackedRotations {
    /// Packs all 31 rotations of `query`.
    pub fn new(query: &IrisCode) -> Self {
        let eyes: Vec<PackedEye> = ROTATIONS
            .map(|shift| PackedEye::new(&query.rotated(shift)))
            .collect();
        debug_assert_eq!(eyes.len(), ROTATION_COUNT);
        Self { eyes }
    }
}

/// Gathers the even bits of a word into the low 32 bits.
fn even_bits(x: u64) -> u32 {
    let mut x = x & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x >> 16)) & 0x0000_0000_FFFF_FFFF;
    x as u32
}

/// Writes 32 bits at pair index `pair` (a multiple of 32).
fn set32(plane: &mut [Block; BLOCKS_PER_PLANE], pair: usize, bits: u32) {
    let word = pair / 64;
    let shift = pair % 64;
    plane[word / 8].0[word % 8] |= u64::from(bits) << shift;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HammingCounts;
    use proptest::prelude::*;

    fn plane_bit(plane: &[Block; BLOCKS_PER_PLANE], p: usize) -> bool {
        plane[p / 512].0[p % 512 / 64] >> (p % 64) & 1 == 1
    }

    proptest! {
        #[test]
        fn planes_hold_the_pair_bits(code in any::<[u64; 8]>(), mask in any::<u64>()) {
            let iris = IrisCode::from_fn(
                |i| code[i % 8] >> (i % 61) & 1 == 1,
                |i| mask >> (i / 2 % 64) & 1 == 1,
            ).unwrap();
            let packed = PackedEye::new(&iris);
            for p in 0..PLANE_BITS {
                prop_assert_eq!(plane_bit(&packed.re, p), iris.code_bit(2 * p));
                prop_assert_eq!(plane_bit(&packed.im, p), iris.code_bit(2 * p + 1));
                prop_assert_eq!(plane_bit(&packed.mask, p), iris.mask_bit(2 * p));
            }
            for p in PLANE_BITS..BLOCKS_PER_PLANE * 512 {
                prop_assert!(!plane_bit(&packed.mask, p), "padding must be masked out");
            }
            // Counting on planes gives the flat formula's counts.
            let other = iris.rotated(3);
            let flat = HammingCounts::of(&iris, &other);
            let b = PackedEye::new(&other);
            let mut planes = HammingCounts::default();
            for j in 0..BLOCKS_PER_PLANE {
                for l in 0..8 {
                    let t = packed.mask[j].0[l] & b.mask[j].0[l];
                    planes.differing += ((packed.re[j].0[l] ^ b.re[j].0[l]) & t).count_ones()
                        + ((packed.im[j].0[l] ^ b.im[j].0[l]) & t).count_ones();
                    planes.overlap += 2 * t.count_ones();
                }
            }
            prop_assert_eq!(planes, flat);
        }
    }
}
