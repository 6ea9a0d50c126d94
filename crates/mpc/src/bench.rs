//! The throughput measurement behind `masque bench mpc` and the criterion bench.
//!
//! Builds a single-eye gallery of random codes, deals it to the three parties, runs the
//! same batch of 1:N queries once over the in-process transport and once over loopback
//! TLS 1.3 (one thread per party in both cases), and measures the same queries with the
//! plaintext matcher on one core in the same run.
//!
//! Comparisons per second per party-core follow the cost unit of `docs/architecture.md`
//! (section MPC): comparisons ÷ (CPU seconds of all three parties ÷ 3). CPU time is the
//! process's (`getrusage`: the party threads, the kernel's worker threads and the TLS I/O
//! threads, nothing else runs during the queries); where that is unavailable, the party
//! threads' own on-CPU time (`/proc/thread-self/schedstat`) plus the TLS I/O threads',
//! else wall time.

use crate::dealer::{QueryShare, enrolment_shares_with, query_shares_with};
use crate::engine::{EngineError, PartyEngine};
use crate::gallery::{Gallery, RecordId};
use crate::net::Transport;
use crate::net::local::LocalNetwork;
use crate::net::tls::{TlsError, loopback};
use crate::party::PartyId;
use crate::randomness::{PartySeeds, SessionId};
use masque_template::iris::ROTATION_COUNT;
use masque_template::matcher::{DecisionRule, EyeMode, IrisGallery, IrisQuery, Kernel, Matcher};
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
    /// The parties opened different bits (a protocol bug).
    #[error("the parties opened different results")]
    Disagreement,
}

/// The figures of one transport.
#[derive(Debug, Clone)]
pub struct TransportFigures {
    /// Wall-clock seconds of the query batch.
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
}

/// What one benchmark run measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Stored eyes per party.
    pub eyes: usize,
    /// Queries in the batch (each against every eye).
    pub queries: usize,
    /// Comparisons: queries × eyes × 31 rotations.
    pub comparisons: u64,
    /// The matrix kernel the parties used.
    pub kernel: &'static str,
    /// Over the in-process transport.
    pub in_process: TransportFigures,
    /// Over loopback TLS 1.3.
    pub tls: TransportFigures,
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
fn process_cpu() -> Option<Duration> {
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

/// CPU seconds of the three parties over a run that started at `before`: the process's,
/// else the party threads' own plus `io` (the TLS I/O threads').
fn cpu_since(
    before: Option<Duration>,
    results: &[(Duration, u64, Vec<bool>)],
    io: Duration,
) -> Duration {
    match (before, process_cpu()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => results.iter().map(|r| r.0).sum::<Duration>() + io,
    }
}

/// Runs `query` at the three parties on their own threads; returns each party's CPU time,
/// bytes sent and opened bits.
fn run_parties<T: Transport + Send>(
    engines: &[PartyEngine; 3],
    transports: [T; 3],
    queries: &[Vec<Vec<QueryShare>>; 3],
    session: SessionId,
) -> Result<Vec<(Duration, u64, Vec<bool>)>, EngineError> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = engines
            .iter()
            .zip(transports)
            .zip(queries)
            .map(|((engine, mut net), queries)| {
                scope.spawn(move || {
                    let wall = Instant::now();
                    let cpu0 = thread_cpu();
                    let bits = engine.search(&mut net, session, queries)?;
                    let cpu = match (cpu0, thread_cpu()) {
                        (Some(a), Some(b)) => b - a,
                        _ => wall.elapsed(),
                    };
                    Ok((cpu, net.bytes_sent(), bits))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("party thread"))
            .collect()
    })
}

fn figures(
    results: &[(Duration, u64, Vec<bool>)],
    cpu: Duration,
    wall: Duration,
    comparisons: u64,
    faults_before: Option<u64>,
) -> Result<TransportFigures, BenchError> {
    if results.iter().any(|r| r.2 != results[0].2) {
        return Err(BenchError::Disagreement);
    }
    let bytes = results.iter().map(|r| r.1).max().unwrap_or(0);
    Ok(TransportFigures {
        wall_seconds: wall.as_secs_f64(),
        cpu_seconds: cpu.as_secs_f64(),
        per_party_core: comparisons as f64 / (cpu.as_secs_f64() / 3.0),
        bytes_per_comparison: bytes as f64 / comparisons as f64,
        page_faults: faults_before
            .zip(process_usage())
            .map(|(before, (_, after))| after.saturating_sub(before)),
    })
}

fn faults_now() -> Option<u64> {
    process_usage().map(|(_, faults)| faults)
}

/// Runs the benchmark: `eyes` stored eyes, a batch of `queries` single-eye queries.
/// `progress` is called with the number of eyes dealt so far while the gallery is built.
///
/// # Errors
/// A [`BenchError`] if the TLS network cannot be set up or a query fails.
pub fn run(
    eyes: usize,
    queries: usize,
    seed: u64,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<BenchReport, BenchError> {
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
    let mut shared: [Vec<Vec<QueryShare>>; 3] = Default::default();
    for probe in &probes {
        for (p, share) in query_shares_with(probe, &mut rng).into_iter().enumerate() {
            shared[p].push(vec![share]);
        }
    }
    let comparisons = (queries * eyes * ROTATION_COUNT) as u64;
    let timeout = Duration::from_secs(600);

    let (faults0, cpu0, started) = (faults_now(), process_cpu(), Instant::now());
    let results = run_parties(
        &engines,
        LocalNetwork::connect(timeout),
        &shared,
        SessionId(1),
    )?;
    let wall = started.elapsed();
    let cpu = cpu_since(cpu0, &results, Duration::ZERO);
    let in_process = figures(&results, cpu, wall, comparisons, faults0)?;

    // The checks every query goes through first: validation and the coverage gate.
    let started = Instant::now();
    let checked: Vec<Result<Vec<bool>, EngineError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = engines
            .iter()
            .zip(LocalNetwork::connect(timeout))
            .zip(LocalNetwork::connect(timeout))
            .zip(&shared)
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
    let checks_seconds = started.elapsed().as_secs_f64();
    for c in checked {
        // Random codes at this mask density are valid and pass the gate.
        if c? != vec![true; queries] {
            return Err(BenchError::Disagreement);
        }
    }

    let nodes = loopback(timeout)?;
    let io_cpu = |nodes: &[crate::net::tls::TlsNode; 3]| -> Duration {
        nodes.iter().filter_map(|n| n.runtime_cpu_time()).sum()
    };
    let sessions = [
        nodes[0].session(SessionId(2)).map_err(EngineError::from)?,
        nodes[1].session(SessionId(2)).map_err(EngineError::from)?,
        nodes[2].session(SessionId(2)).map_err(EngineError::from)?,
    ];
    let (io_before, faults0) = (io_cpu(&nodes), faults_now());
    let (cpu0, started) = (process_cpu(), Instant::now());
    let tls_results = run_parties(&engines, sessions, &shared, SessionId(2))?;
    let wall = started.elapsed();
    let io = io_cpu(&nodes).saturating_sub(io_before);
    let cpu = cpu_since(cpu0, &tls_results, io);
    let tls = figures(&tls_results, cpu, wall, comparisons, faults0)?;
    if tls_results[0].2 != results[0].2 {
        return Err(BenchError::Disagreement);
    }

    let matcher = Matcher {
        kernel: Kernel::best(),
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
        comparisons,
        kernel: gallery.kernel().name(),
        in_process,
        tls,
        plaintext_per_core: comparisons as f64 / plain_seconds,
        plaintext_kernel: format!("{:?}", matcher.kernel),
        share_bytes_per_eye: gallery.stored_bytes() as f64 / eyes.max(1) as f64,
        checks_seconds,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_tiny_run_reports_consistent_figures() {
        let r = super::run(16, 1, 7, &|_| {}).unwrap();
        assert_eq!(r.comparisons, 16 * 31);
        for t in [&r.in_process, &r.tls] {
            assert!(t.bytes_per_comparison > 0.0 && t.per_party_core > 0.0);
        }
        // The same protocol sends the same payload over either transport.
        assert_eq!(
            r.in_process.bytes_per_comparison,
            r.tls.bytes_per_comparison
        );
        // One 16-row block of 19,200 two-byte values per 16 eyes.
        assert_eq!(r.share_bytes_per_eye, 38_400.0);
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
