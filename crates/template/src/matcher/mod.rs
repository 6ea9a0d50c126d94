//! The plaintext 1:N and 1:1 matcher: the MPC engine's oracle and its speed reference.
//!
//! A query is expanded to its 31 rotations ([`layout::PackedRotations`]); the gallery is
//! never rotated. The gallery is scanned in chunks on all cores (rayon) by the fastest
//! [`Kernel`] the CPU offers, which produces integer [`HammingCounts`] per
//! (stored eye, rotation); a [`DecisionRule`] turns counts into decisions.
//!
//! An eye matches when any rotation matches; with two eyes a person matches when both
//! eyes match. Unlike the MPC engine, the plaintext matcher also reports the best
//! distance and every matching record.

mod embedding;
pub mod gallery;
pub mod kernel;
pub mod layout;

pub use embedding::{EmbeddingGallery, EmbeddingMatch};
pub use gallery::{EyeMode, GalleryError, IrisGallery, RecordId};
pub use kernel::Kernel;

use crate::iris::{ROTATION_COUNT, ROTATIONS};
use crate::{Eye, EyePair, FixedPointRule, HammingCounts, IrisCode, MinOverlap, Threshold};
use layout::PackedRotations;
use rayon::prelude::*;

/// How a pair's counts become a decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DecisionRule {
    /// `FHD < t`, with no decision below the minimum overlap.
    Fractional {
        /// The distance threshold.
        threshold: Threshold,
        /// Rotations with less overlap neither match nor count for the best distance.
        min_overlap: MinOverlap,
    },
    /// The MPC engine's integer rule `code_dot * 2^16 > mask_dot * A`.
    FixedPoint(FixedPointRule),
}

impl Default for DecisionRule {
    fn default() -> Self {
        Self::Fractional {
            threshold: Threshold::DEFAULT,
            min_overlap: MinOverlap::DEFAULT,
        }
    }
}

impl DecisionRule {
    fn min_overlap(self) -> MinOverlap {
        match self {
            Self::Fractional { min_overlap, .. } => min_overlap,
            Self::FixedPoint(_) => MinOverlap::DEFAULT,
        }
    }
}

/// One eye's result against one stored eye.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EyeResult {
    /// Whether any rotation matched.
    pub is_match: bool,
    /// The smallest distance over decidable rotations, with its shift.
    pub best: Option<(f64, i32)>,
}

/// A record that matched, or the closest one.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The record.
    pub record: RecordId,
    /// The person's distance: the larger of the eyes' best distances (both must be
    /// below the threshold), or the only eye's.
    pub distance: f64,
    /// Per eye (left then right, or the only eye): best distance and shift.
    pub eyes: Vec<EyeResult>,
}

/// The outcome of a search. Plaintext only: the MPC engine reveals just `is_match`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchOutcome {
    /// Whether any record matched.
    pub is_match: bool,
    /// Every matching record, in gallery slot order.
    pub matches: Vec<RecordId>,
    /// The closest record by distance (matching or not), if any was decidable.
    pub best: Option<Candidate>,
    /// Comparisons made: stored eyes x 31 rotations.
    pub comparisons: u64,
}

/// A query: one or two eyes, each expanded to its 31 rotations.
pub struct IrisQuery {
    eyes: Vec<PackedRotations>,
}

impl IrisQuery {
    /// A two-eye query.
    pub fn pair(pair: &EyePair) -> Self {
        Self {
            eyes: vec![
                PackedRotations::new(&pair.left),
                PackedRotations::new(&pair.right),
            ],
        }
    }

    /// A single-eye query.
    pub fn single(eye: &IrisCode) -> Self {
        Self {
            eyes: vec![PackedRotations::new(eye)],
        }
    }
}

/// Gallery records scanned per task: large enough to amortise scheduling, small enough
/// that the counts buffer stays in L2.
const CHUNK: usize = 256;

/// The plaintext matcher.
#[derive(Debug, Clone, Copy)]
pub struct Matcher {
    /// The kernel used.
    pub kernel: Kernel,
    /// The decision rule.
    pub rule: DecisionRule,
}

impl Default for Matcher {
    fn default() -> Self {
        Self {
            kernel: Kernel::best(),
            rule: DecisionRule::default(),
        }
    }
}

impl Matcher {
    /// A matcher with the best kernel and the given rule.
    pub fn new(rule: DecisionRule) -> Self {
        Self {
            kernel: Kernel::best(),
            rule,
        }
    }

    /// 1:N: compares `query` with every record.
    ///
    /// # Errors
    /// [`GalleryError::WrongEyeCount`] when the query's eye count is not the gallery's.
    pub fn search(
        &self,
        gallery: &IrisGallery,
        query: &IrisQuery,
    ) -> Result<SearchOutcome, GalleryError> {
        self.check_shape(gallery, query)?;
        let chunks = gallery.len().div_ceil(CHUNK);
        let outcome = (0..chunks)
            .into_par_iter()
            .map_init(
                || vec![HammingCounts::default(); CHUNK * ROTATION_COUNT * query.eyes.len()],
                |buffer, c| {
                    let slots = c * CHUNK..((c + 1) * CHUNK).min(gallery.len());
                    self.scan(gallery, query, slots, buffer)
                },
            )
            .reduce(SearchOutcome::default, merge);
        Ok(outcome)
    }

    /// 1:1: compares `query` with one record only.
    ///
    /// Returns `None` if the record is not enrolled.
    ///
    /// # Errors
    /// [`GalleryError::WrongEyeCount`] when the query's eye count is not the gallery's.
    pub fn verify(
        &self,
        gallery: &IrisGallery,
        record: RecordId,
        query: &IrisQuery,
    ) -> Result<Option<SearchOutcome>, GalleryError> {
        self.check_shape(gallery, query)?;
        let Some(slot) = gallery.slot(record) else {
            return Ok(None);
        };
        let mut buffer = vec![HammingCounts::default(); ROTATION_COUNT * query.eyes.len()];
        Ok(Some(self.scan(gallery, query, slot..slot + 1, &mut buffer)))
    }

    fn check_shape(&self, gallery: &IrisGallery, query: &IrisQuery) -> Result<(), GalleryError> {
        let expected = match gallery.mode() {
            EyeMode::TwoEyes => 2,
            EyeMode::SingleEye => 1,
        };
        if query.eyes.len() == expected {
            Ok(())
        } else {
            Err(GalleryError::WrongEyeCount {
                expected: if expected == 2 { "two eyes" } else { "one eye" },
                given: if query.eyes.len() == 2 {
                    "two eyes"
                } else {
                    "one eye"
                },
            })
        }
    }

    /// Scans gallery slots `slots` and decides each record.
    fn scan(
        &self,
        gallery: &IrisGallery,
        query: &IrisQuery,
        slots: std::ops::Range<usize>,
        buffer: &mut [HammingCounts],
    ) -> SearchOutcome {
        let n = slots.len();
        let per_eye = n * ROTATION_COUNT;
        let sides = [Eye::Left, Eye::Right];
        for (side, rotations) in query.eyes.iter().enumerate() {
            self.kernel.count(
                rotations,
                gallery.planes(sides[side]),
                slots.clone(),
                &mut buffer[side * per_eye..(side + 1) * per_eye],
            );
        }
        let mut outcome = SearchOutcome {
            comparisons: (n * query.eyes.len() * ROTATION_COUNT) as u64,
            ..SearchOutcome::default()
        };
        let sides_used = query.eyes.len();
        for (k, slot) in slots.enumerate() {
            let mut eyes = [EyeResult::default(); 2];
            for (side, eye) in eyes.iter_mut().enumerate().take(sides_used) {
                let start = side * per_eye + k * ROTATION_COUNT;
                *eye = self.eye_result(&buffer[start..start + ROTATION_COUNT]);
            }
            let eyes = &eyes[..sides_used];
            let record = gallery.ids()[slot];
            if eyes.iter().all(|e| e.is_match) {
                outcome.is_match = true;
                outcome.matches.push(record);
            }
            let distance = eyes
                .iter()
                .map(|e| e.best.map(|b| b.0))
                .try_fold(0f64, |acc, d| d.map(|d| acc.max(d)));
            if let Some(distance) = distance
                && outcome.best.as_ref().is_none_or(|b| distance < b.distance)
            {
                outcome.best = Some(Candidate {
                    record,
                    distance,
                    eyes: eyes.to_vec(),
                });
            }
        }
        outcome
    }

    /// Decides one stored eye from its 31 rotation counts. Hot: one division per eye.
    fn eye_result(&self, counts: &[HammingCounts]) -> EyeResult {
        let min = self.rule.min_overlap().bits();
        // The smallest fraction differing/overlap among decidable rotations, compared
        // exactly by cross-multiplication; ties keep the first (most negative) shift.
        let mut best: Option<(HammingCounts, i32)> = None;
        let mut fixed_point_match = false;
        for (&c, shift) in counts.iter().zip(ROTATIONS) {
            if let DecisionRule::FixedPoint(rule) = self.rule {
                fixed_point_match |= rule.matches(c);
            }
            if c.overlap >= min
                && best.is_none_or(|(b, _)| {
                    u64::from(c.differing) * u64::from(b.overlap)
                        < u64::from(b.differing) * u64::from(c.overlap)
                })
            {
                best = Some((c, shift));
            }
        }
        let best = best.map(|(c, shift)| (f64::from(c.differing) / f64::from(c.overlap), shift));
        let is_match = match self.rule {
            // Some rotation is below t exactly when the smallest distance is.
            DecisionRule::Fractional { threshold, .. } => {
                best.is_some_and(|(d, _)| d < threshold.value())
            }
            DecisionRule::FixedPoint(_) => fixed_point_match,
        };
        EyeResult { is_match, best }
    }
}
/// Combines two partial outcomes of disjoint, ordered slot ranges.
fn merge(mut a: SearchOutcome, b: SearchOutcome) -> SearchOutcome {
    a.is_match |= b.is_match;
    a.matches.extend(b.matches);
    a.comparisons += b.comparisons;
    if let Some(best) = b.best
        && a.best.as_ref().is_none_or(|x| best.distance < x.distance)
    {
        a.best = Some(best);
    }
    a
}

#[cfg(test)]
mod tests;
