//! The iris encoding of DESIGN.md and its share-level rotation.
//!
//! An eye becomes [`ELEMENTS`] elements of Z_2^16: first the 12,800 code elements
//! `e = mask - 2*(code & mask)` ∈ {0, +1, -1}, then the 6,400 mask elements (one per
//! real/imaginary pair, the pairs being equal). For two eyes `a`, `b`:
//! `Σ e_a e_b = M - 2 HD = code_dot` and `2 Σ m_a m_b = M = mask_dot`.
//!
//! Rotation is a permutation of elements, so each party rotates its shares locally
//! ([`rotate`]), exactly as `IrisCode::rotated` rotates the plaintext.

use crate::ring::Z16;
use masque_template::IrisCode;
use masque_template::iris::{BITS_PER_ROW, ROWS};

/// Code elements per eye.
pub const CODE_ELEMENTS: usize = IrisCode::BITS;
/// Mask elements per eye (real/imaginary duplicates trimmed).
pub const MASK_ELEMENTS: usize = IrisCode::BITS / 2;
/// All elements per eye.
pub const ELEMENTS: usize = CODE_ELEMENTS + MASK_ELEMENTS;

/// The encoding of one eye.
pub fn encode_iris(code: &IrisCode) -> Vec<Z16> {
    let mut out = Vec::with_capacity(ELEMENTS);
    for i in 0..CODE_ELEMENTS {
        let (m, c) = (code.mask_bit(i), code.code_bit(i));
        out.push(Z16::from_i64(i64::from(m) - 2 * i64::from(c && m)));
    }
    for k in 0..MASK_ELEMENTS {
        out.push(Z16(u16::from(code.mask_bit(2 * k))));
    }
    out
}

/// Rotates an encoded eye (or a share of one) by `columns`, like `IrisCode::rotated`:
/// column `c` of the result is column `c - columns` of the input.
pub fn rotate(encoded: &[Z16], columns: i32) -> Vec<Z16> {
    assert_eq!(encoded.len(), ELEMENTS, "an encoded eye");
    let columns = columns.rem_euclid(200) as usize;
    let mut out = vec![Z16(0); ELEMENTS];
    let code_row = BITS_PER_ROW;
    let mask_row = BITS_PER_ROW / 2;
    for row in 0..ROWS {
        for pos in 0..code_row {
            out[row * code_row + (pos + 4 * columns) % code_row] = encoded[row * code_row + pos];
        }
        let (src, dst) = (&encoded[CODE_ELEMENTS..], CODE_ELEMENTS);
        for pos in 0..mask_row {
            out[dst + row * mask_row + (pos + 2 * columns) % mask_row] = src[row * mask_row + pos];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use masque_template::HammingCounts;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    pub fn random_code(rng: &mut impl Rng) -> IrisCode {
        let code: Vec<bool> = (0..IrisCode::BITS).map(|_| rng.random()).collect();
        let mask: Vec<bool> = (0..IrisCode::BITS / 2)
            .map(|_| rng.random_bool(0.8))
            .collect();
        IrisCode::from_fn(|i| code[i], |i| mask[i / 2]).unwrap()
    }

    fn dots(a: &[Z16], b: &[Z16]) -> (i32, i32) {
        let dot = |r: std::ops::Range<usize>| r.map(|k| a[k] * b[k]).fold(Z16(0), |x, y| x + y);
        let code = dot(0..CODE_ELEMENTS);
        let mask = dot(CODE_ELEMENTS..ELEMENTS);
        (i32::from(code.0 as i16), 2 * i32::from(mask.0))
    }

    #[test]
    fn dot_products_are_the_counts_and_rotation_commutes() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for _ in 0..4 {
            let (a, b) = (random_code(&mut rng), random_code(&mut rng));
            for shift in [-15, -1, 0, 3, 15] {
                let counts = HammingCounts::of(&a.rotated(shift), &b);
                let rotated = rotate(&encode_iris(&a), shift);
                assert_eq!(rotated, encode_iris(&a.rotated(shift)), "shift {shift}");
                assert_eq!(
                    dots(&rotated, &encode_iris(&b)),
                    (counts.code_dot(), counts.mask_dot())
                );
            }
        }
    }
}
