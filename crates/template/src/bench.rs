//! The throughput measurement behind `masque bench match`.
//!
//! Per kernel, one core scans a block of stored eyes with a query's 31 rotations; then the
//! best kernel searches the whole gallery on all cores. Gallery content does not change
//! the work done (every comparison counts every bit), so the gallery is filled with
//! random codes ([`IrisCode::random`]), which are quick to make. Medians of several runs
//! are reported, with time-stamp-counter cycles per comparison where the CPU has one.

use crate::HammingCounts;
use crate::IrisCode;
use crate::iris::ROTATION_COUNT;
use crate::matcher::gallery::EyePlanes;
use crate::matcher::layout::PackedRotations;
use crate::matcher::{EyeMode, GalleryError, IrisGallery, IrisQuery, Kernel, Matcher, RecordId};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// Mask density of the benchmark's random codes: about half of each code valid. It does
/// not change the work (every bit is counted), only keeps the codes realistic.
pub const MASK_DENSITY: f64 = 0.5;

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchConfig {
    /// Stored eyes in the 1:N search.
    pub eyes: usize,
    /// Stored eyes scanned per single-core kernel run (at most `eyes`).
    pub kernel_eyes: usize,
    /// Repetitions of each measurement; the median is reported.
    pub runs: usize,
    /// Seed of the random gallery and query.
    pub seed: u64,
}

impl Default for BenchConfig {
    /// A million stored eyes, 20,000 per kernel run, five runs, seed 7.
    fn default() -> Self {
        Self {
            eyes: 1_000_000,
            kernel_eyes: 20_000,
            runs: 5,
            seed: 7,
        }
    }
}

/// Why the benchmark could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BenchError {
    /// A size or the number of runs was zero.
    #[error("{what} is 0; the benchmark needs at least one stored eye, one kernel eye and one run")]
    Zero {
        /// Which setting.
        what: &'static str,
    },
    /// The gallery refused a record (a bug: ids are fresh and shapes fixed).
    #[error(transparent)]
    Gallery(#[from] GalleryError),
}

/// One kernel's figures, on one core.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KernelFigure {
    /// The kernel's name ([`Kernel::name`]).
    pub kernel: &'static str,
    /// Comparisons (stored eye x rotation) per second on one core, median run.
    pub comparisons_per_second_per_core: f64,
    /// Time-stamp-counter cycles (constant rate) per comparison on one core; `None`
    /// where the CPU has no readable time-stamp counter.
    pub tsc_cycles_per_comparison: Option<f64>,
    /// Rate relative to the portable kernel (the first measured).
    pub speedup_over_portable: f64,
}

/// Everything one benchmark run measured. Field names are those of
/// `masque bench match --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// The CPU model ([`cpu_model`]).
    pub cpu: String,
    /// Threads of the search (rayon's pool).
    pub threads: usize,
    /// Every available kernel, slowest first.
    pub kernels: Vec<KernelFigure>,
    /// The kernel of the 1:N search ([`Kernel::best`]).
    pub search_kernel: &'static str,
    /// Stored eyes searched.
    pub search_eyes: usize,
    /// Comparisons of one search: eyes x 31 rotations.
    pub search_comparisons: u64,
    /// Median wall time of one search.
    pub search_seconds_median: f64,
    /// Search comparisons per second divided by the thread count.
    pub search_comparisons_per_second_per_core: f64,
    /// Bytes of template data per stored eye.
    pub bytes_per_stored_eye: usize,
}

/// Runs the benchmark. `progress` is called with the number of gallery eyes made so far.
///
/// # Errors
/// [`BenchError::Zero`] if a size or `runs` is 0.
pub fn run(
    config: BenchConfig,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<BenchReport, BenchError> {
    for (what, value) in [
        ("the number of stored eyes", config.eyes),
        ("the number of eyes per kernel run", config.kernel_eyes),
        ("the number of runs", config.runs),
    ] {
        if value == 0 {
            return Err(BenchError::Zero { what });
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed.wrapping_add(1));
    let query = IrisCode::random(&mut rng, MASK_DENSITY);
    let gallery = random_gallery(config.eyes, config.seed, progress)?;
    let planes = gallery.planes(crate::Eye::Left);
    let rotations = PackedRotations::new(&query);

    let block = config.kernel_eyes.min(gallery.len());
    let mut kernels: Vec<KernelFigure> = Vec::new();
    for kernel in Kernel::available() {
        let (seconds, cycles) = median_kernel_run(kernel, &rotations, planes, block, config.runs);
        let comparisons = (block * ROTATION_COUNT) as f64;
        let rate = comparisons / seconds;
        let portable = kernels
            .first()
            .map_or(rate, |k| k.comparisons_per_second_per_core);
        kernels.push(KernelFigure {
            kernel: kernel.name(),
            comparisons_per_second_per_core: rate,
            tsc_cycles_per_comparison: cycles.map(|c| c / comparisons),
            speedup_over_portable: rate / portable,
        });
    }

    let matcher = Matcher::default();
    let query = IrisQuery::single(&query);
    let mut times = Vec::new();
    let mut comparisons = 0;
    for _ in 0..config.runs {
        let start = Instant::now();
        let outcome = matcher.search(&gallery, &query)?;
        times.push(start.elapsed().as_secs_f64());
        comparisons = outcome.comparisons;
    }
    let search_seconds = median(times);
    let threads = rayon::current_num_threads();
    Ok(BenchReport {
        cpu: cpu_model(),
        threads,
        kernels,
        search_kernel: matcher.kernel.name(),
        search_eyes: gallery.len(),
        search_comparisons: comparisons,
        search_seconds_median: search_seconds,
        search_comparisons_per_second_per_core: comparisons as f64
            / search_seconds
            / threads as f64,
        bytes_per_stored_eye: EyePlanes::BYTES_PER_EYE,
    })
}

/// The median run of `kernel` over the first `block` eyes: (seconds, TSC cycles).
fn median_kernel_run(
    kernel: Kernel,
    rotations: &PackedRotations,
    planes: &EyePlanes,
    block: usize,
    runs: usize,
) -> (f64, Option<f64>) {
    let mut out = vec![HammingCounts::default(); block * ROTATION_COUNT];
    let mut samples: Vec<(f64, Option<f64>)> = (0..runs.max(1))
        .map(|_| {
            let (start, tsc_start) = (Instant::now(), tsc());
            kernel.count(rotations, planes, 0..block, &mut out);
            let cycles = tsc()
                .zip(tsc_start)
                .map(|(end, begin)| end.wrapping_sub(begin) as f64);
            (start.elapsed().as_secs_f64(), cycles)
        })
        .collect();
    samples.sort_by(|a, b| a.0.total_cmp(&b.0));
    std::hint::black_box(&out);
    samples[samples.len() / 2]
}

/// The time-stamp counter, where the CPU has one (x86-64).
pub fn tsc() -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC is available on every x86-64 CPU and has no memory effects.
        Some(unsafe { std::arch::x86_64::_rdtsc() })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// The middle value (the upper one of an even count); NaN for no values.
fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// A single-eye gallery of `eyes` random codes ([`MASK_DENSITY`]), record `i` made from
/// its own ChaCha8 stream of `seed`, so the gallery does not depend on the thread count.
/// `progress` is called with the number of eyes made so far.
///
/// # Errors
/// None in practice: ids are fresh and every record has one eye.
pub fn random_gallery(
    eyes: usize,
    seed: u64,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<IrisGallery, GalleryError> {
    let mut gallery = IrisGallery::new(EyeMode::SingleEye);
    gallery.reserve(eyes);
    const BATCH: usize = 16_384;
    for batch in 0..eyes.div_ceil(BATCH) {
        let range = batch * BATCH..((batch + 1) * BATCH).min(eyes);
        let codes: Vec<IrisCode> = range
            .clone()
            .into_par_iter()
            .map(|i| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(i as u64);
                IrisCode::random(&mut rng, MASK_DENSITY)
            })
            .collect();
        for (i, code) in range.clone().zip(&codes) {
            gallery.insert_eye(RecordId(i as u64), code)?;
        }
        progress(range.end);
    }
    Ok(gallery)
}

/// The CPU model from `/proc/cpuinfo` (Linux), else `"unknown"`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| model_name(&s))
        .unwrap_or_else(|| "unknown".into())
}

/// The first `model name` of a `/proc/cpuinfo` text.
fn model_name(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_owned())
        .filter(|m| !m.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tiny_run_reports_consistent_figures() {
        let config = BenchConfig {
            eyes: 300,
            kernel_eyes: 1_000,
            runs: 3,
            seed: 1,
        };
        let done = std::sync::atomic::AtomicUsize::new(0);
        let r = run(config, &|n| {
            done.store(n, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(done.into_inner(), 300);
        assert_eq!(r.search_eyes, 300);
        assert_eq!(r.search_comparisons, 300 * 31);
        assert_eq!(r.kernels.len(), Kernel::available().len());
        assert_eq!(r.kernels[0].kernel, "portable");
        assert_eq!(r.kernels[0].speedup_over_portable, 1.0);
        assert_eq!(r.search_kernel, Kernel::best().name());
        assert_eq!(r.bytes_per_stored_eye, EyePlanes::BYTES_PER_EYE);
        for k in &r.kernels {
            assert!(k.comparisons_per_second_per_core > 0.0, "{k:?}");
        }
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["kernels"][0]["tsc_cycles_per_comparison"].is_number() || tsc().is_none());
    }

    #[test]
    fn zero_sizes_are_refused() {
        let zero = |c: BenchConfig| run(c, &|_| ()).unwrap_err();
        let base = BenchConfig {
            eyes: 10,
            kernel_eyes: 10,
            runs: 1,
            seed: 1,
        };
        for config in [
            BenchConfig { eyes: 0, ..base },
            BenchConfig {
                kernel_eyes: 0,
                ..base
            },
            BenchConfig { runs: 0, ..base },
        ] {
            assert!(matches!(zero(config), BenchError::Zero { .. }));
        }
    }

    #[test]
    fn galleries_do_not_depend_on_the_batching() {
        let a = random_gallery(20, 3, &|_| ()).unwrap();
        let b = random_gallery(40, 3, &|_| ()).unwrap();
        for e in 0..20 {
            assert_eq!(
                a.planes(crate::Eye::Left).eye(e),
                b.planes(crate::Eye::Left).eye(e)
            );
        }
    }

    #[test]
    fn cpu_model_is_parsed_from_cpuinfo() {
        let text = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t: fpu\n\nprocessor\t: 1\nmodel name\t: other\n";
        assert_eq!(
            model_name(text).as_deref(),
            Some("Intel(R) Xeon(R) Platinum 8480+")
        );
        assert_eq!(model_name("processor: 0\n"), None);
        assert_eq!(model_name("model name\t:\n"), None);
        assert!(!cpu_model().is_empty());
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert!(median(Vec::new()).is_nan());
    }
}
