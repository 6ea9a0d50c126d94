//! The log writer: batched, durable appends and one signed checkpoint per batch.
//!
//! A batch is integrated in memory (leaf hashes into the right-edge tiles, entries into
//! the right-edge bundle), then every full tile and bundle it completed and the new
//! partial ones are written (atomic and durable, see [`crate::storage`]), and only then
//! is one checkpoint signed and written. The checkpoint write is the commit point: the
//! entries of a batch get their indices once it succeeds, and their inclusion proofs are
//! available at once.
//!
//! **Never two roots for one size.** The log state is always rebuilt from the last
//! checkpoint in storage, and the tiles of that size are checked against its root before
//! anything is appended. Tiles past the checkpoint are never trusted (the next batch
//! rewrites them), and the HTTP layer never serves them. If any write fails, the
//! in-memory state is dropped and rebuilt from storage before the next batch. If the
//! failed write was the checkpoint itself, the signed checkpoint is kept and re-published
//! on recovery instead of signing a different root for the same size, because a write
//! that reports failure may still have landed (and been seen).
//!
//! Not provided: concurrency control between processes. One writer process per log
//! directory is the operator's responsibility.

use thiserror::Error;

use crate::checkpoint::{self, Checkpoint, CheckpointError};
use crate::hash::{Hash, leaf_hash};
use crate::keys::{SecretKey, TYPE_ED25519};
use crate::note::{Ed25519Signer, Ed25519Verifier, Note, NoteSignature};
use crate::reader::{ReadError, TreeReader};
use crate::storage::{Storage, StorageError};
use crate::tiles::{self, BundleError, MAX_ENTRY_SIZE, TILE_HEIGHT, TILE_WIDTH, TileId};
use crate::tree;

/// Storage key of the latest checkpoint.
pub const CHECKPOINT_KEY: &str = "checkpoint";

/// Why a log operation failed.
#[derive(Debug, Error)]
pub enum LogError {
    /// Storage failed; the batch was not committed (unless the checkpoint write reported
    /// failure yet landed; the next call finds out).
    #[error("storage failed: {0}")]
    Storage(#[from] StorageError),
    /// An entry is too large for a bundle; nothing of the batch was written.
    #[error(
        "entry {position} of the batch is {len} bytes; entries must be at most {MAX_ENTRY_SIZE} bytes"
    )]
    EntryTooLarge {
        /// Position of the entry within the batch.
        position: usize,
        /// Its length.
        len: usize,
    },
    /// `create` found an existing log.
    #[error("a log already exists in this storage (it has a checkpoint)")]
    AlreadyExists,
    /// `open` found no checkpoint.
    #[error("no checkpoint in storage: create the log first")]
    NoCheckpoint,
    /// The stored checkpoint is malformed, not signed by this log's key, or has another origin.
    #[error("stored checkpoint is invalid: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The stored tiles do not match the stored checkpoint.
    #[error("storage is inconsistent with the checkpoint at size {size}: {reason}")]
    Inconsistent {
        /// The checkpoint's size.
        size: u64,
        /// What does not match.
        reason: String,
    },
    /// Reading tiles failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The requested size is beyond the published checkpoint.
    #[error("tree size {requested} is beyond the published size {published}")]
    BeyondCheckpoint {
        /// Size asked for.
        requested: u64,
        /// Published size.
        published: u64,
    },
}

/// What a committed batch returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendReceipt {
    /// Index of the batch's first entry; the others follow in order.
    pub first_index: u64,
    /// Number of entries appended.
    pub count: u64,
    /// The signed checkpoint covering the batch (note bytes).
    pub checkpoint: Vec<u8>,
}

/// The right edge of the tree: everything needed to append without reading storage.
#[derive(Debug, Clone)]
struct Edge {
    size: u64,
    /// Per tile level, the hashes of the partial tile (`(size >> 8L) % 256` of them).
    tiles: Vec<Vec<Hash>>,
    /// The partial entry bundle's bytes (`size % 256` entries).
    bundle: Vec<u8>,
    /// The published checkpoint.
    checkpoint: Checkpoint,
    checkpoint_bytes: Vec<u8>,
}

impl Edge {
    /// The root at `size`, from the edge tiles alone (every node of the compact range
    /// lies in a partial tile).
    fn root(&self) -> Hash {
        let plan = tree::root_plan(self.size);
        let hashes: Vec<Hash> = plan
            .nodes()
            .iter()
            .map(|&node| {
                let (tile, range) =
                    tiles::locate_node(node, self.size).expect("compact range nodes exist");
                let level = usize::from(node.level / TILE_HEIGHT);
                debug_assert!(!tile.is_full());
                tiles::complete_subtree_hash(&self.tiles[level][range])
            })
            .collect();
        tree::root_from(&plan, &hashes)
    }

    /// Appends one entry, queueing the writes of every tile and bundle it completes.
    fn push(
        &mut self,
        entry: &[u8],
        writes: &mut Vec<(String, Vec<u8>)>,
    ) -> Result<(), BundleError> {
        tiles::push_bundle_entry(&mut self.bundle, entry)?;
        self.size += 1;
        let mut hash = leaf_hash(entry);
        let mut level = 0usize;
        loop {
            if self.tiles.len() <= level {
                self.tiles.push(Vec::with_capacity(TILE_WIDTH as usize));
            }
            self.tiles[level].push(hash);
            if self.tiles[level].len() < TILE_WIDTH as usize {
                return Ok(());
            }
            let index = (self.size >> (u32::from(TILE_HEIGHT) * (level as u32 + 1))) - 1;
            writes.push((
                TileId::hashes(level as u8, index, TILE_WIDTH as u16).path(),
                tiles::encode_hash_tile(&self.tiles[level]),
            ));
            if level == 0 {
                writes.push((
                    TileId::entries(index, TILE_WIDTH as u16).path(),
                    std::mem::take(&mut self.bundle),
                ));
            }
            hash = tiles::complete_subtree_hash(&self.tiles[level]);
            self.tiles[level].clear();
            level += 1;
        }
    }

    /// The writes of the current partial tiles and bundle.
    fn partial_writes(&self, writes: &mut Vec<(String, Vec<u8>)>) {
        let width = (self.size % TILE_WIDTH) as u16;
        if width > 0 {
            writes.push((
                TileId::entries(self.size / TILE_WIDTH, width).path(),
                self.bundle.clone(),
            ));
        }
        for (level, hashes) in self.tiles.iter().enumerate() {
            if !hashes.is_empty() {
                let index = self.size >> (u32::from(TILE_HEIGHT) * (level as u32 + 1));
                writes.push((
                    TileId::hashes(level as u8, index, hashes.len() as u16).path(),
                    tiles::encode_hash_tile(hashes),
                ));
            }
        }
    }
}

/// A transparency log writer over some [`Storage`].
pub struct Log<S: Storage> {
    storage: S,
    origin: String,
    key: SecretKey,
    verifier: Ed25519Verifier,
    /// `None` after a failure: rebuilt from storage before the next operation.
    edge: Option<Edge>,
    /// A signed checkpoint whose write reported failure: it may have been published, so
    /// it must be re-published rather than replaced by another root of the same size.
    unconfirmed: Option<Vec<u8>>,
}

impl<S: Storage> std::fmt::Debug for Log<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("origin", &self.origin)
            .field("size", &self.edge.as_ref().map(|e| e.size))
            .finish_non_exhaustive()
    }
}

impl<S: Storage> Log<S> {
    /// Creates an empty log: signs and writes the size-0 checkpoint. Fails if storage
    /// already holds a checkpoint.
    pub fn create(storage: S, origin: &str, key: SecretKey) -> Result<Log<S>, LogError> {
        if storage.read(CHECKPOINT_KEY)?.is_some() {
            return Err(LogError::AlreadyExists);
        }
        let mut log = Log::new_unloaded(storage, origin, key)?;
        let checkpoint = Checkpoint::new(origin, 0, Hash::empty_root())?;
        let bytes = log.sign(&checkpoint);
        log.storage.write(CHECKPOINT_KEY, &bytes)?;
        log.recover()?;
        Ok(log)
    }

    /// Opens an existing log, checking its checkpoint and edge tiles.
    pub fn open(storage: S, origin: &str, key: SecretKey) -> Result<Log<S>, LogError> {
        let mut log = Log::new_unloaded(storage, origin, key)?;
        log.recover()?;
        Ok(log)
    }

    fn new_unloaded(storage: S, origin: &str, key: SecretKey) -> Result<Log<S>, LogError> {
        Checkpoint::new(origin, 0, Hash::empty_root())?;
        let verifier = Ed25519Verifier::new(key.public_key(TYPE_ED25519)).expect("type 0x01 key");
        Ok(Log {
            storage,
            origin: origin.to_owned(),
            key,
            verifier,
            edge: None,
            unconfirmed: None,
        })
    }

    fn sign(&self, checkpoint: &Checkpoint) -> Vec<u8> {
        let mut note = checkpoint.to_note();
        note.sign(&Ed25519Signer::new(&self.key));
        note.to_bytes()
    }

    /// The storage (for serving tiles).
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The verifier of this log's checkpoints.
    pub fn verifier(&self) -> &Ed25519Verifier {
        &self.verifier
    }

    /// Rebuilds the edge from storage (and re-publishes an unconfirmed checkpoint).
    fn recover(&mut self) -> Result<&mut Edge, LogError> {
        if self.edge.is_none() {
            let stored = self
                .storage
                .read(CHECKPOINT_KEY)?
                .ok_or(LogError::NoCheckpoint)?;
            let mut edge = self.load_edge(&stored)?;
            if let Some(pending) = self.unconfirmed.clone() {
                if pending != stored {
                    let pending_edge = self.load_edge(&pending)?;
                    if pending_edge.size < edge.size {
                        return Err(LogError::Inconsistent {
                            size: edge.size,
                            reason: "stored checkpoint is newer than the unconfirmed one".into(),
                        });
                    }
                    self.storage.write(CHECKPOINT_KEY, &pending)?;
                    edge = pending_edge;
                }
                self.unconfirmed = None;
            }
            self.edge = Some(edge);
        }
        Ok(self.edge.as_mut().expect("just loaded"))
    }

    /// Builds the edge for a signed checkpoint from storage, checking it against the root.
    fn load_edge(&self, checkpoint_bytes: &[u8]) -> Result<Edge, LogError> {
        let signed = checkpoint::open(checkpoint_bytes, &self.origin, &[&self.verifier])?;
        let size = signed.checkpoint.size();
        let mut tiles_by_level = Vec::new();
        let mut level = 0u32;
        while level * u32::from(TILE_HEIGHT) < 64 && size >> (level * u32::from(TILE_HEIGHT)) > 0 {
            let at_level = size >> (level * u32::from(TILE_HEIGHT));
            let width = (at_level % TILE_WIDTH) as u16;
            let hashes = if width == 0 {
                Vec::new()
            } else {
                let tile = TileId::hashes(level as u8, at_level / TILE_WIDTH, width);
                let bytes = self
                    .storage
                    .read(&tile.path())?
                    .ok_or(ReadError::MissingTile(tile))?;
                tiles::decode_hash_tile(&tile, &bytes).ok_or(ReadError::MalformedTile(tile))?
            };
            tiles_by_level.push(hashes);
            level += 1;
        }
        let width = (size % TILE_WIDTH) as u16;
        let bundle = if width == 0 {
            Vec::new()
        } else {
            let tile = TileId::entries(size / TILE_WIDTH, width);
            let bytes = self
                .storage
                .read(&tile.path())?
                .ok_or(ReadError::MissingTile(tile))?;
            let entries = tiles::decode_bundle(&bytes, usize::from(width))
                .map_err(|source| ReadError::MalformedBundle { tile, source })?;
            for (entry, hash) in entries.iter().zip(&tiles_by_level[0]) {
                if leaf_hash(entry) != *hash {
                    return Err(LogError::Inconsistent {
                        size,
                        reason: format!("entry bundle {tile} does not match its level-0 tile"),
                    });
                }
            }
            bytes
        };
        let edge = Edge {
            size,
            tiles: tiles_by_level,
            bundle,
            checkpoint: signed.checkpoint,
            checkpoint_bytes: checkpoint_bytes.to_vec(),
        };
        if edge.root() != *edge.checkpoint.root() {
            return Err(LogError::Inconsistent {
                size,
                reason: "edge tiles do not hash to the checkpoint root".into(),
            });
        }
        Ok(edge)
    }

    /// The published tree size.
    pub fn size(&mut self) -> Result<u64, LogError> {
        Ok(self.recover()?.size)
    }

    /// The published checkpoint (note bytes).
    pub fn checkpoint(&mut self) -> Result<Vec<u8>, LogError> {
        Ok(self.recover()?.checkpoint_bytes.clone())
    }

    /// Appends a batch: integrates it, writes tiles and bundles durably, signs and writes
    /// one checkpoint. On `Ok` every entry is in the published tree.
    pub fn append_batch<E: AsRef<[u8]>>(
        &mut self,
        entries: &[E],
    ) -> Result<AppendReceipt, LogError> {
        if let Some((position, e)) = entries
            .iter()
            .enumerate()
            .find(|(_, e)| e.as_ref().len() > MAX_ENTRY_SIZE)
        {
            return Err(LogError::EntryTooLarge {
                position,
                len: e.as_ref().len(),
            });
        }
        let result = self.try_append(entries);
        if result.is_err() {
            // Whatever happened, memory may now differ from storage: rebuild before the next batch.
            self.edge = None;
        }
        result
    }

    fn try_append<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Result<AppendReceipt, LogError> {
        let first_index = self.recover()?.size;
        if entries.is_empty() {
            let edge = self.recover()?;
            return Ok(AppendReceipt {
                first_index,
                count: 0,
                checkpoint: edge.checkpoint_bytes.clone(),
            });
        }
        let mut edge = self.recover()?.clone();
        let mut writes = Vec::new();
        for entry in entries {
            edge.push(entry.as_ref(), &mut writes)
                .expect("entry sizes checked");
        }
        edge.partial_writes(&mut writes);
        self.storage.write_all(&writes)?;
        let checkpoint = Checkpoint::new(&self.origin, edge.size, edge.root())?;
        let bytes = self.sign(&checkpoint);
        if let Err(e) = self.storage.write(CHECKPOINT_KEY, &bytes) {
            self.unconfirmed = Some(bytes);
            return Err(e.into());
        }
        edge.checkpoint = checkpoint;
        edge.checkpoint_bytes = bytes.clone();
        self.edge = Some(edge);
        Ok(AppendReceipt {
            first_index,
            count: entries.len() as u64,
            checkpoint: bytes,
        })
    }

    /// Adds witness cosignatures to the published checkpoint if it is still the one they
    /// cosign (same text), and re-publishes it. Returns false when the checkpoint moved on.
    /// The caller verifies the cosignatures (see [`crate::witness`]).
    pub fn add_cosignatures(
        &mut self,
        checkpoint_text: &str,
        signatures: Vec<NoteSignature>,
    ) -> Result<bool, LogError> {
        let edge = self.recover()?;
        let mut note = Note::parse(&edge.checkpoint_bytes).map_err(CheckpointError::from)?;
        if note.text() != checkpoint_text {
            return Ok(false);
        }
        for s in signatures {
            note.add_signature(s);
        }
        let bytes = note.to_bytes();
        let result = self.storage.write(CHECKPOINT_KEY, &bytes);
        match result {
            Ok(()) => {
                self.edge.as_mut().expect("loaded").checkpoint_bytes = bytes;
                Ok(true)
            }
            Err(e) => {
                self.edge = None;
                Err(e.into())
            }
        }
    }

    fn reader(&mut self, size: u64) -> Result<TreeReader<'_>, LogError> {
        let published = self.recover()?.size;
        if size > published {
            return Err(LogError::BeyondCheckpoint {
                requested: size,
                published,
            });
        }
        Ok(TreeReader::new(&self.storage, size))
    }

    /// The inclusion proof of entry `index` in the tree of `size` (at most the published size).
    pub fn inclusion_proof(&mut self, index: u64, size: u64) -> Result<Vec<Hash>, LogError> {
        Ok(self.reader(size)?.inclusion_proof(index)?)
    }

    /// The consistency proof from `old` to `new` (at most the published size).
    pub fn consistency_proof(&mut self, old: u64, new: u64) -> Result<Vec<Hash>, LogError> {
        Ok(self.reader(new)?.consistency_proof(old)?)
    }

    /// Entry `index` as stored.
    pub fn entry(&mut self, index: u64) -> Result<Vec<u8>, LogError> {
        let size = self.recover()?.size;
        Ok(self.reader(size)?.entry(index)?)
    }
}
