//! Generating a network on one machine: every key and config file the three custodians,
//! the log, its witness and the stations need, in one directory. `masque devnet` uses
//! it, and so do the end-to-end tests; a real deployment makes the same files on
//! separate machines (each custodian its own keys) and assembles `network.json` from the
//! public halves.
//!
//! Layout of `dir` (ports from `base_port`):
//!
//! | path | what |
//! | --- | --- |
//! | `network.json` | the public network description |
//! | `mpc/` | MPC TLS keys, certificates and network config (ports `base+10..12`) |
//! | `p0/`, `p1/`, `p2/` | each custodian's `node.toml`, `signing.key`, `hpke.key`, `joint.key` (its FROST share of the joint key) (0600) and data; API ports `base..base+2` |
//! | `log/` | the log's `log.key`, `tokens` (0600) and data; port `base+20` |
//! | `witness/` | the witness's `witness.key` and state; port `base+21` |
//! | `stations/<name>.key` | each station's Ed25519 key (hex, 0600) |
//! | `issuer.json` | the credential issuer's public key; its seed is `p0/issuer.seed` (0600) |

use crate::node::StartError;
use ed25519_dalek::SigningKey;
use masque_files::{WriteOptions, write_atomic};
use masque_protocol::{
    PartyId, custodian_name,
    keys::HpkeSecretKey,
    network::{CustodianInfo, IssuerInfo, LogInfo, NetworkDescription, StationInfo},
};
use masque_tlog::keys::{KeyName, SecretKey, TYPE_COSIGNATURE_V1, TYPE_ED25519};
use std::path::{Path, PathBuf};

/// The log's origin in a generated network.
pub const LOG_ORIGIN: &str = "log.masque.localhost/devnet";
/// Credential epochs of a generated network: 30 days from the Unix epoch (the relying
/// party's default schedule).
pub const EPOCH_SECS: u64 = 30 * 24 * 3600;
/// The witness's name in a generated network.
pub const WITNESS_NAME: &str = "witness.masque.localhost";

/// Where everything of a generated network is.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The directory.
    pub dir: PathBuf,
    /// The first port.
    pub base_port: u16,
}

impl Layout {
    /// The layout of `dir` with ports from `base_port`.
    pub fn new(dir: &Path, base_port: u16) -> Self {
        Self {
            dir: dir.to_owned(),
            base_port,
        }
    }

    /// `network.json`.
    pub fn network(&self) -> PathBuf {
        self.dir.join("network.json")
    }

    /// A custodian's config file.
    pub fn node_config(&self, party: PartyId) -> PathBuf {
        self.dir
            .join(custodian_name(party).to_ascii_lowercase())
            .join("node.toml")
    }

    /// A custodian's API address.
    pub fn api_addr(&self, party: PartyId) -> String {
        format!("127.0.0.1:{}", self.base_port + party.index() as u16)
    }

    /// The log's directory.
    pub fn log_dir(&self) -> PathBuf {
        self.dir.join("log")
    }

    /// The log's address.
    pub fn log_addr(&self) -> String {
        format!("127.0.0.1:{}", self.base_port + 20)
    }

    /// The witness's directory.
    pub fn witness_dir(&self) -> PathBuf {
        self.dir.join("witness")
    }

    /// The witness's address.
    pub fn witness_addr(&self) -> String {
        format!("127.0.0.1:{}", self.base_port + 21)
    }

    /// The issuer's public key (masque-cred JSON), for services.
    pub fn issuer_public_key(&self) -> PathBuf {
        self.dir.join("issuer.json")
    }

    /// A station's key file.
    pub fn station_key(&self, name: &str) -> PathBuf {
        self.dir.join("stations").join(format!("{name}.key"))
    }

    /// Whether the directory already holds a generated network.
    pub fn exists(&self) -> bool {
        self.network().exists()
    }

    /// The arguments of the `masque` binary (without `--json`) that run one of this
    /// network's processes: what `masque devnet`, `masque bench e2e` and the end-to-end
    /// tests start. `None` if `network`'s log policy lacks the log or witness key.
    pub fn process_args(
        &self,
        network: &NetworkDescription,
        process: Process,
    ) -> Option<Vec<String>> {
        let text = |p: PathBuf| p.display().to_string();
        let policy_key = |kind: &str| {
            let line = network.log.policy.lines().find(|l| l.starts_with(kind))?;
            line.split_whitespace()
                .nth(if kind == "log" { 1 } else { 2 })
                .map(str::to_owned)
        };
        let args = match process {
            Process::Witness => vec![
                "log".into(),
                "witness".into(),
                "--dir".into(),
                text(self.witness_dir().join("state")),
                "--key".into(),
                text(self.witness_dir().join("witness.key")),
                "--log".into(),
                policy_key("log")?,
                "--listen".into(),
                self.witness_addr(),
            ],
            Process::Log => vec![
                "log".into(),
                "serve".into(),
                "--dir".into(),
                text(self.log_dir().join("data")),
                "--key".into(),
                text(self.log_dir().join("log.key")),
                "--tokens".into(),
                text(self.log_dir().join("tokens")),
                "--listen".into(),
                self.log_addr(),
                // One appender (P0, one entry at a time): waiting for a batch to fill
                // would only add latency.
                "--max-wait-ms".into(),
                "0".into(),
                "--witness".into(),
                format!("http://{}={}", self.witness_addr(), policy_key("witness")?),
            ],
            Process::Custodian(p) => vec![
                "node".into(),
                "run".into(),
                "--config".into(),
                text(self.node_config(p)),
            ],
        };
        Some(args)
    }
}

/// A process of a generated network ([`Layout::process_args`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    /// The witness.
    Witness,
    /// The log.
    Log,
    /// A custodian.
    Custodian(PartyId),
}

/// A fresh Ed25519 key from the operating system's generator.
pub fn new_signing_key() -> SigningKey {
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    rand::fill(seed.as_mut_slice());
    SigningKey::from_bytes(&seed)
}

fn io(path: &Path, e: impl ToString) -> StartError {
    StartError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn write_secret(path: &Path, text: &str) -> Result<(), StartError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    }
    write_atomic(path, text.as_bytes(), WriteOptions::SECRET).map_err(|e| io(path, e))
}

/// Generates a network in `layout.dir` with the given station names. Refuses a
/// directory that already has one.
pub fn generate(layout: &Layout, stations: &[&str]) -> Result<NetworkDescription, StartError> {
    if layout.exists() {
        return Err(io(
            &layout.network(),
            "a network was already generated here",
        ));
    }
    std::fs::create_dir_all(&layout.dir).map_err(|e| io(&layout.dir, e))?;
    // MPC links.
    let mpc_addresses =
        PartyId::ALL.map(|p| format!("127.0.0.1:{}", layout.base_port + 10 + p.index() as u16));
    masque_mpc::net::tls::generate_network(&layout.dir.join("mpc"), mpc_addresses)
        .map_err(|e| io(&layout.dir.join("mpc"), e))?;
    // Log, token and witness.
    let log_key =
        SecretKey::generate(KeyName::new(LOG_ORIGIN).map_err(|e| io(&layout.log_dir(), e))?);
    write_secret(&layout.log_dir().join("log.key"), &log_key.to_skey())?;
    let mut token_bytes = [0u8; 32];
    rand::fill(&mut token_bytes);
    let token = zeroize::Zeroizing::new(hex::encode(token_bytes));
    write_secret(
        &layout.log_dir().join("tokens"),
        &format!("{}\n", token.as_str()),
    )?;
    let witness_key =
        SecretKey::generate(KeyName::new(WITNESS_NAME).map_err(|e| io(&layout.witness_dir(), e))?);
    write_secret(
        &layout.witness_dir().join("witness.key"),
        &witness_key.to_skey(),
    )?;
    let policy = format!(
        "log {}\nwitness w {} http://{}\nquorum w\n",
        log_key.public_key(TYPE_ED25519).to_vkey(),
        witness_key.public_key(TYPE_COSIGNATURE_V1).to_vkey(),
        layout.witness_addr()
    );
    // The credential issuer (P0): its seed, and its public key for services.
    let mut issuer_seed = zeroize::Zeroizing::new([0u8; 32]);
    rand::fill(issuer_seed.as_mut_slice());
    let issuer_public = {
        use masque_cred::{Issuer, wire::WireObject};
        let seed =
            masque_cred::IssuerSeed::new(issuer_seed.as_slice()).map_err(|e| io(&layout.dir, e))?;
        masque_cred::BbsIssuer::from_seed(&seed)
            .map_err(|e| io(&layout.dir, e))?
            .public_key()
            .to_json()
    };
    write_atomic(
        &layout.issuer_public_key(),
        issuer_public.as_bytes(),
        WriteOptions::CREATE_NEW,
    )
    .map_err(|e| io(&layout.issuer_public_key(), e))?;
    // The custodians' joint key (FROST's key generation, the three parts run here).
    let (joint_keys, joint_public) =
        crate::joint::generate().map_err(|e| io(&layout.network(), e))?;
    let joint_key = crate::joint::key_info(&joint_public).map_err(|e| io(&layout.network(), e))?;
    // Custodians.
    let mut custodians = Vec::new();
    for party in PartyId::ALL {
        let home = layout
            .node_config(party)
            .parent()
            .expect("a directory")
            .to_owned();
        let signing = new_signing_key();
        write_secret(&home.join("signing.key"), &hex::encode(signing.to_bytes()))?;
        let (hpke, hpke_public) = HpkeSecretKey::generate();
        write_secret(&home.join("hpke.key"), &hex::encode(hpke.expose_bytes()))?;
        let joint = crate::joint::key_package_hex(&joint_keys[party.index()])
            .map_err(|e| io(&home.join("joint.key"), e))?;
        write_secret(&home.join("joint.key"), &joint)?;
        let mut config = format!(
            "# Custodian {name} of a network made by `masque devnet`.\nparty = \"{name}\"\nlisten = \"{listen}\"\ndata_dir = \"data\"\nnetwork = \"../network.json\"\nmpc_dir = \"../mpc\"\nsigning_key = \"signing.key\"\nhpke_key = \"hpke.key\"\njoint_key = \"joint.key\"\n",
            name = custodian_name(party),
            listen = layout.api_addr(party),
        );
        if party == PartyId::P0 {
            write_secret(&home.join("log.token"), &token)?;
            config.push_str("log_token = \"log.token\"\n");
            write_secret(
                &home.join("issuer.seed"),
                &hex::encode(issuer_seed.as_slice()),
            )?;
            config.push_str("issuer_seed = \"issuer.seed\"\n");
        }
        write_atomic(
            &layout.node_config(party),
            config.as_bytes(),
            WriteOptions::CREATE_NEW,
        )
        .map_err(|e| io(&layout.node_config(party), e))?;
        custodians.push(CustodianInfo {
            party,
            api: format!("http://{}", layout.api_addr(party)),
            signing_key: signing.verifying_key(),
            hpke_key: hpke_public,
        });
    }
    let mut station_infos = Vec::new();
    for name in stations {
        let key = new_signing_key();
        write_secret(&layout.station_key(name), &hex::encode(key.to_bytes()))?;
        station_infos.push(StationInfo {
            name: (*name).to_owned(),
            key: key.verifying_key(),
            max_per_hour: None,
        });
    }
    let network = NetworkDescription {
        name: "masque devnet".into(),
        custodians,
        joint_key,
        stations: station_infos,
        log: LogInfo {
            url: format!("http://{}", layout.log_addr()),
            policy,
        },
        request_window_s: 300,
        issuer: Some(IssuerInfo {
            public_key: issuer_public,
            epoch_origin: 0,
            epoch_secs: EPOCH_SECS,
        }),
    };
    network.check().map_err(|e| io(&layout.network(), e))?;
    let json = serde_json::to_string_pretty(&network).expect("a network serialises");
    write_atomic(&layout.network(), json.as_bytes(), WriteOptions::CREATE_NEW)
        .map_err(|e| io(&layout.network(), e))?;
    Ok(network)
}
