//! The watcher following a real log over HTTP (the log crate's own server on loopback):
//! a benign stream raises almost no alerts, each scripted abuse is detected, a restart
//! neither repeats nor drops an alert, and every evidence bundle checks out while every
//! single-byte change to one fails.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use masque_protocol::PartyId;
use masque_protocol::entry::{EntryBody, LogEntry, Operation, Outcome};
use masque_protocol::keys::HpkePublicKey;
use masque_protocol::network::{
    CustodianInfo, JointKeyInfo, LogInfo, NetworkDescription, StationInfo,
};
use masque_tlog::http::{LogServer, log_router};
use masque_tlog::keys::{KeyName, SecretKey, TYPE_ED25519};
use masque_tlog::log::Log;
use masque_tlog::storage::MemStorage;
use masque_watch::alert::Rule;
use masque_watch::synth::{Stream, SynthKeys};
use masque_watch::{WatchOptions, Watcher, evidence};
use zeroize::Zeroizing;

const ORIGIN: &str = "watch.test.log";
const START: u64 = 1_796_000_400; // an hour

/// A log served over HTTP on loopback.
struct TestLog {
    url: String,
}

impl TestLog {
    async fn start(key: &SecretKey) -> TestLog {
        let storage = Arc::new(MemStorage::new());
        let log = Log::create(
            storage.clone(),
            ORIGIN,
            SecretKey::from_skey(&key.to_skey()).unwrap(),
        )
        .unwrap();
        let server = Arc::new(
            LogServer::new(storage, log, &["t".into()], 4096, std::time::Duration::ZERO).unwrap(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = log_router(server.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        TestLog { url }
    }

    /// Appends through the log's own `POST /add-entries`, as custodians do.
    async fn append(&self, entries: &[Vec<u8>]) {
        let http = masque_client::http::HttpClient::new(std::time::Duration::from_secs(60));
        for chunk in entries.chunks(2000) {
            let mut body = Vec::new();
            for e in chunk {
                body.extend_from_slice(&(e.len() as u16).to_be_bytes());
                body.extend_from_slice(e);
            }
            let (status, answer) = http
                .call(
                    "POST",
                    &format!("{}/add-entries", self.url),
                    &[("authorization", "Bearer t".into())],
                    body,
                )
                .await
                .unwrap();
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
        }
    }
}

fn custodian_keys() -> SynthKeys {
    SynthKeys::from_seeds([[11; 32], [12; 32], [13; 32]], [14; 32])
}

fn network(log_url: &str, log_key: &SecretKey, stations: &Stream) -> NetworkDescription {
    let keys = custodian_keys();
    let custodians = PartyId::ALL
        .iter()
        .map(|p| CustodianInfo {
            party: *p,
            api: format!("http://127.0.0.1:{}", 1 + p.index()),
            signing_key: keys.each[p.index()].verifying_key(),
            hpke_key: serde_json::from_str::<HpkePublicKey>(&format!(
                "\"{}\"",
                hex::encode([p.index() as u8 + 1; 32])
            ))
            .unwrap(),
        })
        .collect();
    let station_infos = stations
        .stations
        .iter()
        .map(|s| StationInfo {
            name: s.name.clone(),
            key: SigningKey::from_bytes(&[7; 32]).verifying_key(),
            max_per_hour: Some(200),
        })
        .collect();
    NetworkDescription {
        name: "watch test".into(),
        custodians,
        joint_key: JointKeyInfo {
            key: keys.joint.verifying_key(),
            package: None,
        },
        stations: station_infos,
        log: LogInfo {
            url: log_url.into(),
            policy: format!(
                "log {}\nquorum none\n",
                log_key.public_key(TYPE_ED25519).to_vkey()
            ),
        },
        request_window_s: 300,
        issuer: None,
    }
}

fn log_key() -> SecretKey {
    SecretKey::from_seed(KeyName::new(ORIGIN).unwrap(), &[5; 32])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_benign_stream_of_100000_operations_raises_at_most_one_alert_per_thousand() {
    let key = log_key();
    let log = TestLog::start(&key).await;
    let mut stream = Stream::new(custodian_keys(), 20, 1, START);
    let entries = stream.benign(100_000);
    log.append(&entries).await;
    let dir = tempfile::tempdir().unwrap();
    let mut watcher = Watcher::open(
        dir.path(),
        &network(&log.url, &key, &stream),
        WatchOptions::default(),
    )
    .unwrap();
    let report = watcher.poll().await.unwrap();
    assert_eq!(report.to, entries.len() as u64);
    let rate = report.alerts.len() as f64 / entries.len() as f64;
    eprintln!(
        "{} alerts on {} benign operations ({:.4} %): {:?}",
        report.alerts.len(),
        entries.len(),
        100.0 * rate,
        report.alerts.iter().map(|a| &a.summary).collect::<Vec<_>>()
    );
    assert!(rate <= 0.001, "false alert rate {rate}");
    assert!(
        report
            .alerts
            .iter()
            .all(|a| a.rule.severity() == masque_watch::alert::Severity::Warning),
        "a benign stream broke a rule: {:?}",
        report.alerts
    );
}

/// Builds the scripted abuses on top of some benign history; returns the entries and the
/// audit key of the record deleted and then touched.
fn abuses(stream: &mut Stream) -> (Vec<Vec<u8>>, [u8; 32]) {
    let mut entries = stream.benign(20_000);
    let mut hour = Vec::new();
    // 1. Bulk 1:1 probing of one record: six failing checks under one consent.
    let station = stream.stations[1].name.clone();
    hour.push(stream.enrol(&station, false));
    let victim = stream.records.len() - 1;
    let (consent, grant) = stream.grant(victim, "probe.example", 30);
    hour.push(grant);
    for _ in 0..6 {
        hour.push(stream.verify(victim, "probe.example", &consent, false));
    }
    // 2. A verification without consent, signed by P0 with its key and by rogue keys in
    //    P1's and P2's places.
    let mut body = stream.body(Operation::Verify, Outcome::Match);
    body.service = Some("rogue.example".into());
    let keys = custodian_keys();
    let rogue = SigningKey::from_bytes(&[99; 32]);
    let signatures = vec![
        body.sign(PartyId::P0, &keys.each[0]),
        body.sign(PartyId::P1, &rogue),
        body.sign(PartyId::P2, &rogue),
    ];
    hour.push(
        LogEntry {
            body,
            joint_signature: None,
            signatures,
        }
        .to_bytes(),
    );
    // 3. An operation on a deleted record.
    hour.push(stream.enrol(&station, false));
    let deleted = stream.records.len() - 1;
    hour.push(stream.delete(deleted));
    let mut touch: EntryBody = stream.body(Operation::Issue, Outcome::Issued);
    touch.audit_tag = Some(stream.tag(deleted));
    hour.push(stream.sign(touch));
    // 5. A station harvesting duplicates: 40 enrolment attempts, 36 of them duplicates.
    let harvester = stream.stations[2].name.clone();
    for i in 0..40 {
        hour.push(stream.enrol(&harvester, i % 10 != 0));
    }
    entries.extend(hour);
    entries.extend(stream.benign(2_000));
    (entries, stream.records[deleted].audit_key)
}

#[tokio::test(flavor = "multi_thread")]
async fn scripted_abuses_are_detected_survive_a_restart_and_their_evidence_checks_out() {
    let key = log_key();
    let log = TestLog::start(&key).await;
    let mut stream = Stream::new(custodian_keys(), 12, 2, START);
    let (entries, deleted_key) = abuses(&mut stream);
    let network = network(&log.url, &key, &stream);
    let options = || WatchOptions {
        audit_keys: vec![Zeroizing::new(deleted_key)],
        ..Default::default()
    };

    // One watcher reads it all at once.
    log.append(&entries).await;
    let once_dir = tempfile::tempdir().unwrap();
    let mut once = Watcher::open(once_dir.path(), &network, options()).unwrap();
    let all = once.poll().await.unwrap().alerts;
    let rules: Vec<Rule> = all.iter().map(|a| a.rule).collect();
    for rule in [
        Rule::Probing,
        Rule::RogueCustodian,
        Rule::NoConsent,
        Rule::AfterDeletion,
        Rule::DuplicateHarvesting,
    ] {
        assert!(rules.contains(&rule), "{rule:?} not detected: {all:#?}");
    }

    // Another follows the same log in small steps with a restart in between: the same
    // alerts, none twice.
    let stepped_dir = tempfile::tempdir().unwrap();
    let served = TestLog::start(&key).await;
    let network_b = NetworkDescription {
        log: LogInfo {
            url: served.url.clone(),
            ..network.log.clone()
        },
        ..network.clone()
    };
    let mut seen = Vec::new();
    let cut = entries.len() - 2_100;
    for (i, part) in [&entries[..7_000], &entries[7_000..cut], &entries[cut..]]
        .iter()
        .enumerate()
    {
        served.append(part).await;
        let mut watcher = Watcher::open(stepped_dir.path(), &network_b, options()).unwrap();
        let report = watcher.poll().await.unwrap();
        seen.extend(report.alerts.iter().map(|a| a.id.clone()));
        // Delivery: everything raised is in the outbox once, then gone.
        let mut delivered = Vec::new();
        watcher
            .deliver(|a| {
                delivered.push(a.id.clone());
                async { Ok(()) }
            })
            .await
            .unwrap();
        assert_eq!(
            delivered,
            report
                .alerts
                .iter()
                .map(|a| a.id.clone())
                .collect::<Vec<_>>(),
            "step {i}"
        );
        drop(watcher);
    }
    let mut expected: Vec<String> = all.iter().map(|a| a.id.clone()).collect();
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "an alert was raised twice");
    expected.sort();
    assert_eq!(sorted, expected, "restarts changed the alerts");

    // Evidence: every bundle checks out; every single-byte change to one fails.
    for alert in &all {
        let bundle = evidence::export(once.store(), alert, &[Zeroizing::new(deleted_key)]).unwrap();
        let bytes = serde_json::to_vec(&bundle).unwrap();
        let verdict =
            evidence::check(&bytes, &network).unwrap_or_else(|e| panic!("{}: {e}", alert.id));
        assert!(!verdict.proves.is_empty());
        eprintln!("{}: {:?}", alert.id, verdict.proves);
    }
    let rogue = all.iter().find(|a| a.rule == Rule::RogueCustodian).unwrap();
    let bundle = evidence::export(once.store(), rogue, &[]).unwrap();
    let bytes = serde_json::to_vec(&bundle).unwrap();
    let verdict = evidence::check(&bytes, &network).unwrap();
    assert!(
        verdict.proves[0].contains("signed by custodian P0 alone"),
        "{verdict:?}"
    );
    for i in 0..bytes.len() {
        let mut tampered = bytes.clone();
        tampered[i] ^= 0x01;
        assert!(
            evidence::check(&tampered, &network).is_err(),
            "a change at byte {i} ({:?}) went unnoticed",
            String::from_utf8_lossy(&bytes[i.saturating_sub(20)..(i + 20).min(bytes.len())])
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fork_shown_by_a_peer_is_the_loudest_alert_and_its_evidence_checks_out() {
    let key = log_key();
    let honest = TestLog::start(&key).await;
    let mut stream = Stream::new(custodian_keys(), 4, 3, START);
    let common = stream.benign(500);
    honest.append(&common).await;
    // The same log key signs another history for a peer monitor to see.
    let forked = TestLog::start(&key).await;
    forked.append(&common[..300]).await;
    forked.append(&stream.benign(50)).await;
    let network = network(&honest.url, &key, &stream);
    let dir = tempfile::tempdir().unwrap();
    let mut watcher = Watcher::open(
        dir.path(),
        &network,
        WatchOptions {
            peers: vec![forked.url.clone()],
            ..Default::default()
        },
    )
    .unwrap();
    honest.append(&stream.benign(1_000)).await;
    let report = watcher.poll().await.unwrap();
    let fork = report
        .alerts
        .iter()
        .find(|a| a.rule == Rule::Fork)
        .expect("no fork alert");
    let bundle = evidence::export(watcher.store(), fork, &[]).unwrap();
    let bytes = serde_json::to_vec(&bundle).unwrap();
    let verdict = evidence::check(&bytes, &network).unwrap();
    assert!(
        verdict.proves[0].contains("signed two different trees"),
        "{verdict:?}"
    );
    for i in (0..bytes.len()).step_by(7) {
        let mut tampered = bytes.clone();
        tampered[i] ^= 0x01;
        assert!(evidence::check(&tampered, &network).is_err(), "byte {i}");
    }
}
