//! Three parties in three separate processes over real loopback TLS.
//!
//! The parent test writes a network config with fresh certificates into a temporary
//! directory and runs this test binary three times, once per party, with only
//! `tls_child` selected. Each child derives its own engine from the same seeded dealer
//! (every child deals all shares and seeds, then keeps only its party's), connects with
//! its own key, runs a 1:N and a 1:1 query and prints the bits it opened. The parent
//! checks that all three printed the plaintext matcher's answers and exited with 0.

use crate::common;

use common::share_person;
use masque_mpc::PartyId;
use masque_mpc::dealer::{QueryShare, enrolment_shares_seeded, query_shares_seeded};
use masque_mpc::engine::PartyEngine;
use masque_mpc::gallery::RecordId;
use masque_mpc::net::tls::{TlsNode, TlsOptions, generate_network};
use masque_mpc::randomness::{PartySeeds, SessionId};
use masque_template::matcher::{DecisionRule, EyeMode, IrisGallery, IrisQuery, Matcher};
use masque_template::synth::IrisPopulation;
use masque_template::synth::iris::IrisModel;
use masque_template::{FixedPointRule, Threshold};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PARTY_VAR: &str = "MASQUE_TLS_TEST_PARTY";
const DIR_VAR: &str = "MASQUE_TLS_TEST_DIR";
const CHILD: &str = "tls_processes::tls_child";
/// The production threshold.
const T: f64 = Threshold::DEFAULT.value();

/// Everything every process derives from the seeds: the engines of all three parties,
/// their shares of the probes, and the plaintext answers.
struct Dealt {
    engines: [PartyEngine; 3],
    probes: [Vec<Vec<QueryShare>>; 3],
    search: Vec<bool>,
    verify: bool,
}

/// Persons 0 and 1 enrolled with both eyes; probes are capture 1 of persons 0..3;
/// the 1:1 check is probe 0 against record 0.
fn deal() -> Dealt {
    let rule = FixedPointRule::from_threshold(T);
    let pop = IrisPopulation::generate(&IrisModel::default(), 41, 3, 2, &|| {});
    let mut rng = ChaCha20Rng::seed_from_u64(17);
    let seeds = PartySeeds::deal_seeded(&mut rng);
    let mut engines =
        PartyId::ALL.map(|p| PartyEngine::new(p, seeds[p.index()].clone(), EyeMode::TwoEyes, rule));
    let mut plain = IrisGallery::new(EyeMode::TwoEyes);
    for (i, person) in pop.persons.iter().enumerate().take(2) {
        let pair = &person.captures[0];
        let shares = share_person(
            &[&pair.left, &pair.right],
            &mut rng,
            enrolment_shares_seeded,
        );
        for (p, e) in engines.iter_mut().enumerate() {
            e.insert(RecordId(i as u64), &shares[p]).unwrap();
        }
        plain
            .insert_pair(RecordId(i as u64), &person.captures[0])
            .unwrap();
    }
    let matcher = Matcher::new(DecisionRule::FixedPoint(rule));
    let mut probes: [Vec<Vec<QueryShare>>; 3] = Default::default();
    let mut search = Vec::new();
    for person in &pop.persons {
        let q = &person.captures[1];
        for (p, s) in share_person(&[&q.left, &q.right], &mut rng, query_shares_seeded)
            .into_iter()
            .enumerate()
        {
            probes[p].push(s);
        }
        search.push(
            matcher
                .search(&plain, &IrisQuery::pair(q))
                .unwrap()
                .is_match,
        );
    }
    let verify = matcher
        .verify(
            &plain,
            RecordId(0),
            &IrisQuery::pair(&pop.persons[0].captures[1]),
        )
        .unwrap()
        .unwrap()
        .is_match;
    Dealt {
        engines,
        probes,
        search,
        verify,
    }
}

fn bits(b: &[bool]) -> String {
    b.iter().map(|&x| if x { '1' } else { '0' }).collect()
}

/// One party's process: runs only when the parent set the environment.
#[test]
#[ignore = "a child of three_parties_in_three_processes_agree_over_tls"]
fn tls_child() {
    let (Ok(party), Ok(dir)) = (std::env::var(PARTY_VAR), std::env::var(DIR_VAR)) else {
        return;
    };
    let me = PartyId::from_index(party.parse().unwrap());
    let Dealt {
        engines, probes, ..
    } = deal();
    let mut engine = engines.into_iter().nth(me.index()).unwrap();
    let probes = &probes[me.index()];
    let node = TlsNode::start_dir(
        &PathBuf::from(dir),
        me,
        TlsOptions::with_timeout(Duration::from_secs(30)),
    )
    .unwrap();
    node.wait_connected(Duration::from_secs(60)).unwrap();
    // The dealt PRF seeds are replaced by seeds the three processes agree over TLS, so
    // no single machine ever knew the ones the queries use.
    let sid = SessionId(0);
    let agreed = PartySeeds::agree(&mut node.session(sid).unwrap()).unwrap();
    engine.set_seeds(agreed);
    let sid = SessionId(1);
    let search = engine
        .search(&mut node.session(sid).unwrap(), sid, probes)
        .unwrap();
    let sid = SessionId(2);
    let verify = engine
        .verify(
            &mut node.session(sid).unwrap(),
            sid,
            RecordId(0),
            &probes[0],
        )
        .unwrap();
    println!(
        "OPENED {me} search={} verify={}",
        bits(&search),
        bits(&[verify])
    );
    // Dropping the node sends what is still queued before closing.
    drop(node);
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn three_parties_in_three_processes_agree_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let addresses = [0, 1, 2].map(|_| format!("127.0.0.1:{}", free_port()));
    generate_network(dir.path(), addresses).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut children: Vec<_> = PartyId::ALL
        .into_iter()
        .map(|p| {
            let child = Command::new(&exe)
                .args(["--exact", CHILD, "--nocapture", "--include-ignored"])
                .env(PARTY_VAR, p.index().to_string())
                .env(DIR_VAR, dir.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (p, child)
        })
        .collect();
    // Children fail on their own within their timeouts; this only guards a hang.
    let deadline = Instant::now() + Duration::from_secs(180);
    while children
        .iter_mut()
        .any(|(_, c)| c.try_wait().unwrap().is_none())
    {
        if Instant::now() > deadline {
            for (_, c) in &mut children {
                let _ = c.kill();
            }
            panic!("a child process hung");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dealt = deal();
    assert!(dealt.search.contains(&true) && dealt.search.contains(&false));
    for (p, child) in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{p} failed:\n{stdout}\n{stderr}");
        let want = format!(
            "OPENED {p} search={} verify={}",
            bits(&dealt.search),
            bits(&[dealt.verify])
        );
        assert!(
            stdout.lines().any(|l| l == want),
            "{p} did not print {want:?}:\n{stdout}"
        );
    }
}
