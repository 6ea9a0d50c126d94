//! The local dot products: one query rotation against one stored eye.
//!
//! With the query side prepared as `[x_i + x_{i+1} | x_i]` and the stored eye as
//! `[y_i | y_{i+1}]`, the additive share `x_i y_i + x_i y_{i+1} + x_{i+1} y_i` of the dot
//! product is a single dot product of length `2E`: two multiplications per element
//! instead of three. It is computed separately over the code and the mask elements.
//!
//! [`dot16_portable`] is the reference: plain wrapping arithmetic in fixed-width lanes
//! that the compiler vectorises; [`dot16`] compiles the same body for AVX2 or AVX-512 and
//! picks one at run time (tested equal to the reference).

use crate::encode::{CODE_ELEMENTS, ELEMENTS};
use crate::ring::Z16;

const LANES: usize = 128;

/// The dot product body, written so the compiler vectorises it for whatever target
/// features the calling function enables.
#[inline(always)]
fn dot16_body(a: &[Z16], b: &[Z16]) -> Z16 {
    let mut acc = [0u16; LANES];
    let n = a.len().min(b.len()) / LANES * LANES;
    for (x, y) in a[..n].chunks_exact(LANES).zip(b[..n].chunks_exact(LANES)) {
        for ((s, p), q) in acc.iter_mut().zip(x).zip(y) {
            *s = s.wrapping_add(p.0.wrapping_mul(q.0));
        }
    }
    let mut sum = acc.iter().fold(0u16, |s, &v| s.wrapping_add(v));
    for (x, y) in a[n..].iter().zip(&b[n..]) {
        sum = sum.wrapping_add(x.0.wrapping_mul(y.0));
    }
    Z16(sum)
}

/// The portable reference: `Σ a_k b_k mod 2^16`.
pub fn dot16_portable(a: &[Z16], b: &[Z16]) -> Z16 {
    dot16_body(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
fn dot16_avx512(a: &[Z16], b: &[Z16]) -> Z16 {
    dot16_body(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot16_avx2(a: &[Z16], b: &[Z16]) -> Z16 {
    dot16_body(a, b)
}

/// `Σ a_k b_k mod 2^16`, with the widest vector instructions the CPU offers (detected
/// at run time); the same result as [`dot16_portable`].
pub fn dot16(a: &[Z16], b: &[Z16]) -> Z16 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512bw") {
            // SAFETY: the CPU supports AVX-512 F and BW, checked just above; the function
            // is safe Rust otherwise.
            return unsafe { dot16_avx512(a, b) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { dot16_avx2(a, b) };
        }
    }
    dot16_portable(a, b)
}

/// Prepares a query share `(x_i, x_{i+1})` as `[x_i + x_{i+1} | x_i]`.
pub fn prepare_query(this: &[Z16], next: &[Z16]) -> Vec<Z16> {
    let mut out: Vec<Z16> = this.iter().zip(next).map(|(&a, &b)| a + b).collect();
    out.extend_from_slice(this);
    out
}

/// Additive shares of `(code_dot, mask_dot)` of a prepared query rotation against a
/// stored eye (`mask_dot` already doubled, see [`crate::encode`]).
pub fn comparison_shares(query: &[Z16], stored: &[Z16]) -> (Z16, Z16) {
    let (c, e) = (CODE_ELEMENTS, ELEMENTS);
    let code = dot16(&query[..c], &stored[..c]) + dot16(&query[e..e + c], &stored[e..e + c]);
    let mask = dot16(&query[c..e], &stored[c..e]) + dot16(&query[e + c..], &stored[e + c..]);
    (code, mask + mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn dot_matches_naive(v in proptest::collection::vec(any::<(u16, u16)>(), 0..200)) {
            let a: Vec<Z16> = v.iter().map(|t| Z16(t.0)).collect();
            let b: Vec<Z16> = v.iter().map(|t| Z16(t.1)).collect();
            let naive = v.iter().fold(0u16, |s, t| s.wrapping_add(t.0.wrapping_mul(t.1)));
            prop_assert_eq!(dot16(&a, &b), Z16(naive));
            prop_assert_eq!(dot16_portable(&a, &b), Z16(naive));
        }
    }
}
