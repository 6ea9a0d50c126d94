//! `masque bench mask` without building the whole command-line tool:
//! `cargo run --release -p masque-mask --example bench_mask -- [WIDTH HEIGHT RUNS FRAMES all|none|auto VIDEO_FRAMES DEFACE]`
//! prints the same figures as JSON (the measurement is `masque_mask::bench::run`).

use masque_mask::Rotations;
use masque_mask::bench::{BenchOptions, run};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: usize| {
        args.get(i)
            .map(|a| a.parse::<usize>())
            .transpose()
            .map(|v| v.unwrap_or(default))
    };
    let rotations = match args.get(4).map(String::as_str) {
        None | Some("auto") => Rotations::Auto,
        Some("all") => Rotations::All,
        Some("none") => Rotations::None,
        Some(other) => return Err(format!("rotations: auto, all or none, not {other}").into()),
    };
    let report = run(&BenchOptions {
        width: u32::try_from(num(0, 4000)?)?,
        height: u32::try_from(num(1, 3000)?)?,
        runs: num(2, 3)?,
        frames: num(3, 3)?,
        rotations,
        video_frames: num(5, 0)?,
        deface: args.get(6).map(Into::into),
    })?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
