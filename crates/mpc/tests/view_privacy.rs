//! A party's view must not depend on the secrets: run the protocol on two very different
//! secret inputs of the same shape and check that every message each party receives
//! (before the final one-bit opening) looks uniform in both runs, and that the two runs
//! are indistinguishable from each other (chi-square on byte values). Once for the
//! threshold layer alone on extreme dot products, once for the whole 1:N engine on a
//! gallery that contains the probe's person and on one that does not.

use masque_mpc::dealer::{enrolment_shares_seeded, query_shares_seeded};
use masque_mpc::engine::PartyEngine;
use masque_mpc::gallery::RecordId;
use masque_mpc::net::local::{LocalNetwork, LocalTransport};
use masque_mpc::net::{NetError, Transport};
use masque_mpc::protocol::Session;
use masque_mpc::randomness::{CorrelatedRandomness, PartySeeds, SessionId};
use masque_mpc::share::share_vec_seeded;
use masque_mpc::{PartyId, Z16};
use masque_template::matcher::EyeMode;
use masque_template::{FixedPointRule, IrisCode, Threshold};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::time::Duration;

/// A transport that keeps a copy of everything it receives.
struct Recording {
    inner: LocalTransport,
    received: Vec<u8>,
    /// Length of `received` before the latest message.
    before_last: usize,
}

impl Transport for Recording {
    fn party(&self) -> PartyId {
        self.inner.party()
    }
    fn send(&mut self, to: PartyId, message: Vec<u8>) -> Result<(), NetError> {
        self.inner.send(to, message)
    }
    fn recv(&mut self, from: PartyId) -> Result<Vec<u8>, NetError> {
        let m = self.inner.recv(from)?;
        self.before_last = self.received.len();
        self.received.extend_from_slice(&m);
        Ok(m)
    }
    fn bytes_sent(&self) -> u64 {
        self.inner.bytes_sent()
    }
}

/// Every party's received bytes for one batch of `(code_dot, mask_dot)` secrets.
fn views(code: i64, mask: i64, n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let code = share_vec_seeded(&vec![Z16::from_i64(code); n], &mut rng);
    let mask = share_vec_seeded(&vec![Z16::from_i64(mask); n], &mut rng);
    let seeds = PartySeeds::deal_seeded(&mut rng);
    let rule = FixedPointRule::new(Threshold::DEFAULT);
    std::thread::scope(|scope| {
        let handles: Vec<_> = LocalNetwork::connect(Duration::from_secs(60))
            .into_iter()
            .zip(seeds.iter())
            .enumerate()
            .map(|(i, (inner, seeds))| {
                let (code, mask) = (&code, &mask);
                scope.spawn(move || {
                    let p = PartyId::ALL[i];
                    let mut net = Recording {
                        inner,
                        received: Vec::new(),
                        before_last: 0,
                    };
                    {
                        let mut s =
                            Session::new(&mut net, CorrelatedRandomness::new(seeds, SessionId(1)));
                        PartyEngine::threshold_bits(
                            &mut s,
                            rule,
                            &code.for_party(p),
                            &mask.for_party(p),
                        )
                        .unwrap();
                    }
                    net.received
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Uniform code bits, 90% of the mask pairs valid.
fn random_code(rng: &mut ChaCha20Rng) -> IrisCode {
    IrisCode::random(rng, 0.9)
}

/// Every party's received bytes, without the final opening, for a 1:N query of one
/// probe against 48 records; the probe's own code is enrolled when `enrolled`.
fn engine_views(enrolled: bool, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let seeds = PartySeeds::deal_seeded(&mut rng);
    let rule = FixedPointRule::new(Threshold::DEFAULT);
    let mut engines = PartyId::ALL
        .map(|p| PartyEngine::new(p, seeds[p.index()].clone(), EyeMode::SingleEye, rule));
    let probe = random_code(&mut rng);
    for k in 0..48 {
        let code = if enrolled && k == 17 {
            probe.clone()
        } else {
            random_code(&mut rng)
        };
        for (e, s) in engines
            .iter_mut()
            .zip(enrolment_shares_seeded(&code, &mut rng))
        {
            e.insert(RecordId(k), &[s]).unwrap();
        }
    }
    let queries = query_shares_seeded(&probe, &mut rng).map(|s| vec![vec![s]]);
    std::thread::scope(|scope| {
        let handles: Vec<_> = LocalNetwork::connect(Duration::from_secs(60))
            .into_iter()
            .zip(engines.iter().zip(&queries))
            .map(|(inner, (engine, query))| {
                scope.spawn(move || {
                    let mut net = Recording {
                        inner,
                        received: Vec::new(),
                        before_last: 0,
                    };
                    let opened = engine.search(&mut net, SessionId(1), query).unwrap();
                    assert_eq!(opened, vec![enrolled]);
                    // The last message received is the opening of the result bit.
                    net.received.truncate(net.before_last);
                    net.received
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn histogram(bytes: &[u8]) -> [f64; 256] {
    let mut h = [0.0; 256];
    bytes.iter().for_each(|&b| h[b as usize] += 1.0);
    h
}

/// Chi-square statistic of `bytes` against the uniform distribution (255 d.o.f.).
fn chi_square_uniform(bytes: &[u8]) -> f64 {
    let expected = bytes.len() as f64 / 256.0;
    histogram(bytes)
        .iter()
        .map(|o| (o - expected).powi(2) / expected)
        .sum()
}

/// Two-sample chi-square statistic between equally long byte strings (255 d.o.f.).
fn chi_square_two_sample(a: &[u8], b: &[u8]) -> f64 {
    let (ha, hb) = (histogram(a), histogram(b));
    ha.iter()
        .zip(&hb)
        .filter(|(x, y)| **x + **y > 0.0)
        .map(|(x, y)| (x - y).powi(2) / (x + y))
        .sum()
}

/// 255 degrees of freedom: the 0.9999 quantile is about 360.
const CRITICAL: f64 = 360.0;

/// Both runs' views look uniform and alike, party by party.
fn assert_indistinguishable(a: &[Vec<u8>], b: &[Vec<u8>]) {
    for p in 0..3 {
        assert_eq!(a[p].len(), b[p].len(), "message sizes are public and equal");
        if a[p].is_empty() {
            continue;
        }
        let (ua, ub) = (chi_square_uniform(&a[p]), chi_square_uniform(&b[p]));
        let ab = chi_square_two_sample(&a[p], &b[p]);
        assert!(
            ua < CRITICAL && ub < CRITICAL,
            "P{p}: not uniform ({ua:.1}, {ub:.1})"
        );
        assert!(ab < CRITICAL, "P{p}: views differ ({ab:.1})");
    }
}

#[test]
fn the_whole_engine_view_does_not_depend_on_the_templates() {
    let (a, b) = (engine_views(true, 5), engine_views(false, 6));
    assert!(
        a.iter().all(|v| v.len() > 10_000),
        "every party receives messages"
    );
    assert_indistinguishable(&a, &b);
}

#[test]
fn received_messages_do_not_depend_on_the_secrets() {
    // A surely matching and a surely non-matching batch.
    let a = views(12_800, 12_800, 4_096, 1);
    let b = views(-12_800, 2, 4_096, 2);
    assert_indistinguishable(&a, &b);
    // The test can tell a leaking view apart: the plaintext secrets themselves fail.
    let leak: Vec<u8> = (0..a[1].len()).map(|k| (k % 7) as u8).collect();
    assert!(chi_square_uniform(&leak) > CRITICAL);
}
