//! `masque bench mpc`: three-party MPC matching throughput (see `masque_mpc::bench`).

use crate::output::{print_json, progress};
use clap::{Args, ValueEnum};
use masque_mpc::bench::{BenchConfig, BenchReport, TransportFigures};
use masque_mpc::matmul::Kernel;
use masque_mpc::profile::Phase;
use serde_json::json;

/// A matrix kernel to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KernelArg {
    /// The portable reference (plain `u16` loops).
    Portable,
    /// AVX2 (x86-64 without AVX-512).
    Avx2,
    /// AVX-512 VNNI.
    Vnni,
    /// AMX-INT8.
    Amx,
    /// The one the engine picks here by itself (AMX, else VNNI, else AVX2, else portable).
    Auto,
    /// Every kernel this machine can run, portable first.
    All,
}

/// Arguments of `masque bench mpc`.
#[derive(Args)]
pub struct BenchMpcArgs {
    /// Stored eyes per party. Each party keeps 38.4 KB of shares per eye and the three
    /// parties run in this one process, so memory is about 120 KB per eye.
    #[arg(long, default_value_t = 100_000)]
    eyes: usize,
    /// Queries in all, each compared with every eye over 31 rotations.
    #[arg(long, default_value_t = 4)]
    queries: usize,
    /// Queries per session (one batched 1:N search); default: all of them in one.
    #[arg(long)]
    batch: Option<usize>,
    /// Matrix kernels to run the same queries on, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "auto")]
    kernel: Vec<KernelArg>,
    /// Skip the loopback TLS run (in-process transport only).
    #[arg(long)]
    no_tls: bool,
    /// Seed of the random gallery and queries.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

fn kernels(args: &[KernelArg]) -> Vec<Kernel> {
    let mut out: Vec<Kernel> = Vec::new();
    for a in args {
        let more = match a {
            KernelArg::Portable => vec![Kernel::Portable],
            KernelArg::Avx2 => vec![Kernel::Avx2],
            KernelArg::Vnni => vec![Kernel::Vnni],
            KernelArg::Amx => vec![Kernel::Amx],
            KernelArg::Auto => vec![Kernel::best()],
            KernelArg::All => Kernel::available(),
        };
        for k in more {
            if !out.contains(&k) {
                out.push(k);
            }
        }
    }
    out
}

fn profile_json(t: &TransportFigures) -> serde_json::Value {
    let mut split = serde_json::Map::new();
    for phase in Phase::ALL {
        split.insert(
            phase.name().to_string(),
            json!(t.profile.seconds(phase) / t.party_seconds),
        );
    }
    split.insert(
        "untimed".to_string(),
        json!(1.0 - t.profile.total_seconds() / t.party_seconds),
    );
    serde_json::Value::Object(split)
}

fn transport_json(t: &TransportFigures, plaintext: f64) -> serde_json::Value {
    json!({
        "comparisons_per_second_per_party_core": t.per_party_core,
        "mpc_over_plaintext": t.per_party_core / plaintext,
        "wall_seconds": t.wall_seconds,
        "cpu_seconds_three_parties": t.cpu_seconds,
        "bytes_sent_per_comparison_per_party": t.bytes_per_comparison,
        "page_faults": t.page_faults,
        "sessions": t.sessions,
        "latency_seconds_per_query": t.latency_seconds,
        "profile_share_of_party_time": profile_json(t),
    })
}

fn print_transport(name: &str, t: &TransportFigures, plaintext: f64) {
    let faults = t
        .page_faults
        .map(|f| format!("   {f} page faults"))
        .unwrap_or_default();
    println!(
        "  {name:<11} {:>12.0} comparisons/s per party-core   MPC / plaintext {:.4}   {:.2} bytes sent per comparison per party",
        t.per_party_core,
        t.per_party_core / plaintext,
        t.bytes_per_comparison
    );
    println!(
        "  {:<11} wall {:.3} s   CPU (3 parties) {:.3} s   {} session(s), latency per query (median session) {:.3} s{faults}",
        "", t.wall_seconds, t.cpu_seconds, t.sessions, t.latency_seconds
    );
    let split: Vec<String> = Phase::ALL
        .iter()
        .map(|&p| {
            format!(
                "{} {:.1}%",
                p.name(),
                100.0 * t.profile.seconds(p) / t.party_seconds
            )
        })
        .collect();
    println!(
        "  {:<11} party time: {}, untimed {:.1}%",
        "",
        split.join(", "),
        100.0 * (1.0 - t.profile.total_seconds() / t.party_seconds)
    );
}

fn print_report(r: &BenchReport) {
    println!(
        "MPC 1:N, {} stored eyes x {} queries x 31 rotations = {} comparisons per kernel and transport, {} session(s) of up to {} queries",
        r.eyes,
        r.queries,
        r.comparisons,
        r.queries.div_ceil(r.batch),
        r.batch
    );
    println!(
        "  kernel chosen here: {}   AMX available: {}",
        r.best_kernel.name(),
        if r.amx_available { "yes" } else { "no" }
    );
    for run in &r.runs {
        println!("kernel {}:", run.kernel.name());
        print_transport("in-process", &run.in_process, r.plaintext_per_core);
        if let Some(tls) = &run.tls {
            print_transport("TLS 1.3", tls, r.plaintext_per_core);
        }
    }
    println!(
        "  share bytes stored per eye per party: {:.0} (iris-mpc: 38,400)",
        r.share_bytes_per_eye
    );
    println!(
        "  checks before search (share validation + coverage gate), in-process: {:.1} ms per query",
        1e3 * r.checks_seconds / r.queries.max(1) as f64,
    );
    println!(
        "plaintext matcher ({}), one core: {:.0} comparisons/s",
        r.plaintext_kernel, r.plaintext_per_core
    );
}

/// Runs the benchmark and prints its figures.
pub fn run(args: BenchMpcArgs) -> anyhow::Result<()> {
    let config = BenchConfig {
        batch: args.batch.unwrap_or(args.queries),
        kernels: kernels(&args.kernel),
        tls: !args.no_tls,
        ..BenchConfig::new(args.eyes, args.queries, args.seed)
    };
    let bar = progress(args.eyes as u64, "dealing and enrolling eyes");
    let r = masque_mpc::bench::run(&config, &|done| bar.set_position(done as u64))?;
    bar.finish_and_clear();
    if args.json {
        let plaintext = r.plaintext_per_core;
        return print_json(&json!({
            "eyes": r.eyes,
            "queries": r.queries,
            "batch": r.batch,
            "comparisons": r.comparisons,
            "kernel_chosen_here": r.best_kernel.name(),
            "amx_available": r.amx_available,
            "kernels": r.runs.iter().map(|run| json!({
                "kernel": run.kernel.name(),
                "in_process": transport_json(&run.in_process, plaintext),
                "tls": run.tls.as_ref().map(|t| transport_json(t, plaintext)),
            })).collect::<Vec<_>>(),
            "share_bytes_per_eye_per_party": r.share_bytes_per_eye,
            "plaintext_per_core": plaintext,
            "plaintext_kernel": r.plaintext_kernel,
            "checks_seconds_per_query": r.checks_seconds / r.queries.max(1) as f64,
        }));
    }
    print_report(&r);
    Ok(())
}
