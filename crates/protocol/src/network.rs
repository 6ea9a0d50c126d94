//! The public description of a masque network, shared by every role: the three
//! custodians (API address, signing key, HPKE key) and their joint key, the registered
//! stations, the log and its witness policy, the matching parameters.
//!
//! It holds public keys only. A wallet, a station, a watcher and each custodian load the
//! same file (`network.json`); a custodian's secrets are in its own config.

use crate::{
    PartyId, ProtocolError,
    keys::{HpkePublicKey, verifying_key_hex},
};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

/// One custodian, as everyone sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodianInfo {
    /// `P0`, `P1` or `P2`.
    #[serde(with = "crate::ids::custodian_serde")]
    pub party: PartyId,
    /// Base URL of its HTTP API (`http://127.0.0.1:7100`).
    pub api: String,
    /// Its Ed25519 key: request signatures to peers, log entry signatures.
    #[serde(with = "verifying_key_hex")]
    pub signing_key: VerifyingKey,
    /// Its HPKE key: wallets seal its shares to it.
    pub hpke_key: HpkePublicKey,
}

/// The custodians' joint key: log entries are signed with it, by all three custodians
/// together (FROST(Ed25519, SHA-512), RFC 9591, three of three). No custodian holds the
/// whole secret, and no two of them can sign without the third; the signature is an
/// ordinary Ed25519 signature under [`JointKeyInfo::key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JointKeyInfo {
    /// The group's Ed25519 verifying key: what log entries are checked against.
    #[serde(with = "verifying_key_hex")]
    pub key: VerifyingKey,
    /// FROST's public key package (hex, frost-ed25519's serialisation): the key and each
    /// custodian's verifying share, with which the coordinator tells whose signature
    /// share was wrong. The custodians need it; a watcher, a wallet or a service reads
    /// only [`JointKeyInfo::key`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

/// A station registered with the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationInfo {
    /// The station's pseudonym, as it appears in log entries.
    pub name: String,
    /// Its Ed25519 key.
    #[serde(with = "verifying_key_hex")]
    pub key: VerifyingKey,
    /// The most operations it declares it will log in one hour; watchers flag an hour
    /// above it. None: no declared rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_hour: Option<u32>,
}

/// The transparency log the custodians append to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogInfo {
    /// Base URL of the log (serving `checkpoint`, `tile/…`, `add-entries`).
    pub url: String,
    /// The `tlog-policy` text: the log key and the witnesses whose cosignatures a
    /// checkpoint needs.
    pub policy: String,
}

/// The credential issuer (P0 in this version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerInfo {
    /// The `IssuerPublicKey`, in masque-cred's JSON form: what services verify against.
    pub public_key: String,
    /// Start of epoch 0 (Unix seconds).
    pub epoch_origin: u64,
    /// Length of an epoch (seconds).
    pub epoch_secs: u64,
}

/// The public keys a log entry is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustodianKeys {
    /// Each custodian's own key, P0, P1, P2: entries signed one custodian at a time.
    pub each: [VerifyingKey; 3],
    /// The custodians' joint key: entries signed by the three together.
    pub joint: VerifyingKey,
}

/// The whole network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkDescription {
    /// A name for people (`masque devnet`).
    pub name: String,
    /// P0, P1, P2, in that order.
    pub custodians: Vec<CustodianInfo>,
    /// The custodians' joint key (log entry signatures).
    pub joint_key: JointKeyInfo,
    /// Registered stations.
    pub stations: Vec<StationInfo>,
    /// The log.
    pub log: LogInfo,
    /// Signed requests are accepted this many seconds either side of a custodian's clock.
    pub request_window_s: u64,
    /// The credential issuer, if the network issues credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<IssuerInfo>,
}

impl NetworkDescription {
    /// Parses and checks a description: three custodians in order, distinct keys,
    /// unique station names, a policy that parses.
    pub fn from_json(text: &str) -> Result<Self, ProtocolError> {
        let network: Self = serde_json::from_str(text).map_err(|e| {
            let mut message = e.to_string();
            if message.contains("missing field `joint_key`") {
                message.push_str(
                    " (a network made before the custodians signed log entries jointly; \
                     generate it again, e.g. `masque devnet` in a new directory)",
                );
            }
            ProtocolError::malformed("network description", message)
        })?;
        network.check()?;
        Ok(network)
    }

    /// The checks of [`NetworkDescription::from_json`].
    pub fn check(&self) -> Result<(), ProtocolError> {
        if self.custodians.len() != 3
            || self
                .custodians
                .iter()
                .zip(PartyId::ALL)
                .any(|(c, p)| c.party != p)
        {
            return Err(ProtocolError::malformed(
                "custodians",
                "must list exactly P0, P1 and P2, in that order",
            ));
        }
        if self
            .custodians
            .iter()
            .any(|c| c.signing_key == self.joint_key.key)
        {
            return Err(ProtocolError::malformed(
                "joint_key",
                "is one custodian's own key; the joint key comes from the three custodians' key generation",
            ));
        }
        for (i, a) in self.custodians.iter().enumerate() {
            for b in &self.custodians[i + 1..] {
                if a.signing_key == b.signing_key || a.hpke_key == b.hpke_key {
                    return Err(ProtocolError::malformed(
                        "custodians",
                        format!(
                            "{} and {} share a key; every custodian needs its own",
                            a.party, b.party
                        ),
                    ));
                }
            }
        }
        for (i, s) in self.stations.iter().enumerate() {
            if s.name.is_empty()
                || s.name.len() > 64
                || !s
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(ProtocolError::malformed(
                    "stations.name",
                    format!("{:?}: 1 to 64 ASCII letters, digits, '-' or '_'", s.name),
                ));
            }
            if self.stations[..i]
                .iter()
                .any(|o| o.name == s.name || o.key == s.key)
            {
                return Err(ProtocolError::malformed(
                    "stations",
                    format!(
                        "station {:?} is registered twice (same name or key)",
                        s.name
                    ),
                ));
            }
        }
        masque_tlog::policy::Policy::parse(&self.log.policy)
            .map_err(|e| ProtocolError::malformed("log.policy", e.to_string()))?;
        if self.request_window_s == 0 || self.request_window_s > 3600 {
            return Err(ProtocolError::malformed(
                "request_window_s",
                "must be 1 to 3600 seconds",
            ));
        }
        Ok(())
    }

    /// The keys log entries are checked against: the joint key and each custodian's.
    pub fn custodian_keys(&self) -> CustodianKeys {
        CustodianKeys {
            each: [0, 1, 2].map(|i| self.custodians[i].signing_key),
            joint: self.joint_key.key,
        }
    }

    /// Custodian `party`.
    pub fn custodian(&self, party: PartyId) -> &CustodianInfo {
        &self.custodians[party.index()]
    }

    /// The station with key `key`.
    pub fn station_by_key(&self, key: &VerifyingKey) -> Option<&StationInfo> {
        self.stations.iter().find(|s| &s.key == key)
    }

    /// The log's witness policy.
    pub fn policy(&self) -> Result<masque_tlog::policy::Policy, ProtocolError> {
        masque_tlog::policy::Policy::parse(&self.log.policy)
            .map_err(|e| ProtocolError::malformed("log.policy", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::HpkeSecretKey;
    use ed25519_dalek::SigningKey;
    use masque_tlog::keys::{KeyName, SecretKey, TYPE_ED25519};

    fn network() -> NetworkDescription {
        let log = SecretKey::from_seed(KeyName::new("log.example").unwrap(), &[5; 32]);
        NetworkDescription {
            name: "test".into(),
            custodians: PartyId::ALL
                .iter()
                .map(|p| CustodianInfo {
                    party: *p,
                    api: format!("http://127.0.0.1:{}", 7100 + p.index()),
                    signing_key: SigningKey::from_bytes(&[p.index() as u8 + 1; 32]).verifying_key(),
                    hpke_key: HpkeSecretKey::generate().1,
                })
                .collect(),
            joint_key: JointKeyInfo {
                key: SigningKey::from_bytes(&[9; 32]).verifying_key(),
                package: None,
            },
            stations: Vec::new(),
            log: LogInfo {
                url: "http://127.0.0.1:7120".into(),
                policy: format!(
                    "log {}\nquorum none\n",
                    log.public_key(TYPE_ED25519).to_vkey()
                ),
            },
            request_window_s: 300,
            issuer: None,
        }
    }

    #[test]
    fn a_description_round_trips_with_its_joint_key() {
        let network = network();
        let text = serde_json::to_string(&network).unwrap();
        let back = NetworkDescription::from_json(&text).unwrap();
        assert_eq!(back, network);
        assert_eq!(back.custodian_keys().joint, network.joint_key.key);
        assert_eq!(
            back.custodian_keys().each[2],
            network.custodians[2].signing_key
        );
    }

    #[test]
    fn a_missing_or_borrowed_joint_key_is_refused_with_the_fix() {
        let mut value = serde_json::to_value(network()).unwrap();
        value.as_object_mut().unwrap().remove("joint_key");
        let error = NetworkDescription::from_json(&value.to_string())
            .unwrap_err()
            .to_string();
        assert!(error.contains("generate it again"), "{error}");
        let mut network = network();
        network.joint_key.key = network.custodians[1].signing_key;
        let error = network.check().unwrap_err().to_string();
        assert!(error.contains("joint_key"), "{error}");
    }
}
