//! `masque bench mpc`: three-party MPC matching throughput (see `masque_mpc::bench`).

use clap::Args;

/// Arguments of `masque bench mpc`.
#[derive(Args)]
pub struct BenchMpcArgs {
    /// Stored eyes per party. Each party keeps 76.8 KB of shares per eye and the three
    /// parties run in this one process, so memory is about 230 KB per eye.
    #[arg(long, default_value_t = 20_000)]
    eyes: usize,
    /// Queries, each compared with every eye over 31 rotations.
    #[arg(long, default_value_t = 1)]
    queries: usize,
    /// Seed of the random gallery and queries.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Runs the benchmark and prints its figures.
pub fn run(args: BenchMpcArgs) -> anyhow::Result<()> {
    let r = masque_mpc::bench::run(args.eyes, args.queries, args.seed)?;
    println!(
        "MPC 1:N, in-process transport, {} eyes x {} queries x 31 rotations = {} comparisons",
        r.eyes, r.queries, r.comparisons
    );
    println!(
        "  wall {:.3} s, CPU of the three parties {:.3} s",
        r.mpc_wall_seconds, r.mpc_cpu_seconds
    );
    println!("  comparisons/s per party-core: {:.0}", r.per_party_core);
    println!(
        "  bytes sent per comparison per party: {:.2}",
        r.bytes_per_comparison
    );
    println!(
        "  share bytes stored per eye per party: {}",
        r.share_bytes_per_eye
    );
    println!(
        "plaintext matcher ({}), one core: {:.0} comparisons/s",
        r.plaintext_kernel, r.plaintext_per_core
    );
    println!(
        "  MPC / plaintext: {:.5}",
        r.per_party_core / r.plaintext_per_core
    );
    println!("TLS transport: not implemented yet (no figure)");
    Ok(())
}
