//! A session id is used once: a second session with the same (or an older) id is refused
//! at every party before anything is sent, before and after the engines restart with
//! their file-backed ledgers; and the refusal leaves the engines usable.

use crate::common;

use common::{on_three, share_person};
use masque_mpc::PartyId;
use masque_mpc::dealer::{QueryShare, enrolment_shares_seeded, query_shares_seeded};
use masque_mpc::engine::{EngineError, PartyEngine};
use masque_mpc::gallery::RecordId;
use masque_mpc::randomness::{PartySeeds, SessionId};
use masque_mpc::session::{SessionError, SessionLedger};
use masque_template::matcher::EyeMode;
use masque_template::{CoverageGate, FixedPointRule, IrisCode, Threshold};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::path::Path;
use std::time::Duration;

fn engines(dir: &Path, seeds: &[PartySeeds; 3], people: &[IrisCode]) -> [PartyEngine; 3] {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut engines = PartyId::ALL.map(|p| {
        let ledger = SessionLedger::open(&dir.join(format!("p{}.sessions", p.index()))).unwrap();
        PartyEngine::new(
            p,
            seeds[p.index()].clone(),
            EyeMode::SingleEye,
            FixedPointRule::new(Threshold::DEFAULT),
        )
        .with_ledger(ledger)
    });
    for (k, code) in people.iter().enumerate() {
        let shares = share_person(&[code], &mut rng, enrolment_shares_seeded);
        for (p, e) in engines.iter_mut().enumerate() {
            e.insert(RecordId(k as u64), &shares[p]).unwrap();
        }
    }
    engines
}

fn search(
    engines: &[PartyEngine; 3],
    sid: u64,
    query: &[Vec<QueryShare>; 3],
) -> Vec<Result<Vec<bool>, EngineError>> {
    on_three(
        engines,
        SessionId(sid),
        Duration::from_secs(30),
        |p, e, net, sid| e.search(net, sid, std::slice::from_ref(&query[p.index()])),
    )
}

#[test]
fn a_session_id_is_refused_the_second_time_at_every_party_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = PartySeeds::deal_seeded(&mut ChaCha20Rng::seed_from_u64(1));
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let people: Vec<IrisCode> = (0..4).map(|_| IrisCode::random(&mut rng, 0.9)).collect();
    let query = share_person(&[&people[2]], &mut rng, query_shares_seeded);
    let reused = |results: Vec<Result<Vec<bool>, EngineError>>, given: u64| {
        for r in results {
            assert_eq!(r, Err(EngineError::Session(SessionError::Reused { given })));
        }
    };

    let first = engines(dir.path(), &seeds, &people);
    for r in search(&first, 10, &query) {
        assert_eq!(r.unwrap(), vec![true]);
    }
    // The same id again: refused at all three, nothing sent (a party that had sent would
    // leave the others waiting; each refuses on its own).
    reused(search(&first, 10, &query), 10);
    // Every protocol draws from the one ledger: the gate cannot reuse 10 either.
    let gated = on_three(
        &first,
        SessionId(10),
        Duration::from_secs(30),
        |p, e, net, sid| {
            e.gate(
                net,
                sid,
                std::slice::from_ref(&query[p.index()]),
                CoverageGate::default(),
            )
        },
    );
    for r in gated {
        assert!(matches!(
            r,
            Err(EngineError::Session(SessionError::Reused { .. }))
        ));
    }
    // The engines are still usable with a fresh id.
    for r in search(&first, 11, &query) {
        assert_eq!(r.unwrap(), vec![true]);
    }
    drop(first);

    // Restarted from their ledgers: the ids used before the restart stay used.
    let restarted = engines(dir.path(), &seeds, &people);
    reused(search(&restarted, 11, &query), 11);
    reused(search(&restarted, 10, &query), 10);
    // An id never used is fine, in any order (concurrent sessions start in different
    // orders at different custodians).
    for sid in [12, 9] {
        for r in search(&restarted, sid, &query) {
            assert_eq!(r.unwrap(), vec![true]);
        }
    }
}

/// Galleries that drifted apart (a record inserted at two custodians only, or the same
/// records in another slot order) are refused at every party before any share is used.
#[test]
fn galleries_that_drifted_apart_are_refused_at_every_party() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = PartySeeds::deal_seeded(&mut ChaCha20Rng::seed_from_u64(4));
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let people: Vec<IrisCode> = (0..3).map(|_| IrisCode::random(&mut rng, 0.9)).collect();
    let query = share_person(&[&people[0]], &mut rng, query_shares_seeded);
    let mismatch = |results: Vec<Result<Vec<bool>, EngineError>>| {
        for r in results {
            assert!(
                matches!(r, Err(EngineError::GalleryMismatch { .. })),
                "{r:?}"
            );
        }
    };

    // A record that reached P0 and P1 but not P2.
    let mut engines = engines(dir.path(), &seeds, &people);
    let extra = share_person(&[&people[1]], &mut rng, enrolment_shares_seeded);
    for p in [0, 1] {
        engines[p].insert(RecordId(99), &extra[p]).unwrap();
    }
    mismatch(search(&engines, 1, &query));

    // Same records, other order: P2 deletes and re-inserts record 0 (it moves to the end).
    let mut engines = engines_in(dir.path().join("b").as_path(), &seeds, &people);
    let again = share_person(&[&people[0]], &mut rng, enrolment_shares_seeded);
    assert!(engines[2].remove(RecordId(0)));
    engines[2].insert(RecordId(0), &again[2]).unwrap();
    mismatch(search(&engines, 1, &query));

    // An empty gallery at one party does not answer alone either.
    let mut engines = engines_in(dir.path().join("c").as_path(), &seeds, &people);
    for k in 0..3 {
        engines[1].remove(RecordId(k));
    }
    mismatch(search(&engines, 1, &query));
}

fn engines_in(dir: &Path, seeds: &[PartySeeds; 3], people: &[IrisCode]) -> [PartyEngine; 3] {
    std::fs::create_dir_all(dir).unwrap();
    engines(dir, seeds, people)
}

/// The PRF keys and the frames on the wire name the same session: an engine refuses to run
/// a session over a TLS transport session with another id, at every party, before sending.
#[test]
fn a_session_runs_only_over_its_own_transport_session() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = PartySeeds::deal_seeded(&mut ChaCha20Rng::seed_from_u64(6));
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let people: Vec<IrisCode> = (0..2).map(|_| IrisCode::random(&mut rng, 0.9)).collect();
    let query = share_person(&[&people[1]], &mut rng, query_shares_seeded);
    let engines = engines(dir.path(), &seeds, &people);
    let nodes = masque_mpc::net::tls::loopback(Duration::from_secs(30)).unwrap();
    // Each party searches as session `engine_sid` over a TLS session opened as `tls_sid`.
    let over_tls = |tls_sid: u64, engine_sid: u64| -> Vec<Result<Vec<bool>, EngineError>> {
        std::thread::scope(|scope| {
            let handles: Vec<_> = PartyId::ALL
                .map(|p| {
                    let (node, engine) = (&nodes[p.index()], &engines[p.index()]);
                    let query = &query[p.index()];
                    scope.spawn(move || {
                        let mut transport = node.session(SessionId(tls_sid)).unwrap();
                        let queries = std::slice::from_ref(query);
                        engine.search(&mut transport, SessionId(engine_sid), queries)
                    })
                })
                .into_iter()
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    };
    for r in over_tls(7, 8) {
        assert_eq!(
            r,
            Err(EngineError::Session(SessionError::TransportMismatch {
                given: 8,
                transport: 7
            }))
        );
    }
    // The same engines run fine over a transport session of the right id.
    for r in over_tls(9, 9) {
        assert_eq!(r.unwrap(), vec![true]);
    }
}
