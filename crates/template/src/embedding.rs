//! Face, voice or fingerprint embeddings: L2-normalised `f32` vectors compared by cosine
//! similarity, and their signed fixed-point form for the MPC engine.
//!
//! # Quantisation and its error bound
//!
//! A unit vector `x` is quantised to `q_i = round(x_i * 2^F)` with
//! [`QuantizedEmbedding::FRACTION_BITS`] `F = 14`, so every component fits an `i16`
//! and a dot product of two quantised vectors of up to 4,096 dimensions fits an `i32`
//! (`|q . r| <= 2^28 + 2^F * sqrt(d) + d/4`), as the MPC's Z_2^32 arithmetic requires.
//! With rounding errors `|e_i| <= 1/2`, Cauchy-Schwarz on the cross terms gives
//!
//! ```text
//! | q.r / 2^(2F) - cos(x, y) |  <=  sqrt(d) * 2^-F  +  d * 2^(-2F-2)
//! ```
//!
//! which is 0.0039 for 4,096 dimensions and 0.0014 for 512 ([`QuantizedEmbedding::error_bound`]);
//! tests check it on random and adversarial vectors.

use crate::TemplateError;

/// Smallest supported number of dimensions.
pub const MIN_DIMENSIONS: usize = 64;
/// Largest supported number of dimensions.
pub const MAX_DIMENSIONS: usize = 4096;

/// An L2-normalised embedding vector.
#[derive(Clone, PartialEq)]
pub struct Embedding {
    values: Vec<f32>,
}

impl std::fmt::Debug for Embedding {
    // Embeddings are biometric data: print the shape only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedding")
            .field("dimensions", &self.values.len())
            .finish_non_exhaustive()
    }
}

impl Embedding {
    /// Normalises `values` to unit length.
    ///
    /// # Errors
    /// [`TemplateError::BadEmbeddingDimension`] outside 64..=4096 dimensions,
    /// [`TemplateError::DegenerateEmbedding`] for a zero, NaN or infinite vector.
    pub fn new(mut values: Vec<f32>) -> Result<Self, TemplateError> {
        if !(MIN_DIMENSIONS..=MAX_DIMENSIONS).contains(&values.len()) {
            return Err(TemplateError::BadEmbeddingDimension(values.len()));
        }
        let norm = values
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt();
        if !norm.is_finite() || norm == 0.0 {
            return Err(TemplateError::DegenerateEmbedding);
        }
        for v in &mut values {
            *v = (f64::from(*v) / norm) as f32;
        }
        Ok(Self { values })
    }

    /// The components (unit length).
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Number of dimensions.
    pub fn dimensions(&self) -> usize {
        self.values.len()
    }

    /// Cosine similarity in `[-1, 1]`.
    ///
    /// # Errors
    /// [`TemplateError::DimensionMismatch`] for vectors of different dimension.
    pub fn cosine(&self, other: &Self) -> Result<f64, TemplateError> {
        if self.dimensions() != other.dimensions() {
            return Err(TemplateError::DimensionMismatch(
                self.dimensions(),
                other.dimensions(),
            ));
        }
        Ok(self
            .values
            .iter()
            .zip(&other.values)
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum())
    }

    /// The signed fixed-point form used inside the MPC.
    pub fn quantize(&self) -> QuantizedEmbedding {
        let scale = f64::from(1u32 << QuantizedEmbedding::FRACTION_BITS);
        QuantizedEmbedding {
            values: self
                .values
                .iter()
                .map(|&v| (f64::from(v) * scale).round() as i16)
                .collect(),
        }
    }
}

/// An embedding in signed fixed point with [`QuantizedEmbedding::FRACTION_BITS`]
/// fractional bits.
#[derive(Clone, PartialEq, Eq)]
pub struct QuantizedEmbedding {
    values: Vec<i16>,
}

impl std::fmt::Debug for QuantizedEmbedding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuantizedEmbedding")
            .field("dimensions", &self.values.len())
            .finish_non_exhaustive()
    }
}

impl QuantizedEmbedding {
    /// Fractional bits `F`: components are `round(x * 2^14)`.
    pub const FRACTION_BITS: u32 = 14;

    /// The fixed-point components.
    pub fn values(&self) -> &[i16] {
        &self.values
    }

    /// The exact integer dot product (`cos * 2^(2F)` up to quantisation error).
    ///
    /// # Errors
    /// [`TemplateError::DimensionMismatch`] for vectors of different dimension.
    pub fn dot(&self, other: &Self) -> Result<i32, TemplateError> {
        if self.values.len() != other.values.len() {
            return Err(TemplateError::DimensionMismatch(
                self.values.len(),
                other.values.len(),
            ));
        }
        Ok(self
            .values
            .iter()
            .zip(&other.values)
            .map(|(&a, &b)| i32::from(a) * i32::from(b))
            .sum())
    }

    /// Whether this vector passes the [`norm_gate_passes`] gate.
    pub fn passes_norm_gate(&self) -> bool {
        let values: Vec<i64> = self.values.iter().map(|&v| i64::from(v)).collect();
        norm_gate_passes(&values)
    }

    /// The guaranteed bound on `|dot / 2^(2F) - cosine|` for `dimensions` (module docs).
    pub fn error_bound(dimensions: usize) -> f64 {
        let d = dimensions as f64;
        let f = f64::from(Self::FRACTION_BITS);
        d.sqrt() * (-f).exp2() + d * (-2.0 * f - 2.0).exp2()
    }
}

/// The norm gate for embeddings, the plaintext twin of the one the MPC engine evaluates on
/// shares: a template is decided on only if every component is at most `2^F` in absolute
/// value (a unit vector's are) and its squared norm is `2^(2F)` within
/// [`norm_tolerance`]. A zero vector, a scaled vector or one with an out-of-range
/// component (which could wrap the engine's Z_2^32 arithmetic) is refused, so the
/// fixed-point cosine rule is only ever applied to unit vectors.
///
/// `values` are the components as integers (a hostile client's shares can hold any
/// Z_2^32 value; here they are taken as signed).
pub fn norm_gate_passes(values: &[i64]) -> bool {
    let one = 1i64 << (2 * QuantizedEmbedding::FRACTION_BITS);
    let limit = 1i64 << QuantizedEmbedding::FRACTION_BITS;
    if values.iter().any(|v| v.abs() > limit) {
        return false;
    }
    let norm: i64 = values.iter().map(|v| v * v).sum();
    (norm - one).abs() <= norm_tolerance(values.len())
}

/// How far, in units of `2^-(2F)`, a quantised unit vector's squared norm may be from
/// `2^(2F)`: [`QuantizedEmbedding::error_bound`] (the dot-product bound with `x = y`)
/// plus `2^-20` of slack for the `f32` normalisation, rounded up.
pub fn norm_tolerance(dimensions: usize) -> i64 {
    let scale = f64::from(1u32 << (2 * QuantizedEmbedding::FRACTION_BITS));
    ((QuantizedEmbedding::error_bound(dimensions) + (-20f64).exp2()) * scale).ceil() as i64
}

/// The fixed-point decision for embeddings: match when `dot >= T` with
/// `T = ceil(t * 2^(2F))`, the rule the MPC engine evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CosineRule {
    /// `T`, the threshold on the integer dot product.
    pub dot_threshold: i32,
}

impl CosineRule {
    /// The rule for a cosine threshold in `(-1, 1)`.
    ///
    /// # Errors
    /// [`TemplateError::BadThreshold`] outside `(-1, 1)`.
    pub fn new(cosine_threshold: f64) -> Result<Self, TemplateError> {
        if !(cosine_threshold > -1.0 && cosine_threshold < 1.0) {
            return Err(TemplateError::BadThreshold {
                value: cosine_threshold,
                expected: "a cosine similarity strictly between -1 and 1",
            });
        }
        let scale = (2.0 * f64::from(QuantizedEmbedding::FRACTION_BITS)).exp2();
        Ok(Self {
            dot_threshold: (cosine_threshold * scale).ceil() as i32,
        })
    }

    /// Whether a quantised dot product passes the threshold.
    pub fn is_match(self, dot: i32) -> bool {
        dot >= self.dot_threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norm_gate_passes_unit_vectors_and_refuses_the_rest() {
        let mut rng_state = 7u64;
        let mut next = || {
            rng_state ^= rng_state << 13;
            rng_state ^= rng_state >> 7;
            rng_state ^= rng_state << 17;
            (rng_state % 2001) as f32 / 1000.0 - 1.0
        };
        for d in [MIN_DIMENSIONS, 512, MAX_DIMENSIONS] {
            for _ in 0..20 {
                let v: Vec<f32> = (0..d).map(|_| next()).collect();
                let q = Embedding::new(v).unwrap().quantize();
                assert!(q.passes_norm_gate(), "a unit vector of {d} dimensions");
            }
        }
        // One-hot (the largest component a unit vector has).
        let mut one_hot = vec![0.0f32; 128];
        one_hot[3] = 1.0;
        assert!(
            Embedding::new(one_hot)
                .unwrap()
                .quantize()
                .passes_norm_gate()
        );
        let unit: Vec<i64> = Embedding::new(vec![1.0; 256])
            .unwrap()
            .quantize()
            .values()
            .iter()
            .map(|&v| i64::from(v))
            .collect();
        assert!(norm_gate_passes(&unit));
        assert!(!norm_gate_passes(&vec![0; 256]), "zero vector");
        let scaled = |f: f64| -> Vec<i64> { unit.iter().map(|&v| (v as f64 * f) as i64).collect() };
        assert!(!norm_gate_passes(&scaled(0.98)));
        assert!(!norm_gate_passes(&scaled(1.02)));
        // A component beyond 2^14 (would wrap the engine's arithmetic when squared).
        let mut big = vec![0i64; 256];
        big[0] = 1 << 16;
        assert!(!norm_gate_passes(&big));
        big[0] = (1 << 14) + 1;
        assert!(!norm_gate_passes(&big));
        big[0] = 1 << 14;
        assert!(norm_gate_passes(&big));
    }
    use proptest::prelude::*;

    fn vector(dims: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<f32>> {
        dims.prop_flat_map(|d| proptest::collection::vec(-1.0f32..1.0, d))
            .prop_filter("non-zero", |v| v.iter().any(|&x| x != 0.0))
    }

    proptest! {
        #[test]
        fn quantised_cosine_within_bound(a in vector(64..=512), seed in any::<u64>()) {
            let b: Vec<f32> = a.iter().enumerate()
                .map(|(i, &x)| x + ((seed.rotate_left(i as u32) % 1000) as f32 / 1000.0 - 0.5))
                .collect();
            let (a, b) = (Embedding::new(a).unwrap(), Embedding::new(b).unwrap());
            let exact = a.cosine(&b).unwrap();
            let dot = a.quantize().dot(&b.quantize()).unwrap();
            let approx = f64::from(dot) / (1u64 << 28) as f64;
            prop_assert!((approx - exact).abs() <= QuantizedEmbedding::error_bound(a.dimensions()));
        }
    }

    #[test]
    fn largest_embeddings_fit_the_ring() {
        // All mass on one axis: the largest possible dot product.
        let mut v = vec![0.0f32; 4096];
        v[0] = 1.0;
        let e = Embedding::new(v).unwrap().quantize();
        assert_eq!(e.dot(&e).unwrap(), 1 << 28);
        // Spread evenly: every component is rounded, the worst case for the error.
        let flat = Embedding::new(vec![1.0; 4096]).unwrap();
        let dot = flat.quantize().dot(&flat.quantize()).unwrap();
        let err = (f64::from(dot) / f64::from(1 << 28) - 1.0).abs();
        assert!(err <= QuantizedEmbedding::error_bound(4096), "{err}");
        assert!(QuantizedEmbedding::error_bound(4096) < 0.004);
    }

    #[test]
    fn bad_embeddings_are_refused() {
        assert_eq!(
            Embedding::new(vec![1.0; 63]),
            Err(TemplateError::BadEmbeddingDimension(63))
        );
        assert_eq!(
            Embedding::new(vec![0.0; 128]),
            Err(TemplateError::DegenerateEmbedding)
        );
        let mut nan = vec![1.0; 128];
        nan[5] = f32::NAN;
        assert_eq!(Embedding::new(nan), Err(TemplateError::DegenerateEmbedding));
        let a = Embedding::new(vec![1.0; 128]).unwrap();
        let b = Embedding::new(vec![1.0; 256]).unwrap();
        assert_eq!(
            a.cosine(&b),
            Err(TemplateError::DimensionMismatch(128, 256))
        );
        assert!(CosineRule::new(1.0).is_err());
    }

    #[test]
    fn cosine_rule_is_inclusive_at_threshold() {
        let rule = CosineRule::new(0.5).unwrap();
        assert_eq!(rule.dot_threshold, 1 << 27);
        assert!(rule.is_match(1 << 27));
        assert!(!rule.is_match((1 << 27) - 1));
    }
}
