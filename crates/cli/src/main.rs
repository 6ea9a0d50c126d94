//! `masque`: the command-line tool. It parses arguments and wires the library crates;
//! the logic lives in the libraries.

mod bench_e2e;
mod bench_mask;
mod bench_match;
mod bench_watch;
mod cred;
mod devnet;
mod eval;
mod huge_pages;
mod log;
mod mask;
mod matching;
mod mpc;
mod mpc_net;
mod node;
mod output;
mod person;
mod reuse;
mod service;
mod synth;
mod wallet;
mod watch;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "masque",
    version,
    about = "Privacy-preserving biometric identity network"
)]
struct Cli {
    /// How diagnostics (warnings, server events) are written to stderr: `human` or `json`
    /// (one JSON object per line). Which ones: `RUST_LOG` (default `info`).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// Format of the diagnostics on stderr.
#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    /// Readable lines.
    Human,
    /// JSON lines, for log collectors.
    Json,
}

/// Sends the libraries' `tracing` events (a witness that did not cosign, a TLS link that
/// failed, a fork seen by a witness) to stderr, filtered by `RUST_LOG`.
fn init_diagnostics(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation cannot happen here (main runs once); ignore it if it did.
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

#[derive(Subcommand)]
enum Command {
    /// Generate a synthetic population of iris codes and write it to a file.
    Synth(synth::SynthArgs),
    /// Search a gallery (1:N) with one or more queries, in plaintext.
    Match(matching::MatchArgs),
    /// Measure accuracy on a population: FMR/FNMR, EER, DET plot, unlinkability.
    Eval(eval::EvalArgs),
    /// Measure performance.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// Transparency log: keys, serving, witnessing, appending, proofs and verification.
    Log {
        #[command(subcommand)]
        what: log::LogCommand,
    },
    /// Three-party MPC custodians: network set-up.
    Mpc {
        #[command(subcommand)]
        what: mpc_net::MpcCommand,
    },
    /// A whole network on this machine: keys, a seeded population, three custodians, the
    /// log and a witness, until Ctrl-C.
    Devnet(devnet::DevnetArgs),
    /// Custodian node: serve the API, run the flows with the other two custodians.
    Node {
        #[command(subcommand)]
        what: node::NodeCommand,
    },
    /// The person's wallet: recovery phrase, keys, records, credentials.
    Wallet {
        #[command(subcommand)]
        what: wallet::WalletCommand,
    },
    /// Relying-party service and the example aid desk: config, run, rounds.
    Service {
        #[command(subcommand)]
        what: service::ServiceCommand,
    },
    /// Enrol a person at a station: the capture's shares go sealed to the custodians.
    Enroll(person::EnrollArgs),
    /// Check a fresh capture against your record (1:1), for yourself or a service.
    Verify(person::VerifyArgs),
    /// Delete your record at the custodians.
    Delete(person::DeleteArgs),
    /// Give, withdraw and list consents for services to check your record.
    Consent {
        #[command(subcommand)]
        what: person::ConsentCommand,
    },
    /// Get your anonymous credential from the custodians (again after `masque verify` on a
    /// restored wallet: the same pseudonyms come back).
    Credential(person::CredentialArgs),
    /// Prove to a service that you are a unique enrolled person; prints your pseudonym there.
    Present(person::PresentArgs),
    /// Find and explain every log entry about your records.
    Audit(person::AuditArgs),
    /// Copy photos with every face covered and all metadata (EXIF, GPS, XMP...) removed,
    /// safer to publish.
    Mask(mask::MaskArgs),
    /// The watchdog: follow the log, replay its rules, flag abuse, export and check
    /// evidence.
    Watch {
        #[command(subcommand)]
        what: watch::WatchCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Transparency log: durable appends/s, proof builds and verifications/s, bytes per entry.
    Log(log::BenchLogArgs),
    /// Plaintext matcher throughput per SIMD path and 1:N time on a large gallery.
    Match(bench_match::BenchMatchArgs),
    /// Anonymous credentials: issuance, proof generation and verification medians, sizes.
    Cred(cred::BenchCredArgs),
    /// Three-party MPC 1:N throughput per party-core, bytes per comparison, share sizes.
    Mpc(mpc::BenchMpcArgs),
    /// The network end to end: enrolment and 1:1 latency, concurrent stations, memory.
    E2e(bench_e2e::BenchE2eArgs),
    /// The watchdog: entries verified and replayed per second following a large log over
    /// loopback HTTP, and its memory.
    Watch(bench_watch::BenchWatchArgs),
    /// `masque mask`: seconds per 12-megapixel photo and per 1080p frame, peak memory.
    Mask(bench_mask::BenchMaskArgs),
}

/// The system allocator, with transparent huge pages asked for on large blocks (see
/// `huge_pages.rs`: without, a masking run spent about a sixth of its CPU time in the
/// kernel, mostly faulting in fresh tensors), and large freed blocks kept for the next
/// tensor of their size (`reuse.rs`: the kernel no longer zeroes them afresh each frame).
#[global_allocator]
static ALLOCATOR: reuse::Reuse<huge_pages::HugePages> = reuse::Reuse::new(huge_pages::HugePages);

fn main() -> anyhow::Result<()> {
    quiet_library_backtraces();
    let cli = Cli::parse();
    init_diagnostics(cli.log_format);
    match cli.command {
        Command::Synth(args) => synth::run(args),
        Command::Match(args) => matching::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Log { what } => log::run(what),
        Command::Mpc { what } => mpc_net::run(what),
        Command::Devnet(args) => devnet::run(args),
        Command::Node { what } => node::run(what),
        Command::Wallet { what } => wallet::run(what),
        Command::Service { what } => service::run(what),
        Command::Enroll(args) => person::enroll(args),
        Command::Verify(args) => person::verify(args),
        Command::Delete(args) => person::delete(args),
        Command::Consent { what } => person::consent(what),
        Command::Credential(args) => person::credential(args),
        Command::Present(args) => person::present(args),
        Command::Audit(args) => person::audit(args),
        Command::Watch { what } => watch::run(what),
        Command::Mask(args) => mask::run(args),
        Command::Bench { what } => match what {
            BenchCommand::Log(args) => log::bench(args),
            BenchCommand::Match(args) => bench_match::run(args),
            BenchCommand::Cred(args) => cred::run(args),
            BenchCommand::Mpc(args) => mpc::run(args),
            BenchCommand::E2e(args) => bench_e2e::run(args),
            BenchCommand::Watch(args) => bench_watch::run(args),
            BenchCommand::Mask(args) => bench_mask::run(args),
        },
    }
}

/// Errors made inside libraries carry no backtrace unless `RUST_LIB_BACKTRACE` asks for
/// them; panics still follow `RUST_BACKTRACE`. Why: tract's graph optimiser makes and
/// drops thousands of `anyhow` errors while it builds a plan for a new input size, and
/// with `RUST_BACKTRACE=1` in the environment each one captured a backtrace: a plan took
/// 0.27 s to build instead of 0.09 s, and a 50-frame video, which builds a plan for each
/// new size of its re-check's inputs, took 5 % longer (`docs/BENCHMARKS.md`).
fn quiet_library_backtraces() {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: called first thing in `main`, before this process starts any thread,
        // so nothing reads or writes the environment at the same time.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
}
