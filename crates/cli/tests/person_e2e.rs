//! The person's and the station's commands end to end: the real `masque` binary as
//! processes (`wallet new`, `enroll`, `verify`, `consent grant|list|revoke`, `delete`,
//! `wallet restore`, `audit`, `credential`, `present`) against three custodian processes,
//! a log, a witness and two relying parties on loopback. Every command runs with
//! `--json` and its output must parse.

use crate::common;

use common::network::{Network, Proc, start};
use masque_template::synth::{IrisPopulation, iris::IrisModel};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The environment variable that holds the passphrase of the encrypted test wallets.
const PASSPHRASE_VAR: &str = "PERSON_E2E_PASSPHRASE";

/// Runs `masque <args> --json` (with `stdin` piped in); returns the exit code and the
/// parsed stdout.
fn masque(args: &[&str], stdin: Option<&str>) -> (i32, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_masque"))
        .args(args)
        .arg("--json")
        .env_remove("MASQUE_WALLET")
        .env_remove("MASQUE_NETWORK")
        .env(PASSPHRASE_VAR, "correct horse battery staple")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "masque {args:?} --json printed no JSON ({e}): stdout {stdout:?}, stderr {:?}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), value)
}

/// Runs `masque <args> --json` (the passphrase variable set), which must fail; returns
/// its stderr.
fn fails(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_masque"))
        .args(args)
        .arg("--json")
        .env_remove("MASQUE_WALLET")
        .env_remove("MASQUE_NETWORK")
        .env(PASSPHRASE_VAR, "correct horse battery staple")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "masque {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Writes each person's captures as two-eye JSON files: `<dir>/p<i>c<k>.json`.
fn templates(dir: &Path, persons: usize, captures: usize) -> Vec<Vec<PathBuf>> {
    let population = IrisPopulation::generate(&IrisModel::default(), 11, persons, captures, &|| {});
    population
        .persons
        .iter()
        .enumerate()
        .map(|(i, person)| {
            person
                .captures
                .iter()
                .enumerate()
                .map(|(k, pair)| {
                    let path = dir.join(format!("p{i}c{k}.json"));
                    std::fs::write(&path, pair.to_json()).unwrap();
                    path
                })
                .collect()
        })
        .collect()
}

struct Person {
    wallet: String,
    network: String,
    encrypted: bool,
}

impl Person {
    /// A person with a new wallet (encrypted with a passphrase, or not); returns the
    /// recovery phrase too.
    fn new(dir: &Path, name: &str, network: &Network, encrypted: bool) -> (Person, String) {
        let wallet = s(&dir.join(format!("{name}.wallet.json")));
        let protection = if encrypted {
            ["--passphrase-env", PASSPHRASE_VAR].as_slice()
        } else {
            ["--no-passphrase"].as_slice()
        };
        let mut args = vec!["wallet", "new", "--wallet", &wallet];
        args.extend(protection);
        let (code, created) = masque(&args, None);
        assert_eq!(created["encrypted"], encrypted);
        assert_eq!(code, 0, "{created}");
        let phrase = created["recovery_phrase"].as_str().unwrap().to_owned();
        let person = Person {
            wallet,
            network: s(&network.layout.network()),
            encrypted,
        };
        (person, phrase)
    }

    /// The arguments `masque <command...> --network N --wallet W <extra...>`.
    fn args<'a>(&'a self, command: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        let mut args: Vec<&str> = command.to_vec();
        args.extend(["--network", &self.network, "--wallet", &self.wallet]);
        if self.encrypted {
            args.extend(["--passphrase-env", PASSPHRASE_VAR]);
        }
        args.extend(extra);
        args
    }

    /// Runs `masque <command...> --network N --wallet W <extra...>`.
    fn run(&self, command: &[&str], extra: &[&str]) -> (i32, Value) {
        masque(&self.args(command, extra), None)
    }

    /// The same, which must fail; returns its stderr.
    fn fails(&self, command: &[&str], extra: &[&str]) -> String {
        fails(&self.args(command, extra))
    }

    fn enroll(&self, network: &Network, template: &Path) -> (i32, Value) {
        let key = s(&network.layout.station_key("desk-north"));
        self.run(
            &["enroll"],
            &["--station-key", &key, "--template", &s(template)],
        )
    }

    fn verify(&self, template: &Path, service: Option<&str>) -> Value {
        let t = s(template);
        let mut extra = vec!["--template", t.as_str()];
        if let Some(service) = service {
            extra.extend(["--service", service]);
        }
        self.run(&["verify"], &extra).1
    }
}

/// The request ids an audit found.
fn audited_requests(audit: &Value) -> Vec<String> {
    audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["entries"].as_array().unwrap().iter())
        .map(|e| e["request_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_person_enrols_verifies_consents_deletes_and_audits_with_the_real_commands() {
    let dir = tempfile::tempdir().unwrap();
    let network = Network::start(&dir.path().join("net"), &["desk-north"]);
    let t = templates(dir.path(), 3, 3);
    let (alice, alice_phrase) = Person::new(dir.path(), "alice", &network, false);
    let (bob, _) = Person::new(dir.path(), "bob", &network, true);
    let (mallory, _) = Person::new(dir.path(), "mallory", &network, false);
    let mut alice_requests = Vec::new();

    // Enrol Alice, then Bob; a second capture of Alice in another wallet is a duplicate.
    let (code, enrolled) = alice.enroll(&network, &t[0][0]);
    assert_eq!(
        (code, enrolled["outcome"].as_str()),
        (0, Some("enrolled")),
        "{enrolled}"
    );
    assert_eq!(enrolled["record"], 0);
    assert_eq!(enrolled["receipt"]["status"], "verified", "{enrolled}");
    alice_requests.push(enrolled["request_id"].as_str().unwrap().to_owned());
    let (code, bob_enrolled) = bob.enroll(&network, &t[1][0]);
    assert_eq!(
        (code, bob_enrolled["outcome"].as_str()),
        (0, Some("enrolled"))
    );
    let (code, duplicate) = mallory.enroll(&network, &t[0][1]);
    assert_eq!(
        (code, duplicate["outcome"].as_str()),
        (2, Some("duplicate")),
        "{duplicate}"
    );
    assert_eq!(duplicate["record"], Value::Null);

    // 1:1 for herself: genuine match, impostor no match.
    let genuine = alice.verify(&t[0][2], None);
    assert_eq!(genuine["outcome"], "match", "{genuine}");
    assert_eq!(genuine["operation"], 1);
    let impostor = alice.verify(&t[2][0], None);
    assert_eq!(impostor["outcome"], "no-match", "{impostor}");
    alice_requests
        .extend([&genuine, &impostor].map(|v| v["request_id"].as_str().unwrap().to_owned()));

    // For a service: refused without consent; consent; match under it; revoke; refused.
    let service = "aid-desk/north/1";
    let refused = alice.verify(&t[0][1], Some(service));
    assert_eq!(
        (refused["outcome"].as_str(), refused["reason"].as_str()),
        (Some("refused"), Some("no-consent"))
    );
    let (code, granted) = alice.run(
        &["consent", "grant"],
        &[
            "--service",
            service,
            "--purpose",
            "one claim per round",
            "--days",
            "30",
        ],
    );
    assert_eq!(
        (code, granted["outcome"].as_str()),
        (0, Some("granted")),
        "{granted}"
    );
    let consent_id = granted["consent_id"].as_str().unwrap().to_owned();
    let checked = alice.verify(&t[0][1], Some(service));
    assert_eq!(checked["outcome"], "match", "{checked}");
    assert_eq!(checked["consent"].as_str(), Some(consent_id.as_str()));
    let (_, listed) = alice.run(&["consent", "list"], &[]);
    assert_eq!(listed["consents"][0]["status"], "live", "{listed}");
    let (code, revoked) = alice.run(&["consent", "revoke", &consent_id[..12]], &[]);
    assert_eq!(
        (code, revoked["outcome"].as_str()),
        (0, Some("revoked")),
        "{revoked}"
    );
    let (_, listed) = alice.run(&["consent", "list"], &[]);
    assert_eq!(listed["consents"][0]["status"], "revoked");
    let refused_again = alice.verify(&t[0][1], Some(service));
    assert_eq!(
        refused_again["reason"], "consent-revoked",
        "{refused_again}"
    );
    alice_requests.extend(
        [&refused, &granted, &checked, &revoked, &refused_again]
            .map(|v| v["request_id"].as_str().unwrap().to_owned()),
    );

    // Delete: needs --yes; then Alice's record is gone.
    let err = fails(&[
        "delete",
        "--network",
        &alice.network,
        "--wallet",
        &alice.wallet,
    ]);
    assert!(err.contains("--yes"), "{err}");
    let (code, deleted) = alice.run(&["delete"], &["--yes"]);
    assert_eq!(
        (code, deleted["outcome"].as_str()),
        (0, Some("deleted")),
        "{deleted}"
    );
    assert_eq!(deleted["operation"], 8);
    alice_requests.push(deleted["request_id"].as_str().unwrap().to_owned());
    let (_, shown) = masque(&["wallet", "show", "--wallet", &alice.wallet], None);
    assert_eq!(shown["records"][0]["operations"], 9, "{shown}");
    assert_eq!(shown["receipts"], 9);

    // Restore Alice's wallet from her phrase in a fresh directory: the audit finds exactly
    // her nine entries, in order, and none of Bob's.
    let fresh = tempfile::tempdir().unwrap();
    let restored = s(&fresh.path().join("wallet.json"));
    let (code, _) = masque(
        &[
            "wallet",
            "restore",
            "--wallet",
            &restored,
            "--no-passphrase",
        ],
        Some(&alice_phrase),
    );
    assert_eq!(code, 0);
    let (code, audit) = masque(
        &["audit", "--network", &alice.network, "--wallet", &restored],
        None,
    );
    assert_eq!(code, 0, "{audit}");
    assert_eq!(audited_requests(&audit), alice_requests, "{audit}");
    let texts: Vec<&str> = audit["records"][0]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(
        texts[0].starts_with("enrolled at desk-north on "),
        "{texts:?}"
    );
    assert!(texts[3].contains("refused: no consent"), "{texts:?}");
    assert!(
        texts[5].contains(&format!("under consent {}", &consent_id[..12])),
        "{texts:?}"
    );
    assert!(texts[8].starts_with("deleted on "), "{texts:?}");
    let (_, bob_audit) = bob.run(&["audit"], &[]);
    let bob_requests = audited_requests(&bob_audit);
    assert_eq!(
        bob_requests,
        vec![bob_enrolled["request_id"].as_str().unwrap().to_owned()]
    );
    assert!(bob_requests.iter().all(|r| !alice_requests.contains(r)));
    let (_, mallory_audit) = masque(
        &[
            "audit",
            "--network",
            &bob.network,
            "--wallet",
            &mallory.wallet,
        ],
        None,
    );
    assert!(
        audited_requests(&mallory_audit).is_empty(),
        "a duplicate names no record"
    );

    // The audit taught the restored wallet its record: deleted, nine operations.
    let (_, shown) = masque(&["wallet", "show", "--wallet", &restored], None);
    assert_eq!(shown["records"][0]["operations"], 9, "{shown}");
    assert_eq!(shown["next_record_index"], 1);
    let (_, again) = masque(
        &["audit", "--network", &alice.network, "--wallet", &restored],
        None,
    );
    assert_eq!(again["wallet_updates"].as_array().map(Vec::len), Some(0));

    // The audit keys for a watchdog, with the warning.
    let (code, keys) = masque(&["audit", "--export-key", "--wallet", &restored], None);
    assert_eq!(code, 0);
    assert!(keys["warning"].as_str().unwrap().contains("Whoever holds"));
    assert_eq!(keys["keys"][0]["audit_key"].as_str().unwrap().len(), 64);
}

#[test]
fn bad_inputs_give_clear_errors_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    // A generated network that is not running: every error below comes before a call.
    let layout = masque_node::setup::Layout::new(&dir.path().join("net"), 1);
    masque_node::setup::generate(&layout, &["desk-north"]).unwrap();
    let network = s(&layout.network());
    let station = s(&layout.station_key("desk-north"));
    let population = IrisPopulation::generate(&IrisModel::default(), 3, 1, 1, &|| {});
    let two_eyes = dir.path().join("two.json");
    std::fs::write(&two_eyes, population.persons[0].captures[0].to_json()).unwrap();
    let one_eye = dir.path().join("one.json");
    std::fs::write(
        &one_eye,
        population.persons[0].captures[0].left.to_template_json(),
    )
    .unwrap();
    let wallet = s(&dir.path().join("w.json"));
    let (code, _) = masque(
        &["wallet", "new", "--wallet", &wallet, "--no-passphrase"],
        None,
    );
    assert_eq!(code, 0);

    let common = ["--network", network.as_str(), "--wallet", wallet.as_str()];
    let enroll = |station: &str, template: &Path| {
        let mut args = vec!["enroll", "--station-key", station, "--template"];
        let t = s(template);
        args.push(&t);
        args.extend(common);
        fails(&args)
    };
    assert!(enroll(&station, &one_eye).contains("one eye"));
    let unknown = dir.path().join("unknown.key");
    std::fs::write(&unknown, hex::encode([7u8; 32])).unwrap();
    std::fs::set_permissions(
        &unknown,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    assert!(enroll(&s(&unknown), &two_eyes).contains("not registered"));
    let mut args = vec!["verify", "--template"];
    let t = s(&two_eyes);
    args.push(&t);
    args.extend(common);
    assert!(fails(&args).contains("no enrolled record"));
    let bad = dir.path().join("bad-network.json");
    std::fs::write(&bad, "{}").unwrap();
    let err = fails(&[
        "delete",
        "--yes",
        "--network",
        &s(&bad),
        "--wallet",
        &wallet,
    ]);
    assert!(err.contains("network description"), "{err}");
    let (code, listed) = masque(&["consent", "list", "--wallet", &wallet], None);
    assert_eq!(
        (code, listed["consents"].as_array().map(Vec::len)),
        (0, Some(0))
    );
}

/// Writes a service config with `masque service init` (listening on a free port) and
/// starts it; returns the process and its URL.
fn service(dir: &Path, network: &Network, name: &str, kind: &[&str]) -> (Proc, String) {
    let issuer = network.description.issuer.clone().unwrap();
    let config = s(&dir.join(format!("{name}.toml")));
    let issuer_key = s(&network.layout.issuer_public_key());
    let (origin, length) = (
        issuer.epoch_origin.to_string(),
        issuer.epoch_secs.to_string(),
    );
    let mut args = vec![
        "service",
        "init",
        "--out",
        &config,
        "--issuer-key",
        &issuer_key,
        "--listen",
        "127.0.0.1:0",
        "--epoch-origin",
        &origin,
        "--epoch-length-secs",
        &length,
        "--enrolled-before",
        "none",
    ];
    args.extend(kind);
    let (code, written) = masque(&args, None);
    assert_eq!(code, 0, "{written}");
    let proc = start(&["service".into(), "run".into(), "--config".into(), config]);
    let url = proc.listening["url"].as_str().unwrap().to_owned();
    (proc, url)
}

/// Credentials with the real commands: issued after enrolment, shown to two services
/// (one pseudonym per service, the same at one service every time, one claim per round
/// at the aid desk), and re-issued to a wallet restored from its phrase only after the
/// person's own 1:1 match, with the same pseudonyms.
#[test]
fn credentials_are_issued_presented_and_reissued_with_the_real_commands() {
    let dir = tempfile::tempdir().unwrap();
    let network = Network::start(&dir.path().join("net"), &["desk-north"]);
    let t = templates(dir.path(), 1, 2);
    let (carol, phrase) = Person::new(dir.path(), "carol", &network, true);
    let (_shop, shop) = service(
        dir.path(),
        &network,
        "shop",
        &["--kind", "service", "--context-id", "https://shop.example"],
    );
    let (_desk, desk) = service(
        dir.path(),
        &network,
        "desk",
        &["--kind", "aid-desk", "--desk", "north"],
    );

    // No credential before asking for one.
    let (code, _) = carol.enroll(&network, &t[0][0]);
    assert_eq!(code, 0);
    let err = carol.fails(&["present"], &["--service", &shop]);
    assert!(err.contains("masque credential"), "{err}");
    let (code, issued) = carol.run(&["credential"], &[]);
    assert_eq!(
        (code, issued["outcome"].as_str(), issued["issued"].as_bool()),
        (0, Some("issued"), Some(true)),
        "{issued}"
    );
    assert_eq!(issued["receipt"]["status"], "verified", "{issued}");

    let present = |person: &Person, url: &str| person.run(&["present"], &["--service", url]);
    let (code, at_shop) = present(&carol, &shop);
    assert_eq!(code, 0, "{at_shop}");
    let shop_nym = at_shop["pseudonym"].as_str().unwrap().to_owned();
    let (_, again) = present(&carol, &shop);
    assert_eq!(again["pseudonym"].as_str(), Some(shop_nym.as_str()));
    let (code, claimed) = present(&carol, &desk);
    assert_eq!((code, claimed["claim"].as_u64()), (0, Some(1)), "{claimed}");
    let desk_nym = claimed["pseudonym"].as_str().unwrap().to_owned();
    assert_ne!(desk_nym, shop_nym, "two services saw one pseudonym");
    let err = carol.fails(&["present"], &["--service", &desk]);
    assert!(
        err.contains("already"),
        "a second claim in one round: {err}"
    );

    // A fresh machine: the wallet restored from the phrase learns its record from the
    // log, is refused a credential until the person's own match, then gets one back.
    let fresh = tempfile::tempdir().unwrap();
    let restored = Person {
        wallet: s(&fresh.path().join("wallet.json")),
        network: carol.network.clone(),
        encrypted: false,
    };
    let (code, _) = masque(
        &[
            "wallet",
            "restore",
            "--wallet",
            &restored.wallet,
            "--no-passphrase",
        ],
        Some(&phrase),
    );
    assert_eq!(code, 0);
    let (code, audit) = restored.run(&["audit"], &[]);
    assert_eq!(code, 0, "{audit}");
    let (code, refused) = restored.run(&["credential"], &[]);
    assert_eq!(
        (code, refused["reason"].as_str()),
        (2, Some("not-verified")),
        "{refused}"
    );
    // This time the station read one open-iris template per eye.
    let pair =
        masque_template::EyePair::from_json(&std::fs::read_to_string(&t[0][1]).unwrap()).unwrap();
    let (left, right) = (
        fresh.path().join("left.json"),
        fresh.path().join("right.json"),
    );
    std::fs::write(&left, pair.left.to_template_json()).unwrap();
    std::fs::write(&right, pair.right.to_template_json()).unwrap();
    let (code, matched) = restored.run(&["verify"], &["--left", &s(&left), "--right", &s(&right)]);
    assert_eq!(
        (code, matched["outcome"].as_str()),
        (0, Some("match")),
        "{matched}"
    );
    let err = restored.fails(
        &["verify"],
        &["--left", &s(&t[0][1]), "--right", &s(&right)],
    );
    assert!(err.contains("holds both eyes"), "{err}");
    let (code, reissued) = restored.run(&["credential"], &[]);
    assert_eq!(
        (code, reissued["operation_kind"].as_str()),
        (0, Some("reissue")),
        "{reissued}"
    );
    let (_, back) = present(&restored, &shop);
    assert_eq!(back["pseudonym"].as_str(), Some(shop_nym.as_str()));
}
