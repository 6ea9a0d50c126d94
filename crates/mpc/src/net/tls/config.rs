//! The network config: where each party listens and which certificate it must present.
//!
//! A config directory holds `network.json` (public, the same file at every party) and
//! one private key per party, `p0.key`, `p1.key`, `p2.key` (PEM PKCS#8, mode 0600; in a
//! deployment each custodian keeps only its own). `network.json`:
//!
//! ```json
//! {
//!   "format": "masque-mpc-network/1",
//!   "parties": [
//!     { "party": "P0", "address": "10.0.0.1:7100",
//!       "certificate": "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n",
//!       "certificate_sha256": "3f1c..." },
//!     { "party": "P1", ... }, { "party": "P2", ... }
//!   ]
//! }
//! ```
//!
//! `certificate_sha256` is optional; when present it must equal the SHA-256 of the
//! certificate's DER (so a fingerprint compared out of band cannot silently differ from
//! the certificate actually pinned). The three certificates must differ: a peer is
//! identified by the certificate it presents.

use super::TlsError;
use super::identity::{PartyCertificate, PartyKey, generate};
use crate::party::PartyId;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The value of the `format` field this code reads and writes.
pub const FORMAT: &str = "masque-mpc-network/1";
/// The name of the network config inside a config directory.
pub const NETWORK_FILE: &str = "network.json";

/// The name of `party`'s key file inside a config directory (`p0.key`, ...).
pub fn key_file_name(party: PartyId) -> String {
    format!("p{}.key", party.index())
}

/// The name of `party`'s certificate file written by [`generate_party`] (`p0.cert.pem`, ...).
pub fn certificate_file_name(party: PartyId) -> String {
    format!("p{}.cert.pem", party.index())
}

/// One party's public entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyEntry {
    /// `host:port` the party listens on and its peers dial.
    pub address: String,
    /// The certificate the party must present.
    pub certificate: PartyCertificate,
}

/// The three parties' addresses and pinned certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConfig {
    parties: [PartyEntry; 3],
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileParty {
    party: String,
    address: String,
    certificate: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    certificate_sha256: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    format: String,
    parties: Vec<FileParty>,
}

fn check_address(party: PartyId, address: &str) -> Result<(), TlsError> {
    let port = address
        .rsplit_once(':')
        .map(|(host, port)| (host, port.parse::<u16>()));
    match port {
        Some((host, Ok(_))) if !host.is_empty() => Ok(()),
        _ => Err(TlsError::Config(format!(
            "{party}'s address {address:?} is not host:port (e.g. 10.0.0.1:7100)"
        ))),
    }
}

impl NetworkConfig {
    /// A config from the three entries, indexed by party; checks addresses and that the
    /// certificates differ.
    pub fn new(parties: [PartyEntry; 3]) -> Result<Self, TlsError> {
        for p in PartyId::ALL {
            check_address(p, &parties[p.index()].address)?;
            let later = &parties[p.index() + 1..];
            if later
                .iter()
                .any(|q| q.certificate == parties[p.index()].certificate)
            {
                return Err(TlsError::Config(format!(
                    "{p} shares its certificate with another party; every party needs its own"
                )));
            }
        }
        Ok(Self { parties })
    }

    /// `party`'s entry.
    pub fn party(&self, party: PartyId) -> &PartyEntry {
        &self.parties[party.index()]
    }

    /// The party whose pinned certificate is exactly `der`, if any.
    pub fn identify(&self, der: &[u8]) -> Option<PartyId> {
        PartyId::ALL
            .into_iter()
            .find(|p| self.parties[p.index()].certificate.der() == der)
    }

    /// Parses `network.json`.
    pub fn from_json(json: &str) -> Result<Self, TlsError> {
        let file: File = serde_json::from_str(json)
            .map_err(|e| TlsError::Config(format!("network config is not valid JSON: {e}")))?;
        if file.format != FORMAT {
            return Err(TlsError::Config(format!(
                "network config format {:?} is not {FORMAT:?}",
                file.format
            )));
        }
        if file.parties.len() != 3 {
            return Err(TlsError::Config(format!(
                "network config lists {} parties, not 3",
                file.parties.len()
            )));
        }
        let mut entries: [Option<PartyEntry>; 3] = Default::default();
        for fp in file.parties {
            let party = PartyId::ALL
                .into_iter()
                .find(|p| p.to_string() == fp.party)
                .ok_or_else(|| {
                    TlsError::Config(format!("unknown party {:?}; use P0, P1, P2", fp.party))
                })?;
            let certificate = PartyCertificate::from_pem(&fp.certificate)?;
            if let Some(want) = &fp.certificate_sha256
                && !want.eq_ignore_ascii_case(&certificate.fingerprint())
            {
                return Err(TlsError::Config(format!(
                    "{party}'s certificate_sha256 does not match its certificate"
                )));
            }
            let slot = &mut entries[party.index()];
            if slot.is_some() {
                return Err(TlsError::Config(format!("{party} is listed twice")));
            }
            *slot = Some(PartyEntry {
                address: fp.address,
                certificate,
            });
        }
        let [Some(a), Some(b), Some(c)] = entries else {
            return Err(TlsError::Config("network config misses a party".into()));
        };
        Self::new([a, b, c])
    }

    /// The `network.json` text.
    pub fn to_json(&self) -> String {
        let file = File {
            format: FORMAT.into(),
            parties: PartyId::ALL
                .iter()
                .map(|&p| {
                    let e = self.party(p);
                    FileParty {
                        party: p.to_string(),
                        address: e.address.clone(),
                        certificate: e.certificate.to_pem(),
                        certificate_sha256: Some(e.certificate.fingerprint()),
                    }
                })
                .collect(),
        };
        // Serialising plain strings cannot fail.
        serde_json::to_string_pretty(&file).unwrap_or_default() + "\n"
    }

    /// Reads `dir/network.json`.
    pub fn load_dir(dir: &Path) -> Result<Self, TlsError> {
        let path = dir.join(NETWORK_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
        Self::from_json(&text)
    }
}

/// Reads `dir/network.json` and `party`'s key from `dir`.
pub fn load_party(dir: &Path, party: PartyId) -> Result<(NetworkConfig, PartyKey), TlsError> {
    let config = NetworkConfig::load_dir(dir)?;
    let key = PartyKey::load(&dir.join(key_file_name(party)))?;
    Ok((config, key))
}

/// Generates keys and certificates for the three parties listening on `addresses`
/// (indexed by party) and writes `network.json` and `p0.key`..`p2.key` into `dir`
/// (created if missing). Refuses to overwrite any existing file. Each file is written to
/// a temporary name, synced and renamed, key files with mode 0600; if one cannot be
/// written, those already written are removed again.
pub fn generate_network(dir: &Path, addresses: [String; 3]) -> Result<NetworkConfig, TlsError> {
    let mut targets: Vec<PathBuf> = PartyId::ALL
        .iter()
        .map(|&p| dir.join(key_file_name(p)))
        .collect();
    targets.push(dir.join(NETWORK_FILE));
    refuse_existing(&targets.iter().map(PathBuf::as_path).collect::<Vec<_>>())?;
    let mut entries = Vec::with_capacity(3);
    let mut keys = Vec::with_capacity(3);
    for (p, address) in PartyId::ALL.into_iter().zip(addresses) {
        check_address(p, &address)?;
        let (key, certificate) = generate(p)?;
        keys.push(key);
        entries.push(PartyEntry {
            address,
            certificate,
        });
    }
    let entries: [PartyEntry; 3] = entries
        .try_into()
        .map_err(|_| TlsError::Config("three addresses are needed".into()))?;
    let config = NetworkConfig::new(entries)?;
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let mut files: Vec<(PathBuf, Zeroizing<String>, u32)> = PartyId::ALL
        .into_iter()
        .zip(&keys)
        .map(|(p, key)| (dir.join(key_file_name(p)), key.to_pem(), 0o600))
        .collect();
    files.push((
        dir.join(NETWORK_FILE),
        Zeroizing::new(config.to_json()),
        0o644,
    ));
    for (k, (path, text, mode)) in files.iter().enumerate() {
        if let Err(e) = write_atomic(path, text.as_bytes(), *mode) {
            // All or nothing: remove the files this call already wrote.
            for (written, _, _) in &files[..k] {
                let _ = std::fs::remove_file(written);
            }
            return Err(e);
        }
    }
    Ok(config)
}

/// For custodians run by different operators: generates `party`'s key and pinned
/// self-signed certificate on its own machine and writes `pN.key` (mode 0600) and
/// `pN.cert.pem` into `dir`, refusing to overwrite either. Only the certificate leaves the
/// machine; [`assemble_network`] builds `network.json` from the three certificates.
pub fn generate_party(dir: &Path, party: PartyId) -> Result<PartyCertificate, TlsError> {
    let (key_path, cert_path) = (
        dir.join(key_file_name(party)),
        dir.join(certificate_file_name(party)),
    );
    refuse_existing(&[&key_path, &cert_path])?;
    let (key, certificate) = generate(party)?;
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    write_atomic(&key_path, key.to_pem().as_bytes(), 0o600)?;
    if let Err(e) = write_atomic(&cert_path, certificate.to_pem().as_bytes(), 0o644) {
        let _ = std::fs::remove_file(&key_path);
        return Err(e);
    }
    Ok(certificate)
}

/// Writes `network.json` into `dir` from the parties' addresses and certificates (indexed
/// by party), refusing to overwrite it; the config is validated first (distinct
/// certificates, `host:port` addresses).
pub fn assemble_network(
    dir: &Path,
    addresses: [String; 3],
    certificates: [PartyCertificate; 3],
) -> Result<NetworkConfig, TlsError> {
    let path = dir.join(NETWORK_FILE);
    refuse_existing(&[&path])?;
    let mut entries = Vec::with_capacity(3);
    for ((p, address), certificate) in PartyId::ALL.into_iter().zip(addresses).zip(certificates) {
        check_address(p, &address)?;
        entries.push(PartyEntry {
            address,
            certificate,
        });
    }
    let entries: [PartyEntry; 3] = entries
        .try_into()
        .map_err(|_| TlsError::Config("three parties are needed".into()))?;
    let config = NetworkConfig::new(entries)?;
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    write_atomic(&path, config.to_json().as_bytes(), 0o644)?;
    Ok(config)
}

fn refuse_existing(paths: &[&Path]) -> Result<(), TlsError> {
    match paths.iter().find(|p| p.exists()) {
        Some(existing) => Err(TlsError::Config(format!(
            "{} already exists; choose an empty directory (keys are never overwritten)",
            existing.display()
        ))),
        None => Ok(()),
    }
}

fn io_error(path: &Path, e: std::io::Error) -> TlsError {
    TlsError::Io {
        what: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Writes `bytes` to `path` via a synced temporary file and a rename, so `path` is
/// either absent or complete; the directory is synced too so the rename is durable.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let result = options
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(path, e));
    }
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses() -> [String; 3] {
        ["127.0.0.1:7100", "127.0.0.1:7101", "localhost:7102"].map(String::from)
    }

    #[test]
    fn generated_directory_loads_back_and_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let config = generate_network(dir.path(), addresses()).unwrap();
        assert_eq!(NetworkConfig::load_dir(dir.path()).unwrap(), config);
        for p in PartyId::ALL {
            let (loaded, _key) = load_party(dir.path(), p).unwrap();
            assert_eq!(loaded.identify(config.party(p).certificate.der()), Some(p));
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let meta = std::fs::metadata(dir.path().join(key_file_name(p))).unwrap();
                assert_eq!(meta.permissions().mode() & 0o777, 0o600);
            }
        }
        assert_eq!(config.identify(b"not a pinned certificate"), None);
        let again = generate_network(dir.path(), addresses());
        assert!(matches!(again, Err(TlsError::Config(m)) if m.contains("already exists")));
        // No temporary files are left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
    }

    #[test]
    fn parties_generate_their_own_keys_and_the_network_is_assembled_from_certificates() {
        let machines: Vec<tempfile::TempDir> =
            (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let certificates =
            PartyId::ALL.map(|p| generate_party(machines[p.index()].path(), p).unwrap());
        // The certificate files hold what was returned; keys are private.
        for p in PartyId::ALL {
            let dir = machines[p.index()].path();
            let pem = std::fs::read_to_string(dir.join(certificate_file_name(p))).unwrap();
            assert_eq!(
                PartyCertificate::from_pem(&pem).unwrap(),
                certificates[p.index()]
            );
            assert!(generate_party(dir, p).is_err(), "never overwrites");
        }
        // Only certificates travel; each machine gets the same network.json.
        let coordinator = tempfile::tempdir().unwrap();
        let config =
            assemble_network(coordinator.path(), addresses(), certificates.clone()).unwrap();
        assert!(assemble_network(coordinator.path(), addresses(), certificates.clone()).is_err());
        for p in PartyId::ALL {
            let dir = machines[p.index()].path();
            std::fs::copy(
                coordinator.path().join(NETWORK_FILE),
                dir.join(NETWORK_FILE),
            )
            .unwrap();
            let (loaded, _key) = load_party(dir, p).unwrap();
            assert_eq!(loaded, config);
        }
        // The same certificate twice is refused.
        let twice = [
            certificates[0].clone(),
            certificates[0].clone(),
            certificates[2].clone(),
        ];
        let other = tempfile::tempdir().unwrap();
        assert!(assemble_network(other.path(), addresses(), twice).is_err());
        assert!(!other.path().join(NETWORK_FILE).exists());
    }

    #[test]
    fn bad_configs_are_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let config = generate_network(dir.path(), addresses()).unwrap();
        let json = config.to_json();
        let bad = |from: &str, to: &str, why: &str| {
            assert!(json.contains(from), "{from}");
            let err = NetworkConfig::from_json(&json.replacen(from, to, 1)).unwrap_err();
            assert!(err.to_string().contains(why), "{err} lacks {why}");
        };
        bad("masque-mpc-network/1", "other/2", "format");
        bad("\"P1\"", "\"P0\"", "listed twice");
        bad("\"P2\"", "\"P7\"", "unknown party");
        bad("127.0.0.1:7100", "127.0.0.1", "host:port");
        let fp = config.party(PartyId::P0).certificate.fingerprint();
        bad(&fp, &"0".repeat(64), "certificate_sha256");
        let dup = NetworkConfig::new([
            config.party(PartyId::P0).clone(),
            config.party(PartyId::P0).clone(),
            config.party(PartyId::P2).clone(),
        ]);
        assert!(matches!(dup, Err(TlsError::Config(m)) if m.contains("shares its certificate")));
        assert!(NetworkConfig::from_json("{").is_err());
    }
}
