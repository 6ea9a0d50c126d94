//! `masque bench match`: plaintext matcher throughput.
//!
//! Per kernel, one core scans a block of stored eyes with a query's 31 rotations; then the
//! best kernel searches the whole gallery on all cores. Gallery content does not change
//! the work done (every comparison counts every bit), so the gallery is filled with
//! random codes, which are quick to make. Medians of several runs are reported.

use crate::output::{print_json, progress};
use clap::Args;
use masque_template::HammingCounts;
use masque_template::IrisCode;
use masque_template::iris::ROTATION_COUNT;
use masque_template::matcher::gallery::EyePlanes;
use masque_template::matcher::layout::PackedRotations;
use masque_template::matcher::{EyeMode, IrisGallery, IrisQuery, Kernel, Matcher, RecordId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

#[derive(Args)]
pub struct BenchMatchArgs {
    /// Stored eyes in the 1:N search.
    #[arg(long, default_value_t = 1_000_000)]
    eyes: usize,
    /// Stored eyes scanned per single-core kernel run.
    #[arg(long, default_value_t = 20_000)]
    kernel_eyes: usize,
    /// Repetitions of each measurement (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct KernelFigure {
    kernel: &'static str,
    comparisons_per_second_per_core: f64,
    /// Time-stamp-counter cycles (constant rate) per comparison, on one core.
    tsc_cycles_per_comparison: Option<f64>,
    speedup_over_portable: f64,
}

#[derive(Serialize)]
struct Figures {
    cpu: String,
    threads: usize,
    kernels: Vec<KernelFigure>,
    search_kernel: &'static str,
    search_eyes: usize,
    search_comparisons: u64,
    search_seconds_median: f64,
    search_comparisons_per_second_per_core: f64,
    bytes_per_stored_eye: usize,
}

pub fn run(args: BenchMatchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.eyes > 0 && args.kernel_eyes > 0 && args.runs > 0,
        "sizes and --runs must be positive"
    );
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let query = random_code(&mut rng);
    let gallery = random_gallery(args.eyes, 7)?;
    let planes = gallery.planes(masque_template::Eye::Left);
    let rotations = PackedRotations::new(&query);

    let block = args.kernel_eyes.min(gallery.len());
    let mut kernels: Vec<KernelFigure> = Vec::new();
    for kernel in Kernel::available() {
        let (seconds, cycles) = median_kernel_run(kernel, &rotations, planes, block, args.runs);
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
    for _ in 0..args.runs {
        let start = Instant::now();
        let outcome = matcher.search(&gallery, &query)?;
        times.push(start.elapsed().as_secs_f64());
        comparisons = outcome.comparisons;
    }
    let search_seconds = median(times);
    let threads = rayon::current_num_threads();
    let figures = Figures {
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
    };
    if args.json {
        return print_json(&figures);
    }
    println!("cpu: {} ({} threads)", figures.cpu, figures.threads);
    println!(
        "{:<10} {:>22} {:>18} {:>10}",
        "kernel", "comparisons/s/core", "TSC cycles/comp", "speedup"
    );
    for k in &figures.kernels {
        println!(
            "{:<10} {:>22.3e} {:>18} {:>9.1}x",
            k.kernel,
            k.comparisons_per_second_per_core,
            k.tsc_cycles_per_comparison
                .map_or("n/a".into(), |c| format!("{c:.1}")),
            k.speedup_over_portable
        );
    }
    println!(
        "1:N search, {} stored eyes x {} rotations = {} comparisons: {:.3} s median wall ({:.3e} comparisons/s/core, kernel {})",
        figures.search_eyes,
        ROTATION_COUNT,
        figures.search_comparisons,
        figures.search_seconds_median,
        figures.search_comparisons_per_second_per_core,
        figures.search_kernel
    );
    println!(
        "stored template bytes per eye: {}",
        figures.bytes_per_stored_eye
    );
    Ok(())
}

fn median_kernel_run(
    kernel: Kernel,
    rotations: &PackedRotations,
    planes: &EyePlanes,
    block: usize,
    runs: usize,
) -> (f64, Option<f64>) {
    let mut out = vec![HammingCounts::default(); block * ROTATION_COUNT];
    let mut samples: Vec<(f64, Option<f64>)> = (0..runs)
        .map(|_| {
            let (start, tsc_start) = (Instant::now(), tsc());
            kernel.count(rotations, planes, 0..block, &mut out);
            let cycles = tsc()
                .zip(tsc_start)
                .map(|(end, begin)| (end - begin) as f64);
            (start.elapsed().as_secs_f64(), cycles)
        })
        .collect();
    samples.sort_by(|a, b| a.0.total_cmp(&b.0));
    std::hint::black_box(&out);
    samples[samples.len() / 2]
}

fn tsc() -> Option<u64> {
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

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Uniform random code bits; masks random per real/imag pair (about half valid).
fn random_code(rng: &mut impl Rng) -> IrisCode {
    let code: [u64; 200] = std::array::from_fn(|_| rng.random());
    let mask: [u64; 200] =
        std::array::from_fn(|_| (rng.random::<u64>() & 0x5555_5555_5555_5555) * 3);
    IrisCode::from_words(code, mask).expect("mask pairs are duplicated by construction")
}

fn random_gallery(eyes: usize, seed: u64) -> anyhow::Result<IrisGallery> {
    let mut gallery = IrisGallery::new(EyeMode::SingleEye);
    gallery.reserve(eyes);
    let bar = progress(eyes as u64, "gallery");
    const BATCH: usize = 16_384;
    for batch in 0..eyes.div_ceil(BATCH) {
        let range = batch * BATCH..((batch + 1) * BATCH).min(eyes);
        let codes: Vec<IrisCode> = range
            .clone()
            .into_par_iter()
            .map(|i| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(i as u64);
                random_code(&mut rng)
            })
            .collect();
        for (i, code) in range.zip(&codes) {
            gallery.insert_eye(RecordId(i as u64), code)?;
        }
        bar.inc(codes.len() as u64);
    }
    bar.finish_and_clear();
    Ok(gallery)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}
