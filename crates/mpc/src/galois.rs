//! The Galois ring GR(2^16, 4) = Z_2^16\[X\] / (X^4 + X + 1).
//!
//! Stored templates are Shamir-shared over this ring (see [`crate::shamir`]): a degree-4
//! extension of Z_2^16 in which the three evaluation points of the parties and their
//! differences are units, so degree-1 Shamir sharing with Lagrange reconstruction works
//! although Z_2^16 itself has too few units. Four template elements are packed into the
//! four coefficients of one ring element.
//!
//! [`Gr4::trace`] is the trace to Z_2^16 (the trace of multiplication by the element). The
//! trace form `(a, b) ↦ Tr(a·b)` is non-degenerate (the extension is unramified), so there
//! is a *dual basis*: [`Gr4::from_dual`] packs four values `v` into `u` with
//! `Tr(X^i · u) = v_i`, and then `Tr(g · u) = Σ_i g_i v_i` for any `g` packed plainly.
//! That identity turns one ring product into the four-slot dot product the matcher needs.
//!
//! Elements are secret material when they hold shares: they zeroize on request and never
//! print their coefficients.

use crate::ring::Z16;
use std::ops::{Add, Mul, Sub};
use std::sync::OnceLock;
use zeroize::Zeroize;

/// Coefficients per ring element (the extension degree).
pub const DEGREE: usize = 4;

/// An element `c0 + c1 X + c2 X^2 + c3 X^3` of GR(2^16, 4).
#[derive(Clone, Copy, PartialEq, Eq, Default, Zeroize)]
#[repr(transparent)]
pub struct Gr4(pub [u16; DEGREE]);

// SAFETY: `repr(transparent)` over `[u16; 4]`: every bit pattern is a valid element,
// all-zero included, with no padding; `Copy` and `'static`. Lets share vectors be wiped
// as words (`crate::wipe`, tested there and in `dealer`).
unsafe impl bytemuck::Zeroable for Gr4 {}
// SAFETY: as above.
unsafe impl bytemuck::Pod for Gr4 {}

impl std::fmt::Debug for Gr4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gr4(..)")
    }
}

impl Add for Gr4 {
    type Output = Gr4;
    fn add(self, o: Gr4) -> Gr4 {
        Gr4(std::array::from_fn(|i| self.0[i].wrapping_add(o.0[i])))
    }
}

impl Sub for Gr4 {
    type Output = Gr4;
    fn sub(self, o: Gr4) -> Gr4 {
        Gr4(std::array::from_fn(|i| self.0[i].wrapping_sub(o.0[i])))
    }
}

impl Mul for Gr4 {
    type Output = Gr4;
    /// Schoolbook product, then `X^4 = -X - 1`, `X^5 = -X^2 - X`, `X^6 = -X^3 - X^2`.
    fn mul(self, o: Gr4) -> Gr4 {
        let (a, b) = (self.0, o.0);
        let mut p = [0u16; 2 * DEGREE - 1];
        for i in 0..DEGREE {
            for j in 0..DEGREE {
                p[i + j] = p[i + j].wrapping_add(a[i].wrapping_mul(b[j]));
            }
        }
        Gr4([
            p[0].wrapping_sub(p[4]),
            p[1].wrapping_sub(p[4]).wrapping_sub(p[5]),
            p[2].wrapping_sub(p[5]).wrapping_sub(p[6]),
            p[3].wrapping_sub(p[6]),
        ])
    }
}

impl Gr4 {
    /// The zero element.
    pub const ZERO: Gr4 = Gr4([0; DEGREE]);
    /// The unit element.
    pub const ONE: Gr4 = Gr4([1, 0, 0, 0]);
    /// The generator `X`.
    pub const X: Gr4 = Gr4([0, 1, 0, 0]);

    /// The element with coefficients `c`.
    pub fn from_coefficients(c: [Z16; DEGREE]) -> Gr4 {
        Gr4(c.map(|z| z.0))
    }

    /// The coefficients.
    pub fn coefficients(self) -> [Z16; DEGREE] {
        self.0.map(Z16)
    }

    /// `X^i`.
    pub fn x_pow(i: usize) -> Gr4 {
        (0..i).fold(Gr4::ONE, |acc, _| acc * Gr4::X)
    }

    /// Whether the element is a unit: its reduction mod 2 is non-zero in GF(16).
    pub fn is_unit(self) -> bool {
        self.0.iter().any(|c| c & 1 == 1)
    }

    /// The multiplicative inverse, `None` for a non-unit.
    ///
    /// The inverse mod 2 is found among the 15 non-zero elements of GF(16), then lifted
    /// by Newton's iteration `y ← y (2 − a y)`, which doubles the correct low bits each
    /// time (1 → 2 → 4 → 8 → 16).
    pub fn inverse(self) -> Option<Gr4> {
        if !self.is_unit() {
            return None;
        }
        let mut y = (1u16..16)
            .map(|bits| Gr4(std::array::from_fn(|i| (bits >> i) & 1)))
            .find(|&y| (self * y).0.map(|c| c & 1) == [1, 0, 0, 0])?;
        let two = Gr4([2, 0, 0, 0]);
        for _ in 0..4 {
            y = y * (two - self * y);
        }
        Some(y)
    }

    /// The trace to Z_2^16: the trace of the Z_2^16-linear map `x ↦ self · x`.
    pub fn trace(self) -> Z16 {
        let sum = (0..DEGREE).fold(0u16, |s, l| s.wrapping_add((self * Gr4::x_pow(l)).0[l]));
        Z16(sum)
    }

    /// `[Tr(X^0 · self), …, Tr(X^3 · self)]`: the linear form `g ↦ Tr(g · self)` as a
    /// vector, so that `Tr(g · self) = Σ_i g_i · w_i`.
    pub fn trace_form(self) -> [u16; DEGREE] {
        let gram = gram();
        std::array::from_fn(|i| {
            (0..DEGREE).fold(0u16, |s, l| {
                s.wrapping_add(gram.forward[i][l].wrapping_mul(self.0[l]))
            })
        })
    }

    /// Packs `v` in the dual basis: the element `u` with `Tr(X^i · u) = v_i`, so that
    /// `Tr(g · u) = Σ_i g_i v_i` for every `g`.
    pub fn from_dual(v: [u16; DEGREE]) -> Gr4 {
        let gram = gram();
        Gr4(std::array::from_fn(|l| {
            (0..DEGREE).fold(0u16, |s, i| {
                s.wrapping_add(gram.inverse[l][i].wrapping_mul(v[i]))
            })
        }))
    }
}

/// The Gram matrix `T_il = Tr(X^(i+l))` of the trace form and its inverse over Z_2^16.
struct Gram {
    forward: [[u16; DEGREE]; DEGREE],
    inverse: [[u16; DEGREE]; DEGREE],
}

fn gram() -> &'static Gram {
    static GRAM: OnceLock<Gram> = OnceLock::new();
    GRAM.get_or_init(|| {
        let forward: [[u16; DEGREE]; DEGREE] =
            std::array::from_fn(|i| std::array::from_fn(|l| Gr4::x_pow(i + l).trace().0));
        let inverse =
            invert(forward).expect("the trace form of an unramified extension is non-degenerate");
        Gram { forward, inverse }
    })
}

/// The inverse of an odd `a` mod 2^16 by Newton's iteration (`a·a ≡ 1 mod 8`).
fn inverse_u16(a: u16) -> u16 {
    let mut y = a;
    for _ in 0..4 {
        y = y.wrapping_mul(2u16.wrapping_sub(a.wrapping_mul(y)));
    }
    y
}

/// Gauss–Jordan inversion over Z_2^16 (pivots must be odd); `None` if singular mod 2.
fn invert(m: [[u16; DEGREE]; DEGREE]) -> Option<[[u16; DEGREE]; DEGREE]> {
    let mut a = m;
    let mut inv: [[u16; DEGREE]; DEGREE] =
        std::array::from_fn(|i| std::array::from_fn(|j| u16::from(i == j)));
    for col in 0..DEGREE {
        let pivot = (col..DEGREE).find(|&r| a[r][col] & 1 == 1)?;
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let scale = inverse_u16(a[col][col]);
        for j in 0..DEGREE {
            a[col][j] = a[col][j].wrapping_mul(scale);
            inv[col][j] = inv[col][j].wrapping_mul(scale);
        }
        for r in 0..DEGREE {
            if r != col && a[r][col] != 0 {
                let f = a[r][col];
                for j in 0..DEGREE {
                    a[r][j] = a[r][j].wrapping_sub(f.wrapping_mul(a[col][j]));
                    inv[r][j] = inv[r][j].wrapping_sub(f.wrapping_mul(inv[col][j]));
                }
            }
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn gr() -> impl Strategy<Value = Gr4> {
        prop_oneof![
            any::<[u16; 4]>().prop_map(Gr4),
            prop::array::uniform4(prop_oneof![Just(0u16), Just(1), Just(0x8000), Just(0xffff)])
                .prop_map(Gr4),
        ]
    }

    /// The oracle: polynomial product in Z[X] (i64), reduced by long division by
    /// X^4 + X + 1, then taken mod 2^16.
    fn naive_mul(a: Gr4, b: Gr4) -> Gr4 {
        let mut p = [0i64; 7];
        for i in 0..4 {
            for j in 0..4 {
                p[i + j] += i64::from(a.0[i]) * i64::from(b.0[j]);
            }
        }
        for d in (4..7).rev() {
            let c = p[d];
            p[d] = 0;
            p[d - 4] -= c;
            p[d - 3] -= c;
        }
        Gr4(std::array::from_fn(|i| p[i].rem_euclid(1 << 16) as u16))
    }

    proptest! {
        #[test]
        fn product_matches_the_polynomial_oracle(a in gr(), b in gr()) {
            prop_assert_eq!(a * b, naive_mul(a, b));
            prop_assert_eq!(a * b, b * a);
        }

        #[test]
        fn ring_laws_hold(a in gr(), b in gr(), c in gr()) {
            prop_assert_eq!((a * b) * c, a * (b * c));
            prop_assert_eq!(a * (b + c), a * b + a * c);
            prop_assert_eq!(a - b + b, a);
            prop_assert_eq!(a * Gr4::ONE, a);
        }

        #[test]
        fn units_have_inverses_and_others_do_not(a in gr()) {
            match a.inverse() {
                Some(y) => { prop_assert!(a.is_unit()); prop_assert_eq!(a * y, Gr4::ONE); }
                None => prop_assert!(!a.is_unit()),
            }
        }

        #[test]
        fn trace_is_linear_and_the_dual_basis_gives_dot_products(
            g in gr(), h in gr(), v in any::<[u16; 4]>()
        ) {
            prop_assert_eq!((g + h).trace(), g.trace() + h.trace());
            let u = Gr4::from_dual(v);
            let dot = (0..4).fold(0u16, |s, i| s.wrapping_add(g.0[i].wrapping_mul(v[i])));
            prop_assert_eq!((g * u).trace(), Z16(dot));
            let w = u.trace_form();
            let via_form = (0..4).fold(0u16, |s, i| s.wrapping_add(g.0[i].wrapping_mul(w[i])));
            prop_assert_eq!(Z16(via_form), Z16(dot));
        }
    }

    #[test]
    fn the_modulus_is_irreducible_mod_2() {
        // Every non-zero element of GF(16) = F2[X]/(X^4+X+1) is a unit: no zero divisors.
        for bits in 1u16..16 {
            let a = Gr4(std::array::from_fn(|i| (bits >> i) & 1));
            assert!(a.inverse().is_some(), "{bits:04b} has no inverse");
        }
        assert_eq!(Gr4([2, 4, 6, 8]).inverse(), None);
    }

    #[test]
    fn debug_hides_coefficients() {
        assert_eq!(format!("{:?}", Gr4([1, 2, 3, 4])), "Gr4(..)");
    }
}
