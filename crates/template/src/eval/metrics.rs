//! False match and false non-match rates.
//!
//! A pair is accepted at threshold `t` when its distance is below `t`, as in the matcher.
//! `FMR(t)` is the fraction of impostor pairs accepted, `FNMR(t)` the fraction of genuine
//! pairs rejected. Every rate comes with the number of pairs behind it: a rate of 1e-6
//! measured on 10,000 impostor pairs means nothing, and the report says so
//! ([`OperatingPoint::supported`], by the rule of three: at least `3 / FMR` impostor pairs
//! are needed before zero observed false matches bounds the FMR at 95% confidence).

use super::{EvalError, ScoreSet};
use serde::Serialize;

/// Error rates at one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RatePoint {
    /// The distance threshold.
    pub threshold: f64,
    /// False match rate.
    pub fmr: f64,
    /// False non-match rate.
    pub fnmr: f64,
}

/// FNMR at the largest threshold whose FMR does not exceed a target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OperatingPoint {
    /// The FMR asked for.
    pub target_fmr: f64,
    /// The threshold chosen.
    pub threshold: f64,
    /// The FMR measured at that threshold (`<= target_fmr`).
    pub fmr: f64,
    /// The FNMR measured at that threshold.
    pub fnmr: f64,
    /// Impostor pairs accepted at that threshold.
    pub false_matches: u64,
    /// Genuine pairs rejected at that threshold.
    pub false_non_matches: u64,
    /// Impostor pairs behind the FMR.
    pub impostor_pairs: u64,
    /// Genuine pairs behind the FNMR.
    pub genuine_pairs: u64,
    /// Whether there are at least `3 / target_fmr` impostor pairs.
    pub supported: bool,
}

/// The summary of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccuracyReport {
    /// Genuine pairs.
    pub genuine_pairs: u64,
    /// Impostor pairs.
    pub impostor_pairs: u64,
    /// Equal error rate (where FMR and FNMR cross, interpolated).
    pub eer: f64,
    /// The threshold at the EER.
    pub eer_threshold: f64,
    /// FNMR at FMR = 1e-3, 1e-4 and 1e-6.
    pub operating_points: Vec<OperatingPoint>,
    /// Rates at the fixed threshold the report was asked about.
    pub at_threshold: RatePoint,
}

/// The FMR targets reported.
pub const FMR_TARGETS: [f64; 3] = [1e-3, 1e-4, 1e-6];

/// Sorted scores, for counting how many lie below a threshold.
struct Sorted(Vec<f64>);

impl Sorted {
    fn new(xs: &[f64]) -> Self {
        // Undecidable pairs are scored +inf (never accepted) and stay in the counts;
        // only NaN is dropped.
        let mut v: Vec<f64> = xs.iter().copied().filter(|x| !x.is_nan()).collect();
        v.sort_by(f64::total_cmp);
        Self(v)
    }

    /// Number of scores strictly below `t`.
    fn below(&self, t: f64) -> u64 {
        self.0.partition_point(|&x| x < t) as u64
    }
}

/// Rates at threshold `t`.
pub fn rates_at(scores: &ScoreSet, t: f64) -> RatePoint {
    let (g, i) = (Sorted::new(&scores.genuine), Sorted::new(&scores.impostor));
    point(&g, &i, t)
}

fn point(g: &Sorted, i: &Sorted, t: f64) -> RatePoint {
    RatePoint {
        threshold: t,
        fmr: ratio(i.below(t), i.0.len()),
        fnmr: ratio(g.0.len() as u64 - g.below(t), g.0.len()),
    }
}

fn ratio(n: u64, d: usize) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

/// The full curve: one point per distinct score (plus both ends), thresholds ascending.
pub fn curve(scores: &ScoreSet) -> Vec<RatePoint> {
    let (g, i) = (Sorted::new(&scores.genuine), Sorted::new(&scores.impostor));
    let mut thresholds: Vec<f64> =
        g.0.iter()
            .chain(&i.0)
            .copied()
            .filter(|x| x.is_finite())
            .collect();
    thresholds.sort_by(f64::total_cmp);
    thresholds.dedup();
    // Just above the largest score, every pair is accepted.
    if let Some(&last) = thresholds.last() {
        thresholds.push(last + 1e-9);
    }
    thresholds.iter().map(|&t| point(&g, &i, t)).collect()
}

/// Computes the report; `threshold` is the operating threshold to describe.
///
/// # Errors
/// [`EvalError::NoGenuinePairs`] or [`EvalError::NoImpostorPairs`] when either set has
/// no (non-NaN) score: every rate would be 0 of 0, and an EER of 0% would look perfect.
pub fn report(scores: &ScoreSet, threshold: f64) -> Result<AccuracyReport, EvalError> {
    let (g, i) = (Sorted::new(&scores.genuine), Sorted::new(&scores.impostor));
    if g.0.is_empty() {
        return Err(EvalError::NoGenuinePairs {
            impostor_pairs: i.0.len() as u64,
        });
    }
    if i.0.is_empty() {
        return Err(EvalError::NoImpostorPairs {
            genuine_pairs: g.0.len() as u64,
        });
    }
    let points = curve(scores);
    // EER: the first point where FMR >= FNMR, interpolated with the one before.
    let (eer, eer_threshold) = match points.iter().position(|p| p.fmr >= p.fnmr) {
        Some(0) | None => points
            .first()
            .map_or((0.0, 0.0), |p| ((p.fmr + p.fnmr) / 2.0, p.threshold)),
        Some(k) => {
            let (a, b) = (points[k - 1], points[k]);
            let (da, db) = (a.fnmr - a.fmr, b.fmr - b.fnmr);
            let w = if da + db > 0.0 { da / (da + db) } else { 0.5 };
            (
                a.fmr + w * (b.fmr - a.fmr),
                a.threshold + w * (b.threshold - a.threshold),
            )
        }
    };
    let operating_points = FMR_TARGETS
        .iter()
        .map(|&target| {
            // Largest threshold with FMR <= target: just at the (k+1)-th smallest impostor
            // score, where k impostor pairs lie below it.
            let allowed = (target * i.0.len() as f64).floor() as usize;
            let t = i.0.get(allowed).copied().unwrap_or(f64::INFINITY);
            let p = point(&g, &i, t);
            OperatingPoint {
                target_fmr: target,
                threshold: t,
                fmr: p.fmr,
                fnmr: p.fnmr,
                false_matches: i.below(t),
                false_non_matches: g.0.len() as u64 - g.below(t),
                impostor_pairs: i.0.len() as u64,
                genuine_pairs: g.0.len() as u64,
                supported: i.0.len() as f64 >= 3.0 / target,
            }
        })
        .collect();
    Ok(AccuracyReport {
        genuine_pairs: g.0.len() as u64,
        impostor_pairs: i.0.len() as u64,
        eer,
        eer_threshold,
        operating_points,
        at_threshold: point(&g, &i, threshold),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_scores_have_zero_error() {
        let scores = ScoreSet {
            genuine: vec![0.1, 0.2, 0.25],
            impostor: (0..10_000).map(|k| 0.4 + f64::from(k) * 1e-5).collect(),
        };
        let r = report(&scores, crate::Threshold::DEFAULT.value()).unwrap();
        assert_eq!(r.eer, 0.0);
        assert_eq!(r.at_threshold.fmr, 0.0);
        assert_eq!(r.at_threshold.fnmr, 0.0);
        let p3 = r.operating_points[0];
        assert_eq!(p3.fnmr, 0.0);
        assert!(p3.fmr <= 1e-3);
        assert!(p3.supported);
        assert!(
            !r.operating_points[2].supported,
            "1e-6 needs 3M impostor pairs"
        );
    }

    #[test]
    fn overlapping_scores_cross_at_the_middle() {
        // Genuine uniform on [0, 1), impostor uniform on [0.5, 1.5): EER at t = 0.75.
        let n = 10_000;
        let scores = ScoreSet {
            genuine: (0..n).map(|k| f64::from(k) / f64::from(n)).collect(),
            impostor: (0..n).map(|k| 0.5 + f64::from(k) / f64::from(n)).collect(),
        };
        let r = report(&scores, 0.6).unwrap();
        assert!((r.eer - 0.25).abs() < 1e-3, "{}", r.eer);
        assert!((r.eer_threshold - 0.75).abs() < 1e-3);
        assert!((r.at_threshold.fmr - 0.1).abs() < 1e-3);
        assert!((r.at_threshold.fnmr - 0.4).abs() < 1e-3);
        let p = r.operating_points[0];
        assert_eq!(p.false_matches, 10);
        assert!((p.fnmr - 0.499).abs() < 2e-3, "{}", p.fnmr);
    }

    #[test]
    fn no_pairs_on_either_side_is_refused_not_reported_as_perfect() {
        // An empty population used to report `EER 0.0000%`.
        let err = report(&ScoreSet::default(), 0.345).unwrap_err();
        assert_eq!(err, EvalError::NoGenuinePairs { impostor_pairs: 0 });
        let one_person = ScoreSet {
            genuine: vec![0.2],
            impostor: vec![],
        };
        let err = report(&one_person, 0.345).unwrap_err();
        assert_eq!(err, EvalError::NoImpostorPairs { genuine_pairs: 1 });
        assert!(err.to_string().contains("at least two persons"), "{err}");
        let only_nan = ScoreSet {
            genuine: vec![f64::NAN],
            impostor: vec![0.5],
        };
        assert!(matches!(
            report(&only_nan, 0.345),
            Err(EvalError::NoGenuinePairs { impostor_pairs: 1 })
        ));
        // Undecidable pairs (+inf) are pairs: they count, and are never accepted.
        let undecidable = ScoreSet {
            genuine: vec![f64::INFINITY],
            impostor: vec![0.5],
        };
        let r = report(&undecidable, 0.345).unwrap();
        assert_eq!(r.at_threshold.fnmr, 1.0);
    }

    #[test]
    fn curve_runs_from_reject_all_to_accept_all() {
        let scores = ScoreSet {
            genuine: vec![0.2, 0.3],
            impostor: vec![0.25, 0.5],
        };
        let c = curve(&scores);
        assert_eq!((c[0].fmr, c[0].fnmr), (0.0, 1.0));
        let last = c.last().unwrap();
        assert_eq!((last.fmr, last.fnmr), (1.0, 0.0));
        assert!(
            c.windows(2)
                .all(|w| w[0].fmr <= w[1].fmr && w[0].fnmr >= w[1].fnmr)
        );
    }
}
