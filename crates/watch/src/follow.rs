//! Following a log: the [`Watcher`].
//!
//! Each [`Watcher::poll`] fetches the log's checkpoint and checks it against the
//! network's witness policy, then reads the new entries bundle by bundle. The tree is
//! extended from the last verified one ([`crate::frontier::Frontier`]), so the new root is computed, not
//! trusted; every chunk of entries is tied to the signed root by a consistency proof
//! (from the log's own tiles) before it is replayed and committed, which keeps memory
//! bounded however far behind the watcher is. Peers' checkpoints (other monitors'
//! `/checkpoint`) are compared with the watcher's own view: two signed roots for one size
//! are a fork, the loudest alert there is.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use masque_client::http::HttpClient;
use masque_client::log::{HttpTiles, LogReader};
use masque_protocol::network::{CustodianKeys, NetworkDescription};
use masque_tlog::checkpoint::Checkpoint;
use masque_tlog::hash::{Hash, leaf_hash};
use masque_tlog::note::Note;
use masque_tlog::policy::Policy;
use masque_tlog::reader::TreeReader;
use masque_tlog::tiles::TILE_WIDTH;
use masque_tlog::tree::verify_consistency;
use masque_tlog::verifier::{VerifiedCheckpoint, verify_checkpoint};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::WatchError;
use crate::alert::{Alert, Rule};
use crate::detect::{self, Thresholds};
use crate::proofs;
use crate::rules::{CheckedEntry, Consents, RuleBook, check_signatures};
use crate::store::{Batch, Store, WatchState};
use crate::view::GrowthPoint;

/// Entries replayed and committed together while catching up.
pub const CHUNK_BUNDLES: u64 = 64;
/// Growth points kept (older ones are thinned).
const GROWTH_POINTS: usize = 2048;

/// How a watcher is set up.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// The detectors' thresholds.
    pub thresholds: Thresholds,
    /// Audit keys of records to follow across entries (the deleted-record rule).
    pub audit_keys: Vec<Zeroizing<[u8; 32]>>,
    /// Base URLs of peer monitors whose `/checkpoint` is compared with this view.
    pub peers: Vec<String>,
    /// Per-request timeout towards the log and peers.
    pub timeout: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            thresholds: Thresholds::default(),
            audit_keys: Vec::new(),
            peers: Vec::new(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PollReport {
    /// Verified size before the poll.
    pub from: u64,
    /// Verified size after it.
    pub to: u64,
    /// Alerts raised (new ones only).
    pub alerts: Vec<Alert>,
    /// Seconds spent waiting for the next chunk (read from the log and its signatures
    /// checked while the previous chunk was replayed and committed, so this is the part
    /// that did not overlap) and tying it to the signed root (hashes, proofs).
    pub fetch_s: f64,
    /// Seconds spent replaying the rules and detectors, in log order.
    pub replay_s: f64,
    /// Seconds the replay waited for the watcher's database: serialising the state and
    /// waiting for the previous chunk's commit, which is written while the next chunk is
    /// replayed (the last commit's wait is not counted).
    pub commit_s: f64,
}

/// A watcher of one network's log, with its state on disk.
pub struct Watcher {
    store: Arc<Store>,
    policy: Policy,
    rules: RuleBook,
    thresholds: Thresholds,
    state: WatchState,
    consents: Consents,
    reader: LogReader,
    peers: Vec<(String, LogReader)>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("store", &self.store)
            .field("size", &self.state.frontier.size())
            .finish_non_exhaustive()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The custodians' keys and declared station rates of a network.
pub fn network_rules(
    network: &NetworkDescription,
    audit_keys: Vec<Zeroizing<[u8; 32]>>,
) -> RuleBook {
    let keys = network.custodian_keys();
    let rates = network
        .stations
        .iter()
        .filter_map(|s| s.max_per_hour.map(|r| (s.name.clone(), r)))
        .collect();
    RuleBook::new(keys, rates, audit_keys)
}

/// The network's witness policy.
pub fn network_policy(network: &NetworkDescription) -> Result<Policy, WatchError> {
    Policy::parse(&network.log.policy)
        .map_err(|e| WatchError::input("the network's log policy", e.to_string()))
}

impl Watcher {
    /// Opens the watcher whose state is in `dir` (created if needed) for `network`.
    pub fn open(
        dir: &Path,
        network: &NetworkDescription,
        options: WatchOptions,
    ) -> Result<Self, WatchError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            WatchError::input(
                format!("state directory {}", dir.display()),
                format!("cannot create it: {e}"),
            )
        })?;
        let store = Arc::new(Store::open(dir)?);
        let policy = network_policy(network)?;
        let mut state = store.state()?;
        let consents = Consents::from_map(store.consents()?);
        let mut rules = network_rules(network, options.audit_keys);
        rules.attach(&mut state.rules);
        let http = HttpClient::new(options.timeout);
        let peers = options
            .peers
            .iter()
            .map(|url| (url.clone(), LogReader::new(url, http.clone())))
            .collect();
        Ok(Self {
            store,
            policy,
            rules,
            thresholds: options.thresholds,
            state,
            consents,
            reader: LogReader::new(&network.log.url, http),
            peers,
        })
    }

    /// The store (for the explorer and evidence export).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The verified size.
    pub fn size(&self) -> u64 {
        self.state.frontier.size()
    }

    /// The state as last committed.
    pub fn state(&self) -> &WatchState {
        &self.state
    }

    /// The rules it replays (keys, declared rates, audit keys).
    pub fn rules(&self) -> &RuleBook {
        &self.rules
    }

    /// The network's policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Polls the log (and peers) once. A failed poll is recorded in the state (shown by
    /// the explorer) and returned; the watcher stays usable.
    pub async fn poll(&mut self) -> Result<PollReport, WatchError> {
        let from = self.size();
        let mut raised = Vec::new();
        let result = self.poll_inner(&mut raised).await;
        self.state.last_poll = Some(now());
        self.state.last_error = result.as_ref().err().map(ToString::to_string);
        // Alerts raised on a failed poll (bad checkpoint, fork) are committed with it.
        let mut new = self.store.commit(Batch::new(
            self.size(),
            Vec::new(),
            Vec::new(),
            raised,
            &self.state,
        )?)?;
        let mut report = result?;
        report.from = from;
        report.to = self.size();
        report.alerts.append(&mut new);
        Ok(report)
    }

    async fn poll_inner(&mut self, raised: &mut Vec<Alert>) -> Result<PollReport, WatchError> {
        let mut report = PollReport::default();
        let bytes = self
            .reader
            .get("checkpoint")
            .await?
            .ok_or_else(|| WatchError::input("the log", "it has no checkpoint yet"))?;
        let checkpoint = match verify_checkpoint(&self.policy, &bytes) {
            Ok(c) => c,
            Err(e) => {
                let mut alert = Alert::new(
                    Rule::BadLog,
                    note_key(&bytes),
                    format!("The log served a checkpoint that does not verify: {e}."),
                );
                alert.notes = vec![String::from_utf8_lossy(&bytes).into_owned()];
                alert.raised_at_size = self.size();
                raised.push(alert);
                return Err(WatchError::input("the log's checkpoint", e.to_string()));
            }
        };
        if let Some(origin) = &self.state.origin
            && origin != checkpoint.checkpoint.origin()
        {
            return Err(WatchError::input(
                "the log's checkpoint",
                format!(
                    "it is for log {:?}, this watcher follows {origin:?}",
                    checkpoint.checkpoint.origin()
                ),
            ));
        }
        self.state.origin = Some(checkpoint.checkpoint.origin().to_owned());
        let size = checkpoint.checkpoint.size();
        if size <= self.size() {
            if let Some(alert) = self.compare(&checkpoint, "the log")? {
                raised.push(alert);
                return Err(WatchError::input(
                    "the log",
                    "it signed two different trees of one size (see the fork alert)",
                ));
            }
        } else {
            self.catch_up(&checkpoint, &mut report).await?;
        }
        for i in 0..self.peers.len() {
            let (url, reader) = &self.peers[i];
            let url = url.clone();
            let Some(note) = reader.get("checkpoint").await.ok().flatten() else {
                tracing::warn!(peer = %url, "peer monitor has no checkpoint");
                continue;
            };
            match verify_checkpoint(&self.policy, &note) {
                Ok(peer) if peer.checkpoint.size() <= self.size() => {
                    if let Some(alert) = self.compare(&peer, &format!("peer {url}"))? {
                        raised.push(alert);
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(peer = %url, "peer checkpoint does not verify: {e}"),
            }
        }
        Ok(report)
    }

    /// Compares a verified checkpoint no larger than the watcher's tree with it; a fork
    /// alert when the roots differ.
    fn compare(&self, other: &VerifiedCheckpoint, from: &str) -> Result<Option<Alert>, WatchError> {
        let size = other.checkpoint.size();
        let ours = if size == self.size() {
            self.state.frontier.root()
        } else {
            proofs::root_at(&self.store, size)?
        };
        if ours == *other.checkpoint.root() {
            return Ok(None);
        }
        let mut alert = Alert::new(
            Rule::Fork,
            size,
            format!(
                "Fork: {from} showed a checkpoint of size {size} whose root differs from the \
                 tree this watcher verified. The log signed two histories."
            ),
        );
        alert.notes = vec![
            self.state.checkpoint.clone().unwrap_or_default(),
            String::from_utf8_lossy(&other.note).into_owned(),
        ];
        alert.raised_at_size = self.size();
        Ok(Some(alert))
    }

    /// Reads, checks, replays and commits the entries up to `checkpoint`. Three stages
    /// overlap: the next chunk is read and its signatures checked in the background
    /// (the checks need no state), the current chunk is replayed here (the rules run in
    /// log order), and the previous chunk's commit is written on a blocking thread.
    /// Commits stay in order: each waits for the one before, and every commit started is
    /// awaited before this returns, on success or error.
    async fn catch_up(
        &mut self,
        checkpoint: &VerifiedCheckpoint,
        report: &mut PollReport,
    ) -> Result<(), WatchError> {
        let mut committing = None;
        let result = self
            .catch_up_chunks(checkpoint, report, &mut committing)
            .await;
        let last = match committing {
            Some(commit) => finish_commit(commit, report).await,
            None => Ok(()),
        };
        result.and(last)
    }

    async fn catch_up_chunks(
        &mut self,
        checkpoint: &VerifiedCheckpoint,
        report: &mut PollReport,
        committing: &mut Option<Committing>,
    ) -> Result<(), WatchError> {
        let size = checkpoint.checkpoint.size();
        let root = *checkpoint.checkpoint.root();
        let keys = *self.rules.keys();
        let mut next: Option<tokio::task::JoinHandle<Result<Chunk, WatchError>>> = None;
        while self.size() < size {
            let started = std::time::Instant::now();
            let first = self.size();
            let Chunk {
                entries,
                checked,
                leaves,
            } = match next.take() {
                Some(task) => task
                    .await
                    .map_err(|e| WatchError::input("the log", format!("reading stopped: {e}")))??,
                None => read_and_check(self.reader.clone(), keys, first, size).await?,
            };
            let following = first + entries.len() as u64;
            if following < size {
                next = Some(tokio::spawn(read_and_check(
                    self.reader.clone(),
                    keys,
                    following,
                    size,
                )));
            }
            let mut frontier = self.state.frontier.clone();
            for leaf in leaves {
                frontier.push(leaf);
            }
            let end = frontier.size();
            if end == size {
                if frontier.root() != root {
                    return Err(self.bad_entries(checkpoint, end));
                }
            } else {
                let proof = self.consistency_proof(end, size).await?;
                if verify_consistency(end, size, &proof, &frontier.root(), &root).is_err() {
                    return Err(self.bad_entries(checkpoint, end));
                }
            }
            report.fetch_s += started.elapsed().as_secs_f64();
            let started = std::time::Instant::now();
            let alerts = self.replay(first, &checked);
            drop(checked);
            report.replay_s += started.elapsed().as_secs_f64();
            let started = std::time::Instant::now();
            self.state.frontier = frontier;
            if end == size {
                self.accept(checkpoint);
            }
            let consents = self.consents.take_dirty();
            let batch = Batch::new(first, entries, consents, alerts, &self.state)?;
            if let Some(previous) = committing.take() {
                finish_commit(previous, report).await?;
            }
            let store = self.store.clone();
            *committing = Some(tokio::task::spawn_blocking(move || store.commit(batch)));
            report.commit_s += started.elapsed().as_secs_f64();
        }
        Ok(())
    }

    fn bad_entries(&self, checkpoint: &VerifiedCheckpoint, end: u64) -> WatchError {
        WatchError::input(
            "the log",
            format!(
                "its entries up to {end} do not hash to its signed checkpoint of size {}; \
                 nothing past {} was accepted",
                checkpoint.checkpoint.size(),
                self.size()
            ),
        )
    }

    async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, WatchError> {
        let tiles = HttpTiles::new(self.reader.clone(), tokio::runtime::Handle::current());
        tokio::task::spawn_blocking(move || {
            TreeReader::new(&tiles, new)
                .consistency_proof(old)
                .map_err(|e| WatchError::input("the log's tiles", e.to_string()))
        })
        .await
        .map_err(|e| WatchError::input("the log's tiles", e.to_string()))?
    }

    fn accept(&mut self, checkpoint: &VerifiedCheckpoint) {
        let size = checkpoint.checkpoint.size();
        self.state.checkpoint = Some(String::from_utf8_lossy(&checkpoint.note).into_owned());
        self.state.cosigners = checkpoint.cosigners.clone();
        self.state
            .roots
            .push((size, checkpoint.checkpoint.root().to_base64()));
        if self.state.roots.len() > 64 {
            self.state.roots.remove(0);
        }
        self.state.growth.push(GrowthPoint { unix: now(), size });
        if self.state.growth.len() > GROWTH_POINTS {
            // Thin evenly: drop every other point of the older half.
            let half = self.state.growth.len() / 2;
            let mut i = 0;
            self.state.growth.retain(|_| {
                i += 1;
                i > half || i % 2 == 0
            });
        }
    }

    /// Replays `entries` (from index `first`) through the rules and detectors; returns
    /// the alerts they raise. Does not commit.
    pub fn ingest(&mut self, first: u64, entries: &[Vec<u8>]) -> Vec<Alert> {
        let checked = check_signatures(self.rules.keys(), entries);
        self.replay(first, &checked)
    }

    /// [`Watcher::ingest`] for entries whose signatures are already checked.
    fn replay(&mut self, first: u64, checked: &[CheckedEntry]) -> Vec<Alert> {
        let mut alerts = Vec::new();
        for (i, c) in checked.iter().enumerate() {
            let index = first + i as u64;
            alerts.extend(
                self.rules
                    .apply(index, c, &mut self.state.rules, &mut self.consents),
            );
            if let Ok(entry) = &c.entry {
                self.state.activity.count(entry);
                alerts.extend(detect::observe(
                    &self.thresholds,
                    &mut self.state.detectors,
                    index,
                    entry,
                ));
            }
        }
        let size = first + checked.len() as u64;
        for alert in &mut alerts {
            alert.raised_at_size = size;
        }
        alerts
    }

    /// Delivers the alerts not yet delivered, oldest first, with `deliver`; each is
    /// marked delivered only after `deliver` succeeded.
    pub async fn deliver<F, Fut>(&self, mut deliver: F) -> Result<usize, WatchError>
    where
        F: FnMut(Alert) -> Fut,
        Fut: std::future::Future<Output = Result<(), String>>,
    {
        let mut done = 0;
        for (seq, alert) in self.store.outbox()? {
            let id = alert.id.clone();
            match deliver(alert).await {
                Ok(()) => {
                    self.store.delivered(seq)?;
                    done += 1;
                }
                Err(e) => {
                    tracing::warn!(alert = %id, "alert delivery failed, will retry: {e}");
                    break;
                }
            }
        }
        Ok(done)
    }
}

/// A commit running on a blocking thread; its new alerts when done.
type Committing = tokio::task::JoinHandle<Result<Vec<Alert>, WatchError>>;

/// Waits for `commit` and adds its new alerts to `report`.
async fn finish_commit(commit: Committing, report: &mut PollReport) -> Result<(), WatchError> {
    let mut new = commit.await.map_err(|e| WatchError::Store {
        path: "the watcher's database".into(),
        message: format!("a commit stopped: {e}"),
    })??;
    report.alerts.append(&mut new);
    Ok(())
}

/// A chunk of entries, their checked signatures and their leaf hashes.
struct Chunk {
    entries: Vec<Vec<u8>>,
    checked: Vec<CheckedEntry>,
    leaves: Vec<Hash>,
}

/// [`read_chunk`], then [`check_signatures`] and the leaf hashes on a blocking thread
/// (rayon inside).
async fn read_and_check(
    reader: LogReader,
    keys: CustodianKeys,
    first: u64,
    size: u64,
) -> Result<Chunk, WatchError> {
    let entries = read_chunk(reader, first, size).await?;
    tokio::task::spawn_blocking(move || {
        use rayon::prelude::*;
        let checked = check_signatures(&keys, &entries);
        let leaves = entries.par_iter().map(|e| leaf_hash(e)).collect();
        Chunk {
            entries,
            checked,
            leaves,
        }
    })
    .await
    .map_err(|e| WatchError::input("the log", format!("checking stopped: {e}")))
}

/// Reads the entries of a tree of `size` from `first` to the end of the chunk of
/// [`CHUNK_BUNDLES`] bundles that holds `first`.
async fn read_chunk(reader: LogReader, first: u64, size: u64) -> Result<Vec<Vec<u8>>, WatchError> {
    let first_bundle = first / TILE_WIDTH;
    let last_bundle = (first_bundle + CHUNK_BUNDLES).min(size.div_ceil(TILE_WIDTH));
    let mut entries = Vec::new();
    for n in first_bundle..last_bundle {
        let bundle = reader.bundle(n, size).await?;
        let skip = (first.saturating_sub(n * TILE_WIDTH)) as usize;
        entries.extend(bundle.into_iter().skip(skip));
    }
    Ok(entries)
}

/// A key for alerts about one checkpoint note: the first 8 bytes of its SHA-256.
pub(crate) fn note_key(note: &[u8]) -> u64 {
    let digest = Sha256::digest(note);
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// Parses a signed checkpoint note's text (without verifying it).
pub fn parse_note(note: &str) -> Option<Checkpoint> {
    Checkpoint::parse(Note::parse(note.as_bytes()).ok()?.text()).ok()
}
