//! A party's view must not depend on the secrets: run the threshold protocol (lift,
//! sign, everything before the one-bit opening) on two very different secret batches and
//! check that every message each party receives looks uniform in both runs, and that the
//! two runs are indistinguishable from each other (chi-square on byte values).

use masque_mpc::engine::PartyEngine;
use masque_mpc::net::local::{LocalNetwork, LocalTransport};
use masque_mpc::net::{NetError, Transport};
use masque_mpc::protocol::Session;
use masque_mpc::randomness::{CorrelatedRandomness, PartySeeds, SessionId};
use masque_mpc::share::share_vec;
use masque_mpc::{PartyId, Z16};
use masque_template::FixedPointRule;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::time::Duration;

/// A transport that keeps a copy of everything it receives.
struct Recording {
    inner: LocalTransport,
    received: Vec<u8>,
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
    let code = share_vec(&vec![Z16::from_i64(code); n], &mut rng);
    let mask = share_vec(&vec![Z16::from_i64(mask); n], &mut rng);
    let seeds = PartySeeds::deal(&mut rng);
    let rule = FixedPointRule::from_threshold(0.345);
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

#[test]
fn received_messages_do_not_depend_on_the_secrets() {
    // A surely matching and a surely non-matching batch.
    let a = views(12_800, 12_800, 4_096, 1);
    let b = views(-12_800, 2, 4_096, 2);
    // 255 degrees of freedom: the 0.9999 quantile is about 360.
    const CRITICAL: f64 = 360.0;
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
    // The test can tell a leaking view apart: the plaintext secrets themselves fail.
    let leak: Vec<u8> = (0..a[1].len()).map(|k| (k % 7) as u8).collect();
    assert!(chi_square_uniform(&leak) > CRITICAL);
}
