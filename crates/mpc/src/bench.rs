//! The throughput measurement behind `masque bench mpc` and the criterion bench.
//!
//! Builds a single-eye gallery of random codes, shares it for the three parties, runs
//! 1:N queries through the in-process transport with one thread per party, and measures
//! the same queries with the plaintext matcher on one core in the same run.
//!
//! Comparisons per second per party-core follow DESIGN.md: comparisons ÷ (CPU seconds
//! of all three parties ÷ 3). CPU time is the party threads' own on-CPU time
//! (`/proc/thread-self/schedstat`), falling back to wall time where that is unavailable.

use crate::dealer::{QueryShare, enrolment_shares, query_shares};
use crate::engine::{EngineError, PartyEngine};
use crate::gallery::{Gallery, RecordId};
use crate::net::Transport;
use crate::net::local::LocalNetwork;
use crate::party::PartyId;
use crate::randomness::{PartySeeds, SessionId};
use masque_template::iris::ROTATION_COUNT;
use masque_template::matcher::{DecisionRule, EyeMode, IrisGallery, IrisQuery, Kernel, Matcher};
use masque_template::{FixedPointRule, IrisCode};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::time::{Duration, Instant};

/// What one benchmark run measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Stored eyes per party.
    pub eyes: usize,
    /// Queries run (each against every eye).
    pub queries: usize,
    /// Comparisons: queries × eyes × 31 rotations.
    pub comparisons: u64,
    /// Wall-clock seconds of the MPC queries.
    pub mpc_wall_seconds: f64,
    /// CPU seconds of the three parties together.
    pub mpc_cpu_seconds: f64,
    /// Comparisons per second per party-core.
    pub per_party_core: f64,
    /// Bytes each party sent per comparison (largest of the three).
    pub bytes_per_comparison: f64,
    /// Plaintext matcher comparisons per second on one core, same queries and gallery.
    pub plaintext_per_core: f64,
    /// The plaintext kernel used.
    pub plaintext_kernel: String,
    /// Bytes of shares stored per eye per party.
    pub share_bytes_per_eye: usize,
}

fn random_code(rng: &mut impl Rng) -> IrisCode {
    let mut code = [0u64; IrisCode::BITS / 64];
    let mut mask = [0u64; IrisCode::BITS / 64];
    for w in 0..code.len() {
        code[w] = rng.random();
        // Equal real/imaginary mask bits, about 3/4 valid.
        let pairs: u64 = rng.random::<u64>() | rng.random::<u64>();
        mask[w] = (pairs & 0x5555_5555_5555_5555) * 3;
    }
    IrisCode::from_words(code, mask).expect("mask pairs are equal by construction")
}

/// This thread's CPU time so far.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Runs the benchmark: `eyes` stored eyes, `queries` single-eye queries.
///
/// # Errors
/// An [`EngineError`] if a party's query fails (it should not in-process).
pub fn run(eyes: usize, queries: usize, seed: u64) -> Result<BenchReport, EngineError> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let rule = FixedPointRule::from_threshold(0.345);
    let seeds = PartySeeds::deal(&mut rng);
    let mut engines = PartyId::ALL
        .map(|p| PartyEngine::new(p, seeds[p.index()].clone(), EyeMode::SingleEye, rule));
    let mut plain = IrisGallery::new(EyeMode::SingleEye);
    for k in 0..eyes {
        let code = random_code(&mut rng);
        for (engine, share) in engines.iter_mut().zip(enrolment_shares(&code, &mut rng)) {
            engine.insert(RecordId(k as u64), &[share])?;
        }
        plain
            .insert_eye(masque_template::matcher::RecordId(k as u64), &code)
            .expect("fresh ids");
    }
    let probes: Vec<IrisCode> = (0..queries).map(|_| random_code(&mut rng)).collect();
    let mut shared: [Vec<Vec<QueryShare>>; 3] = Default::default();
    for probe in &probes {
        for (p, share) in query_shares(probe, &mut rng).into_iter().enumerate() {
            shared[p].push(vec![share]);
        }
    }

    let nets = LocalNetwork::connect(Duration::from_secs(600));
    let started = Instant::now();
    let results: Vec<Result<(Duration, u64), EngineError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = engines
            .iter()
            .zip(nets)
            .zip(&shared)
            .map(|((engine, mut net), queries)| {
                scope.spawn(move || {
                    let wall = Instant::now();
                    let cpu0 = thread_cpu();
                    engine.search(&mut net, SessionId(1), queries)?;
                    let cpu = match (cpu0, thread_cpu()) {
                        (Some(a), Some(b)) => b - a,
                        _ => wall.elapsed(),
                    };
                    Ok((cpu, net.bytes_sent()))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("party thread"))
            .collect()
    });
    let mpc_wall = started.elapsed().as_secs_f64();
    let mut cpu = 0.0;
    let mut bytes = 0u64;
    for r in results {
        let (c, b) = r?;
        cpu += c.as_secs_f64();
        bytes = bytes.max(b);
    }
    let comparisons = (queries * eyes * ROTATION_COUNT) as u64;

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

    Ok(BenchReport {
        eyes,
        queries,
        comparisons,
        mpc_wall_seconds: mpc_wall,
        mpc_cpu_seconds: cpu,
        per_party_core: comparisons as f64 / (cpu / 3.0),
        bytes_per_comparison: bytes as f64 / comparisons as f64,
        plaintext_per_core: comparisons as f64 / plain_seconds,
        plaintext_kernel: format!("{:?}", matcher.kernel),
        share_bytes_per_eye: Gallery::BYTES_PER_EYE,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_tiny_run_reports_consistent_figures() {
        let r = super::run(3, 1, 7).unwrap();
        assert_eq!(r.comparisons, 3 * 31);
        assert!(r.bytes_per_comparison > 0.0 && r.per_party_core > 0.0);
        assert_eq!(r.share_bytes_per_eye, 19_200 * 2);
    }
}
