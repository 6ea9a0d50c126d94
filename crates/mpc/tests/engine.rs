//! The engine end to end over the in-process transport, against the plaintext matcher.

use crate::common;

use common::{on_three, share_person};
use masque_mpc::PartyId;
use masque_mpc::dealer::{
    EnrolmentShare, QueryShare, enrolment_shares_seeded, query_shares_seeded,
};
use masque_mpc::engine::{EngineError, PartyEngine};
use masque_mpc::gallery::GalleryError;
use masque_mpc::gallery::RecordId;
use masque_mpc::net::NetError;
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

/// Session ids, one per query run, never reused.
static SESSIONS: AtomicU64 = AtomicU64::new(1);

fn engines(mode: EyeMode) -> [PartyEngine; 3] {
    let seeds = PartySeeds::deal_seeded(&mut ChaCha20Rng::seed_from_u64(3));
    PartyId::ALL.map(|p| {
        PartyEngine::new(
            p,
            seeds[p.index()].clone(),
            mode,
            FixedPointRule::from_threshold(T),
        )
    })
}

fn enrol(eyes: &[&IrisCode], rng: &mut ChaCha20Rng) -> [Vec<EnrolmentShare>; 3] {
    share_person(eyes, rng, enrolment_shares_seeded)
}

fn query(eyes: &[&IrisCode], rng: &mut ChaCha20Rng) -> [Vec<QueryShare>; 3] {
    share_person(eyes, rng, query_shares_seeded)
}

/// Runs `f` for the three parties on threads over a fresh in-process network, in a fresh
/// session.
fn run<T: Send>(
    engines: &[PartyEngine; 3],
    f: impl Fn(PartyId, &PartyEngine, &mut dyn masque_mpc::net::Transport, SessionId) -> T + Sync,
) -> Vec<T> {
    let sid = SessionId(SESSIONS.fetch_add(1, Ordering::Relaxed));
    on_three(engines, sid, Duration::from_secs(30), f)
}

fn population(persons: usize) -> IrisPopulation {
    IrisPopulation::generate(&IrisModel::default(), 11, persons, 2, &|| {})
}

#[test]
fn two_eye_search_verify_and_delete_agree_with_the_plaintext_matcher() {
    let pop = population(6);
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let mut mpc = engines(EyeMode::TwoEyes);
    let mut plain = IrisGallery::new(EyeMode::TwoEyes);
    let matcher = Matcher::new(DecisionRule::FixedPoint(FixedPointRule::from_threshold(T)));
    // Enrol persons 0..4 (capture 0).
    for (i, person) in pop.persons.iter().enumerate().take(4) {
        let pair = &person.captures[0];
        let shares = enrol(&[&pair.left, &pair.right], &mut rng);
        for (p, e) in mpc.iter_mut().enumerate() {
            e.insert(RecordId(i as u64), &shares[p]).unwrap();
        }
        plain.insert_pair(RecordId(i as u64), pair).unwrap();
    }
    // Queries: capture 1 of every person (enrolled ones are genuine, 4 and 5 are not),
    // plus a chimera: left eye of person 0 with right eye of person 5.
    let mut probes: Vec<EyePair> = pop.persons.iter().map(|p| p.captures[1].clone()).collect();
    probes.push(EyePair {
        left: pop.persons[0].captures[1].left.clone(),
        right: pop.persons[5].captures[1].right.clone(),
    });
    let expected: Vec<bool> = probes
        .iter()
        .map(|q| {
            matcher
                .search(&plain, &IrisQuery::pair(q))
                .unwrap()
                .is_match
        })
        .collect();
    assert!(
        expected.iter().any(|&m| m) && expected.iter().any(|&m| !m),
        "{expected:?}"
    );
    let mut per_party: [Vec<Vec<QueryShare>>; 3] = Default::default();
    for q in &probes {
        for (p, s) in query(&[&q.left, &q.right], &mut rng)
            .into_iter()
            .enumerate()
        {
            per_party[p].push(s);
        }
    }
    let got = run(&mpc, |p, e, net, sid| {
        e.search(net, sid, &per_party[p.index()]).unwrap()
    });
    for g in &got {
        assert_eq!(g, &expected);
    }
    // 1:1 of probe 0 against record 0 (same person) and record 1 (different).
    for record in [0u64, 1] {
        let want = matcher
            .verify(&plain, RecordId(record), &IrisQuery::pair(&probes[0]))
            .unwrap()
            .unwrap()
            .is_match;
        let got = run(&mpc, |p, e, net, sid| {
            e.verify(net, sid, RecordId(record), &per_party[p.index()][0])
                .unwrap()
        });
        assert!(
            got.iter().all(|&g| g == want),
            "record {record}: {got:?} vs {want}"
        );
    }
    // Delete record 0: its genuine probe no longer matches, the others are unchanged.
    for e in &mut mpc {
        assert!(e.remove(RecordId(0)));
        assert!(!e.remove(RecordId(0)));
    }
    let got = run(&mpc, |p, e, net, sid| {
        e.search(net, sid, &per_party[p.index()][..2]).unwrap()
    });
    assert_eq!(got[0], vec![false, expected[1]]);
    let unknown = run(&mpc, |p, e, net, sid| {
        e.verify(net, sid, RecordId(0), &per_party[p.index()][0])
    });
    assert!(
        unknown
            .iter()
            .all(|r| *r == Err(EngineError::UnknownRecord(0)))
    );
}

#[test]
fn single_eye_mode_and_a_failing_peer() {
    let pop = population(3);
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let mut mpc = engines(EyeMode::SingleEye);
    let left = |i: usize, k: usize| pop.persons[i].captures[k].left.clone();
    for i in 0..2 {
        let shares = enrol(&[&left(i, 0)], &mut rng);
        for (p, e) in mpc.iter_mut().enumerate() {
            e.insert(RecordId(i as u64), &shares[p]).unwrap();
        }
    }
    // Wrong shapes are refused without touching the gallery.
    let two = enrol(&[&left(2, 0), &left(2, 1)], &mut rng);
    assert!(matches!(
        mpc[0].insert(RecordId(9), &two[0]),
        Err(EngineError::Gallery(GalleryError::WrongShape { .. }))
    ));
    // A share dealt to another custodian is refused too.
    let one = enrol(&[&left(2, 0)], &mut rng);
    assert!(matches!(
        mpc[0].insert(RecordId(9), &one[1]),
        Err(EngineError::Gallery(GalleryError::WrongParty { .. }))
    ));
    assert_eq!(mpc[0].gallery().len(), 2);

    let probes: Vec<[Vec<QueryShare>; 3]> =
        (0..3).map(|i| query(&[&left(i, 1)], &mut rng)).collect();
    // P2 drops out mid-protocol: every party gets a typed network error.
    let failed = run(&mpc, |p, e, net, sid| {
        if p == PartyId::P2 {
            return Err(EngineError::Net(NetError::Disconnected { peer: p }));
        }
        e.search(net, sid, &[probes[0][p.index()].clone()])
    });
    assert!(
        failed.iter().all(|r| matches!(r, Err(EngineError::Net(_)))),
        "{failed:?}"
    );
    // The engine is still usable: the next query succeeds on all parties.
    let mut ok = run(&mpc, |p, e, net, sid| {
        let qs: Vec<_> = probes.iter().map(|q| q[p.index()].clone()).collect();
        e.search(net, sid, &qs).unwrap()
    });
    let first = ok.remove(0);
    assert!(ok.iter().all(|o| *o == first));
    let mut plain = IrisGallery::new(EyeMode::SingleEye);
    for i in 0..2 {
        plain.insert_eye(RecordId(i as u64), &left(i, 0)).unwrap();
    }
    let matcher = Matcher::new(DecisionRule::FixedPoint(FixedPointRule::from_threshold(T)));
    let want: Vec<bool> = (0..3)
        .map(|i| {
            matcher
                .search(&plain, &IrisQuery::single(&left(i, 1)))
                .unwrap()
                .is_match
        })
        .collect();
    assert_eq!(first, want);
}

#[test]
fn one_record_id_names_a_record_in_plaintext_and_in_shares() {
    // The engine's record id is the template crate's: the plaintext gallery's ids can be
    // used at the parties without conversion.
    let plain: masque_template::matcher::RecordId = masque_template::matcher::RecordId(7);
    let shared: RecordId = plain;
    assert_eq!(shared, RecordId(7));
    assert_eq!(shared.to_string(), "7");
}
