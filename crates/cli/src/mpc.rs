//! `masque bench mpc`: three-party MPC matching throughput (see `masque_mpc::bench`).

use crate::output::{print_json, progress};
use clap::Args;
use masque_mpc::bench::TransportFigures;
use serde_json::json;

/// Arguments of `masque bench mpc`.
#[derive(Args)]
pub struct BenchMpcArgs {
    /// Stored eyes per party. Each party keeps 38.4 KB of shares per eye and the three
    /// parties run in this one process, so memory is about 120 KB per eye.
    #[arg(long, default_value_t = 100_000)]
    eyes: usize,
    /// Queries in the batch, each compared with every eye over 31 rotations.
    #[arg(long, default_value_t = 4)]
    queries: usize,
    /// Seed of the random gallery and queries.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

fn transport_json(t: &TransportFigures) -> serde_json::Value {
    json!({
        "comparisons_per_second_per_party_core": t.per_party_core,
        "wall_seconds": t.wall_seconds,
        "cpu_seconds_three_parties": t.cpu_seconds,
        "bytes_sent_per_comparison_per_party": t.bytes_per_comparison,
        "page_faults": t.page_faults,
    })
}

fn print_transport(name: &str, t: &TransportFigures) {
    let faults = t
        .page_faults
        .map(|f| format!("   {f} page faults"))
        .unwrap_or_default();
    println!(
        "  {name:<11} {:>12.0} comparisons/s per party-core   wall {:.3} s   CPU (3 parties) {:.3} s   {:.2} bytes sent per comparison per party{faults}",
        t.per_party_core, t.wall_seconds, t.cpu_seconds, t.bytes_per_comparison
    );
}

/// Runs the benchmark and prints its figures.
pub fn run(args: BenchMpcArgs) -> anyhow::Result<()> {
    let bar = progress(args.eyes as u64, "dealing and enrolling eyes");
    let r = masque_mpc::bench::run(args.eyes, args.queries, args.seed, &|done| {
        bar.set_position(done as u64)
    })?;
    bar.finish_and_clear();
    if args.json {
        return print_json(&json!({
            "eyes": r.eyes,
            "queries": r.queries,
            "comparisons": r.comparisons,
            "kernel": r.kernel,
            "in_process": transport_json(&r.in_process),
            "tls": transport_json(&r.tls),
            "share_bytes_per_eye_per_party": r.share_bytes_per_eye,
            "plaintext_per_core": r.plaintext_per_core,
            "plaintext_kernel": r.plaintext_kernel,
            "checks_seconds_per_query": r.checks_seconds / r.queries.max(1) as f64,
            "checks_over_search_in_process": r.checks_seconds / r.in_process.wall_seconds,
        }));
    }
    println!(
        "MPC 1:N, {} stored eyes x {} queries x 31 rotations = {} comparisons ({} kernel)",
        r.eyes, r.queries, r.comparisons, r.kernel
    );
    print_transport("in-process", &r.in_process);
    print_transport("TLS 1.3", &r.tls);
    println!(
        "  share bytes stored per eye per party: {:.0} (iris-mpc: 38,400)",
        r.share_bytes_per_eye
    );
    println!(
        "  checks before search (share validation + coverage gate), in-process: {:.1} ms per query, {:.4} of the search's wall time",
        1e3 * r.checks_seconds / r.queries.max(1) as f64,
        r.checks_seconds / r.in_process.wall_seconds
    );
    println!(
        "plaintext matcher ({}), one core: {:.0} comparisons/s",
        r.plaintext_kernel, r.plaintext_per_core
    );
    println!(
        "  MPC / plaintext: {:.4} in-process, {:.4} over TLS",
        r.in_process.per_party_core / r.plaintext_per_core,
        r.tls.per_party_core / r.plaintext_per_core
    );
    Ok(())
}
