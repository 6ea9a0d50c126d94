//! `masque bench match`: plaintext matcher throughput (see `masque_template::bench`).

use crate::output::{print_json, progress};
use clap::Args;
use masque_template::bench::{BenchConfig, BenchReport};
use masque_template::iris::ROTATION_COUNT;

#[derive(Args)]
pub struct BenchMatchArgs {
    /// Stored eyes in the 1:N search.
    #[arg(long, default_value_t = BenchConfig::default().eyes)]
    eyes: usize,
    /// Stored eyes scanned per single-core kernel run.
    #[arg(long, default_value_t = BenchConfig::default().kernel_eyes)]
    kernel_eyes: usize,
    /// Repetitions of each measurement (the median is reported).
    #[arg(long, default_value_t = BenchConfig::default().runs)]
    runs: usize,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: BenchMatchArgs) -> anyhow::Result<()> {
    let config = BenchConfig {
        eyes: args.eyes,
        kernel_eyes: args.kernel_eyes,
        runs: args.runs,
        ..BenchConfig::default()
    };
    let bar = progress(args.eyes as u64, "gallery");
    let report = masque_template::bench::run(config, &|done| bar.set_position(done as u64));
    bar.finish_and_clear();
    let figures = report?;
    if args.json {
        return print_json(&figures);
    }
    print_figures(&figures);
    Ok(())
}

fn print_figures(figures: &BenchReport) {
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
}
