//! CPU time of the threshold layer alone: re-shared dot products → match bits, three
//! parties on their own threads over the in-process transport.
//!
//! `cargo run --release -p masque-mpc --example threshold_cpu -- [chunks] [runs]`
//! prints, per run, the process CPU seconds (all threads) and wall seconds for `chunks`
//! chunks of 131,072 comparisons, and the CPU nanoseconds per comparison per party.

use masque_mpc::engine::PartyEngine;
use masque_mpc::net::local::LocalNetwork;
use masque_mpc::protocol::Session;
use masque_mpc::randomness::{CorrelatedRandomness, PartySeeds, SessionId};
use masque_mpc::ring::Z16;
use masque_mpc::share::ShareVec;
use masque_template::{FixedPointRule, Threshold};
use std::time::{Duration, Instant};

const CHUNK: usize = 1 << 17;

/// The process's CPU time so far (all threads).
fn cpu() -> Duration {
    masque_mpc::bench::process_cpu().expect("process CPU time is measurable on Linux x86-64")
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().expect("arguments are counts"));
    let chunks = args.next().unwrap_or(16);
    let runs = args.next().unwrap_or(3);
    let rule = FixedPointRule::new(Threshold::default());
    // Arbitrary shares: the cost does not depend on the values.
    let share = |seed: u16| {
        let v = |k: usize| Z16((k as u16).wrapping_mul(40_503).wrapping_add(seed));
        ShareVec::from_components(
            (0..CHUNK).map(v).collect(),
            (0..CHUNK).map(|k| v(k + 7)).collect(),
        )
    };
    let inputs: Vec<(ShareVec<Z16>, ShareVec<Z16>)> =
        (0..3).map(|p| (share(p), share(p + 11))).collect();
    let seeds = PartySeeds::deal();
    for run in 0..runs {
        let nets = LocalNetwork::connect(Duration::from_secs(60));
        let (cpu0, wall0) = (cpu(), Instant::now());
        std::thread::scope(|scope| {
            for ((mut net, seeds), (code, mask)) in nets.into_iter().zip(&seeds).zip(&inputs) {
                scope.spawn(move || {
                    let rand = CorrelatedRandomness::new(seeds, SessionId(run as u64));
                    let mut s = Session::new(&mut net, rand);
                    for _ in 0..chunks {
                        let bits = PartyEngine::threshold_bits(&mut s, rule, code, mask)
                            .expect("in-process threshold");
                        std::hint::black_box(bits);
                    }
                });
            }
        });
        let (cpu, wall) = (cpu() - cpu0, wall0.elapsed());
        let per = cpu.as_secs_f64() * 1e9 / (3.0 * (chunks * CHUNK) as f64);
        println!(
            "run {run}: {chunks} x {CHUNK} comparisons   CPU {:.3} s   wall {:.3} s   {per:.1} ns CPU per comparison per party",
            cpu.as_secs_f64(),
            wall.as_secs_f64()
        );
    }
}
