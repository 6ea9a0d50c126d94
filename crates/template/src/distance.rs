//! Distances between iris codes and the two decision rules.
//!
//! - **Fractional Hamming distance** `FHD = popcount((a^b)&ma&mb) / popcount(ma&mb)`, and
//!   its minimum over the 31 column rotations of [`ROTATIONS`]. Below a configurable
//!   minimum overlap ([`MinOverlap`]) a pair is undecidable: the functions say so with an
//!   error instead of guessing.
//! - **Fixed-point rule** ([`FixedPointRule`]) `code_dot * 2^16 > mask_dot * A` with
//!   `A = floor((1 - 2t) * 2^16)`, `code_dot = M - 2*HD` and `mask_dot = M`. This is the
//!   rule the MPC engine evaluates on shares; the plaintext matcher offers it so the two
//!   can be compared exactly. It differs from `FHD < t` only through the rounding of `A`.

use crate::TemplateError;
use crate::iris::{IrisCode, ROTATIONS};

/// The two counts every comparison reduces to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HammingCounts {
    /// Bits that differ where both masks are valid: `popcount((a^b)&ma&mb)`.
    pub differing: u32,
    /// Bits valid in both masks: `popcount(ma&mb)` (`M`).
    pub overlap: u32,
}

impl HammingCounts {
    /// Counts two codes as they are (no rotation).
    pub fn of(a: &IrisCode, b: &IrisCode) -> Self {
        let mut out = Self::default();
        for w in 0..a.code_words().len() {
            let valid = a.mask_words()[w] & b.mask_words()[w];
            out.differing += ((a.code_words()[w] ^ b.code_words()[w]) & valid).count_ones();
            out.overlap += valid.count_ones();
        }
        out
    }

    /// `code_dot = M - 2*HD`, the MPC's dot product of the {0, +1, -1} encodings.
    pub fn code_dot(self) -> i32 {
        self.overlap as i32 - 2 * self.differing as i32
    }

    /// `mask_dot = M`.
    pub fn mask_dot(self) -> i32 {
        self.overlap as i32
    }

    /// The fractional Hamming distance, or an error below the minimum overlap.
    ///
    /// # Errors
    /// [`TemplateError::InsufficientOverlap`] when `overlap < min.bits()` (and always when
    /// the overlap is zero).
    pub fn fractional(self, min: MinOverlap) -> Result<f64, TemplateError> {
        if self.overlap < min.bits().max(1) {
            return Err(TemplateError::InsufficientOverlap {
                overlap: self.overlap,
                required: min.bits().max(1),
            });
        }
        Ok(f64::from(self.differing) / f64::from(self.overlap))
    }
}

/// The fewest overlapping valid bits for which a distance is meaningful.
///
/// With few valid bits the distance of two unrelated eyes can fall below any threshold by
/// chance, so a comparison with less overlap gives no decision at all. The default, 1,600
/// bits (one eighth of the code, about 30 independent degrees of freedom at the ~51 bits
/// per degree of freedom of real iris codes), rejects only captures that are mostly
/// occluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinOverlap(u32);

impl MinOverlap {
    /// The default minimum: 1,600 bits.
    pub const DEFAULT: Self = Self(1_600);

    /// A minimum of `bits` overlapping valid bits (at least 1).
    pub fn new(bits: u32) -> Self {
        Self(bits.max(1))
    }

    /// The minimum, in bits.
    pub fn bits(self) -> u32 {
        self.0
    }
}

impl Default for MinOverlap {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A fractional Hamming distance threshold `t` in `(0, 0.5)`: a pair matches when its
/// distance is below `t`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Threshold(f64);

impl Threshold {
    /// World's production threshold, 0.345.
    pub const DEFAULT: Self = Self(0.345);

    /// Checks and wraps a threshold.
    ///
    /// # Errors
    /// [`TemplateError::BadThreshold`] outside `(0, 0.5)`.
    pub fn new(t: f64) -> Result<Self, TemplateError> {
        if t > 0.0 && t < 0.5 {
            Ok(Self(t))
        } else {
            Err(TemplateError::BadThreshold {
                value: t,
                expected: "a fractional Hamming distance strictly between 0 and 0.5",
            })
        }
    }

    /// The threshold as a number.
    pub const fn value(self) -> f64 {
        self.0
    }
}

impl Default for Threshold {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The integer decision rule of the MPC engine: `code_dot * 2^16 > mask_dot * A`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedPointRule {
    /// `A = floor((1 - 2t) * 2^16)`.
    pub a: u32,
}

impl FixedPointRule {
    /// The rule for threshold `t`.
    pub fn new(t: Threshold) -> Self {
        Self {
            a: ((1.0 - 2.0 * t.value()) * 65_536.0).floor() as u32,
        }
    }

    /// The rule for a raw threshold `t`, which must be in `(0, 0.5)`.
    ///
    /// # Panics
    /// If `t` is outside `(0, 0.5)`; use [`FixedPointRule::new`] with a checked
    /// [`Threshold`] for untrusted input.
    pub fn from_threshold(t: f64) -> Self {
        Self::new(Threshold::new(t).expect("threshold must be in (0, 0.5)"))
    }

    /// Whether `code_dot * 2^16 > mask_dot * A`, computed exactly.
    pub fn is_match(self, code_dot: i32, mask_dot: i32) -> bool {
        i64::from(code_dot) * 65_536 > i64::from(mask_dot) * i64::from(self.a)
    }

    /// The rule applied to a pair's counts.
    pub fn matches(self, counts: HammingCounts) -> bool {
        self.is_match(counts.code_dot(), counts.mask_dot())
    }
}

/// The best alignment of two codes over the 31 rotations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BestRotation {
    /// The smallest fractional Hamming distance among decidable rotations.
    pub distance: f64,
    /// The column shift applied to the probe that gave it.
    pub shift: i32,
    /// The counts at that shift.
    pub counts: HammingCounts,
}

/// Fractional Hamming distance of two codes without rotation.
///
/// # Errors
/// [`TemplateError::InsufficientOverlap`] below `min`.
pub fn fractional_hamming(
    a: &IrisCode,
    b: &IrisCode,
    min: MinOverlap,
) -> Result<f64, TemplateError> {
    HammingCounts::of(a, b).fractional(min)
}

/// The minimum fractional Hamming distance over the 31 rotations of `probe` against
/// `gallery`; rotations below the minimum overlap are skipped.
///
/// # Errors
/// [`TemplateError::InsufficientOverlap`] when no rotation has enough overlap (the error
/// reports the largest overlap seen).
pub fn min_over_rotations(
    probe: &IrisCode,
    gallery: &IrisCode,
    min: MinOverlap,
) -> Result<BestRotation, TemplateError> {
    let mut best: Option<BestRotation> = None;
    let mut largest_overlap = 0;
    for shift in ROTATIONS {
        let counts = HammingCounts::of(&probe.rotated(shift), gallery);
        largest_overlap = largest_overlap.max(counts.overlap);
        if let Ok(distance) = counts.fractional(min)
            && best.is_none_or(|b| distance < b.distance)
        {
            best = Some(BestRotation {
                distance,
                shift,
                counts,
            });
        }
    }
    best.ok_or(TemplateError::InsufficientOverlap {
        overlap: largest_overlap,
        required: min.bits(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known_answer_codes() -> (IrisCode, IrisCode) {
        let text = include_str!("../tests/data/iris-mpc/random_codes.txt");
        let lines: Vec<&str> = text.lines().collect();
        let a = IrisCode::from_base64(lines[0], lines[1]).unwrap();
        let b = IrisCode::from_base64(lines[2], lines[3]).unwrap();
        (a, b)
    }

    #[test]
    fn known_answer_without_rotation() {
        let (a, b) = known_answer_codes();
        let d = fractional_hamming(&a, &b, MinOverlap::DEFAULT).unwrap();
        assert!((d - 0.513_075_965_1).abs() < 1e-9, "{d}");
    }

    #[test]
    fn known_answer_over_rotations() {
        let (a, b) = known_answer_codes();
        let best = min_over_rotations(&a, &b, MinOverlap::DEFAULT).unwrap();
        assert!((best.distance - 0.481_086_028_1).abs() < 1e-9, "{best:?}");
        // Rotation direction is a convention; the minimum is symmetric.
        let back = min_over_rotations(&b, &a, MinOverlap::DEFAULT).unwrap();
        assert!((back.distance - best.distance).abs() < 1e-12);
        assert_eq!(back.shift, -best.shift);
    }

    #[test]
    fn small_overlap_is_undecidable() {
        let (a, _) = known_answer_codes();
        let tiny = IrisCode::from_fn(|i| a.code_bit(i), |i| i < 64).unwrap();
        let err = fractional_hamming(&a, &tiny, MinOverlap::DEFAULT).unwrap_err();
        assert!(matches!(
            err,
            TemplateError::InsufficientOverlap { required: 1600, .. }
        ));
        let nothing = IrisCode::from_fn(|_| false, |_| false).unwrap();
        assert!(fractional_hamming(&a, &nothing, MinOverlap::new(0)).is_err());
    }

    #[test]
    fn fixed_point_rule_agrees_with_float_away_from_rounding() {
        let rule = FixedPointRule::new(Threshold::DEFAULT);
        assert_eq!(rule.a, 20_316); // floor(0.31 * 65536)
        for overlap in [1_600u32, 5_000, 9_999, 12_800] {
            for differing in 0..=overlap / 2 {
                let counts = HammingCounts { differing, overlap };
                let fhd = f64::from(differing) / f64::from(overlap);
                // A is rounded down, so the rule is exactly `FHD < t'` for
                // t' = (1 - A/2^16)/2, slightly above t.
                let t_effective = (1.0 - f64::from(rule.a) / 65_536.0) / 2.0;
                assert_eq!(rule.matches(counts), fhd < t_effective, "{counts:?}");
            }
        }
    }

    #[test]
    fn thresholds_are_checked() {
        assert!(Threshold::new(0.0).is_err());
        assert!(Threshold::new(0.5).is_err());
        assert!(Threshold::new(f64::NAN).is_err());
        assert!(Threshold::new(0.3).is_ok());
    }
}
