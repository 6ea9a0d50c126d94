//! Accuracy evaluation: error rates over thresholds, DET curves and the unlinkability
//! metric of ISO/IEC 24745.
//!
//! Scores are **distances** (lower means more alike), as for iris codes; similarity
//! scores (cosine) are turned into distances with [`ScoreSet::from_similarities`].
//!
//! - [`metrics`]: FMR, FNMR, EER and FNMR at fixed FMR with the pair counts behind each.
//! - `det` (with the `plot` feature): the DET curve as a PNG.
//! - [`population`]: genuine and impostor scores of synthetic iris and face populations.
//! - [`unlinkability`]: local `D<->(s)` and global `D<->sys` of Gomez-Barrero et al.

#[cfg(feature = "plot")]
pub mod det;
pub mod metrics;
pub mod population;
pub mod unlinkability;

/// Why an evaluation cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// There is no genuine (mated) score, so no false non-match rate.
    #[error(
        "no genuine pairs to evaluate ({impostor_pairs} impostor pairs): error rates need at least one person with two captures; use a population of at least two persons with two captures each"
    )]
    NoGenuinePairs {
        /// Impostor scores there were.
        impostor_pairs: u64,
    },
    /// There is no impostor (non-mated) score, so no false match rate.
    #[error(
        "no impostor pairs to evaluate ({genuine_pairs} genuine pairs): error rates need at least two persons; use a population of at least two persons with two captures each"
    )]
    NoImpostorPairs {
        /// Genuine scores there were.
        genuine_pairs: u64,
    },
}

/// Mated (genuine) and non-mated (impostor) comparison scores.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreSet {
    /// Distances of pairs from the same eye or person.
    pub genuine: Vec<f64>,
    /// Distances of pairs from different eyes or persons.
    pub impostor: Vec<f64>,
}

impl ScoreSet {
    /// Converts similarity scores (higher = more alike) into distances `1 - s`.
    pub fn from_similarities(genuine: &[f64], impostor: &[f64]) -> Self {
        Self {
            genuine: genuine.iter().map(|s| 1.0 - s).collect(),
            impostor: impostor.iter().map(|s| 1.0 - s).collect(),
        }
    }
}
