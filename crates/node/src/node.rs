//! A running custodian: its keys, store, MPC engine, parked requests and clients, and
//! the steps every role shares (applying a commit, appending queued log entries).

use crate::config::NodeConfig;
use crate::inbox::Inbox;
use crate::log_client::LogClient;
use crate::metrics::Metrics;
use crate::mpc::Mpc;
use crate::store::{Action, RedbStore, Store, StoreError};
use ed25519_dalek::SigningKey;
use masque_client::http::HttpClient;
use masque_protocol::{
    PartyId, RequestId, keys::HpkeSecretKey, network::NetworkDescription, receipt::Receipt,
};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The config file.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A key or the network file.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The MPC links or the gallery.
    #[error(transparent)]
    Mpc(#[from] crate::mpc::MpcError),
    /// The API socket.
    #[error("listening on {addr}: {message}")]
    Listen {
        /// The address.
        addr: String,
        /// What failed.
        message: String,
    },
}

/// A custodian node.
pub struct Node {
    /// Which custodian.
    pub party: PartyId,
    /// Its config.
    pub config: NodeConfig,
    /// The network.
    pub network: NetworkDescription,
    /// Durable state.
    pub store: Arc<dyn Store>,
    /// The MPC engine.
    pub mpc: Mpc,
    /// Signs log entries and calls to peers.
    pub signing: SigningKey,
    /// Opens sealed shares.
    pub hpke: HpkeSecretKey,
    /// Its share of the custodians' joint key: signs log entries with the other two.
    pub joint: crate::joint::JointSigner,
    /// Parked requests.
    pub inbox: Inbox,
    /// Calls to peers and the log.
    pub http: HttpClient,
    /// The log (appending at P0, reading everywhere).
    pub log: LogClient,
    /// The coordinator's queue (P0).
    pub queue: Option<mpsc::UnboundedSender<RequestId>>,
    /// The requests the coordinator is running and has not decided yet (P0): one, or
    /// the members of a batch of enrolments.
    pub active: Mutex<Vec<RequestId>>,
    /// Requests between a run order and its decision here (peers).
    pub in_flight: Mutex<HashSet<RequestId>>,
    /// Serialises appends of queued entries.
    pub appender: tokio::sync::Mutex<()>,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// Request rates per station and per record.
    pub limits: crate::limits::RateLimits,
    /// The credential issuer (P0, when the network issues credentials).
    pub issuer: Option<crate::issuing::Issuing>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Node({})", self.party)
    }
}

fn file_error(path: &std::path::Path, message: impl ToString) -> StartError {
    StartError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Reads a 32-byte secret key written as 64 hex digits (mode 0600).
pub fn read_hex_key(path: &std::path::Path) -> Result<zeroize::Zeroizing<[u8; 32]>, StartError> {
    let text = masque_files::read_secret(path).map_err(|e| file_error(path, e))?;
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), key.as_mut_slice())
        .map_err(|_| file_error(path, "expected a 32-byte key as 64 hex digits"))?;
    Ok(key)
}

impl Node {
    /// Loads keys, the network and the store, and starts the MPC links (loading the
    /// gallery). Returns the node and, at P0, the receiving end of its queue.
    pub fn open(
        config: NodeConfig,
    ) -> Result<(Arc<Node>, Option<mpsc::UnboundedReceiver<RequestId>>), StartError> {
        let party = config.party;
        let text =
            std::fs::read_to_string(&config.network).map_err(|e| file_error(&config.network, e))?;
        let network =
            NetworkDescription::from_json(&text).map_err(|e| file_error(&config.network, e))?;
        let signing_bytes = read_hex_key(&config.signing_key)?;
        let signing = SigningKey::from_bytes(&signing_bytes);
        if signing.verifying_key() != network.custodian(party).signing_key {
            return Err(file_error(
                &config.signing_key,
                format!("this key is not {party}'s signing key in the network description"),
            ));
        }
        let hpke_bytes = read_hex_key(&config.hpke_key)?;
        let hpke = HpkeSecretKey::from_bytes(hpke_bytes.as_slice())
            .map_err(|e| file_error(&config.hpke_key, e))?;
        if hpke.public_key().ok().as_ref() != Some(&network.custodian(party).hpke_key) {
            return Err(file_error(
                &config.hpke_key,
                format!("this key is not {party}'s HPKE key in the network description"),
            ));
        }
        let joint_text = masque_files::read_secret(&config.joint_key)
            .map_err(|e| file_error(&config.joint_key, e))?;
        let joint = crate::joint::JointSigner::open(
            party,
            &joint_text,
            &network.joint_key,
            &config.joint_key,
        )?;
        let token = match &config.log_token {
            Some(path) => {
                let text = masque_files::read_secret(path).map_err(|e| file_error(path, e))?;
                Some(zeroize::Zeroizing::new(text.trim().to_owned()))
            }
            None => None,
        };
        std::fs::create_dir_all(&config.data_dir).map_err(|e| file_error(&config.data_dir, e))?;
        let issuer = match (&config.issuer_seed, &network.issuer) {
            (Some(path), Some(info)) => {
                let seed = masque_files::read_secret(path).map_err(|e| file_error(path, e))?;
                let issuing = crate::issuing::Issuing::open(
                    &seed,
                    &config.data_dir.join("issuer.redb"),
                    info.epoch_origin,
                    info.epoch_secs,
                )
                .map_err(|e| file_error(path, e))?;
                use masque_cred::wire::WireObject;
                if issuing.public_key().to_json() != info.public_key {
                    return Err(file_error(
                        path,
                        "this seed's public key is not the issuer key in the network description",
                    ));
                }
                Some(issuing)
            }
            (Some(path), None) => {
                return Err(file_error(
                    path,
                    "the network description names no issuer, but this custodian has an issuer seed",
                ));
            }
            _ => None,
        };
        let store: Arc<dyn Store> =
            Arc::new(RedbStore::open(&config.data_dir.join("custodian.redb"))?);
        let timeout = Duration::from_secs(config.limits.mpc_timeout_s);
        let mpc = Mpc::start(
            party,
            &config.mpc_dir,
            &config.data_dir,
            timeout,
            store.as_ref(),
        )?;
        let http = HttpClient::new(timeout + Duration::from_secs(30));
        let policy = network
            .policy()
            .map_err(|e| file_error(&config.network, e))?;
        let log = LogClient::new(
            &network.log.url,
            token,
            policy,
            HttpClient::new(Duration::from_secs(10)),
        );
        let (queue, receiver) = if party == PartyId::P0 {
            let (tx, rx) = mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let node = Arc::new(Node {
            party,
            network,
            store,
            mpc,
            signing,
            hpke,
            joint,
            inbox: Inbox::default(),
            http,
            log,
            queue,
            active: Mutex::new(Vec::new()),
            in_flight: Mutex::new(HashSet::new()),
            appender: tokio::sync::Mutex::new(()),
            metrics: Metrics::default(),
            limits: crate::limits::RateLimits::new(
                config.limits.station_requests_per_minute,
                config.limits.record_requests_per_minute,
            ),
            config,
            issuer,
        });
        Ok((node, receiver))
    }

    /// Applies the prepared transaction of `request` (store, then the in-memory
    /// gallery). A request already applied is a no-op.
    pub fn apply_commit(&self, request: &RequestId) -> Result<(), StoreError> {
        let action = match self.store.commit(request) {
            Ok(action) => action,
            Err(StoreError::NotPrepared(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        match &action {
            Action::Enrol { meta, shares, .. } => {
                if let Err(e) = self.mpc.insert(meta.gallery_id, shares) {
                    // The store has it; a restart reloads it. Say so loudly.
                    tracing::error!(
                        "record committed but not loaded into the gallery: {e}; restart this custodian"
                    );
                }
            }
            Action::Delete { gallery_id, .. } => {
                self.mpc.remove(*gallery_id);
                self.store.compact()?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Appends every queued entry to the log (P0); entries the log refuses or cannot
    /// take now stay queued for the next try.
    pub async fn append_queued(&self) {
        let _guard = self.appender.lock().await;
        let store = self.store.clone();
        let queued = match tokio::task::spawn_blocking(move || store.queued_entries()).await {
            Ok(Ok(q)) => q,
            Ok(Err(e)) => return tracing::warn!("reading queued log entries: {e}"),
            Err(_) => return,
        };
        for (request, entry) in queued {
            match self.log.append(&entry).await {
                Ok(index) => {
                    if let Err(e) = self.store.entry_appended(&request, index) {
                        tracing::warn!(
                            "entry of {request} appended at {index} but not recorded: {e}"
                        );
                    }
                    self.metrics.entries_appended.inc();
                }
                Err(e) => {
                    tracing::warn!("log entry of {request} not appended yet: {e}");
                    return;
                }
            }
        }
    }

    /// The receipt of `request`'s entry at log `index` (`None`: not appended yet), if a
    /// cosigned checkpoint covers it within `wait`.
    pub async fn receipt(
        &self,
        request: &RequestId,
        entry: &[u8],
        index: Option<u64>,
        wait: Duration,
    ) -> Option<Receipt> {
        let index = index?;
        let started = std::time::Instant::now();
        let receipt = self.log.receipt(entry, index, wait).await;
        self.metrics.receipt.record(started.elapsed());
        match receipt {
            Ok(receipt) => Some(receipt),
            Err(e) => {
                tracing::warn!("no receipt for {request} yet: {e}");
                None
            }
        }
    }
}
