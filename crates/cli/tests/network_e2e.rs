//! The network end to end: three custodian processes, a log and a witness on loopback,
//! driven through the custodians' API as a station and a wallet would.

use crate::common;

use common::network::{Network, http};
use ed25519_dalek::SigningKey;
use masque_client::{ClientError, Custodians};
use masque_node::setup::new_signing_key;
use masque_protocol::{
    PartyId, RequestId,
    consent::{Consent, SignedConsent},
    entry::{Outcome, Refusal},
    request::{RequestAuth, unix_now},
};
use masque_template::{
    EyePair,
    synth::{IrisPopulation, iris::IrisModel},
};
use std::time::Duration;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn station(network: &Network, name: &str) -> SigningKey {
    let text = std::fs::read_to_string(network.layout.station_key(name)).unwrap();
    SigningKey::from_bytes(&hex::decode(text.trim()).unwrap().try_into().unwrap())
}

/// Person `i`'s capture `k`.
fn capture(population: &IrisPopulation, i: usize, k: usize) -> EyePair {
    population.persons[i].captures[k].clone()
}

fn consent(record: &SigningKey, service: &str, not_after: u64) -> SignedConsent {
    SignedConsent::sign(
        record,
        Consent {
            v: 1,
            record_key: record.verifying_key(),
            service: service.into(),
            purpose: "checking a claim".into(),
            issued_at: unix_now() - 10,
            not_after,
        },
    )
    .unwrap()
}

#[test]
fn enrol_verify_consent_delete_and_concurrent_enrolments_across_three_custodian_processes() {
    let dir = tempfile::tempdir().unwrap();
    let network = Network::start(dir.path(), &["desk-north", "desk-south"]);
    let client = Custodians::new(network.description.clone(), Duration::from_secs(120));
    let population = IrisPopulation::generate(&IrisModel::default(), 7, 4, 3, &|| {});
    let rt = runtime();
    let north = station(&network, "desk-north");
    let south = station(&network, "desk-south");

    // Enrol a person: enrolled, with a receipt that verifies.
    let alice = new_signing_key();
    let alice_audit = [1u8; 32];
    let enrolled = rt
        .block_on(client.enrol(&north, &alice, &alice_audit, &capture(&population, 0, 0)))
        .unwrap();
    assert_eq!(enrolled.outcome(), Outcome::Enrolled);
    let verified = enrolled.verify_receipt(&network.description).unwrap();
    assert_eq!(verified.entry.body.station.as_deref(), Some("desk-north"));
    assert_eq!(
        verified.entry.body.audit_tag,
        Some(hex::encode(masque_protocol::audit::audit_tag(
            &alice_audit,
            0
        )))
    );

    // A new capture of the same person under another record key: duplicate, nothing stored.
    let again = new_signing_key();
    let duplicate = rt
        .block_on(client.enrol(&south, &again, &[2u8; 32], &capture(&population, 0, 1)))
        .unwrap();
    assert_eq!(duplicate.outcome(), Outcome::Duplicate);
    assert!(
        duplicate.entry().unwrap().body.audit_tag.is_none(),
        "a duplicate names no record"
    );
    let err = rt.block_on(client.delete(&again)).unwrap_err();
    assert!(
        matches!(err, ClientError::Refused { status: 404, .. }),
        "{err}"
    );

    // 1:1: a genuine capture matches, an impostor does not.
    let genuine = rt
        .block_on(client.verify(&alice, &capture(&population, 0, 2), None))
        .unwrap();
    assert_eq!(genuine.outcome(), Outcome::Match);
    let impostor = rt
        .block_on(client.verify(&alice, &capture(&population, 1, 0), None))
        .unwrap();
    assert_eq!(impostor.outcome(), Outcome::NoMatch);

    // For a service: refused (and logged) without consent, with an expired one, with a
    // revoked one; a match with a live one.
    let service = "aid-desk/north/round-1";
    let refused = rt
        .block_on(client.verify(&alice, &capture(&population, 0, 1), Some(service)))
        .unwrap();
    assert_eq!(
        (refused.outcome(), refused.reason()),
        (Outcome::Refused, Some(Refusal::NoConsent))
    );
    refused.verify_receipt(&network.description).unwrap();
    let expired = consent(&alice, service, unix_now() - 1);
    let granted = rt.block_on(client.grant_consent(&alice, expired)).unwrap();
    assert_eq!(granted.outcome(), Outcome::Granted);
    let refused = rt
        .block_on(client.verify(&alice, &capture(&population, 0, 1), Some(service)))
        .unwrap();
    assert_eq!(refused.reason(), Some(Refusal::ConsentExpired));
    let live = consent(&alice, service, unix_now() + 3600);
    let live_id = live.id();
    rt.block_on(client.grant_consent(&alice, live)).unwrap();
    let checked = rt
        .block_on(client.verify(&alice, &capture(&population, 0, 1), Some(service)))
        .unwrap();
    assert_eq!(checked.outcome(), Outcome::Match);
    assert_eq!(checked.entry().unwrap().body.consent, Some(live_id.clone()));
    let revoked = rt
        .block_on(client.revoke_consent(&alice, &live_id.0))
        .unwrap();
    assert_eq!(revoked.outcome(), Outcome::Revoked);
    let refused = rt
        .block_on(client.verify(&alice, &capture(&population, 0, 1), Some(service)))
        .unwrap();
    assert_eq!(refused.reason(), Some(Refusal::ConsentRevoked));

    // Delete: later checks find no record, and the person can enrol again.
    let deleted = rt.block_on(client.delete(&alice)).unwrap();
    assert_eq!(deleted.outcome(), Outcome::Deleted);
    deleted.verify_receipt(&network.description).unwrap();
    let err = rt
        .block_on(client.verify(&alice, &capture(&population, 0, 1), None))
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Refused { status: 404, .. }),
        "{err}"
    );
    let back = new_signing_key();
    let reenrolled = rt
        .block_on(client.enrol(&north, &back, &[3u8; 32], &capture(&population, 0, 1)))
        .unwrap();
    assert_eq!(reenrolled.outcome(), Outcome::Enrolled);

    // Two stations enrol one new person at the same moment: exactly one is enrolled.
    let (k1, k2) = (new_signing_key(), new_signing_key());
    let (c1, c2) = (capture(&population, 2, 0), capture(&population, 2, 1));
    let (first, second) = rt.block_on(async {
        tokio::join!(
            client.enrol(&north, &k1, &[4u8; 32], &c1),
            client.enrol(&south, &k2, &[5u8; 32], &c2),
        )
    });
    let mut outcomes = [first.unwrap().outcome(), second.unwrap().outcome()];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(outcomes, [Outcome::Duplicate, Outcome::Enrolled]);
}

/// P0's counter `name` from its `/metrics`.
fn p0_counter(network: &Network, name: &str) -> u64 {
    let url = format!("http://{}/metrics", network.layout.api_addr(PartyId::P0));
    let (status, body) = common::network::http_get(&url);
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    text.lines()
        .find(|l| l.starts_with(&format!("masque_node_{name}{{")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

/// Ten enrolments sent at once run as one batch (P0 waits up to 5 s for ten): two
/// captures each of three people, two other people under one record key, and two more
/// people. Each person is enrolled once, the second capture is a duplicate whichever
/// order the batch has, the shared record key is refused for its second user, and the
/// records the batch stored match their people 1:1 afterwards.
#[test]
fn enrolments_sent_together_run_as_one_batch_and_each_person_is_enrolled_once() {
    let dir = tempfile::tempdir().unwrap();
    let network = Network::start_with_limits(
        dir.path(),
        &["desk"],
        "max_batch = 10\nbatch_window_ms = 5000",
    );
    let client = Custodians::new(network.description.clone(), Duration::from_secs(120));
    let population = IrisPopulation::generate(&IrisModel::default(), 11, 7, 3, &|| {});
    let rt = runtime();
    let desk = station(&network, "desk");
    let shared_key = new_signing_key();
    // (person, capture, record key)
    let mut requests: Vec<(usize, usize, SigningKey)> = Vec::new();
    for person in 0..3 {
        requests.push((person, 0, new_signing_key()));
        requests.push((person, 1, new_signing_key()));
    }
    requests.push((3, 0, shared_key.clone()));
    requests.push((4, 0, shared_key.clone()));
    requests.push((5, 0, new_signing_key()));
    requests.push((6, 0, new_signing_key()));
    let client = std::sync::Arc::new(client);
    let outcomes: Vec<(Outcome, Option<Refusal>)> = rt.block_on(async {
        let sends: Vec<_> = requests
            .iter()
            .enumerate()
            .map(|(i, (person, k, key))| {
                let (client, desk, key) = (client.clone(), desk.clone(), key.clone());
                let eyes = capture(&population, *person, *k);
                tokio::spawn(async move {
                    let done = client
                        .enrol(&desk, &key, &[i as u8; 32], &eyes)
                        .await
                        .unwrap();
                    (done.outcome(), done.reason())
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for send in sends {
            outcomes.push(send.await.unwrap());
        }
        outcomes
    });
    assert_eq!(p0_counter(&network, "enrolment_batches_total"), 1);
    assert_eq!(p0_counter(&network, "batched_enrolments_total"), 10);
    for person in 0..3 {
        let mut pair = [outcomes[2 * person].0, outcomes[2 * person + 1].0];
        pair.sort_by_key(|o| format!("{o:?}"));
        assert_eq!(
            pair,
            [Outcome::Duplicate, Outcome::Enrolled],
            "person {person}"
        );
    }
    let mut shared = [outcomes[6], outcomes[7]];
    shared.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(
        shared,
        [
            (Outcome::Enrolled, None),
            (Outcome::Refused, Some(Refusal::RecordExists))
        ]
    );
    assert_eq!(outcomes[8].0, Outcome::Enrolled);
    assert_eq!(outcomes[9].0, Outcome::Enrolled);
    // The stored records are their people's: a third capture matches 1:1.
    for (i, (person, _, key)) in requests.iter().enumerate() {
        if outcomes[i].0 != Outcome::Enrolled {
            continue;
        }
        let again = rt
            .block_on(client.verify(key, &capture(&population, *person, 2), None))
            .unwrap();
        assert_eq!(again.outcome(), Outcome::Match, "request {i}");
    }
}

#[test]
fn unsigned_forged_replayed_oversized_and_misdirected_requests_get_clear_4xx_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let network = Network::start(dir.path(), &["desk"]);
    let p0 = network.layout.api_addr(PartyId::P0);
    let desk = station(&network, "desk");
    let sign = |key: &SigningKey, audience, path: &str, body: &[u8], id: RequestId| {
        RequestAuth::sign(key, audience, "POST", path, id, unix_now(), body)
            .headers()
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v))
            .collect::<Vec<_>>()
    };
    let problem = |body: &[u8]| -> String {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        v["detail"].as_str().unwrap().to_owned()
    };

    // Unsigned.
    let (status, body) = http(&p0, "POST", "/v1/enrol", &[], b"{}");
    assert_eq!(status, 401);
    assert!(
        problem(&body).contains("x-masque-key"),
        "{}",
        problem(&body)
    );
    // Signed for P1, sent to P0.
    let (status, body) = http(
        &p0,
        "POST",
        "/v1/enrol",
        &sign(&desk, PartyId::P1, "/v1/enrol", b"{}", RequestId::random()),
        b"{}",
    );
    assert_eq!(status, 401);
    assert!(
        problem(&body).contains("another custodian"),
        "{}",
        problem(&body)
    );
    // Signed by a key that is no station.
    let stranger = new_signing_key();
    let (status, _) = http(
        &p0,
        "POST",
        "/v1/enrol",
        &sign(
            &stranger,
            PartyId::P0,
            "/v1/enrol",
            b"{}",
            RequestId::random(),
        ),
        b"{}",
    );
    assert_eq!(status, 403);
    // Malformed JSON from a real station; then the same id again (a replay).
    let id = RequestId::random();
    let (status, body) = http(
        &p0,
        "POST",
        "/v1/enrol",
        &sign(&desk, PartyId::P0, "/v1/enrol", b"{nope", id),
        b"{nope",
    );
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let (status, body) = http(
        &p0,
        "POST",
        "/v1/enrol",
        &sign(&desk, PartyId::P0, "/v1/enrol", b"{nope", id),
        b"{nope",
    );
    assert_eq!(status, 409);
    assert!(
        problem(&body).contains("already used"),
        "{}",
        problem(&body)
    );
    // Oversized.
    let big = vec![b' '; 2 << 20];
    let (status, _) = http(
        &p0,
        "POST",
        "/v1/enrol",
        &sign(&desk, PartyId::P0, "/v1/enrol", &big, RequestId::random()),
        &big,
    );
    assert_eq!(status, 413);
    // Shares sealed for P1 sent to P0.
    let population = IrisPopulation::generate(&IrisModel::default(), 9, 1, 1, &|| {});
    let record = new_signing_key();
    let id = RequestId::random();
    let sealed = masque_client::deal::seal_enrolment(
        &network.description,
        &id,
        &capture(&population, 0, 0),
        &[7u8; 32],
    )
    .unwrap();
    let record_key = hex::encode(record.verifying_key().as_bytes());
    let statement =
        masque_protocol::api::enrol_statement(&id, PartyId::P0, &record_key, &sealed[1]);
    use ed25519_dalek::Signer;
    let body = serde_json::to_vec(&masque_protocol::api::EnrolRequest {
        record_key,
        sealed: sealed[1].clone(),
        record_signature: hex::encode(record.sign(&statement).to_bytes()),
    })
    .unwrap();
    let (status, answer) = http(
        &p0,
        "POST",
        "/v1/enrol",
        &sign(&desk, PartyId::P0, "/v1/enrol", &body, id),
        &body,
    );
    assert_eq!(status, 400);
    assert!(
        problem(&answer).contains("do not open"),
        "{}",
        problem(&answer)
    );
    // Nothing was stored: the gallery is empty at every custodian.
    for p in PartyId::ALL {
        let (_, health) =
            common::network::http_get(&format!("http://{}/v1/health", network.layout.api_addr(p)));
        let health: serde_json::Value = serde_json::from_slice(&health).unwrap();
        assert_eq!(health["gallery_records"], 0, "{p}");
    }
    // Unknown endpoints say where the API is described.
    let (status, body) = http(&p0, "GET", "/v2/nothing", &[], b"");
    assert_eq!(status, 404);
    assert!(problem(&body).contains("openapi"), "{}", problem(&body));
}

/// Once nothing is unsettled and the three custodians hold the same number of records
/// (waiting up to 30 s): their (stored, gallery) record counts.
fn settled_counts(network: &Network, point: &str) -> [(Option<u64>, Option<u64>); 3] {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let health = PartyId::ALL.map(|p| network.health(p));
        let settled = health.iter().all(|h| h["unsettled_requests"] == 0);
        let counts = health
            .clone()
            .map(|h| (h["stored_records"].as_u64(), h["gallery_records"].as_u64()));
        if settled && counts.iter().all(|c| *c == counts[0]) {
            return counts;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{point}: custodians never agreed: {health:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_custodian_killed_at_any_step_of_an_enrolment_leaves_it_on_all_three_or_on_none() {
    let dir = tempfile::tempdir().unwrap();
    let mut network = Network::start(dir.path(), &["desk"]);
    let client = Custodians::new(network.description.clone(), Duration::from_secs(60));
    let population = IrisPopulation::generate(&IrisModel::default(), 11, 8, 2, &|| {});
    let rt = runtime();
    let desk = station(&network, "desk");
    // (custodian killed, where, whether the enrolment is committed)
    let cases = [
        (PartyId::P1, "peer-before-prepare", false),
        (PartyId::P2, "peer-after-prepare", false),
        (PartyId::P0, "coordinator-after-prepare", false),
        (PartyId::P0, "coordinator-after-decide", true),
        (PartyId::P0, "coordinator-after-commit", true),
        (PartyId::P1, "peer-before-commit", true),
    ];
    let mut stored = 0u64;
    for (person, (victim, point, committed)) in cases.into_iter().enumerate() {
        network.kill_node(victim);
        network.start_node_with_env(victim, &[(masque_node::failpoint::VARIABLE, point)]);
        network.wait_linked();
        let pair = capture(&population, person, 0);
        let record = new_signing_key();
        let attempt = {
            let (client, desk, record, pair) =
                (client.clone(), desk.clone(), record.clone(), pair.clone());
            rt.spawn(async move { client.enrol(&desk, &record, &[9u8; 32], &pair).await })
        };
        assert!(
            network.wait_exited(victim, Duration::from_secs(30)),
            "{point}: {victim} did not crash"
        );
        network.start_node(victim);
        network.wait_linked();
        let answer = rt.block_on(attempt).unwrap();
        if !committed {
            assert!(
                answer.is_err(),
                "{point}: the station must see a failure, got {answer:?}"
            );
        }
        // Settled everywhere, and the same records at all three custodians.
        let counts = settled_counts(&network, point);
        stored += u64::from(committed);
        assert_eq!(counts[0], (Some(stored), Some(stored)), "{point}");
        // The network works on: the person is a duplicate exactly when the enrolment committed.
        let retry = rt
            .block_on(client.enrol(
                &desk,
                &new_signing_key(),
                &[9u8; 32],
                &capture(&population, person, 1),
            ))
            .unwrap();
        let expected = if committed {
            Outcome::Duplicate
        } else {
            Outcome::Enrolled
        };
        assert_eq!(retry.outcome(), expected, "{point}");
        stored += u64::from(!committed);
    }
}

/// A batch of three enrolments with a custodian killed at each step: afterwards the
/// custodians agree, and each member is stored at all three or at none. Which members
/// are stored follows from where the crash was: nothing before P0's first decision; the
/// first member only when P0 dies right after deciding or committing it (it cannot
/// commit members it never decided); all three when a follower dies as the commits
/// arrive (P0 goes on, and the follower settles after its restart).
#[test]
fn a_custodian_killed_during_a_batch_of_enrolments_leaves_each_member_on_all_three_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let mut network = Network::start_with_limits(
        dir.path(),
        &["desk"],
        "max_batch = 3\nbatch_window_ms = 5000",
    );
    let client = Custodians::new(network.description.clone(), Duration::from_secs(60));
    let population = IrisPopulation::generate(&IrisModel::default(), 12, 18, 2, &|| {});
    let rt = runtime();
    let desk = station(&network, "desk");
    // (custodian killed, where, members stored)
    let cases = [
        (PartyId::P1, "peer-before-prepare", 0),
        (PartyId::P2, "peer-after-prepare", 0),
        (PartyId::P0, "coordinator-after-prepare", 0),
        (PartyId::P0, "coordinator-after-decide", 1),
        (PartyId::P0, "coordinator-after-commit", 1),
        (PartyId::P1, "peer-before-commit", 3),
    ];
    let mut stored = 0u64;
    for (case, (victim, point, committed)) in cases.into_iter().enumerate() {
        network.kill_node(victim);
        network.start_node_with_env(victim, &[(masque_node::failpoint::VARIABLE, point)]);
        network.wait_linked();
        let batches_before = p0_counter(&network, "enrolment_batches_total");
        let people: Vec<usize> = (3 * case..3 * case + 3).collect();
        let records: Vec<SigningKey> = people.iter().map(|_| new_signing_key()).collect();
        let attempts: Vec<_> = people
            .iter()
            .zip(&records)
            .map(|(&person, record)| {
                let (client, desk, record) = (client.clone(), desk.clone(), record.clone());
                let pair = capture(&population, person, 0);
                rt.spawn(async move { client.enrol(&desk, &record, &[9u8; 32], &pair).await })
            })
            .collect();
        assert!(
            network.wait_exited(victim, Duration::from_secs(30)),
            "{point}: {victim} did not crash"
        );
        network.start_node(victim);
        network.wait_linked();
        let answers: Vec<_> = attempts
            .into_iter()
            .map(|a| rt.block_on(a).unwrap())
            .collect();
        if victim != PartyId::P0 {
            // P0 kept its counters: the three ran as one batch.
            assert_eq!(
                p0_counter(&network, "enrolment_batches_total"),
                batches_before + 1,
                "{point}"
            );
        }
        let counts = settled_counts(&network, point);
        stored += committed;
        assert_eq!(counts[0], (Some(stored), Some(stored)), "{point}");
        // Each member: its record answers 1:1 exactly when its person is now a
        // duplicate (the three retries run as one batch); a member the station was
        // told is enrolled is stored.
        let verified: Vec<bool> = people
            .iter()
            .zip(&records)
            .map(|(&person, record)| {
                match rt.block_on(client.verify(record, &capture(&population, person, 1), None)) {
                    Ok(o) => o.outcome() == Outcome::Match,
                    Err(masque_client::ClientError::Refused { status: 404, .. }) => false,
                    Err(e) => panic!("{point}: person {person}: {e}"),
                }
            })
            .collect();
        let retries: Vec<_> = people
            .iter()
            .map(|&person| {
                let (client, desk) = (client.clone(), desk.clone());
                let pair = capture(&population, person, 1);
                rt.spawn(async move {
                    client
                        .enrol(&desk, &new_signing_key(), &[9u8; 32], &pair)
                        .await
                })
            })
            .collect();
        for (k, retry) in retries.into_iter().enumerate() {
            let retry = rt.block_on(retry).unwrap().unwrap().outcome();
            let expected = if verified[k] {
                Outcome::Duplicate
            } else {
                Outcome::Enrolled
            };
            assert_eq!(retry, expected, "{point}: member {k}");
            if let Ok(done) = &answers[k]
                && done.outcome() == Outcome::Enrolled
            {
                assert!(verified[k], "{point}: member {k} was told enrolled");
            }
        }
        let found = verified.iter().filter(|v| **v).count() as u64;
        assert_eq!(found, committed, "{point}");
        stored += 3 - committed;
    }
}

/// Correctly signed requests with arbitrary bodies, at every endpoint, get a 4xx problem
/// document, never a crash, and never store anything (property test against one running
/// network).
#[test]
fn signed_garbage_at_every_endpoint_is_refused_and_stores_nothing() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let dir = tempfile::tempdir().unwrap();
    let network = Network::start(dir.path(), &["desk"]);
    let desk = station(&network, "desk");
    let p0 = network.layout.api_addr(PartyId::P0);
    let bodies = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        "\\{\"record_key\":\"[0-9a-f]{0,70}\",\"sealed\":\\{\"enc\":\"[A-Za-z0-9+/=]{0,50}\",\"ciphertext\":\"[A-Za-z0-9+/=]{0,80}\"\\},\"record_signature\":\"[0-9a-f]{0,130}\"\\}"
            .prop_map(String::into_bytes),
        "\\{\"consent_id\":\"[0-9a-fA-F]{0,70}\"\\}".prop_map(String::into_bytes),
    ];
    let mut runner = TestRunner::new(Config::with_cases(48));
    runner
        .run(&(0usize..5, bodies), |(endpoint, body)| {
            let path = [
                "/v1/enrol",
                "/v1/verify",
                "/v1/delete",
                "/v1/consents",
                "/v1/consents/revoke",
            ][endpoint];
            let headers: Vec<(String, String)> = RequestAuth::sign(
                &desk,
                PartyId::P0,
                "POST",
                path,
                RequestId::random(),
                unix_now(),
                &body,
            )
            .headers()
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v))
            .collect();
            let (status, answer) = http(&p0, "POST", path, &headers, &body);
            prop_assert!(
                (400..500).contains(&status),
                "{path}: {status} {}",
                String::from_utf8_lossy(&answer)
            );
            let problem: serde_json::Value = serde_json::from_slice(&answer).unwrap();
            prop_assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
            let health = network.health(PartyId::P0);
            prop_assert_eq!(&health["stored_records"], &serde_json::json!(0));
            prop_assert_eq!(&health["unsettled_requests"], &serde_json::json!(0));
            Ok(())
        })
        .unwrap();
}

/// A credential through the custodians: issued after enrolment, re-issued to a restored
/// wallet only after the person's own 1:1 match, with the same pseudonym at a service.
#[test]
fn credentials_are_issued_after_enrolment_and_reissued_after_a_match_with_the_same_pseudonyms() {
    use masque_cred::{
        BbsHolder, BbsVerifier, ContextId, EpochSchedule, Holder, Timestamp, Verifier,
        VerifierPolicy, WalletSeed,
        objects::{IssuanceOffer, IssuanceResponse, IssuerPublicKey},
        wire::WireObject,
    };
    use masque_protocol::entry::Operation;
    let dir = tempfile::tempdir().unwrap();
    let network = Network::start(dir.path(), &["desk"]);
    let client = Custodians::new(network.description.clone(), Duration::from_secs(120));
    let population = IrisPopulation::generate(&IrisModel::default(), 21, 1, 3, &|| {});
    let rt = runtime();
    let desk = station(&network, "desk");
    let info = network.description.issuer.clone().unwrap();
    let issuer = IssuerPublicKey::from_json(info.public_key.as_bytes()).unwrap();
    let record = new_signing_key();
    rt.block_on(client.enrol(&desk, &record, &[6; 32], &capture(&population, 0, 0)))
        .unwrap();

    let get_credential = |holder: &BbsHolder| {
        let offer =
            IssuanceOffer::from_json(rt.block_on(client.offer(&record)).unwrap().as_bytes())
                .unwrap();
        let (request, pending) = holder.request(&issuer, &offer).unwrap();
        let outcomes = rt
            .block_on(client.issue(&record, &request.to_json()))
            .unwrap();
        let credential = outcomes.credential().map(|response| {
            holder
                .finalise(
                    &pending,
                    &IssuanceResponse::from_json(response.as_bytes()).unwrap(),
                )
                .unwrap()
        });
        (outcomes, credential)
    };
    let pseudonym = |holder: &BbsHolder, credential: &masque_cred::Credential| {
        let mut service = BbsVerifier::new(VerifierPolicy {
            context_id: ContextId::new("aid-desk/north/1").unwrap(),
            issuer: issuer.clone(),
            required: vec![],
            nonce_lifetime_secs: 300,
            schedule: EpochSchedule::new(Timestamp(info.epoch_origin), info.epoch_secs).unwrap(),
            enrolled_before: None,
        })
        .unwrap();
        let now = Timestamp(unix_now());
        let challenge = service.challenge(now).unwrap();
        let presentation = holder.present(credential, &challenge).unwrap();
        service
            .verify(&presentation, now)
            .unwrap()
            .pseudonym
            .to_string()
    };

    let seed = [42u8; 32];
    let wallet = BbsHolder::from_seed(&WalletSeed::new(&seed).unwrap());
    let (issued, credential) = get_credential(&wallet);
    assert_eq!(
        (issued.outcome(), issued.entry().unwrap().body.op),
        (Outcome::Issued, Operation::Issue)
    );
    issued.verify_receipt(&network.description).unwrap();
    let first = pseudonym(&wallet, &credential.unwrap());

    // The wallet is lost; restored from its seed, it asks again: not without a match.
    let restored = BbsHolder::from_seed(&WalletSeed::new(&seed).unwrap());
    let (refused, none) = get_credential(&restored);
    assert_eq!(refused.reason(), Some(Refusal::NotVerified));
    assert_eq!(refused.entry().unwrap().body.op, Operation::Reissue);
    assert!(none.is_none());
    // The person's own 1:1 match, then the re-issuance: the same pseudonym.
    let matched = rt
        .block_on(client.verify(&record, &capture(&population, 0, 1), None))
        .unwrap();
    assert_eq!(matched.outcome(), Outcome::Match);
    let (reissued, credential) = get_credential(&restored);
    assert_eq!(reissued.outcome(), Outcome::Issued);
    assert_eq!(pseudonym(&restored, &credential.unwrap()), first);
    // The match is used up: a second re-issuance needs another match.
    let (again, _) = get_credential(&restored);
    assert_eq!(again.reason(), Some(Refusal::NotVerified));
}
