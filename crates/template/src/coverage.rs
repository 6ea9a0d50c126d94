//! The mask-coverage gate: a template is decided on only if each eye keeps enough valid
//! (unmasked) bits.
//!
//! Why: the fractional rule refuses pairs whose masks overlap in fewer than
//! [`MinOverlap`] bits, but the MPC engine's fixed-point rule has no such floor, and the
//! custodians never see a mask, so they cannot check the overlap of a pair in the clear.
//! A nearly empty mask then matches strangers (a few bits of coin flips, 31 rotations,
//! two eyes) and a fully masked one is never a duplicate. The gate closes this per
//! template instead of per comparison: if every stored eye and every query eye has at
//! least a fraction `c` of its `N` bits valid, any two of them (at any rotation, which
//! keeps the count) overlap in at least `|A| + |B| − N ≥ (2c − 1)·N` bits. Choosing
//! `(2c − 1)·N ≥ MinOverlap` makes "too little overlap" impossible between gated
//! templates, so the fixed-point decision needs no overlap check. With `N = 12,800` and
//! the default `MinOverlap` of 1,600 bits: `c = 0.5625`, 7,200 valid bits per eye.
//!
//! This is the plaintext twin of the gate that `masque-mpc` evaluates on shares (there
//! only pass/fail is opened). Valid bits come in real/imaginary pairs (masks are equal on
//! each pair), so the minimum is kept even and the MPC counts pairs.

use crate::distance::MinOverlap;
use crate::iris::IrisCode;

/// The least number of valid bits an eye must keep to be stored or compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoverageGate {
    min_bits: u32,
}

impl CoverageGate {
    /// The smallest gate that guarantees `min_overlap` valid bits in common between any
    /// two gated eyes: `ceil((N + min_overlap) / 2)` bits, rounded up to a whole pair.
    pub fn guaranteeing(min_overlap: MinOverlap) -> Self {
        let n = IrisCode::BITS as u32;
        let bits = (n + min_overlap.bits().min(n)).div_ceil(2);
        Self::from_bits(bits)
    }

    /// The default: the gate that guarantees [`MinOverlap::DEFAULT`] (7,200 bits,
    /// `c = 0.5625`).
    pub fn default_gate() -> Self {
        Self::guaranteeing(MinOverlap::DEFAULT)
    }

    /// A gate of at least `bits` valid bits (rounded up to an even count, at most `N`).
    pub fn from_bits(bits: u32) -> Self {
        let n = IrisCode::BITS as u32;
        Self {
            min_bits: (bits.min(n) + 1) & !1,
        }
    }

    /// The least number of valid bits.
    pub fn min_bits(self) -> u32 {
        self.min_bits
    }

    /// The least number of valid real/imaginary pairs (what the MPC counts).
    pub fn min_pairs(self) -> u32 {
        self.min_bits / 2
    }

    /// The least valid fraction `c`.
    pub fn fraction(self) -> f64 {
        f64::from(self.min_bits) / IrisCode::BITS as f64
    }

    /// The overlap any two gated eyes are guaranteed, in bits: `(2c − 1)·N` (0 if `c` ≤ ½).
    pub fn guaranteed_overlap(self) -> u32 {
        (2 * self.min_bits).saturating_sub(IrisCode::BITS as u32)
    }

    /// Whether one eye passes.
    pub fn passes(self, eye: &IrisCode) -> bool {
        eye.unmasked_bits() >= self.min_bits
    }
}

/// How many captures of a population a gate refuses: its failure-to-enrol rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct GateReport {
    /// The gate's minimum, in valid bits.
    pub min_bits: u32,
    /// Captures (two-eye templates) examined.
    pub captures: u64,
    /// Captures refused (an eye below the gate).
    pub refused_captures: u64,
    /// Eyes examined.
    pub eyes: u64,
    /// Eyes below the gate.
    pub refused_eyes: u64,
}

impl GateReport {
    /// Refused captures ÷ captures (0 for an empty population).
    pub fn failure_to_enrol(&self) -> f64 {
        if self.captures == 0 {
            0.0
        } else {
            self.refused_captures as f64 / self.captures as f64
        }
    }
}

impl CoverageGate {
    /// What the gate refuses among every capture of `population` (each capture is a
    /// genuine template of a real-looking eye pair, so every refusal is a failure to
    /// enrol or to verify).
    pub fn report(self, population: &crate::synth::IrisPopulation) -> GateReport {
        let mut r = GateReport {
            min_bits: self.min_bits,
            captures: 0,
            refused_captures: 0,
            eyes: 0,
            refused_eyes: 0,
        };
        for pair in population.persons.iter().flat_map(|p| &p.captures) {
            let refused = [&pair.left, &pair.right]
                .iter()
                .filter(|eye| !self.passes(eye))
                .count() as u64;
            r.captures += 1;
            r.eyes += 2;
            r.refused_eyes += refused;
            r.refused_captures += u64::from(refused > 0);
        }
        r
    }
}

impl Default for CoverageGate {
    fn default() -> Self {
        Self::default_gate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with_valid_cells(cells: usize) -> IrisCode {
        // A cell is 4 bits (2 filters × real/imag); masks are equal on each pair.
        IrisCode::from_fn(|i| i % 3 == 0, |i| i / 4 < cells).unwrap()
    }

    #[test]
    fn default_gate_guarantees_the_default_min_overlap() {
        let gate = CoverageGate::default();
        assert_eq!(gate.min_bits(), 7_200);
        assert_eq!(gate.min_pairs(), 3_600);
        assert!((gate.fraction() - 0.5625).abs() < 1e-12);
        assert_eq!(gate.guaranteed_overlap(), 1_600);
        assert!(gate.guaranteed_overlap() >= MinOverlap::DEFAULT.bits());
    }

    #[test]
    fn failure_to_enrol_of_the_synthetic_population_is_counted() {
        use crate::synth::IrisPopulation;
        use crate::synth::iris::IrisModel;
        let pop = IrisPopulation::generate(&IrisModel::default(), 5, 200, 2, &|| {});
        let report = CoverageGate::default().report(&pop);
        assert_eq!((report.captures, report.eyes), (400, 800));
        let by_hand = pop
            .persons
            .iter()
            .flat_map(|p| &p.captures)
            .filter(|c| c.left.unmasked_bits() < 7_200 || c.right.unmasked_bits() < 7_200)
            .count() as u64;
        assert_eq!(report.refused_captures, by_hand);
        // Synthetic coverage is 0.66 to 0.94, above c = 0.5625: nothing is refused.
        assert_eq!(report.refused_captures, 0);
        assert_eq!(report.failure_to_enrol(), 0.0);
        // A gate above the synthetic range refuses everything.
        let strict = CoverageGate::from_bits(12_800).report(&pop);
        assert_eq!(strict.refused_captures, 400);
    }

    #[test]
    fn edges_of_the_gate() {
        let gate = CoverageGate::default();
        assert!(!gate.passes(&with_valid_cells(0)));
        assert!(!gate.passes(&with_valid_cells(4)));
        assert!(!gate.passes(&with_valid_cells(1_799)));
        assert!(gate.passes(&with_valid_cells(1_800)));
        assert!(gate.passes(&with_valid_cells(3_200)));
        assert_eq!(CoverageGate::from_bits(7_199).min_bits(), 7_200);
        assert_eq!(CoverageGate::from_bits(u32::MAX).min_bits(), 12_800);
    }

    proptest! {
        /// The guarantee itself: two gated eyes, at any rotation, overlap in at least the
        /// promised number of bits.
        #[test]
        fn gated_eyes_always_overlap_enough(
            a_valid in 3_600usize..=6_400,
            b_valid in 3_600usize..=6_400,
            seed_a in any::<u64>(),
            seed_b in any::<u64>(),
            rotation in -15i32..=15,
        ) {
            let pick = |valid: usize, seed: u64| {
                // `valid` random valid pairs out of 6,400.
                let mut order: Vec<usize> = (0..6_400).collect();
                let mut s = seed | 1;
                for i in (1..order.len()).rev() {
                    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                    order.swap(i, (s % (i as u64 + 1)) as usize);
                }
                let keep: std::collections::HashSet<usize> = order[..valid].iter().copied().collect();
                IrisCode::from_fn(|_| false, |i| keep.contains(&(i / 2))).unwrap()
            };
            let gate = CoverageGate::default();
            let (a, b) = (pick(a_valid, seed_a), pick(b_valid, seed_b).rotated(rotation));
            prop_assert!(gate.passes(&a) && gate.passes(&b));
            let overlap: u32 = a.mask_words().iter().zip(b.mask_words()).map(|(x, y)| (x & y).count_ones()).sum();
            prop_assert!(overlap >= gate.guaranteed_overlap());
        }
    }
}
