//! The iris encoding (`docs/architecture.md`, section MPC), packed for the Galois ring,
//! and its rotation.
//!
//! An eye becomes [`ELEMENTS`] elements of Z_2^16: 12,800 code elements
//! `e = mask - 2*(code & mask)` ∈ {0, +1, -1}, then 6,400 mask elements (one per
//! real/imaginary pair, the pairs being equal). For two eyes `a`, `b`:
//! `Σ e_a e_b = M - 2 HD = code_dot` and `2 Σ m_a m_b = M = mask_dot`.
//!
//! The elements are ordered in [`GROUPS`] groups of four, each group becoming one element
//! of GR(2^16, 4) ([`crate::galois`]). A group never straddles two iris columns: a code
//! group is the four bits of one (row, column) cell (two filters × real/imaginary), a
//! mask group the two mask elements of one column in two adjacent rows. Rotating the iris
//! by whole columns therefore moves whole groups ([`rotate_into`]), so a custodian can
//! rotate its Shamir share of a packed eye without knowing it: the permutation is the same
//! for the secret and for the sharing randomness.

use crate::ring::Z16;
use masque_template::IrisCode;
use masque_template::iris::{COLUMNS, ROWS};

/// Code elements per eye.
pub const CODE_ELEMENTS: usize = IrisCode::BITS;
/// Mask elements per eye (real/imaginary duplicates trimmed).
pub const MASK_ELEMENTS: usize = IrisCode::BITS / 2;
/// All elements per eye.
pub const ELEMENTS: usize = CODE_ELEMENTS + MASK_ELEMENTS;
/// Elements per group (one Galois-ring element).
pub const GROUP: usize = crate::galois::DEGREE;
/// Groups per eye.
pub const GROUPS: usize = ELEMENTS / GROUP;
/// Groups holding code elements; the mask groups follow.
pub const CODE_GROUPS: usize = CODE_ELEMENTS / GROUP;

/// Bits of one (row, column) cell of the iris code.
const CELL_BITS: usize = IrisCode::BITS / (ROWS * COLUMNS);
/// Rows of mask elements packed into one group.
const MASK_ROWS_PER_GROUP: usize = GROUP / (CELL_BITS / 2);

/// The bit of the iris code (code bit for a code element, mask bit for a mask element)
/// behind each element position, in packed order.
fn source_bit(position: usize) -> usize {
    let (group, lane) = (position / GROUP, position % GROUP);
    if group < CODE_GROUPS {
        let (row, column) = (group / COLUMNS, group % COLUMNS);
        (row * COLUMNS + column) * CELL_BITS + lane
    } else {
        let g = group - CODE_GROUPS;
        let (row_block, column) = (g / COLUMNS, g % COLUMNS);
        let half = CELL_BITS / 2;
        let row = row_block * MASK_ROWS_PER_GROUP + lane / half;
        // The mask bit of the real part of the pair; the imaginary one equals it.
        (row * COLUMNS + column) * CELL_BITS + 2 * (lane % half)
    }
}

/// For each code element position, the position (counted from the first mask element)
/// of the mask element of its real/imaginary pair: a code element may be non-zero only
/// where that mask element is 1. Built once per process.
pub fn mask_of_code_positions() -> &'static [usize] {
    static TABLE: std::sync::OnceLock<Vec<usize>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut by_bit = std::collections::HashMap::with_capacity(MASK_ELEMENTS);
        for q in CODE_ELEMENTS..ELEMENTS {
            by_bit.insert(source_bit(q), q - CODE_ELEMENTS);
        }
        (0..CODE_ELEMENTS)
            .map(|p| by_bit[&(source_bit(p) & !1)])
            .collect()
    })
}

/// The encoding of one eye, in packed order.
pub fn encode_iris(code: &IrisCode) -> Vec<Z16> {
    (0..ELEMENTS)
        .map(|position| {
            let bit = source_bit(position);
            let m = code.mask_bit(bit);
            if position < CODE_ELEMENTS {
                Z16::from_i64(i64::from(m) - 2 * i64::from(code.code_bit(bit) && m))
            } else {
                Z16(u16::from(m))
            }
        })
        .collect()
}

/// Rotates an encoded eye, or anything laid out like one ([`ELEMENTS`] items: shares,
/// prepared query forms), by `columns` into `out`, like `IrisCode::rotated`: column `c`
/// of the result is column `c - columns` of the input. Groups of [`GROUP`] items move
/// together; each block of [`COLUMNS`] groups (one code row, or two mask rows) is
/// shifted cyclically, i.e. copied in two pieces.
///
/// # Panics
/// If `encoded` or `out` does not hold exactly [`ELEMENTS`] items (a programming error).
pub fn rotate_into<T: Copy>(encoded: &[T], columns: i32, out: &mut [T]) {
    assert!(
        encoded.len() == ELEMENTS && out.len() == ELEMENTS,
        "an encoded eye"
    );
    let block = COLUMNS * GROUP;
    let shift = columns.rem_euclid(COLUMNS as i32) as usize * GROUP;
    for (dst, src) in out.chunks_exact_mut(block).zip(encoded.chunks_exact(block)) {
        dst[shift..].copy_from_slice(&src[..block - shift]);
        dst[..shift].copy_from_slice(&src[block - shift..]);
    }
}

/// [`rotate_into`] a new vector.
pub fn rotate(encoded: &[Z16], columns: i32) -> Vec<Z16> {
    let mut out = vec![Z16(0); ELEMENTS];
    rotate_into(encoded, columns, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use masque_template::HammingCounts;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn dots(a: &[Z16], b: &[Z16]) -> (i32, i32) {
        let dot = |r: std::ops::Range<usize>| r.map(|k| a[k] * b[k]).fold(Z16(0), |x, y| x + y);
        let code = dot(0..CODE_ELEMENTS);
        let mask = dot(CODE_ELEMENTS..ELEMENTS);
        (i32::from(code.0 as i16), 2 * i32::from(mask.0))
    }

    #[test]
    fn packing_uses_every_code_bit_and_every_mask_pair_once() {
        let mut code_bits: Vec<usize> = (0..CODE_ELEMENTS).map(source_bit).collect();
        code_bits.sort_unstable();
        assert_eq!(code_bits, (0..CODE_ELEMENTS).collect::<Vec<_>>());
        let mut mask_bits: Vec<usize> = (CODE_ELEMENTS..ELEMENTS).map(source_bit).collect();
        mask_bits.sort_unstable();
        assert_eq!(mask_bits, (0..CODE_ELEMENTS).step_by(2).collect::<Vec<_>>());
    }

    #[test]
    fn dot_products_are_the_counts_and_rotation_commutes() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for _ in 0..4 {
            // Masked pairs must encode to 0 in every position: 80% valid.
            let (a, b) = (
                IrisCode::random(&mut rng, 0.8),
                IrisCode::random(&mut rng, 0.8),
            );
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
