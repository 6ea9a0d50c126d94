//! `masque devnet` as a person runs it: one command brings up a seeded network of real
//! processes; SIGTERM stops all of them; a second run reuses the directory.

use crate::common;

use masque_client::Custodians;
use masque_cred::wire::WireObject;
use masque_node::setup::new_signing_key;
use masque_protocol::entry::Outcome;
use masque_template::synth::{IrisPopulation, iris::IrisModel};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Devnet(Child);

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn start(dir: &std::path::Path, base_port: u16, people: usize) -> (Devnet, serde_json::Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_masque"))
        .args([
            "devnet",
            "--dir",
            dir.to_str().unwrap(),
            "--people",
            &people.to_string(),
        ])
        .args([
            "--seed",
            "5",
            "--base-port",
            &base_port.to_string(),
            "--json",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().expect("a ready line").unwrap();
    std::thread::spawn(move || for _ in lines {});
    (Devnet(child), serde_json::from_str(&ready).unwrap())
}

fn station_key(ready: &serde_json::Value) -> ed25519_dalek::SigningKey {
    let path = ready["stations"][0]["key_file"].as_str().unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    ed25519_dalek::SigningKey::from_bytes(&hex::decode(text.trim()).unwrap().try_into().unwrap())
}

#[test]
fn devnet_starts_a_seeded_network_stops_on_sigterm_and_reuses_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("devnet");
    // Offsets up to +31 (the example service).
    let base_port = common::ports::free_block(32);
    let (devnet, ready) = start(&data, base_port, 12);
    assert_eq!(ready["event"], "ready");
    assert_eq!(ready["enrolled_records"], 12);
    // Witness, log, three custodians, the aid desk, the example service and the watchdog.
    assert_eq!(ready["pids"].as_array().unwrap().len(), 8);

    let network_text = std::fs::read_to_string(ready["network"].as_str().unwrap()).unwrap();
    let network = masque_protocol::network::NetworkDescription::from_json(&network_text).unwrap();
    let client = Custodians::new(network.clone(), Duration::from_secs(60));
    let station = station_key(&ready);
    // Seeded person 3 shows up again with a new capture: a duplicate of a seeded record.
    let population = IrisPopulation::generate(&IrisModel::default(), 5, 13, 2, &|| {});
    let rt = tokio::runtime::Runtime::new().unwrap();
    let again = rt
        .block_on(client.enrol(
            &station,
            &new_signing_key(),
            &[1; 32],
            &population.persons[3].captures[1],
        ))
        .unwrap();
    assert_eq!(again.outcome(), Outcome::Duplicate);
    again.verify_receipt(&network).unwrap();
    // Someone new is enrolled.
    let new = rt
        .block_on(client.enrol(
            &station,
            &new_signing_key(),
            &[2; 32],
            &population.persons[12].captures[0],
        ))
        .unwrap();
    assert_eq!(new.outcome(), Outcome::Enrolled);
    // Every seeded record has its log entry: 12 seeded + 2 operations.
    assert_eq!(
        new.verify_receipt(&network)
            .unwrap()
            .checkpoint
            .checkpoint
            .size(),
        14
    );

    // The aid desk and the example service answer, and trust the network's issuer.
    let issuer = masque_cred::objects::IssuerPublicKey::from_json(
        network.issuer.as_ref().unwrap().public_key.as_bytes(),
    )
    .unwrap();
    for (field, kind) in [("aid_desk", "aid-desk"), ("service", "service")] {
        let url = ready[field].as_str().unwrap();
        let info = rt
            .block_on(masque_service::ServiceClient::new(url).unwrap().info())
            .unwrap();
        assert_eq!(info.kind, kind);
        assert_eq!(info.issuer_key_id, issuer.key_id());
    }

    // The watchdog follows the log: it verifies all 14 entries and finds nothing wrong.
    let watch = ready["watch"].as_str().unwrap().to_owned();
    let http = masque_client::http::HttpClient::new(Duration::from_secs(10));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        let (code, body) = rt
            .block_on(http.call("GET", &format!("{watch}/api/status"), &[], Vec::new()))
            .unwrap();
        assert_eq!(code, 200);
        let status: serde_json::Value = serde_json::from_slice(&body).unwrap();
        if status["size"] == 14 || std::time::Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status["size"], 14, "{status}");
    assert_eq!(status["alerts"]["critical"], 0, "{status}");
    assert_eq!(status["cosigners"].as_array().unwrap().len(), 1, "{status}");

    stop_and_check_gone(devnet, &ready);

    // Again on the same directory: reused, nothing seeded twice. Stopped right after it
    // is up (the signal handler is in place before the processes start).
    let (devnet, ready) = start(&data, base_port, 12);
    assert_eq!(ready["enrolled_records"], 13);
    stop_and_check_gone(devnet, &ready);
}

/// SIGTERM to the devnet; then none of its processes may still run.
fn stop_and_check_gone(devnet: Devnet, ready: &serde_json::Value) {
    let pids: Vec<u32> = ready["pids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pid"].as_u64().unwrap() as u32)
        .collect();
    drop(devnet);
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists() || {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                stat.contains(") Z ")
            },
            "process {pid} still runs after the devnet stopped"
        );
    }
}
