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
//!   ],
//!   "coverage_gate_min_bits": 7200
//! }
//! ```
//!
//! `coverage_gate_min_bits` is the network's mask-coverage gate ([`crate::coverage`]):
//! the valid bits each eye must keep (even, at most 12,800; absent means
//! `CoverageGate::default()`, 7,200). It is a network parameter: the parties compare it
//! at every gate session and refuse to run on a mismatch.
//!
//! `certificate_sha256` is optional; when present it must equal the SHA-256 of the
//! certificate's DER (so a fingerprint compared out of band cannot silently differ from
//! the certificate actually pinned). The three certificates must differ: a peer is
//! identified by the certificate it presents.

use super::TlsError;
use super::checks::{check_address, check_certificate_party};
use super::identity::{PartyCertificate, PartyKey, generate};
use crate::party::PartyId;
use masque_files::{FileError, WriteOptions, write_atomic};
use masque_template::CoverageGate;
use serde::{Deserialize, Serialize};
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
    coverage_gate: CoverageGate,
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
    /// The mask-coverage gate: valid bits each eye must keep. Absent: the default gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    coverage_gate_min_bits: Option<u32>,
}

impl NetworkConfig {
    /// A config from the three entries, indexed by party; checks that addresses are
    /// well-formed `host:port` and distinct, that the certificates differ, and that each
    /// certificate was made for the party in whose place it stands.
    pub fn new(parties: [PartyEntry; 3]) -> Result<Self, TlsError> {
        for p in PartyId::ALL {
            check_address(p, &parties[p.index()].address)?;
        }
        for p in PartyId::ALL {
            let later = &parties[p.index() + 1..];
            if later
                .iter()
                .any(|q| q.certificate == parties[p.index()].certificate)
            {
                return Err(TlsError::Config(format!(
                    "{p} shares its certificate with another party; every party needs its own"
                )));
            }
            let address = &parties[p.index()].address;
            if let Some(q) = PartyId::ALL[p.index() + 1..]
                .iter()
                .find(|q| parties[q.index()].address.eq_ignore_ascii_case(address))
            {
                return Err(TlsError::Config(format!(
                    "{p} and {q} have the same address {address:?}; every party needs its own \
                     host:port"
                )));
            }
        }
        for p in PartyId::ALL {
            check_certificate_party(p, &parties[p.index()].certificate)?;
        }
        Ok(Self {
            parties,
            coverage_gate: CoverageGate::default(),
        })
    }

    /// The mask-coverage gate every custodian applies ([`crate::coverage`]): a network
    /// parameter, the same in every custodian's copy of this file, never a request's.
    pub fn coverage_gate(&self) -> CoverageGate {
        self.coverage_gate
    }

    /// This config with another coverage gate (a stricter one than the default lowers
    /// false matches and raises failures to enrol; a laxer one than
    /// `CoverageGate::guaranteeing(MinOverlap::DEFAULT)` gives up the overlap guarantee).
    pub fn with_coverage_gate(mut self, gate: CoverageGate) -> Self {
        self.coverage_gate = gate;
        self
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
        let config = Self::new([a, b, c])?;
        Ok(match file.coverage_gate_min_bits {
            None => config,
            Some(bits) => {
                let gate = CoverageGate::from_bits(bits);
                if gate.min_bits() != bits {
                    return Err(TlsError::Config(format!(
                        "coverage_gate_min_bits is {bits}; it must be an even number of bits \
                         (valid bits come in real/imaginary pairs) of at most 12800"
                    )));
                }
                config.with_coverage_gate(gate)
            }
        })
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
            coverage_gate_min_bits: Some(self.coverage_gate.min_bits()),
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
    let mut files: Vec<(PathBuf, Zeroizing<String>, bool)> = PartyId::ALL
        .into_iter()
        .zip(&keys)
        .map(|(p, key)| (dir.join(key_file_name(p)), key.to_pem(), true))
        .collect();
    files.push((
        dir.join(NETWORK_FILE),
        Zeroizing::new(config.to_json()),
        false,
    ));
    for (k, (path, text, secret)) in files.iter().enumerate() {
        if let Err(e) = write_new(path, text.as_bytes(), *secret) {
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
    write_new(&key_path, key.to_pem().as_bytes(), true)?;
    if let Err(e) = write_new(&cert_path, certificate.to_pem().as_bytes(), false) {
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
    write_new(&path, config.to_json().as_bytes(), false)?;
    Ok(config)
}

fn exists_error(path: &Path) -> TlsError {
    TlsError::Config(format!(
        "{} already exists; choose an empty directory (keys are never overwritten)",
        path.display()
    ))
}

/// Fails early (before any key is generated) if a target exists; [`write_new`] still
/// refuses a file created in between.
fn refuse_existing(paths: &[&Path]) -> Result<(), TlsError> {
    match paths.iter().find(|p| p.exists()) {
        Some(existing) => Err(exists_error(existing)),
        None => Ok(()),
    }
}

fn io_error(path: &Path, e: std::io::Error) -> TlsError {
    TlsError::Io {
        what: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Writes a config file through the workspace's one atomic writer; never over an
/// existing file (even one created since [`refuse_existing`] looked).
fn write_new(path: &Path, bytes: &[u8], secret: bool) -> Result<(), TlsError> {
    let options = if secret {
        WriteOptions::SECRET
    } else {
        WriteOptions::CREATE_NEW
    };
    write_atomic(path, bytes, options).map_err(|e| match e {
        FileError::Exists { path } => exists_error(&path),
        other => TlsError::Io {
            what: path.display().to_string(),
            reason: other.to_string(),
        },
    })
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
                let key_path = dir.path().join(key_file_name(p));
                let meta = std::fs::metadata(&key_path).unwrap();
                assert_eq!(meta.permissions().mode() & 0o777, 0o600);
                // A key that others can read is refused, with the fix in the message.
                let open = std::fs::Permissions::from_mode(0o644);
                std::fs::set_permissions(&key_path, open).unwrap();
                let err = load_party(dir.path(), p).unwrap_err().to_string();
                assert!(err.contains("chmod 600"), "{err}");
                let private = std::fs::Permissions::from_mode(0o600);
                std::fs::set_permissions(&key_path, private).unwrap();
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
        bad(
            "\"coverage_gate_min_bits\": 7200",
            "\"coverage_gate_min_bits\": 7201",
            "even number of bits",
        );
        bad(
            "\"coverage_gate_min_bits\": 7200",
            "\"coverage_gate_min_bits\": 20000",
            "at most 12800",
        );
        // The gate is part of the file and round-trips; absent means the default.
        assert_eq!(config.coverage_gate(), CoverageGate::default());
        let stricter = config
            .clone()
            .with_coverage_gate(CoverageGate::from_bits(8_000));
        let back = NetworkConfig::from_json(&stricter.to_json()).unwrap();
        assert_eq!(back.coverage_gate().min_bits(), 8_000);
        let without = json.replace(",\n  \"coverage_gate_min_bits\": 7200", "");
        assert_ne!(without, json);
        assert_eq!(
            NetworkConfig::from_json(&without).unwrap().coverage_gate(),
            CoverageGate::default()
        );
        bad("\"P1\"", "\"P0\"", "listed twice");
        bad("\"P2\"", "\"P7\"", "unknown party");
        bad("127.0.0.1:7100", "127.0.0.1", "host:port");
        bad("127.0.0.1:7100", "127.0.0.1:0", "port 0");
        bad("127.0.0.1:7100", "127.0.0.1:99999", "valid port");
        bad("127.0.0.1:7100", "-bad-.example:7100", "host name");
        bad("127.0.0.1:7100", "999.1.1.1:7100", "host name");
        bad("127.0.0.1:7100", "a b:7100", "host name");
        bad("127.0.0.1:7100", "[not-v6]:7100", "host name");
        bad("127.0.0.1:7100", "127.0.0.1:7101", "same address");
        bad("127.0.0.1:7100", "LOCALHOST:7102", "same address");
        let fp = config.party(PartyId::P0).certificate.fingerprint();
        bad(&fp, &"0".repeat(64), "certificate_sha256");
        let dup = NetworkConfig::new([
            config.party(PartyId::P0).clone(),
            config.party(PartyId::P0).clone(),
            config.party(PartyId::P2).clone(),
        ]);
        assert!(matches!(dup, Err(TlsError::Config(m)) if m.contains("shares its certificate")));
        // P1's certificate in P0's place (and P0's in P1's): named, with the fix.
        let swapped = NetworkConfig::new([
            PartyEntry {
                address: "127.0.0.1:7100".into(),
                certificate: config.party(PartyId::P1).certificate.clone(),
            },
            PartyEntry {
                address: "127.0.0.1:7101".into(),
                certificate: config.party(PartyId::P0).certificate.clone(),
            },
            config.party(PartyId::P2).clone(),
        ]);
        assert!(
            matches!(&swapped, Err(TlsError::Config(m)) if m.contains("made for P1") && m.contains("order P0,P1,P2")),
            "{swapped:?}"
        );
        assert!(NetworkConfig::from_json("{").is_err());
    }
}
