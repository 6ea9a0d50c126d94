//! The engine end to end over loopback TLS (three nodes in this process, one thread per
//! party), against the plaintext matcher, with several queries multiplexed at once.

use crate::common;

use common::share_person;
use masque_mpc::PartyId;
use masque_mpc::dealer::{QueryShare, enrolment_shares_seeded, query_shares_seeded};
use masque_mpc::engine::PartyEngine;
use masque_mpc::gallery::RecordId;
use masque_mpc::net::Transport;
use masque_mpc::net::local::LocalNetwork;
use masque_mpc::net::tls::{TlsNode, loopback};
use masque_mpc::randomness::{PartySeeds, SessionId};
use masque_template::matcher::{DecisionRule, EyeMode, IrisGallery, IrisQuery, Matcher};
use masque_template::synth::IrisPopulation;
use masque_template::synth::iris::IrisModel;
use masque_template::{EyePair, FixedPointRule, IrisCode, Threshold};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The production threshold.
const T: f64 = Threshold::DEFAULT.value();
static SESSIONS: AtomicU64 = AtomicU64::new(1);

fn next_session() -> SessionId {
    SessionId(SESSIONS.fetch_add(1, Ordering::Relaxed))
}

/// Runs `f` for the three parties on their own threads, each with a fresh session of
/// `nodes`; returns each party's result and the payload bytes it sent.
fn over_tls<T: Send>(
    nodes: &[TlsNode; 3],
    sid: SessionId,
    f: impl Fn(PartyId, &mut dyn Transport) -> T + Sync,
) -> Vec<(T, u64)> {
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = PartyId::ALL
            .map(|p| {
                scope.spawn(move || {
                    let mut session = nodes[p.index()].session(sid).unwrap();
                    let out = f(p, &mut session);
                    (out, session.bytes_sent())
                })
            })
            .into_iter()
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

struct TwoEyes {
    engines: [PartyEngine; 3],
    plain: IrisGallery,
    probes: Vec<EyePair>,
    shares: [Vec<Vec<QueryShare>>; 3],
}

/// Persons 0..4 enrolled (capture 0); probes: capture 1 of all six persons and a
/// chimera (left eye of person 0, right eye of person 5).
fn two_eyes() -> TwoEyes {
    let pop = IrisPopulation::generate(&IrisModel::default(), 11, 6, 2, &|| {});
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let seeds = PartySeeds::deal_seeded(&mut ChaCha20Rng::seed_from_u64(3));
    let mut engines = PartyId::ALL.map(|p| {
        PartyEngine::new(
            p,
            seeds[p.index()].clone(),
            EyeMode::TwoEyes,
            FixedPointRule::from_threshold(T),
        )
    });
    let mut plain = IrisGallery::new(EyeMode::TwoEyes);
    for (i, person) in pop.persons.iter().enumerate().take(4) {
        let pair = &person.captures[0];
        let shares = share_person(
            &[&pair.left, &pair.right],
            &mut rng,
            enrolment_shares_seeded,
        );
        for (p, e) in engines.iter_mut().enumerate() {
            e.insert(RecordId(i as u64), &shares[p]).unwrap();
        }
        plain.insert_pair(RecordId(i as u64), pair).unwrap();
    }
    let mut probes: Vec<EyePair> = pop.persons.iter().map(|p| p.captures[1].clone()).collect();
    probes.push(EyePair {
        left: pop.persons[0].captures[1].left.clone(),
        right: pop.persons[5].captures[1].right.clone(),
    });
    let mut shares: [Vec<Vec<QueryShare>>; 3] = Default::default();
    for q in &probes {
        for (p, s) in share_person(&[&q.left, &q.right], &mut rng, query_shares_seeded)
            .into_iter()
            .enumerate()
        {
            shares[p].push(s);
        }
    }
    TwoEyes {
        engines,
        plain,
        probes,
        shares,
    }
}

#[test]
fn search_and_verify_over_loopback_tls_agree_with_the_plaintext_matcher() {
    let w = two_eyes();
    let matcher = Matcher::new(DecisionRule::FixedPoint(FixedPointRule::from_threshold(T)));
    let expected: Vec<bool> = w
        .probes
        .iter()
        .map(|q| {
            matcher
                .search(&w.plain, &IrisQuery::pair(q))
                .unwrap()
                .is_match
        })
        .collect();
    assert!(
        expected.contains(&true) && expected.contains(&false),
        "{expected:?}"
    );
    let nodes = loopback(Duration::from_secs(30)).unwrap();

    // 1:N of all probes.
    let sid = next_session();
    let got = over_tls(&nodes, sid, |p, net| {
        w.engines[p.index()]
            .search(net, sid, &w.shares[p.index()])
            .unwrap()
    });
    for (bits, _) in &got {
        assert_eq!(bits, &expected);
    }
    // The same query in process sends exactly the same payload bytes per party.
    let local = LocalNetwork::connect(Duration::from_secs(30));
    let local_sid = next_session();
    let local_bytes: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = local
            .into_iter()
            .enumerate()
            .map(|(i, mut net)| {
                let (e, q, want) = (&w.engines[i], &w.shares[i], &expected);
                scope.spawn(move || {
                    assert_eq!(&e.search(&mut net, local_sid, q).unwrap(), want);
                    net.bytes_sent()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let tls_bytes: Vec<u64> = got.iter().map(|(_, b)| *b).collect();
    if std::path::Path::new("/proc/self/task").exists() {
        // Every node's runtime encrypted and sent something.
        assert!(
            nodes
                .iter()
                .all(|n| n.runtime_cpu_time().unwrap() > Duration::ZERO)
        );
    }
    assert_eq!(tls_bytes, local_bytes);
    assert!(tls_bytes.iter().all(|&b| b > 0));

    // 1:1 of probe 0 against its own record and another.
    for record in [0u64, 1] {
        let want = matcher
            .verify(&w.plain, RecordId(record), &IrisQuery::pair(&w.probes[0]))
            .unwrap()
            .unwrap()
            .is_match;
        let sid = next_session();
        let got = over_tls(&nodes, sid, |p, net| {
            w.engines[p.index()]
                .verify(net, sid, RecordId(record), &w.shares[p.index()][0])
                .unwrap()
        });
        assert!(
            got.iter().all(|(g, _)| *g == want),
            "record {record}: {got:?} vs {want}"
        );
    }
}

#[test]
fn queries_running_at_once_share_the_connections() {
    let w = two_eyes();
    let nodes = loopback(Duration::from_secs(30)).unwrap();
    let sids: Vec<SessionId> = (0..3).map(|_| next_session()).collect();
    // Each query asks about a different probe; the parties start them in different
    // orders, so frames of later sessions arrive before those sessions are opened.
    let results: Vec<Vec<Vec<bool>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = PartyId::ALL
            .map(|p| {
                let (w, nodes, sids) = (&w, &nodes, &sids);
                scope.spawn(move || {
                    let mut order: Vec<usize> = (0..sids.len()).collect();
                    order.rotate_left(p.index());
                    let mut out = vec![Vec::new(); sids.len()];
                    std::thread::scope(|inner| {
                        let runs: Vec<_> = order
                            .iter()
                            .map(|&k| {
                                let node = &nodes[p.index()];
                                let q = &w.shares[p.index()][k..k + 1];
                                let e = &w.engines[p.index()];
                                let sid = sids[k];
                                (
                                    k,
                                    inner.spawn(move || {
                                        let mut s = node.session(sid).unwrap();
                                        e.search(&mut s, sid, q).unwrap()
                                    }),
                                )
                            })
                            .collect();
                        for (k, run) in runs {
                            out[k] = run.join().unwrap();
                        }
                    });
                    out
                })
            })
            .into_iter()
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let matcher = Matcher::new(DecisionRule::FixedPoint(FixedPointRule::from_threshold(T)));
    for k in 0..sids.len() {
        let want = matcher
            .search(&w.plain, &IrisQuery::pair(&w.probes[k]))
            .unwrap()
            .is_match;
        for party in &results {
            assert_eq!(party[k], vec![want], "query {k}");
        }
    }
}

/// Loopback throughput and round-trip time of the transport itself (a measurement, not a
/// check): `cargo test --release -p masque-mpc --test integration tls:: -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement; run with --release -- --ignored --nocapture"]
fn loopback_throughput() {
    use std::time::Instant;
    let nodes = loopback(Duration::from_secs(30)).unwrap();
    for size in [1usize << 10, 64 << 10, 1 << 20, 16 << 20] {
        let count = ((512usize << 20) / size).clamp(8, 20_000);
        let sid = next_session();
        let (mut tx, mut rx) = (
            nodes[0].session(sid).unwrap(),
            nodes[1].session(sid).unwrap(),
        );
        let start = Instant::now();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for _ in 0..count {
                    tx.send(PartyId::P1, vec![7; size]).unwrap();
                }
            });
            for _ in 0..count {
                assert_eq!(rx.recv(PartyId::P0).unwrap().len(), size);
            }
        });
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "P0 -> P1, {count} messages of {size} B: {:.0} MB/s, {:.1} us per message",
            (size * count) as f64 / seconds / 1e6,
            seconds / count as f64 * 1e6
        );
    }
    let sid = next_session();
    let (mut a, mut b) = (
        nodes[0].session(sid).unwrap(),
        nodes[1].session(sid).unwrap(),
    );
    let rounds = 2_000;
    let start = Instant::now();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..rounds {
                let m = b.recv(PartyId::P0).unwrap();
                b.send(PartyId::P0, m).unwrap();
            }
        });
        for _ in 0..rounds {
            a.send(PartyId::P1, vec![1; 8]).unwrap();
            a.recv(PartyId::P1).unwrap();
        }
    });
    println!(
        "round trip of an 8-byte message: {:.1} us",
        start.elapsed().as_secs_f64() / rounds as f64 * 1e6
    );
}

/// One 1:N query against a gallery of random single-eye records, in process and over
/// loopback TLS (a measurement, not a check):
/// `cargo test --release -p masque-mpc --test integration tls:: -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement; run with --release -- --ignored --nocapture"]
fn engine_in_process_and_over_tls() {
    use std::time::Instant;
    let eyes = 2_000;
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let seeds = PartySeeds::deal_seeded(&mut rng);
    let mut engines = PartyId::ALL.map(|p| {
        PartyEngine::new(
            p,
            seeds[p.index()].clone(),
            EyeMode::SingleEye,
            FixedPointRule::from_threshold(T),
        )
    });
    // About 3/4 of each code valid.
    let random_code = |rng: &mut ChaCha20Rng| IrisCode::random(rng, 0.75);
    for k in 0..eyes {
        let code = random_code(&mut rng);
        for (e, s) in engines
            .iter_mut()
            .zip(enrolment_shares_seeded(&code, &mut rng))
        {
            e.insert(RecordId(k), &[s]).unwrap();
        }
    }
    let query = query_shares_seeded(&random_code(&mut rng), &mut rng).map(|s| vec![vec![s]]);
    let comparisons = (eyes * 31) as f64;
    let run = |nets: Vec<Box<dyn Transport>>, sid: SessionId| {
        let start = Instant::now();
        let sent: Vec<u64> = std::thread::scope(|scope| {
            let handles: Vec<_> = nets
                .into_iter()
                .enumerate()
                .map(|(i, mut net)| {
                    let (e, q) = (&engines[i], &query[i]);
                    scope.spawn(move || {
                        e.search(net.as_mut(), sid, q).unwrap();
                        net.bytes_sent()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        (start.elapsed().as_secs_f64(), sent)
    };
    let local: Vec<Box<dyn Transport>> = LocalNetwork::connect(Duration::from_secs(60))
        .into_iter()
        .map(|t| Box::new(t) as Box<dyn Transport>)
        .collect();
    let (local_s, local_sent) = run(local, next_session());
    let nodes = loopback(Duration::from_secs(60)).unwrap();
    let sid = next_session();
    let tls: Vec<Box<dyn Transport>> = nodes
        .iter()
        .map(|n| Box::new(n.session(sid).unwrap()) as Box<dyn Transport>)
        .collect();
    let (tls_s, tls_sent) = run(tls, sid);
    let tls_cpu: Vec<f64> = nodes
        .iter()
        .map(|n| n.runtime_cpu_time().unwrap_or_default().as_secs_f64())
        .collect();
    println!("{eyes} eyes x 31 rotations, one query, three parties as threads");
    println!(
        "in process: {local_s:.3} s wall, {:.0} comparisons/s (wall), bytes sent {local_sent:?}",
        comparisons / local_s
    );
    println!(
        "loopback TLS: {tls_s:.3} s wall, {:.0} comparisons/s (wall), bytes sent {tls_sent:?}, TLS runtime CPU per node {tls_cpu:.3?} s",
        comparisons / tls_s
    );
}
