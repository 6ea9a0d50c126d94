//! Iris codes: the bit layout, bit access and rotation.
//!
//! An [`IrisCode`] is one eye: 12,800 code bits and 12,800 mask bits in the shape
//! (16 rows, 200 columns, 2 filters, real/imag), flattened as
//! `800*row + 4*col + 2*filter + re_im`, exactly as open-iris and iris-mpc lay them out.
//! A mask bit of 1 means "this code bit is valid". Masks are equal on each real/imag pair;
//! every constructor checks that, so an `IrisCode` value always satisfies it.
//!
//! Rotation shifts whole columns cyclically within each row (the eye rotating in front of
//! the camera), which is 4 bits per column inside each 800-bit row.

pub mod codec;

use crate::TemplateError;
use std::ops::RangeInclusive;

/// Rows (radial positions) of an iris code.
pub const ROWS: usize = 16;
/// Columns (angular positions) of an iris code.
pub const COLUMNS: usize = 200;
/// Gabor filters per position.
pub const FILTERS: usize = 2;
/// Bits per row: columns x filters x (real, imag).
pub const BITS_PER_ROW: usize = COLUMNS * FILTERS * 2;
/// The column shifts tried when comparing two codes: -15..=15, 31 in all.
pub const ROTATIONS: RangeInclusive<i32> = -15..=15;
/// Number of rotations in [`ROTATIONS`].
pub const ROTATION_COUNT: usize = 31;

const WORDS: usize = IrisCode::BITS / 64;
const WORDS_PER_ROW_PAIR: usize = 2 * BITS_PER_ROW / 64;

/// One eye's iris code and mask. See the module docs for the layout.
///
/// Bits are stored in 64-bit words, bit `i` at word `i / 64`, position `i % 64`
/// (least significant first). The packed byte forms of the file formats are MSB-first;
/// [`codec`] converts.
#[derive(Clone, PartialEq, Eq)]
pub struct IrisCode {
    code: [u64; WORDS],
    mask: [u64; WORDS],
}

impl std::fmt::Debug for IrisCode {
    // Never print template bits: they are biometric data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IrisCode")
            .field("unmasked_bits", &self.unmasked_bits())
            .finish_non_exhaustive()
    }
}

impl IrisCode {
    /// Code bits (and mask bits) in one eye's code.
    pub const BITS: usize = ROWS * BITS_PER_ROW;
    /// Bytes of one packed plane (code or mask) in the file formats.
    pub const PACKED_BYTES: usize = Self::BITS / 8;

    /// Builds a code from two bit predicates over the flat index.
    ///
    /// # Errors
    /// [`TemplateError::MaskPairMismatch`] if `mask` differs between the real and
    /// imaginary bit of any position.
    pub fn from_fn(
        code: impl Fn(usize) -> bool,
        mask: impl Fn(usize) -> bool,
    ) -> Result<Self, TemplateError> {
        let mut out = Self::zeroed();
        for i in 0..Self::BITS {
            if code(i) {
                out.code[i / 64] |= 1 << (i % 64);
            }
            if mask(i) {
                out.mask[i / 64] |= 1 << (i % 64);
            }
        }
        out.check_mask_pairs()?;
        Ok(out)
    }

    /// Builds a code from 64-bit words in this type's internal order (see type docs).
    ///
    /// # Errors
    /// [`TemplateError::MaskPairMismatch`] as for [`IrisCode::from_fn`].
    pub fn from_words(code: [u64; WORDS], mask: [u64; WORDS]) -> Result<Self, TemplateError> {
        let out = Self { code, mask };
        out.check_mask_pairs()?;
        Ok(out)
    }

    /// A random code for tests and benchmarks: uniform code bits, and each real/imaginary
    /// mask pair valid independently with probability `mask_density`.
    ///
    /// Unlike the codes of [`crate::synth::iris`], neighbouring bits are independent, so
    /// unrelated codes sit at a distance of 0.5 with almost no spread: good for exact
    /// comparisons of implementations and for throughput, useless for accuracy figures.
    /// A density of 1 (or more) masks nothing, 0 (or less, or NaN) masks everything;
    /// densities in between are rounded to a multiple of 2^-16.
    pub fn random<R: rand::RngCore + ?Sized>(rng: &mut R, mask_density: f64) -> Self {
        const EVEN: u64 = 0x5555_5555_5555_5555;
        // A pair is valid when a uniform 16-bit lane is below `cut` (out of 2^16).
        let cut = if mask_density.is_nan() {
            0
        } else {
            (mask_density.clamp(0.0, 1.0) * 65_536.0).round() as u32
        };
        let mut out = Self::zeroed();
        for w in 0..WORDS {
            out.code[w] = rng.next_u64();
            out.mask[w] = match cut {
                0 => 0,
                65_536 => u64::MAX,
                _ => {
                    // 32 pairs per word, four 16-bit lanes per draw.
                    let mut pairs = 0u64;
                    for draw in 0..8 {
                        let lanes = rng.next_u64();
                        for lane in 0..4 {
                            let value = (lanes >> (16 * lane)) as u16;
                            if u32::from(value) < cut {
                                pairs |= 1 << (2 * (4 * draw + lane));
                            }
                        }
                    }
                    (pairs & EVEN) * 3
                }
            };
        }
        debug_assert!(out.check_mask_pairs().is_ok());
        out
    }

    pub(crate) fn zeroed() -> Self {
        Self {
            code: [0; WORDS],
            mask: [0; WORDS],
        }
    }

    /// The code bit at flat index `i` (`i < 12_800`).
    pub fn code_bit(&self, i: usize) -> bool {
        self.code[i / 64] >> (i % 64) & 1 == 1
    }

    /// The mask bit at flat index `i` (`i < 12_800`); 1 means the code bit is valid.
    pub fn mask_bit(&self, i: usize) -> bool {
        self.mask[i / 64] >> (i % 64) & 1 == 1
    }

    /// The code words, in this type's internal order.
    pub fn code_words(&self) -> &[u64; WORDS] {
        &self.code
    }

    /// The mask words, in this type's internal order.
    pub fn mask_words(&self) -> &[u64; WORDS] {
        &self.mask
    }

    /// Number of valid (unmasked) bits.
    pub fn unmasked_bits(&self) -> u32 {
        self.mask.iter().map(|w| w.count_ones()).sum()
    }

    /// Fraction of the code that is valid, in `[0, 1]`.
    pub fn coverage(&self) -> f64 {
        f64::from(self.unmasked_bits()) / Self::BITS as f64
    }

    /// The code rotated by `columns` (positive or negative), cyclically within each row:
    /// column `c` of the result is column `c - columns` of `self`, like `numpy.roll` along
    /// the column axis.
    pub fn rotated(&self, columns: i32) -> Self {
        let shift = (columns.rem_euclid(COLUMNS as i32) as usize) * FILTERS * 2;
        if shift == 0 {
            return self.clone();
        }
        Self {
            code: rotate_rows(&self.code, shift),
            mask: rotate_rows(&self.mask, shift),
        }
    }

    fn check_mask_pairs(&self) -> Result<(), TemplateError> {
        const EVEN: u64 = 0x5555_5555_5555_5555;
        for (w, &m) in self.mask.iter().enumerate() {
            let differ = (m ^ (m >> 1)) & EVEN;
            if differ != 0 {
                let bit = w * 64 + differ.trailing_zeros() as usize;
                return Err(TemplateError::MaskPairMismatch {
                    row: bit / BITS_PER_ROW,
                    column: bit % BITS_PER_ROW / 4,
                    filter: bit % 4 / 2,
                });
            }
        }
        Ok(())
    }
}

/// Rotates each 800-bit row of `words` by `shift` bits towards higher indices.
///
/// Rows do not align with 64-bit words (800 = 12.5 x 64), so two rows (25 words) are
/// handled together: each row is copied into a doubled buffer from which any 64-bit
/// window can be read without wrapping.
fn rotate_rows(words: &[u64; WORDS], shift: usize) -> [u64; WORDS] {
    let mut out = [0u64; WORDS];
    for pair in 0..ROWS / 2 {
        let base = pair * WORDS_PER_ROW_PAIR;
        for half in 0..2 {
            let start_bit = half * BITS_PER_ROW;
            // Row bits, twice in a row, plus a spare word for reads that straddle the end.
            let mut doubled = [0u64; 26];
            for j in 0..BITS_PER_ROW / 32 {
                let chunk =
                    read_bits32(&words[base..base + WORDS_PER_ROW_PAIR], start_bit + 32 * j);
                write_bits32(&mut doubled, 32 * j, chunk);
                write_bits32(&mut doubled, BITS_PER_ROW + 32 * j, chunk);
            }
            // out bit k = in bit (k - shift) mod 800 = doubled bit (k + 800 - shift).
            let offset = BITS_PER_ROW - shift;
            for j in 0..BITS_PER_ROW / 32 {
                let chunk = read_bits32(&doubled, offset + 32 * j);
                write_bits32(
                    &mut out[base..base + WORDS_PER_ROW_PAIR],
                    start_bit + 32 * j,
                    chunk,
                );
            }
        }
    }
    out
}

/// Reads 32 bits starting at bit `pos` (any alignment).
fn read_bits32(words: &[u64], pos: usize) -> u32 {
    let (w, b) = (pos / 64, pos % 64);
    let lo = words[w] >> b;
    let hi = if b > 32 { words[w + 1] << (64 - b) } else { 0 };
    (lo | hi) as u32
}

/// Writes 32 bits at a 32-bit aligned position.
fn write_bits32(words: &mut [u64], pos: usize, value: u32) {
    debug_assert_eq!(pos % 32, 0);
    let (w, b) = (pos / 64, pos % 64);
    words[w] = (words[w] & !(0xFFFF_FFFFu64 << b)) | (u64::from(value) << b);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn flat(row: usize, col: usize, filter: usize, re_im: usize) -> usize {
        800 * row + 4 * col + 2 * filter + re_im
    }

    fn arbitrary_code() -> impl Strategy<Value = IrisCode> {
        (
            proptest::collection::vec(any::<u64>(), WORDS),
            proptest::collection::vec(any::<u64>(), WORDS),
        )
            .prop_map(|(c, m)| {
                let mask: Vec<u64> = m.iter().map(|w| (w & 0x5555_5555_5555_5555) * 3).collect();
                IrisCode::from_words(c.try_into().unwrap(), mask.try_into().unwrap()).unwrap()
            })
    }

    /// The obvious per-bit rotation, as the oracle for the word-level one.
    fn rotated_slow(code: &IrisCode, columns: i32) -> IrisCode {
        let src = |i: usize| {
            let (row, rest) = (i / 800, i % 800);
            let col = (rest / 4) as i32;
            let from = (col - columns).rem_euclid(200) as usize;
            flat(row, from, 0, 0) + rest % 4
        };
        IrisCode::from_fn(|i| code.code_bit(src(i)), |i| code.mask_bit(src(i))).unwrap()
    }

    proptest! {
        #[test]
        fn rotation_matches_bitwise_oracle(code in arbitrary_code(), columns in -250i32..250) {
            prop_assert_eq!(code.rotated(columns), rotated_slow(&code, columns));
        }

        #[test]
        fn rotation_inverts(code in arbitrary_code(), columns in -30i32..30) {
            prop_assert_eq!(code.rotated(columns).rotated(-columns), code);
        }
    }

    #[test]
    fn single_bit_moves_by_whole_columns() {
        let code = IrisCode::from_fn(|i| i == flat(3, 199, 1, 1), |_| true).unwrap();
        let r = code.rotated(2);
        assert!(r.code_bit(flat(3, 1, 1, 1)));
        assert_eq!(
            r.code_words().iter().map(|w| w.count_ones()).sum::<u32>(),
            1
        );
    }

    #[test]
    fn mask_pair_mismatch_is_located() {
        let bad = flat(5, 17, 1, 1);
        let err = IrisCode::from_fn(|_| false, |i| i != bad).unwrap_err();
        assert_eq!(
            err,
            TemplateError::MaskPairMismatch {
                row: 5,
                column: 17,
                filter: 1
            }
        );
    }

    #[test]
    fn random_codes_have_the_asked_mask_density() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for density in [0.5, 0.75, 0.85, 0.9] {
            let coverage: f64 = (0..20)
                .map(|_| IrisCode::random(&mut rng, density).coverage())
                .sum::<f64>()
                / 20.0;
            // 128,000 pairs: the sd of the mean is below 0.0015.
            assert!((coverage - density).abs() < 0.01, "{density}: {coverage}");
        }
        let full = IrisCode::random(&mut rng, 1.0);
        assert_eq!(full.unmasked_bits(), 12_800);
        assert_eq!(IrisCode::random(&mut rng, 0.0).unmasked_bits(), 0);
        assert_eq!(IrisCode::random(&mut rng, f64::NAN).unmasked_bits(), 0);
        assert_eq!(IrisCode::random(&mut rng, 7.0).unmasked_bits(), 12_800);
        // Code bits are uniform and independent of the mask.
        let ones: u32 = full.code_words().iter().map(|w| w.count_ones()).sum();
        assert!((6_000..6_800).contains(&ones), "{ones}");
        // The same stream gives the same code; a dyn RngCore works too.
        let mut a = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut b = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let dynamic: &mut dyn rand::RngCore = &mut b;
        assert_eq!(
            IrisCode::random(&mut a, 0.8),
            IrisCode::random(dynamic, 0.8)
        );
    }

    #[test]
    fn debug_does_not_print_bits() {
        let code = IrisCode::from_fn(|i| i % 3 == 0, |_| true).unwrap();
        let text = format!("{code:?}");
        assert!(!text.contains("code:"), "{text}");
        assert!(text.contains("unmasked_bits: 12800"));
    }
}
