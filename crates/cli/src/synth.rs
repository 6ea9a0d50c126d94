//! `masque synth`: write a synthetic population file.

use crate::output::{print_json, progress};
use anyhow::Context;
use clap::Args;
use masque_template::synth::IrisPopulation;
use masque_template::synth::iris::IrisModel;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args)]
pub struct SynthArgs {
    /// Number of persons (two eyes each).
    #[arg(long, default_value_t = 1000)]
    persons: usize,
    /// Captures per person (capture 0 is enrolled, later ones are probes).
    #[arg(long, default_value_t = 2)]
    captures: usize,
    /// Seed: the same seed gives the same population.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file.
    #[arg(long, short)]
    out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Summary {
    file: String,
    persons: usize,
    captures: usize,
    eyes: usize,
    seed: u64,
    bytes: u64,
    seconds: f64,
}

pub fn run(args: SynthArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.persons > 0, "--persons must be at least 1");
    anyhow::ensure!(args.captures > 0, "--captures must be at least 1");
    let start = Instant::now();
    let bar = progress(args.persons as u64, "persons");
    let pop = IrisPopulation::generate(
        &IrisModel::default(),
        args.seed,
        args.persons,
        args.captures,
        &|| bar.inc(1),
    );
    bar.finish_and_clear();
    pop.write_file(&args.out, Some(args.seed))?;
    let summary = Summary {
        file: args.out.display().to_string(),
        persons: args.persons,
        captures: args.captures,
        eyes: args.persons * args.captures * 2,
        seed: args.seed,
        bytes: std::fs::metadata(&args.out)
            .with_context(|| format!("reading back {}", args.out.display()))?
            .len(),
        seconds: start.elapsed().as_secs_f64(),
    };
    if args.json {
        return print_json(&summary);
    }
    println!(
        "wrote {} persons x {} captures ({} iris codes, {} bytes) to {} in {:.1} s (seed {})",
        summary.persons,
        summary.captures,
        summary.eyes,
        summary.bytes,
        summary.file,
        summary.seconds,
        summary.seed
    );
    Ok(())
}
