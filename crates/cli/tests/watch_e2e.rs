//! The watchdog as people run it, against a real network of processes: real enrolments,
//! consents, 1:1 checks and a deletion, plus one forged entry (signed by P0 alone, for a
//! service without consent) appended to the log with the custodians' token. `masque watch
//! serve` raises the alerts on stdout and to a webhook, once each across a restart; its
//! evidence bundle checks out with `masque watch check-evidence` and a changed byte does
//! not; the explorer page, rendered in headless Chromium, finds the person's own entries
//! with their audit key.

use crate::chromium;
use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::network::{Network, Proc, start};
use ed25519_dalek::SigningKey;
use masque_client::Custodians;
use masque_protocol::PartyId;
use masque_protocol::consent::{Consent, SignedConsent};
use masque_protocol::entry::{LogEntry, Operation, Outcome};
use masque_template::synth::{IrisPopulation, iris::IrisModel};

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn key_file(path: &Path) -> SigningKey {
    let text = std::fs::read_to_string(path).unwrap();
    SigningKey::from_bytes(&hex::decode(text.trim()).unwrap().try_into().unwrap())
}

fn masque(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_masque"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A webhook receiver: records each POST body, answers 200.
fn webhook() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
            }
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, bodies)
}

fn get(url: &str) -> Vec<u8> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = masque_client::http::HttpClient::new(Duration::from_secs(10));
    let (status, body) = rt.block_on(http.call("GET", url, &[], Vec::new())).unwrap();
    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
    body
}

fn watch_serve(network: &Network, state: &Path, hook: &str) -> Proc {
    let args: Vec<String> = [
        "watch",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--interval-s",
        "1",
        "--webhook",
        hook,
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        "--network".into(),
        network.layout.network().display().to_string(),
        "--state".into(),
        state.display().to_string(),
    ])
    .collect();
    start(&args)
}

fn dump_dom(profile: &Path, url: &str) -> String {
    chromium::run_browser(
        profile,
        &["--virtual-time-budget=15000".into(), "--dump-dom".into()],
        url,
    )
}

#[test]
fn the_watchdog_catches_a_forged_entry_on_a_real_network_and_its_evidence_holds() {
    let dir = tempfile::tempdir().unwrap();
    let network = Network::start(dir.path(), &["desk-north"]);
    let client = Custodians::new(network.description.clone(), Duration::from_secs(120));
    let population = IrisPopulation::generate(&IrisModel::default(), 3, 3, 5, &|| {});
    let rt = tokio::runtime::Runtime::new().unwrap();
    let station = key_file(&network.layout.station_key("desk-north"));

    // A person's whole life in the log: enrolment, consent, a check for the service,
    // deletion. Another person enrols too.
    let alice = SigningKey::from_bytes(&[21; 32]);
    let alice_audit = [0xa1; 32];
    let p = &population.persons;
    rt.block_on(client.enrol(&station, &alice, &alice_audit, &p[0].captures[0]))
        .unwrap();
    rt.block_on(client.enrol(
        &station,
        &SigningKey::from_bytes(&[22; 32]),
        &[0xb2; 32],
        &p[1].captures[0],
    ))
    .unwrap();
    let service = "shop.example";
    let consent = SignedConsent::sign(
        &alice,
        Consent {
            v: 1,
            record_key: alice.verifying_key(),
            service: service.into(),
            purpose: "age check".into(),
            issued_at: unix_now() - 10,
            not_after: unix_now() + 86_400,
        },
    )
    .unwrap();
    rt.block_on(client.grant_consent(&alice, consent)).unwrap();
    let checked = rt
        .block_on(client.verify(&alice, &p[0].captures[1], Some(service)))
        .unwrap();
    assert_eq!(checked.outcome(), Outcome::Match);

    // A forged entry: a 1:1 check for another service without consent, signed by P0 with
    // its real key and by nobody else, appended with the custodians' log token.
    let template = checked.entry().unwrap();
    // What the custodians logged carries their joint signature and no individual ones.
    assert!(template.joint_signature.is_some() && template.signatures.is_empty());
    template
        .verify(&network.description.custodian_keys())
        .unwrap();
    let mut body = template.body.clone();
    body.op = Operation::Verify;
    body.service = Some("tracker.example".into());
    body.consent = None;
    body.consent_not_after = None;
    body.audit_tag = None;
    body.request_id = masque_protocol::RequestId([7; 16]);
    let p0 = key_file(
        &network
            .layout
            .node_config(PartyId::P0)
            .parent()
            .unwrap()
            .join("signing.key"),
    );
    let rogue = SigningKey::from_bytes(&[66; 32]);
    let forged = LogEntry {
        signatures: vec![
            body.sign(PartyId::P0, &p0),
            body.sign(PartyId::P1, &rogue),
            body.sign(PartyId::P2, &rogue),
        ],
        joint_signature: None,
        body,
    }
    .to_bytes();
    let token = std::fs::read_to_string(network.layout.log_dir().join("tokens")).unwrap();
    let mut append = forged.len().to_be_bytes()[6..].to_vec();
    append.extend_from_slice(&forged);
    let (status, answer) = rt
        .block_on(
            masque_client::http::HttpClient::new(Duration::from_secs(30)).call(
                "POST",
                &format!("{}/add-entries", network.description.log.url),
                &[(
                    "authorization",
                    format!("Bearer {}", token.lines().next().unwrap().trim()),
                )],
                append,
            ),
        )
        .unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    rt.block_on(client.delete(&alice)).unwrap();

    // The watchdog follows, alerts on stdout and to the webhook.
    let state = dir.path().join("watch");
    let (hook, posted) = webhook();
    let mut watcher = watch_serve(&network, &state, &hook);
    let explorer = watcher.listening["url"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    let alerts: serde_json::Value = loop {
        let alerts: serde_json::Value =
            serde_json::from_slice(&get(&format!("{explorer}/api/alerts"))).unwrap();
        let status: serde_json::Value =
            serde_json::from_slice(&get(&format!("{explorer}/api/status"))).unwrap();
        if status["size"] == 6 && posted.lock().unwrap().len() >= 2 || Instant::now() > deadline {
            break alerts;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let ids: Vec<&str> = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{alerts:#}");
    assert!(
        ids.contains(&"rogue-custodian-4") && ids.contains(&"no-consent-4"),
        "{ids:?}"
    );
    let hooked: Vec<String> = posted.lock().unwrap().clone();
    assert_eq!(hooked.len(), 2, "{hooked:?}");
    assert!(hooked.iter().any(|b| b.contains("\"rogue-custodian-4\"")));

    // The explorer's evidence download.
    let bundle = get(&format!("{explorer}/api/alerts/rogue-custodian-4/evidence"));
    let bundle_file = dir.path().join("rogue.evidence.json");
    std::fs::write(&bundle_file, &bundle).unwrap();

    // The personal audit in a real browser, on the real page: Alice's four entries.
    let dom = dump_dom(
        &dir.path().join("browser"),
        &format!("{explorer}/#audit-key={}", hex::encode(alice_audit)),
    );
    assert!(dom.contains("data-state=\"done\""), "{dom}");
    let audit = &dom[dom.find("id=\"audit-results\"").unwrap()..];
    for words in ["Enrolled", "shop.example", "Deleted"] {
        assert!(
            audit.contains(words),
            "{words} missing from the audit: {audit}"
        );
    }
    assert!(
        !audit.contains("tracker.example"),
        "the forged entry is not Alice's: {audit}"
    );

    // Restart: nothing is raised or posted again.
    watcher.terminate();
    let mut watcher = watch_serve(&network, &state, &hook);
    std::thread::sleep(Duration::from_secs(3));
    watcher.kill();
    assert_eq!(posted.lock().unwrap().len(), 2, "alerts delivered twice");

    // The CLI: list, export, check; a changed byte fails.
    let net = network.layout.network().display().to_string();
    let st = state.display().to_string();
    let (code, out, err) = masque(&[
        "watch",
        "alerts",
        "--network",
        &net,
        "--state",
        &st,
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let exported = dir.path().join("no-consent.json");
    let (code, _, err) = masque(&[
        "watch",
        "evidence",
        "no-consent-4",
        "--network",
        &net,
        "--state",
        &st,
        "--out",
        &exported.display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    for (file, words) in [
        (&bundle_file, "signed by custodian P0 alone"),
        (&exported, "tracker.example"),
    ] {
        let (code, out, err) = masque(&[
            "watch",
            "check-evidence",
            &file.display().to_string(),
            "--network",
            &net,
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("checks out") && out.contains(words), "{out}");
    }
    let mut tampered = std::fs::read(&bundle_file).unwrap();
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    std::fs::write(&bundle_file, &tampered).unwrap();
    let (code, _, err) = masque(&[
        "watch",
        "check-evidence",
        &bundle_file.display().to_string(),
        "--network",
        &net,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("does not check out"), "{err}");
    // A missing alert id is a clear error.
    let (code, _, err) = masque(&[
        "watch",
        "evidence",
        "fork-1",
        "--network",
        &net,
        "--state",
        &st,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("masque watch alerts"), "{err}");
}
