//! `masque bench cred`: medians of the anonymous-credential life cycle (the three issuance
//! steps, proof generation, verification) and the sizes of the serialised objects.

use clap::Args;
use masque_cred::backend::zkryptium::Zkryptium;
use masque_cred::bench::{self, STEP_NAMES};

#[derive(Args)]
pub struct BenchCredArgs {
    /// Runs of the whole life cycle (the median of each step is reported).
    #[arg(long, default_value_t = 30)]
    iterations: usize,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: BenchCredArgs) -> anyhow::Result<()> {
    let report = bench::run(Zkryptium, args.iterations)?;
    if args.json {
        let steps: Vec<_> = STEP_NAMES
            .iter()
            .zip(report.medians)
            .map(|(name, d)| serde_json::json!({"step": name, "median_ms": d.as_secs_f64() * 1e3}))
            .collect();
        let sizes: Vec<_> = report
            .sizes
            .iter()
            .map(|(name, core, compact)| {
                serde_json::json!({"object": name, "core_bytes": core, "compact_bytes": compact})
            })
            .collect();
        let out = serde_json::json!({
            "backend": report.backend,
            "iterations": report.iterations,
            "steps": steps,
            "sizes": sizes,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{report}");
    }
    Ok(())
}
