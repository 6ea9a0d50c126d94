//! The rings Z_2^16 and Z_2^32: wrapping integer arithmetic in distinct types.
//!
//! [`Z16`] carries template elements, [`Z32`] carries comparisons and embeddings. The two
//! are different types so a 16-bit share can never be added to a 32-bit one by accident;
//! conversions are explicit ([`Z32::from_z16`], [`Z32::shifted_z16`]).
//!
//! All arithmetic wraps: these are ring elements, not integers. Signed readings
//! ([`Z32::signed`]) are a presentation for tests and decisions only.

use rand::RngCore;
use std::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};
use zeroize::Zeroize;

/// A ring Z_2^k with the operations the protocols need.
pub trait Ring:
    Copy
    + Default
    + Eq
    + Send
    + Sync
    + Zeroize
    + Add<Output = Self>
    + AddAssign
    + Sub<Output = Self>
    + SubAssign
    + Mul<Output = Self>
    + Neg<Output = Self>
    + bytemuck::Pod
    + 'static
{
    /// `k`, the bit width.
    const BITS: u32;
    /// Bytes of one element on the wire.
    const BYTES: usize;
    /// The additive identity.
    const ZERO: Self;
    /// The multiplicative identity.
    const ONE: Self;

    /// The element `v mod 2^k`.
    fn from_u64(v: u64) -> Self;
    /// The element as an unsigned integer in `[0, 2^k)`.
    fn to_u64(self) -> u64;
    /// A uniformly random element.
    fn random(rng: &mut (impl RngCore + ?Sized)) -> Self;
    /// Fills `out` with uniformly random elements, [`Ring::BYTES`] bytes of the
    /// generator's output each (little-endian), drawn in one call: far cheaper per
    /// element than [`Ring::random`], which spends a whole `u32` draw per element.
    fn random_fill(rng: &mut (impl RngCore + ?Sized), out: &mut [Self]);
    /// Appends the little-endian encoding.
    fn write_le(self, out: &mut Vec<u8>);
    /// Reads the little-endian encoding from exactly [`Ring::BYTES`] bytes.
    fn read_le(bytes: &[u8]) -> Self;
}

macro_rules! ring {
    ($name:ident, $raw:ty, $bits:expr, $doc:expr) => {
        #[doc = $doc]
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Zeroize)]
        #[repr(transparent)]
        pub struct $name(pub $raw);

        // SAFETY: `repr(transparent)` over a primitive integer: every bit pattern is a
        // valid value, all-zero included, there is no padding, and the type is `Copy`
        // and `'static`. Lets large vectors of elements be wiped as words
        // (`crate::wipe`); tested there.
        unsafe impl bytemuck::Zeroable for $name {}
        // SAFETY: as above.
        unsafe impl bytemuck::Pod for $name {}

        // Ring elements are often secret shares: never print them.
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }

        impl Add for $name {
            type Output = Self;
            #[inline]
            fn add(self, rhs: Self) -> Self {
                Self(self.0.wrapping_add(rhs.0))
            }
        }
        impl AddAssign for $name {
            #[inline]
            fn add_assign(&mut self, rhs: Self) {
                self.0 = self.0.wrapping_add(rhs.0);
            }
        }
        impl Sub for $name {
            type Output = Self;
            #[inline]
            fn sub(self, rhs: Self) -> Self {
                Self(self.0.wrapping_sub(rhs.0))
            }
        }
        impl SubAssign for $name {
            #[inline]
            fn sub_assign(&mut self, rhs: Self) {
                self.0 = self.0.wrapping_sub(rhs.0);
            }
        }
        impl Mul for $name {
            type Output = Self;
            #[inline]
            fn mul(self, rhs: Self) -> Self {
                Self(self.0.wrapping_mul(rhs.0))
            }
        }
        impl Neg for $name {
            type Output = Self;
            #[inline]
            fn neg(self) -> Self {
                Self(self.0.wrapping_neg())
            }
        }

        impl Ring for $name {
            const BITS: u32 = $bits;
            const BYTES: usize = $bits / 8;
            const ZERO: Self = Self(0);
            const ONE: Self = Self(1);

            #[inline]
            fn from_u64(v: u64) -> Self {
                Self(v as $raw)
            }
            #[inline]
            fn to_u64(self) -> u64 {
                u64::from(self.0)
            }
            fn random(rng: &mut (impl RngCore + ?Sized)) -> Self {
                Self(rng.next_u32() as $raw)
            }
            fn random_fill(rng: &mut (impl RngCore + ?Sized), out: &mut [Self]) {
                let len = std::mem::size_of_val(out);
                // SAFETY: `Self` is `repr(transparent)` over the integer `$raw`, so the
                // slice is `len` initialised bytes with no padding, and every byte
                // pattern is a valid `$raw`; the byte view borrows `out` exclusively for
                // the fill only, and `u8` has no alignment requirement.
                let bytes =
                    unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u8>(), len) };
                rng.fill_bytes(bytes);
                // The same values on every platform: the bytes are read little-endian.
                for v in out.iter_mut() {
                    v.0 = <$raw>::from_le(v.0);
                }
            }
            fn write_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.0.to_le_bytes());
            }
            fn read_le(bytes: &[u8]) -> Self {
                let mut raw = [0u8; $bits / 8];
                raw.copy_from_slice(bytes);
                Self(<$raw>::from_le_bytes(raw))
            }
        }
    };
}

ring!(
    Z16,
    u16,
    16,
    "An element of Z_2^16 (template elements and their dot products)."
);
ring!(
    Z32,
    u32,
    32,
    "An element of Z_2^32 (comparisons and embeddings)."
);

impl Z16 {
    /// The element `v mod 2^16` of a signed integer.
    pub fn from_i64(v: i64) -> Self {
        Self(v as u16)
    }
}

impl Z32 {
    /// The element `v mod 2^32` of a signed integer.
    pub fn from_i64(v: i64) -> Self {
        Self(v as u32)
    }

    /// The two's-complement reading in `[-2^31, 2^31)`.
    pub fn signed(self) -> i32 {
        self.0 as i32
    }

    /// The unsigned representative of a [`Z16`] element (`[0, 2^16)`), as an element of
    /// Z_2^32. Not a ring homomorphism: sums that wrap mod 2^16 do not wrap here.
    pub fn from_z16(x: Z16) -> Self {
        Self(u32::from(x.0))
    }

    /// `x * 2^16` in Z_2^32, which depends only on `x mod 2^16` and so *is* well defined
    /// on [`Z16`] shares: a share of `x` maps to a share of `x * 2^16`.
    pub fn shifted_z16(x: Z16) -> Self {
        Self(u32::from(x.0) << 16)
    }

    /// Bit `j` of the unsigned representative.
    pub fn bit(self, j: u32) -> bool {
        self.0 >> j & 1 == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn z16_matches_wrapping_integers(a: u16, b: u16) {
            prop_assert_eq!((Z16(a) + Z16(b)).0, a.wrapping_add(b));
            prop_assert_eq!((Z16(a) - Z16(b)).0, a.wrapping_sub(b));
            prop_assert_eq!((Z16(a) * Z16(b)).0, a.wrapping_mul(b));
            prop_assert_eq!((-Z16(a)).0, a.wrapping_neg());
        }

        #[test]
        fn z32_matches_wrapping_integers(a: u32, b: u32) {
            prop_assert_eq!((Z32(a) + Z32(b)).0, a.wrapping_add(b));
            prop_assert_eq!((Z32(a) * Z32(b)).0, a.wrapping_mul(b));
            prop_assert_eq!(Z32(a).signed(), a as i32);
        }

        #[test]
        fn shift_is_well_defined_on_z16_sums(a: u16, b: u16, c: u16) {
            let sum = Z16(a) + Z16(b) + Z16(c);
            let shifted = Z32::shifted_z16(Z16(a)) + Z32::shifted_z16(Z16(b)) + Z32::shifted_z16(Z16(c));
            prop_assert_eq!(shifted, Z32::shifted_z16(sum));
        }

        #[test]
        fn wire_round_trip(a: u16, b: u32) {
            let mut buf = Vec::new();
            Z16(a).write_le(&mut buf);
            Z32(b).write_le(&mut buf);
            prop_assert_eq!(Z16::read_le(&buf[..2]), Z16(a));
            prop_assert_eq!(Z32::read_le(&buf[2..]), Z32(b));
        }
    }

    #[test]
    fn debug_hides_values() {
        assert_eq!(format!("{:?}", Z16(1234)), "Z16(..)");
    }
}
