//! The embedding mode against the template crate's fixed-point cosine rule.

use masque_mpc::PartyId;
use masque_mpc::embedding::{EmbeddingEngine, share_embedding};
use masque_mpc::gallery::RecordId;
use masque_mpc::net::local::LocalNetwork;
use masque_mpc::randomness::{PartySeeds, SessionId};
use masque_mpc::{ShareVec, Z32};
use masque_template::{CosineRule, Embedding, QuantizedEmbedding};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::time::Duration;

const DIMS: usize = 128;

fn run<T: Send>(
    engines: &[EmbeddingEngine; 3],
    session: u64,
    f: impl Fn(PartyId, &EmbeddingEngine, &mut dyn masque_mpc::net::Transport, SessionId) -> T + Sync,
) -> Vec<T> {
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = engines
            .iter()
            .zip(LocalNetwork::connect(Duration::from_secs(30)))
            .enumerate()
            .map(|(i, (e, mut net))| {
                scope.spawn(move || f(PartyId::ALL[i], e, &mut net, SessionId(session)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn unit(rng: &mut ChaCha20Rng) -> Vec<f32> {
    (0..DIMS).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

#[test]
fn cosine_threshold_agrees_with_the_fixed_point_rule_near_and_far() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let t = 0.6;
    let rule = CosineRule::new(t).unwrap();
    let seeds = PartySeeds::deal(&mut rng);
    let mut engines = seeds.map(|s| EmbeddingEngine::new(s, DIMS, rule));
    let stored: Vec<QuantizedEmbedding> = (0..20)
        .map(|_| Embedding::new(unit(&mut rng)).unwrap().quantize())
        .collect();
    for (k, e) in stored.iter().enumerate() {
        for (engine, share) in engines.iter_mut().zip(share_embedding(e, &mut rng)) {
            engine.insert(RecordId(k as u64), &share).unwrap();
        }
    }
    // Probes: noisy copies of stored vectors with noise tuned to land near the
    // threshold, plus unrelated vectors.
    let mut probes = Vec::new();
    for k in 0..60 {
        let base = &stored[k % 20];
        let noise = rng.random_range(0.5f32..2.0);
        let v: Vec<f32> = base
            .values()
            .iter()
            .map(|&x| f32::from(x) / 16_384.0 + noise * rng.random_range(-0.1f32..0.1))
            .collect();
        probes.push(Embedding::new(v).unwrap().quantize());
    }
    probes.extend((0..10).map(|_| Embedding::new(unit(&mut rng)).unwrap().quantize()));
    let want_1n: Vec<bool> = probes
        .iter()
        .map(|p| stored.iter().any(|s| rule.is_match(p.dot(s).unwrap())))
        .collect();
    assert!(want_1n.iter().any(|&m| m) && want_1n.iter().any(|&m| !m));
    let mut shared: [Vec<ShareVec<Z32>>; 3] = Default::default();
    for p in &probes {
        for (i, s) in share_embedding(p, &mut rng).into_iter().enumerate() {
            shared[i].push(s);
        }
    }
    let got = run(&engines, 1, |p, e, net, sid| {
        e.search(net, sid, &shared[p.index()]).unwrap()
    });
    assert!(got.iter().all(|g| *g == want_1n));
    // 1:1 of every probe against its base record.
    for (k, probe) in probes.iter().enumerate().take(60) {
        let want = rule.is_match(probe.dot(&stored[k % 20]).unwrap());
        let got = run(&engines, 100 + k as u64, |p, e, net, sid| {
            e.verify(net, sid, RecordId((k % 20) as u64), &shared[p.index()][k])
                .unwrap()
        });
        assert!(got.iter().all(|&g| g == want), "probe {k}");
    }
    // Deletion drops the record; deleting twice is a no-op.
    for e in &mut engines {
        assert!(e.remove(RecordId(0)));
    }
    assert_eq!(engines[0].len(), 19);
    assert!(!engines[1].remove(RecordId(0)));
}
