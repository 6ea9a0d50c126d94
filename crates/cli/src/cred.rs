//! `masque bench cred`: medians of the anonymous-credential life cycle (the three issuance
//! steps, proof generation, verification) and the sizes of the serialised objects, for the
//! default (blst-based) backend and the zkryptium reference backend side by side.

use clap::Args;
use masque_cred::bench::{self, BenchReport, STEP_NAMES};

#[derive(Args)]
pub struct BenchCredArgs {
    /// Runs of the whole life cycle per backend (the median of each step is reported).
    #[arg(long, default_value_t = 30)]
    iterations: usize,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

fn report_json(report: &BenchReport) -> serde_json::Value {
    let steps: Vec<_> = STEP_NAMES
        .iter()
        .zip(report.medians.iter().zip(report.cpu_medians))
        .map(|(name, (wall, cpu))| {
            serde_json::json!({
                "step": name,
                "median_ms": wall.as_secs_f64() * 1e3,
                "cpu_median_ms": cpu.as_secs_f64() * 1e3,
            })
        })
        .collect();
    let sizes: Vec<_> = report
        .sizes
        .iter()
        .map(|(name, core, compact)| {
            serde_json::json!({"object": name, "core_bytes": core, "compact_bytes": compact})
        })
        .collect();
    serde_json::json!({
        "backend": report.backend,
        "iterations": report.iterations,
        "steps": steps,
        "sizes": sizes,
    })
}

pub fn run(args: BenchCredArgs) -> anyhow::Result<()> {
    let comparison = bench::compare(args.iterations)?;
    if args.json {
        let out = serde_json::json!({
            "default": report_json(&comparison.fast),
            "reference": report_json(&comparison.reference),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{comparison}");
    }
    Ok(())
}
