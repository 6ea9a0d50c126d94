//! The unlinkability metric of ISO/IEC 24745, as defined by Gomez-Barrero, Galbally,
//! Rathgeb and Busch, "General Framework to Evaluate Unlinkability in Biometric Template
//! Protection Systems", IEEE TIFS 13(6), 2018.
//!
//! From mated scores (templates of the same subject, e.g. from two applications) and
//! non-mated scores, with `LR(s) = p(s|H_m) / p(s|H_nm)` and the prior ratio
//! `w = p(H_m) / p(H_nm)`:
//!
//! - local: `D<->(s) = p(H_m|s) - p(H_nm|s) = (LR(s) w - 1) / (LR(s) w + 1)` where
//!   `LR(s) w > 1`, else 0;
//! - global: `D<->sys = integral of p(s|H_m) D<->(s) ds`, in `[0, 1]`: 0 means fully
//!   unlinkable, 1 fully linkable.
//!
//! The densities are estimated by histograms over the common score range.

use serde::Serialize;

/// The result: the global score and the local curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unlinkability {
    /// `D<->sys` in `[0, 1]`.
    pub d_sys: f64,
    /// `(bin centre, D<->(s))` per histogram bin.
    pub local: Vec<(f64, f64)>,
}

/// Computes `D<->(s)` and `D<->sys` with `bins` histogram bins and prior ratio `omega`
/// (1 when mated and non-mated comparisons are equally likely a priori).
///
/// Non-finite scores are ignored. With either set empty the result is `d_sys = 0` (no
/// evidence of linkability).
pub fn unlinkability(mated: &[f64], non_mated: &[f64], bins: usize, omega: f64) -> Unlinkability {
    let finite =
        |xs: &[f64]| -> Vec<f64> { xs.iter().copied().filter(|x| x.is_finite()).collect() };
    let (mated, non_mated) = (finite(mated), finite(non_mated));
    let bins = bins.max(1);
    if mated.is_empty() || non_mated.is_empty() {
        return Unlinkability {
            d_sys: 0.0,
            local: Vec::new(),
        };
    }
    let lo = mated
        .iter()
        .chain(&non_mated)
        .copied()
        .fold(f64::INFINITY, f64::min);
    let hi = mated
        .iter()
        .chain(&non_mated)
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let width = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        1.0
    };
    let histogram = |xs: &[f64]| {
        let mut h = vec![0.0f64; bins];
        for &x in xs {
            let b = (((x - lo) / width) as usize).min(bins - 1);
            h[b] += 1.0 / xs.len() as f64;
        }
        h
    };
    let (pm, pn) = (histogram(&mated), histogram(&non_mated));
    let mut d_sys = 0.0;
    let local = (0..bins)
        .map(|b| {
            let d = match (pm[b], pn[b]) {
                (0.0, _) => 0.0,
                (_, 0.0) => 1.0,
                (m, n) => {
                    let lr = m / n * omega;
                    if lr > 1.0 {
                        (lr - 1.0) / (lr + 1.0)
                    } else {
                        0.0
                    }
                }
            };
            d_sys += pm[b] * d;
            (lo + (b as f64 + 0.5) * width, d)
        })
        .collect();
    Unlinkability { d_sys, local }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn uniform(seed: u64, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.random_range(lo..hi)).collect()
    }

    #[test]
    fn identical_distributions_are_unlinkable() {
        let a = uniform(1, 20_000, 0.0, 1.0);
        assert_eq!(unlinkability(&a, &a, 100, 1.0).d_sys, 0.0);
        // Independent samples of one distribution: only sampling noise remains.
        let b = uniform(2, 20_000, 0.0, 1.0);
        let u = unlinkability(&a, &b, 100, 1.0);
        assert!(u.d_sys < 0.05, "{}", u.d_sys);
    }

    #[test]
    fn disjoint_distributions_are_fully_linkable() {
        let mated = uniform(3, 5_000, 0.0, 0.3);
        let non_mated = uniform(4, 5_000, 0.5, 1.0);
        let u = unlinkability(&mated, &non_mated, 100, 1.0);
        assert!((u.d_sys - 1.0).abs() < 1e-12, "{}", u.d_sys);
    }

    #[test]
    fn partial_overlap_is_in_between_and_local_matches_the_formula() {
        // Mated uniform on [0, 2), non-mated on [1, 3): half the mated mass is disjoint
        // (D = 1), half overlaps with LR = 1 (D = 0), so D_sys = 0.5.
        let mated: Vec<f64> = (0..20_000).map(|k| f64::from(k) / 10_000.0).collect();
        let non_mated: Vec<f64> = mated.iter().map(|x| x + 1.0).collect();
        let u = unlinkability(&mated, &non_mated, 30, 1.0);
        assert!((u.d_sys - 0.5).abs() < 0.02, "{}", u.d_sys);
        // With a prior ratio of 3, an overlapping bin has LR*w = 3: D = 2/4.
        let biased = unlinkability(&mated, &non_mated, 30, 3.0);
        let overlap_bin = biased
            .local
            .iter()
            .find(|(s, _)| (1.2..1.8).contains(s))
            .unwrap();
        assert!((overlap_bin.1 - 0.5).abs() < 0.05, "{overlap_bin:?}");
    }

    #[test]
    fn empty_input_gives_no_evidence() {
        assert_eq!(unlinkability(&[], &[0.5], 10, 1.0).d_sys, 0.0);
    }
}
