//! The throughput measurement behind `masque bench mpc` and the criterion bench.
//!
//! Builds a single-eye gallery of random codes, deals it to the three parties, runs the
//! same 1:N queries once over the in-process transport and once over loopback TLS 1.3
//! (one thread per party in both cases), and measures the same queries with the
//! plaintext matcher on one core in the same run. The queries come as enrolment requests
//! (query and enrolment forms) in sessions of `batch`
//! ([`PartyEngine::search_batch`]), so a batch also compares its members with one
//! another; those `(batch − 1) / 2 · 31` extra comparisons per query are not counted.
//!
//! Comparisons per second per party-core follow the cost unit of `docs/architecture.md`
//! (section MPC): comparisons ÷ (CPU seconds of all three parties ÷ 3). CPU time is the
//! process's (`getrusage`: the party threads, the kernel's worker threads and the TLS I/O
//! threads, nothing else runs during the queries); where that is unavailable, the party
//! threads' own on-CPU time (`/proc/thread-self/schedstat`) plus the TLS I/O threads',
//! else wall time.

use crate::dealer::{EnrolmentShare, QueryShare, enrolment_shares_with, query_shares_with};
use crate::engine::{EngineError, PartyEngine};
use crate::gallery::{Gallery, RecordId};
use crate::matmul::Kernel;
use crate::net::Transport;
use crate::net::local::LocalNetwork;
use crate::net::tls::{TlsError, loopback};
use crate::party::PartyId;
use crate::profile::{self, Profile};
use crate::randomness::{PartySeeds, SessionId};
use masque_template::iris::ROTATION_COUNT;
use masque_template::matcher::{
    DecisionRule, EyeMode, IrisGallery, IrisQuery, Kernel as MatchKernel, Matcher,
};
use masque_template::{CoverageGate, FixedPointRule, IrisCode, Threshold};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use std::time::{Duration, Instant};

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A party's query or insertion failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The loopback TLS network could not be set up.
    #[error("loopback TLS: {0}")]
    Tls(#[from] TlsError),
    /// The parties opened different bits, or two kernels or transports did (a bug).
    #[error("the parties opened different results")]
    Disagreement,
    /// A kernel asked for cannot run on this machine.
    #[error("the {} kernel is not available on this machine (available: {})", .0.name(), available_names())]
    KernelUnavailable(Kernel),
    /// The configuration cannot be run (no queries, no kernel, batch of zero).
    #[error("bad benchmark configuration: {0}")]
    Config(&'static str),
}

fn available_names() -> String {
    Kernel::available()
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Stored eyes per party.
    pub eyes: usize,
    /// Queries in all (each against every eye, 31 rotations).
    pub queries: usize,
    /// Queries per session (one 1:N batch); the last session may hold fewer.
    pub batch: usize,
    /// The matrix kernels to run the same queries on, one after the other.
    pub kernels: Vec<Kernel>,
    /// Whether to run over loopback TLS 1.3 too (besides the in-process transport).
    pub tls: bool,
    /// Seed of the random gallery and queries.
    pub seed: u64,
}

impl BenchConfig {
    /// `eyes` × `queries` in one batch on the best kernel, both transports.
    pub fn new(eyes: usize, queries: usize, seed: u64) -> Self {
        Self {
            eyes,
            queries,
            batch: queries,
            kernels: vec![Kernel::best()],
            tls: true,
            seed,
        }
    }
}

/// The figures of one transport.
#[derive(Debug, Clone)]
pub struct TransportFigures {
    /// Wall-clock seconds of all the sessions together.
    pub wall_seconds: f64,
    /// CPU seconds of the three parties together.
    pub cpu_seconds: f64,
    /// Comparisons per second per party-core.
    pub per_party_core: f64,
    /// Payload bytes each party sent per comparison (largest of the three).
    pub bytes_per_comparison: f64,
    /// Minor page faults of the process during the queries (fresh memory the kernel had
    /// to map and zero), where the platform reports them: a deterministic measure of
    /// allocation churn on a noisy machine.
    pub page_faults: Option<u64>,
    /// Sessions run (queries ÷ batch, rounded up).
    pub sessions: usize,
    /// Median wall seconds of one session: the latency of each query in it, since a
    /// batch's answers all come at its end.
    pub latency_seconds: f64,
    /// Wall seconds of the three party threads in their sessions, added up (the
    /// denominator of the profile's shares).
    pub party_seconds: f64,
    /// Where the party threads' time went ([`crate::profile`]), summed over the three.
    pub profile: Profile,
}

/// One kernel's run of the same queries.
#[derive(Debug, Clone)]
pub struct KernelFigures {
    /// The matrix kernel the parties used.
    pub kernel: Kernel,
    /// Over the in-process transport.
    pub in_process: TransportFigures,
    /// Over loopback TLS 1.3, if asked for.
    pub tls: Option<TransportFigures>,
}

/// What one benchmark run measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Stored eyes per party.
    pub eyes: usize,
    /// Queries in all.
    pub queries: usize,
    /// Queries per session.
    pub batch: usize,
    /// Comparisons per kernel and transport: queries × eyes × 31 rotations.
    pub comparisons: u64,
    /// Whether this machine can run the AMX kernel (CPU flags and the OS's grant).
    pub amx_available: bool,
    /// The kernel chosen automatically here ([`Kernel::best`]).
    pub best_kernel: Kernel,
    /// Per kernel, in the order asked for.
    pub runs: Vec<KernelFigures>,
    /// Plaintext matcher comparisons per second on one core, same queries and gallery.
    pub plaintext_per_core: f64,
    /// The plaintext kernel used.
    pub plaintext_kernel: String,
    /// Bytes of shares stored per eye per party (measured from the gallery).
    pub share_bytes_per_eye: f64,
    /// Wall seconds of the per-template checks a custodian runs on the same queries
    /// before searching (share validation, then the coverage gate), in process: their
    /// cost is per query, not per comparison.
    pub checks_seconds: f64,
}

/// Mask density of the random codes: about 3/4 valid (the work does not depend on it).
const MASK_DENSITY: f64 = 0.75;

/// This thread's CPU time so far.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// CPU time of the whole process so far: every thread, finished ones included.
pub fn process_cpu() -> Option<Duration> {
    process_usage().map(|(cpu, _)| cpu)
}

/// The process's CPU time and its minor page faults so far (Linux x86-64 only).
fn process_usage() -> Option<(Duration, u64)> {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: `usage` is writable memory of the size of `rusage`, which is all
        // getrusage writes; RUSAGE_SELF is a valid `who`.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
            return None;
        }
        // SAFETY: getrusage returned 0, so it filled the struct (which was zeroed anyway,
        // and all-zero bytes are a valid `rusage`).
        let usage = unsafe { usage.assume_init() };
        let time = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec.max(0) as u64)
                + Duration::from_micros(t.tv_usec.max(0) as u64)
        };
        Some((
            time(usage.ru_utime) + time(usage.ru_stime),
            usage.ru_minflt.max(0) as u64,
        ))
    }
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    {
        None
    }
}

/// One party's result of one session: its thread's CPU time and wall time, the bytes
/// it sent, the bits it opened.
struct PartyRun {
    cpu: Duration,
    wall: Duration,
    bytes: u64,
    bits: Vec<bool>,
}

/// One enrolment request's shares at one party: its query form and its enrolment form.
type Request = (Vec<QueryShare>, Vec<EnrolmentShare>);

/// Runs a batch of enrolment requests (1:N with the batch's own members,
/// [`PartyEngine::search_batch`]) at the three parties on their own threads.
fn run_parties<T: Transport + Send>(
    engines: &[PartyEngine; 3],
    transports: [T; 3],
    queries: [&[Request]; 3],
    session: SessionId,
) -> Result<Vec<PartyRun>, EngineError> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = engines
            .iter()
            .zip(transports)
            .zip(queries)
            .map(|((engine, mut net), queries)| {
                scope.spawn(move || {
                    let wall = Instant::now();
                    let cpu0 = thread_cpu();
                    let bits = engine.search_batch(&mut net, session, queries)?;
                    let wall = wall.elapsed();
                    let cpu = match (cpu0, thread_cpu()) {
                        (Some(a), Some(b)) => b - a,
                        _ => wall,
                    };
                    Ok(PartyRun {
                        cpu,
                        wall,
                        bytes: net.bytes_sent(),
                        bits,
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("party thread"))
            .collect()
    })
}

fn faults_now() -> Option<u64> {
    process_usage().map(|(_, faults)| faults)
}

/// Runs `queries` in sessions of `batch` (ids from `next_session` on), each over the
/// transports `connect` opens for it; returns the figures and the opened bits, in query
/// order. `io_cpu` is the CPU time of the transport's own threads so far.
fn measure<T: Transport + Send>(
    engines: &[PartyEngine; 3],
    queries: &[Vec<Request>; 3],
    batch: usize,
    next_session: &mut u64,
    per_query: u64,
    mut connect: impl FnMut(SessionId) -> Result<[T; 3], BenchError>,
    io_cpu: impl Fn() -> Duration,
) -> Result<(TransportFigures, Vec<bool>), BenchError> {
    let total = queries[0].len();
    let (mut bits, mut bytes, mut latencies) = (Vec::with_capacity(total), 0u64, Vec::new());
    let (mut party_seconds, mut party_cpu) = (0.0, Duration::ZERO);
    let profile0 = profile::snapshot();
    let (io0, faults0, cpu0, started) = (io_cpu(), faults_now(), process_cpu(), Instant::now());
    for first in (0..total).step_by(batch) {
        let end = (first + batch).min(total);
        let session = SessionId(*next_session);
        *next_session += 1;
        let transports = connect(session)?;
        let session_started = Instant::now();
        let parts = [0, 1, 2].map(|p| &queries[p][first..end]);
        let results = run_parties(engines, transports, parts, session)?;
        latencies.push(session_started.elapsed().as_secs_f64());
        if results.iter().any(|r| r.bits != results[0].bits) {
            return Err(BenchError::Disagreement);
        }
        bytes += results.iter().map(|r| r.bytes).max().unwrap_or(0);
        party_seconds += results.iter().map(|r| r.wall.as_secs_f64()).sum::<f64>();
        party_cpu += results.iter().map(|r| r.cpu).sum::<Duration>();
        bits.extend_from_slice(&results[0].bits);
    }
    let wall = started.elapsed();
    let cpu = match (cpu0, process_cpu()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => party_cpu + io_cpu().saturating_sub(io0),
    };
    let comparisons = per_query * total as u64;
    latencies.sort_by(f64::total_cmp);
    Ok((
        TransportFigures {
            wall_seconds: wall.as_secs_f64(),
            cpu_seconds: cpu.as_secs_f64(),
            per_party_core: comparisons as f64 / (cpu.as_secs_f64() / 3.0),
            bytes_per_comparison: bytes as f64 / comparisons as f64,
            page_faults: faults0
                .zip(process_usage())
                .map(|(before, (_, after))| after.saturating_sub(before)),
            sessions: latencies.len(),
            latency_seconds: latencies[latencies.len() / 2],
            party_seconds,
            profile: profile::snapshot().since(&profile0),
        },
        bits,
    ))
}

/// Runs the benchmark: a single-eye gallery of `config.eyes` random codes, then the same
/// `config.queries` queries in sessions of `config.batch` on every kernel asked for, over
/// the in-process transport and (if asked) loopback TLS, then the plaintext matcher on
/// one core. `progress` is called with the number of eyes dealt so far while the gallery
/// is built.
///
/// # Errors
/// A [`BenchError`] if the configuration is empty, a kernel cannot run here, the TLS
/// network cannot be set up, a query fails, or two runs open different bits.
pub fn run(
    config: &BenchConfig,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<BenchReport, BenchError> {
    let BenchConfig {
        eyes,
        queries,
        batch,
        seed,
        ..
    } = *config;
    if queries == 0 || batch == 0 || config.kernels.is_empty() {
        return Err(BenchError::Config(
            "queries, batch and kernels must be nonempty",
        ));
    }
    if let Some(&k) = config.kernels.iter().find(|k| !k.is_available()) {
        return Err(BenchError::KernelUnavailable(k));
    }
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let rule = FixedPointRule::new(Threshold::DEFAULT);
    let seeds = PartySeeds::deal_with(&mut rng);
    let mut engines = PartyId::ALL
        .map(|p| PartyEngine::new(p, seeds[p.index()].clone(), EyeMode::SingleEye, rule));
    engines.iter_mut().for_each(|e| e.reserve(eyes));
    let mut plain = IrisGallery::new(EyeMode::SingleEye);
    // Deal in parallel chunks (each with its own seeded stream), enrol in order.
    const CHUNK: usize = 1_024;
    for start in (0..eyes).step_by(CHUNK) {
        let end = (start + CHUNK).min(eyes);
        let dealt: Vec<(IrisCode, [crate::dealer::EnrolmentShare; 3])> = (start..end)
            .into_par_iter()
            .map(|k| {
                let mut rng = ChaCha20Rng::seed_from_u64(seed ^ (k as u64).wrapping_mul(0x9e37));
                let code = IrisCode::random(&mut rng, MASK_DENSITY);
                let shares = enrolment_shares_with(&code, &mut rng);
                (code, shares)
            })
            .collect();
        for (k, (code, shares)) in (start..end).zip(dealt) {
            for (engine, share) in engines.iter_mut().zip(shares) {
                engine.insert(RecordId(k as u64), &[share])?;
            }
            plain
                .insert_eye(RecordId(k as u64), &code)
                .expect("fresh ids");
        }
        progress(end);
    }
    let probes: Vec<IrisCode> = (0..queries)
        .map(|_| IrisCode::random(&mut rng, MASK_DENSITY))
        .collect();
    // Each probe comes as an enrolment request would: its query form and its
    // enrolment form, so a batch also compares its queries with one another.
    let mut shared: [Vec<Vec<QueryShare>>; 3] = Default::default();
    let mut requests: [Vec<Request>; 3] = Default::default();
    for probe in &probes {
        let queries = query_shares_with(probe, &mut rng);
        let enrolments = enrolment_shares_with(probe, &mut rng);
        for (p, (query, enrolment)) in queries.into_iter().zip(enrolments).enumerate() {
            shared[p].push(vec![query.clone()]);
            requests[p].push((vec![query], vec![enrolment]));
        }
    }
    let per_query = (eyes * ROTATION_COUNT) as u64;
    let timeout = Duration::from_secs(600);
    let checks_seconds = checks(&engines, &shared, timeout)?;
    let nodes = if config.tls {
        Some(loopback(timeout)?)
    } else {
        None
    };
    let io_cpu = || -> Duration {
        nodes
            .iter()
            .flatten()
            .filter_map(|n| n.runtime_cpu_time())
            .sum()
    };

    profile::set_enabled(true);
    let mut next_session = 100;
    let mut runs = Vec::new();
    let mut opened: Option<Vec<bool>> = None;
    let mut agree = |bits: Vec<bool>| match &opened {
        Some(first) if *first != bits => Err(BenchError::Disagreement),
        Some(_) => Ok(()),
        None => {
            opened = Some(bits);
            Ok(())
        }
    };
    for &kernel in &config.kernels {
        for engine in &mut engines {
            engine.set_kernel(kernel);
        }
        let (in_process, bits) = measure(
            &engines,
            &requests,
            batch,
            &mut next_session,
            per_query,
            |_| Ok(LocalNetwork::connect(timeout)),
            Duration::default,
        )?;
        agree(bits)?;
        let tls = match &nodes {
            Some(nodes) => {
                let (figures, bits) = measure(
                    &engines,
                    &requests,
                    batch,
                    &mut next_session,
                    per_query,
                    |id| {
                        Ok([
                            nodes[0].session(id).map_err(EngineError::from)?,
                            nodes[1].session(id).map_err(EngineError::from)?,
                            nodes[2].session(id).map_err(EngineError::from)?,
                        ])
                    },
                    io_cpu,
                )?;
                agree(bits)?;
                Some(figures)
            }
            None => None,
        };
        runs.push(KernelFigures {
            kernel,
            in_process,
            tls,
        });
    }
    profile::set_enabled(false);

    let matcher = Matcher {
        kernel: MatchKernel::best(),
        rule: DecisionRule::FixedPoint(rule),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
    let plain_started = Instant::now();
    pool.install(|| {
        for probe in &probes {
            let _ = matcher.search(&plain, &IrisQuery::single(probe));
        }
    });
    let plain_seconds = plain_started.elapsed().as_secs_f64();

    let gallery: &Gallery = engines[0].gallery();
    Ok(BenchReport {
        eyes,
        queries,
        batch,
        comparisons: per_query * queries as u64,
        amx_available: Kernel::Amx.is_available(),
        best_kernel: Kernel::best(),
        runs,
        plaintext_per_core: (per_query * queries as u64) as f64 / plain_seconds,
        plaintext_kernel: format!("{:?}", matcher.kernel),
        share_bytes_per_eye: gallery.stored_bytes() as f64 / eyes.max(1) as f64,
        checks_seconds,
    })
}

/// Wall seconds of the checks every query goes through first (share validation and the
/// coverage gate), in process, on the whole set of queries.
fn checks(
    engines: &[PartyEngine; 3],
    shared: &[Vec<Vec<QueryShare>>; 3],
    timeout: Duration,
) -> Result<f64, BenchError> {
    let started = Instant::now();
    let checked: Vec<Result<Vec<bool>, EngineError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = engines
            .iter()
            .zip(LocalNetwork::connect(timeout))
            .zip(LocalNetwork::connect(timeout))
            .zip(shared)
            .map(|(((engine, mut first), mut second), queries)| {
                scope.spawn(move || {
                    let valid = engine.validate(&mut first, SessionId(10), queries)?;
                    let gated = engine.gate(
                        &mut second,
                        SessionId(11),
                        queries,
                        CoverageGate::default(),
                    )?;
                    Ok(valid.iter().zip(gated).map(|(&v, g)| v && g).collect())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("party thread"))
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    for c in checked {
        // Random codes at this mask density are valid and pass the gate.
        if c? != vec![true; shared[0].len()] {
            return Err(BenchError::Disagreement);
        }
    }
    Ok(seconds)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_tiny_run_reports_consistent_figures() {
        use super::{BenchConfig, Kernel};
        let config = BenchConfig {
            batch: 2,
            kernels: Kernel::available(),
            ..BenchConfig::new(16, 3, 7)
        };
        // Every available kernel and both transports open the same bits, or `run` fails.
        let r = super::run(&config, &|_| {}).unwrap();
        assert_eq!(r.comparisons, 3 * 16 * 31);
        assert_eq!(r.runs.len(), Kernel::available().len());
        for run in &r.runs {
            let tls = run.tls.as_ref().expect("asked for");
            for t in [&run.in_process, tls] {
                assert!(t.bytes_per_comparison > 0.0 && t.per_party_core > 0.0);
                assert_eq!(t.sessions, 2, "3 queries in batches of 2");
                assert!(t.profile.total_seconds() > 0.0);
                assert!(t.profile.seconds(super::profile::Phase::DotProducts) > 0.0);
            }
            // The same protocol sends the same payload over either transport.
            assert_eq!(
                run.in_process.bytes_per_comparison,
                tls.bytes_per_comparison
            );
        }
        // One 16-row block of 19,200 two-byte values per 16 eyes.
        assert_eq!(r.share_bytes_per_eye, 38_400.0);
        let empty = BenchConfig {
            batch: 0,
            ..BenchConfig::new(16, 1, 7)
        };
        assert!(matches!(
            super::run(&empty, &|_| {}),
            Err(super::BenchError::Config(_))
        ));
    }

    #[test]
    fn process_cpu_time_grows_with_work() {
        let Some(before) = super::process_cpu() else {
            return; // not measurable on this platform; the bench falls back
        };
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let after = super::process_cpu().expect("measured once, measurable again");
        assert!(after > before, "{before:?} then {after:?} after {x} work");
    }
}
