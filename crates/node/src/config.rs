//! The custodian's config file (TOML), checked at start with errors that name the field.
//!
//! ```toml
//! party = "P0"                      # which custodian this is
//! listen = "127.0.0.1:7100"         # the HTTP API
//! data_dir = "p0"                   # store, session ledger (relative to this file)
//! network = "network.json"          # the public network description
//! mpc_dir = "mpc"                   # TLS keys and certificates (`masque mpc net-init`)
//! signing_key = "p0/signing.key"    # Ed25519 secret, 32 bytes, mode 0600
//! hpke_key = "p0/hpke.key"          # X25519 secret, 32 bytes, mode 0600
//! joint_key = "p0/joint.key"        # its FROST share of the joint key (hex), mode 0600
//! log_token = "p0/log.token"        # bearer token for the log's add-entries (P0 only)
//!
//! [limits]                          # optional; these are the defaults
//! max_body_bytes = 1048576
//! mpc_timeout_s = 30
//! outcome_wait_s = 600               # how long a request may queue and run
//! station_requests_per_minute = 600
//! record_requests_per_minute = 30
//! max_batch = 16                    # enrolments P0 runs as one 1:N computation
//! batch_window_ms = 0                # how long P0 waits for more to join a lone one
//! ```
//!
//! Relative paths are relative to the directory of the config file.

use masque_protocol::{PartyId, parse_custodian};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A config problem, naming the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
    /// A field is missing or wrong.
    #[error("{path}: field `{field}`: {problem}")]
    Field {
        /// The file.
        path: String,
        /// The field.
        field: String,
        /// What is wrong and what to do.
        problem: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    party: String,
    listen: String,
    data_dir: PathBuf,
    network: PathBuf,
    mpc_dir: PathBuf,
    signing_key: PathBuf,
    hpke_key: PathBuf,
    joint_key: PathBuf,
    log_token: Option<PathBuf>,
    issuer_seed: Option<PathBuf>,
    #[serde(default)]
    limits: Limits,
}

/// Limits and timeouts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body accepted (bytes).
    pub max_body_bytes: usize,
    /// How long an MPC step waits for a peer (seconds).
    pub mpc_timeout_s: u64,
    /// How long a request may wait for its outcome, queued behind others and running
    /// (seconds). Past it the caller gets a 504; the request may still run, and its log
    /// entry says how it ended.
    pub outcome_wait_s: u64,
    /// Requests a station may make per minute.
    pub station_requests_per_minute: u32,
    /// Requests about one record per minute.
    pub record_requests_per_minute: u32,
    /// The most enrolments P0 runs together as one batch (one 1:N computation that also
    /// compares them with each other); 1 turns batching off.
    pub max_batch: usize,
    /// How long P0 waits for more enrolments to join one that is queued alone
    /// (milliseconds). 0: a batch is what queued while the previous round ran, so a
    /// quiet network adds no latency.
    pub batch_window_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            mpc_timeout_s: 30,
            outcome_wait_s: 600,
            station_requests_per_minute: 600,
            record_requests_per_minute: 30,
            max_batch: 16,
            batch_window_ms: 0,
        }
    }
}

/// A checked config.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// This custodian.
    pub party: PartyId,
    /// The API address.
    pub listen: SocketAddr,
    /// Store and ledger directory.
    pub data_dir: PathBuf,
    /// The network description file.
    pub network: PathBuf,
    /// The MPC TLS directory.
    pub mpc_dir: PathBuf,
    /// The Ed25519 secret key file.
    pub signing_key: PathBuf,
    /// The HPKE secret key file.
    pub hpke_key: PathBuf,
    /// The file with its FROST key package (its share of the custodians' joint key).
    pub joint_key: PathBuf,
    /// The log token file (required at P0, which appends).
    pub log_token: Option<PathBuf>,
    /// The credential issuer's seed file (P0, when the network issues credentials).
    pub issuer_seed: Option<PathBuf>,
    /// Limits.
    pub limits: Limits,
}

impl NodeConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Parses and checks config text read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Field {
            path: shown.clone(),
            field: e
                .span()
                .map(|s| format!("at bytes {}..{}", s.start, s.end))
                .unwrap_or_default(),
            problem: e.message().to_owned(),
        })?;
        let field = |field: &str, problem: String| ConfigError::Field {
            path: shown.clone(),
            field: field.to_owned(),
            problem,
        };
        let party = parse_custodian(&raw.party).map_err(|_| {
            field(
                "party",
                format!(
                    "{:?} is not a custodian; use \"P0\", \"P1\" or \"P2\"",
                    raw.party
                ),
            )
        })?;
        let listen: SocketAddr = raw.listen.parse().map_err(|_| {
            field(
                "listen",
                format!("{:?} is not an address like \"127.0.0.1:7100\"", raw.listen),
            )
        })?;
        let limits = raw.limits;
        if limits.max_body_bytes < 1024 || limits.max_body_bytes > 64 << 20 {
            return Err(field(
                "limits.max_body_bytes",
                "must be 1 KiB to 64 MiB".into(),
            ));
        }
        if limits.mpc_timeout_s == 0 || limits.mpc_timeout_s > 600 {
            return Err(field(
                "limits.mpc_timeout_s",
                "must be 1 to 600 seconds".into(),
            ));
        }
        if limits.outcome_wait_s < 10 || limits.outcome_wait_s > 3600 {
            return Err(field(
                "limits.outcome_wait_s",
                "must be 10 to 3600 seconds".into(),
            ));
        }
        if limits.max_batch == 0 || limits.max_batch > 256 {
            return Err(field(
                "limits.max_batch",
                "must be 1 (no batching) to 256 enrolments".into(),
            ));
        }
        if limits.batch_window_ms > 10_000 {
            return Err(field(
                "limits.batch_window_ms",
                "must be at most 10000 milliseconds".into(),
            ));
        }
        if limits.station_requests_per_minute == 0 || limits.record_requests_per_minute == 0 {
            return Err(field("limits", "request rates must be positive".into()));
        }
        if party == PartyId::P0 && raw.log_token.is_none() {
            return Err(field(
                "log_token",
                "P0 coordinates and appends to the log: give the file with its bearer token".into(),
            ));
        }
        if party != PartyId::P0 && raw.issuer_seed.is_some() {
            return Err(field(
                "issuer_seed",
                "only P0 issues credentials in this version".into(),
            ));
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let at = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        Ok(Self {
            party,
            listen,
            data_dir: at(raw.data_dir),
            network: at(raw.network),
            mpc_dir: at(raw.mpc_dir),
            signing_key: at(raw.signing_key),
            hpke_key: at(raw.hpke_key),
            joint_key: at(raw.joint_key),
            log_token: raw.log_token.map(at),
            issuer_seed: raw.issuer_seed.map(at),
            limits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
party = "P1"
listen = "127.0.0.1:7101"
data_dir = "p1"
network = "network.json"
mpc_dir = "mpc"
signing_key = "p1/signing.key"
hpke_key = "p1/hpke.key"
joint_key = "p1/joint.key"
"#;

    #[test]
    fn a_good_config_resolves_paths_next_to_it() {
        let c = NodeConfig::parse(GOOD, Path::new("/etc/masque/p1.toml")).unwrap();
        assert_eq!(c.party, PartyId::P1);
        assert_eq!(c.data_dir, Path::new("/etc/masque/p1"));
        assert_eq!(c.limits.max_body_bytes, 1 << 20);
    }

    #[test]
    fn errors_name_the_field() {
        let path = Path::new("x.toml");
        let err = NodeConfig::parse(&GOOD.replace("\"P1\"", "\"P7\""), path).unwrap_err();
        assert!(err.to_string().contains("`party`"), "{err}");
        let err = NodeConfig::parse(&GOOD.replace("127.0.0.1:7101", "nowhere"), path).unwrap_err();
        assert!(err.to_string().contains("`listen`"), "{err}");
        let err = NodeConfig::parse(&GOOD.replace("P1", "P0"), path).unwrap_err();
        assert!(err.to_string().contains("`log_token`"), "{err}");
        let err = NodeConfig::parse(&format!("{GOOD}\ncolour = 1\n"), path).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let err =
            NodeConfig::parse(&format!("{GOOD}\n[limits]\nmpc_timeout_s = 0\n"), path).unwrap_err();
        assert!(err.to_string().contains("mpc_timeout_s"), "{err}");
        let err =
            NodeConfig::parse(&format!("{GOOD}\n[limits]\nmax_batch = 0\n"), path).unwrap_err();
        assert!(err.to_string().contains("max_batch"), "{err}");
        let c =
            NodeConfig::parse(&format!("{GOOD}\n[limits]\nbatch_window_ms = 250\n"), path).unwrap();
        assert_eq!((c.limits.max_batch, c.limits.batch_window_ms), (16, 250));
        let err = NodeConfig::parse(&GOOD.replace("mpc_dir = \"mpc\"\n", ""), path).unwrap_err();
        assert!(err.to_string().contains("mpc_dir"), "{err}");
    }
}
