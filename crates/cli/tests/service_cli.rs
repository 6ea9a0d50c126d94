//! `masque service` as an operator runs it, in real processes: `init` writes a config and
//! the desk's operator token, `run` serves until SIGTERM, claims survive a restart, and
//! `round new` works through the running desk and, with it stopped, on its store.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use masque_cred::{
    BbsHolder, BbsIssuer, Credential, CredentialAttributes, EnrolmentQuarter, EpochSchedule,
    Holder, Issuer, IssuerSeed, Modalities, Modality, RecordHandle, Timestamp, WalletSeed,
    WireObject,
};
use masque_service::{ClientError, ServiceClient};

fn masque(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_masque"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn ok_json(args: &[&str]) -> serde_json::Value {
    let out = masque(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A running `masque service run`; killed on drop if still running.
struct Running {
    child: Child,
    url: String,
    announced: serde_json::Value,
}

impl Running {
    fn start(config: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_masque"))
            .args(["service", "run", "--config", path(config), "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let announced: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("no listening line ({e}): {line:?}"));
        assert_eq!(announced["event"], "listening");
        let url = announced["url"].as_str().unwrap().to_owned();
        Self {
            child,
            url,
            announced,
        }
    }

    /// SIGTERM, and the process must exit cleanly (graceful shutdown).
    fn terminate(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(
            exit.success(),
            "masque service run exited with {exit} after SIGTERM"
        );
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The default epochs of `masque service init`: 30 days from t = 0.
fn current_epoch() -> masque_cred::Epoch {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    EpochSchedule::new(Timestamp(0), 30 * 86_400)
        .unwrap()
        .epoch_at(Timestamp(now))
}

struct Person {
    holder: BbsHolder,
    credential: Credential,
}

fn person(issuer: &mut BbsIssuer, seed: u8) -> Person {
    let holder = BbsHolder::from_seed(&WalletSeed::new(&[seed; 64]).unwrap());
    let record = RecordHandle::new(&[seed]).unwrap();
    let (request, pending) = holder
        .request(issuer.public_key(), &issuer.offer(&record))
        .unwrap();
    let attributes = CredentialAttributes {
        epoch: current_epoch(),
        modalities: Modalities::new(&[Modality::Iris]).unwrap(),
        enrolment_quarter: EnrolmentQuarter::new(2025, 1).unwrap(),
    };
    let response = issuer.issue(&request, &record, &attributes).unwrap();
    let credential = holder.finalise(&pending, &response).unwrap();
    Person { holder, credential }
}

fn claim(url: &str, p: &Person) -> Result<masque_service::Accepted, ClientError> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = ServiceClient::new(url).unwrap();
    runtime.block_on(client.present(|c| p.holder.present(&p.credential, c)))
}

#[test]
fn an_aid_desk_runs_stops_on_sigterm_and_keeps_its_claims() {
    let dir = tempfile::tempdir().unwrap();
    let mut issuer = BbsIssuer::from_seed(&IssuerSeed::new(&[3; 32]).unwrap()).unwrap();
    let key_file = dir.path().join("issuer.json");
    std::fs::write(&key_file, issuer.public_key().to_json()).unwrap();
    let (alice, bob) = (person(&mut issuer, 1), person(&mut issuer, 2));
    let config = dir.path().join("desk.toml");
    let listen = format!("127.0.0.1:{}", free_port());

    let written = ok_json(&[
        "service",
        "init",
        "--kind",
        "aid-desk",
        "--out",
        path(&config),
        "--issuer-key",
        path(&key_file),
        "--listen",
        &listen,
        "--desk",
        "north",
        "--json",
    ]);
    let token_file = Path::new(written["admin_token_file"].as_str().unwrap());
    let mode = std::fs::metadata(token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the operator token must be private");
    // init never overwrites.
    let again = masque(&[
        "service",
        "init",
        "--kind",
        "aid-desk",
        "--out",
        path(&config),
        "--issuer-key",
        path(&key_file),
        "--desk",
        "north",
    ]);
    assert!(!again.status.success());

    let desk = Running::start(&config);
    assert_eq!(desk.announced["kind"], "aid-desk");
    assert_eq!(desk.announced["round"], 1);
    assert_eq!(desk.announced["context_id"], "aid-desk/north/1");
    let first = claim(&desk.url, &alice).unwrap();
    assert_eq!(first.claim, Some(1));
    assert!(
        claim(&desk.url, &alice)
            .unwrap_err()
            .to_string()
            .contains("already claimed")
    );
    let status = ok_json(&["service", "status", "--config", path(&config), "--json"]);
    assert_eq!(status["rounds"][0]["claims"], 1);
    assert_eq!(status["rounds"][0]["duplicates"], 1);
    desk.terminate();

    // Restarted: Alice is still refused in round 1, Bob is accepted.
    let desk = Running::start(&config);
    assert!(claim(&desk.url, &alice).is_err());
    assert_eq!(claim(&desk.url, &bob).unwrap().claim, Some(2));
    // A new round through the running desk: Alice may claim again.
    let opened = ok_json(&[
        "service",
        "round",
        "new",
        "--config",
        path(&config),
        "--json",
    ]);
    assert_eq!(opened["round"], 2);
    assert_eq!(claim(&desk.url, &alice).unwrap().round, Some(2));
    desk.terminate();

    // With the desk stopped, `round new` opens round 3 on its store.
    let opened = ok_json(&[
        "service",
        "round",
        "new",
        "--config",
        path(&config),
        "--json",
    ]);
    assert_eq!(opened["round"], 3);
    let desk = Running::start(&config);
    assert_eq!(desk.announced["round"], 3);
    desk.terminate();
}

#[test]
fn a_service_gives_pseudonyms_and_bad_configs_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut issuer = BbsIssuer::from_seed(&IssuerSeed::new(&[4; 32]).unwrap()).unwrap();
    let key_file = dir.path().join("issuer.json");
    std::fs::write(&key_file, issuer.public_key().to_json()).unwrap();
    let alice = person(&mut issuer, 1);
    let config = dir.path().join("shop.toml");
    ok_json(&[
        "service",
        "init",
        "--kind",
        "service",
        "--out",
        path(&config),
        "--issuer-key",
        path(&key_file),
        "--listen",
        "127.0.0.1:0",
        "--context-id",
        "https://shop.example",
        "--json",
    ]);
    let shop = Running::start(&config);
    assert_eq!(shop.announced["context_id"], "https://shop.example");
    let a = claim(&shop.url, &alice).unwrap();
    assert_eq!(claim(&shop.url, &alice).unwrap().pseudonym, a.pseudonym);
    shop.terminate();

    let text = std::fs::read_to_string(&config).unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        text.replace("nonce_lifetime_secs = 300", "nonce_lifetime_secs = 0"),
    )
    .unwrap();
    let out = masque(&["service", "run", "--config", path(&bad)]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("policy.nonce_lifetime_secs"), "{stderr}");
}
