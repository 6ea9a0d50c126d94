//! The TOML config of a relying party or an aid desk (one file per role), checked at start.
//!
//! ```toml
//! kind = "aid-desk"                      # or "service"
//! listen = "127.0.0.1:8090"              # IP address and port
//! data_dir = "desk-data"                 # relative paths are relative to this file
//! issuer_public_key = "issuer.pub.json"  # masque-cred issuer-public-key object
//! # context_id = "https://shop.example"  # kind = "service" only
//!
//! [epochs]                               # the network's credential epochs
//! origin = 0                             # Unix seconds
//! length_secs = 2592000
//!
//! [policy]
//! required = ["modalities"]              # attributes every presentation must disclose
//! enrolled_before = "round-start"        # "2026-Q3", "none", or (aid desk) "round-start"
//! nonce_lifetime_secs = 300
//!
//! [http]
//! max_body_bytes = 16384
//! body_read_secs = 10
//! header_read_secs = 10
//! max_connections = 256
//!
//! [desk]                                 # kind = "aid-desk" only
//! id = "north-gate"
//! # admin_token_file = "desk-data/admin.token"
//! ```
//!
//! Unknown fields are refused (a misspelt field would otherwise be silently ignored), and
//! every error names the field that is wrong and says what is expected.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use masque_cred::{
    AttributeKind, ContextId, EnrolmentQuarter, EpochSchedule, IssuerPublicKey, Timestamp,
    WireObject,
};
use serde::Deserialize;
use thiserror::Error;

use crate::desk::DeskId;
use crate::http::HttpLimits;

/// Why a config file is unusable.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape (the message names the key and line).
    #[error("config file {path}: {message}")]
    Parse {
        /// The config file.
        path: PathBuf,
        /// What the TOML parser reported.
        message: String,
    },
    /// A field has an unusable value.
    #[error("config file {path}: field `{field}`: {problem}")]
    Field {
        /// The config file.
        path: PathBuf,
        /// The field, as written in the file (`policy.nonce_lifetime_secs`).
        field: &'static str,
        /// What is wrong and what is expected.
        problem: String,
    },
}

/// What the file says, before checking.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    kind: String,
    listen: String,
    data_dir: PathBuf,
    issuer_public_key: PathBuf,
    context_id: Option<String>,
    epochs: RawEpochs,
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    http: RawHttp,
    desk: Option<RawDesk>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEpochs {
    origin: u64,
    length_secs: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    required: Vec<String>,
    enrolled_before: Option<String>,
    nonce_lifetime_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    max_body_bytes: Option<usize>,
    body_read_secs: Option<u64>,
    header_read_secs: Option<u64>,
    max_connections: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDesk {
    id: String,
    admin_token_file: Option<PathBuf>,
}

/// Who may claim, by enrolment date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cutoff {
    /// Anyone with a valid credential.
    None,
    /// Only people enrolled before this quarter.
    Quarter(EnrolmentQuarter),
    /// Aid desk: only people enrolled before the quarter in which the round opened, so a
    /// person who deletes and re-enrols during a round cannot claim twice in it.
    RoundStart,
}

/// What kind of relying party the file configures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A plain relying party with one context.
    Service {
        /// Its context (the scope of its pseudonyms).
        context_id: ContextId,
    },
    /// The example aid desk (context per desk and round).
    AidDesk {
        /// The desk's id.
        desk: DeskId,
        /// The operator's token file (a secret, mode 0600) for opening rounds over HTTP.
        admin_token_file: PathBuf,
    },
}

/// A checked config.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// Service or aid desk.
    pub kind: Kind,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Where the durable state lives (absolute, or relative to the working directory).
    pub data_dir: PathBuf,
    /// The issuer key presentations must verify under.
    pub issuer: IssuerPublicKey,
    /// The network's epochs.
    pub epochs: EpochSchedule,
    /// Attributes every presentation must disclose (besides the epoch).
    pub required: Vec<AttributeKind>,
    /// Enrolment cutoff.
    pub cutoff: Cutoff,
    /// How long a challenge stays valid.
    pub nonce_lifetime_secs: u64,
    /// Request body limits.
    pub http: HttpLimits,
}

/// Default challenge lifetime.
pub const DEFAULT_NONCE_LIFETIME_SECS: u64 = 300;

impl Config {
    /// Reads and checks the config at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Checks config `text` as if read from `path` (relative paths in it are resolved
    /// against `path`'s directory; the issuer key file is read).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let field = |field: &'static str, problem: String| ConfigError::Field {
            path: path.to_owned(),
            field,
            problem,
        };
        let base = path.parent().unwrap_or(Path::new(""));
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_owned()
            } else {
                base.join(p)
            }
        };

        let listen: SocketAddr = raw.listen.parse().map_err(|_| {
            field(
                "listen",
                format!(
                    "{:?} is not an IP address and port, such as 127.0.0.1:8090",
                    raw.listen
                ),
            )
        })?;
        if raw.data_dir.as_os_str().is_empty() {
            return Err(field("data_dir", "is empty: give a directory".into()));
        }
        let data_dir = resolve(&raw.data_dir);
        let issuer = read_issuer_key(&resolve(&raw.issuer_public_key))
            .map_err(|problem| field("issuer_public_key", problem))?;
        let epochs = EpochSchedule::new(Timestamp(raw.epochs.origin), raw.epochs.length_secs)
            .map_err(|_| field("epochs.length_secs", "must be at least 1 second".into()))?;

        let mut required = Vec::new();
        for name in &raw.policy.required {
            required.push(match name.as_str() {
                "modalities" => AttributeKind::Modalities,
                "enrolment_quarter" => AttributeKind::EnrolmentQuarter,
                other => {
                    return Err(field(
                        "policy.required",
                        format!("unknown attribute {other:?}: use \"modalities\" or \"enrolment_quarter\""),
                    ));
                }
            });
        }
        let nonce_lifetime_secs = raw
            .policy
            .nonce_lifetime_secs
            .unwrap_or(DEFAULT_NONCE_LIFETIME_SECS);
        if !(10..=86_400).contains(&nonce_lifetime_secs) {
            return Err(field(
                "policy.nonce_lifetime_secs",
                format!("must be between 10 and 86400 seconds, got {nonce_lifetime_secs}"),
            ));
        }
        let defaults = HttpLimits::default();
        let http = HttpLimits {
            max_body_bytes: raw.http.max_body_bytes.unwrap_or(defaults.max_body_bytes),
            body_read: Duration::from_secs(
                raw.http
                    .body_read_secs
                    .unwrap_or(defaults.body_read.as_secs()),
            ),
            header_read: Duration::from_secs(
                raw.http
                    .header_read_secs
                    .unwrap_or(defaults.header_read.as_secs()),
            ),
            max_connections: raw.http.max_connections.unwrap_or(defaults.max_connections),
        };
        if !(1024..=1 << 20).contains(&http.max_body_bytes) {
            return Err(field(
                "http.max_body_bytes",
                format!(
                    "must be between 1024 and 1048576 bytes, got {}",
                    http.max_body_bytes
                ),
            ));
        }
        if !(1..=300).contains(&http.header_read.as_secs()) {
            return Err(field(
                "http.header_read_secs",
                format!(
                    "must be between 1 and 300 seconds, got {}",
                    http.header_read.as_secs()
                ),
            ));
        }
        if !(1..=65_536).contains(&http.max_connections) {
            return Err(field(
                "http.max_connections",
                format!("must be between 1 and 65536, got {}", http.max_connections),
            ));
        }
        if !(1..=300).contains(&http.body_read.as_secs()) {
            return Err(field(
                "http.body_read_secs",
                format!(
                    "must be between 1 and 300 seconds, got {}",
                    http.body_read.as_secs()
                ),
            ));
        }

        let is_desk = match raw.kind.as_str() {
            "service" => false,
            "aid-desk" => true,
            other => {
                return Err(field(
                    "kind",
                    format!("unknown kind {other:?}: use \"service\" or \"aid-desk\""),
                ));
            }
        };
        let cutoff = match raw.policy.enrolled_before.as_deref() {
            None if is_desk => Cutoff::RoundStart,
            None | Some("none") => Cutoff::None,
            Some("round-start") if is_desk => Cutoff::RoundStart,
            Some("round-start") => {
                return Err(field(
                    "policy.enrolled_before",
                    "\"round-start\" is for kind = \"aid-desk\"; give a quarter such as \"2026-Q3\" or \"none\"".into(),
                ));
            }
            Some(q) => Cutoff::Quarter(parse_quarter(q).ok_or_else(|| {
                field(
                    "policy.enrolled_before",
                    format!(
                        "{q:?} is not a quarter such as \"2026-Q3\", \"none\" or \"round-start\""
                    ),
                )
            })?),
        };

        let kind = if is_desk {
            if raw.context_id.is_some() {
                return Err(field(
                    "context_id",
                    "an aid desk derives its context from desk.id and the round; remove context_id"
                        .into(),
                ));
            }
            let desk = raw.desk.ok_or_else(|| {
                field(
                    "desk",
                    "missing: an aid desk needs a [desk] table with id".into(),
                )
            })?;
            let id = DeskId::new(&desk.id).map_err(|e| field("desk.id", e.to_string()))?;
            let admin_token_file = desk
                .admin_token_file
                .map(|p| resolve(&p))
                .unwrap_or_else(|| data_dir.join(ADMIN_TOKEN_FILE));
            Kind::AidDesk {
                desk: id,
                admin_token_file,
            }
        } else {
            if raw.desk.is_some() {
                return Err(field(
                    "desk",
                    "only for kind = \"aid-desk\"; remove it".into(),
                ));
            }
            let raw_context = raw.context_id.ok_or_else(|| {
                field(
                    "context_id",
                    "missing: a service needs its context, such as its origin https://shop.example"
                        .into(),
                )
            })?;
            let context_id =
                ContextId::new(&raw_context).map_err(|e| field("context_id", e.to_string()))?;
            Kind::Service { context_id }
        };

        Ok(Config {
            path: path.to_owned(),
            kind,
            listen,
            data_dir,
            issuer,
            epochs,
            required,
            cutoff,
            nonce_lifetime_secs,
            http,
        })
    }
}

/// The default name of the aid desk's operator token file in its data directory.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// Reads an issuer public key file: the `masque-cred` JSON envelope, or its compact form.
pub fn read_issuer_key(path: &Path) -> Result<IssuerPublicKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the issuer public key file {}: {e}",
            path.display()
        )
    })?;
    let text = text.trim();
    let parsed = if text.starts_with('{') {
        IssuerPublicKey::from_json(text.as_bytes())
    } else {
        IssuerPublicKey::from_compact(text)
    };
    parsed.map_err(|e| format!("{} is not an issuer public key: {e}", path.display()))
}

/// Parses `2026-Q3` (case-insensitive `q`).
pub fn parse_quarter(text: &str) -> Option<EnrolmentQuarter> {
    let (year, quarter) = text.trim().split_once(['-'])?;
    let quarter = quarter.strip_prefix(['Q', 'q'])?;
    EnrolmentQuarter::new(year.parse().ok()?, quarter.parse().ok()?).ok()
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
