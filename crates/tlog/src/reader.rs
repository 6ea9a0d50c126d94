//! Reading a tiled log at a given tree size: node hashes, roots, proofs and entries.
//!
//! Everything here reads only the tiles and bundles that a tree of the requested size
//! has, so it works the same for the log itself and for a client holding a verified
//! checkpoint (with a [`Storage`] that fetches over HTTP, for example). A missing
//! partial tile falls back to the full tile of the same index, which the spec allows
//! logs to serve instead once the tree has grown.

use std::collections::HashMap;

use thiserror::Error;

use crate::hash::Hash;
use crate::storage::{Storage, StorageError};
use crate::tiles::{self, BundleError, TILE_WIDTH, TileId};
use crate::tree::{self, NodeId, ProofPlan, TreeError};

/// Why a read failed.
#[derive(Debug, Error)]
pub enum ReadError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The size or index makes the request impossible.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// A tile that the tree must have is absent.
    #[error("tile {0} is missing")]
    MissingTile(TileId),
    /// A tile has the wrong length.
    #[error("tile {0} is malformed (wrong length)")]
    MalformedTile(TileId),
    /// An entry bundle is malformed.
    #[error("entry bundle {tile} is malformed: {source}")]
    MalformedBundle {
        /// The bundle.
        tile: TileId,
        /// What is wrong.
        source: BundleError,
    },
    /// A node that a tree of this size does not have yet.
    #[error("node {0:?} is not complete in a tree of size {1}")]
    NodeNotInTree(NodeId, u64),
}

/// Reads `tile`, or the prefix of its full version if a partial tile is absent.
fn read_tile_bytes(
    storage: &dyn Storage,
    tile: TileId,
    item_len: Option<usize>,
) -> Result<Vec<u8>, ReadError> {
    if let Some(bytes) = storage.read(&tile.path())? {
        return Ok(bytes);
    }
    if tile.is_full() {
        return Err(ReadError::MissingTile(tile));
    }
    let full = TileId {
        width: TILE_WIDTH as u16,
        ..tile
    };
    let bytes = storage
        .read(&full.path())?
        .ok_or(ReadError::MissingTile(tile))?;
    match item_len {
        Some(len) => Ok(bytes
            .get(..len * usize::from(tile.width))
            .ok_or(ReadError::MalformedTile(full))?
            .to_vec()),
        None => Ok(bytes),
    }
}

/// A reader of one tree size, caching the tiles it has fetched.
pub struct TreeReader<'a> {
    storage: &'a dyn Storage,
    size: u64,
    cache: HashMap<TileId, Vec<Hash>>,
}

impl<'a> TreeReader<'a> {
    /// Reads the tree of `size` entries from `storage`.
    pub fn new(storage: &'a dyn Storage, size: u64) -> TreeReader<'a> {
        TreeReader {
            storage,
            size,
            cache: HashMap::new(),
        }
    }

    /// The tree size this reader reads.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The hashes of stored complete subtrees.
    pub fn nodes(&mut self, nodes: &[NodeId]) -> Result<Vec<Hash>, ReadError> {
        let mut out = Vec::with_capacity(nodes.len());
        for &node in nodes {
            let (tile, range) = tiles::locate_node(node, self.size)
                .ok_or(ReadError::NodeNotInTree(node, self.size))?;
            if !self.cache.contains_key(&tile) {
                let bytes = read_tile_bytes(self.storage, tile, Some(crate::hash::HASH_SIZE))?;
                let hashes =
                    tiles::decode_hash_tile(&tile, &bytes).ok_or(ReadError::MalformedTile(tile))?;
                self.cache.insert(tile, hashes);
            }
            out.push(tiles::complete_subtree_hash(&self.cache[&tile][range]));
        }
        Ok(out)
    }

    fn assemble(&mut self, plan: &ProofPlan) -> Result<Vec<Hash>, ReadError> {
        let hashes = self.nodes(plan.nodes())?;
        Ok(plan.assemble(&hashes))
    }

    /// The root hash of the tree.
    pub fn root(&mut self) -> Result<Hash, ReadError> {
        let plan = tree::root_plan(self.size);
        let hashes = self.nodes(plan.nodes())?;
        Ok(tree::root_from(&plan, &hashes))
    }

    /// The inclusion proof of entry `index`.
    pub fn inclusion_proof(&mut self, index: u64) -> Result<Vec<Hash>, ReadError> {
        let plan = tree::inclusion_plan(index, self.size)?;
        self.assemble(&plan)
    }

    /// The consistency proof from tree size `old` to this tree.
    pub fn consistency_proof(&mut self, old: u64) -> Result<Vec<Hash>, ReadError> {
        let plan = tree::consistency_plan(old, self.size)?;
        self.assemble(&plan)
    }

    /// The leaf hash of entry `index` (from the level-0 tile).
    pub fn leaf_hash(&mut self, index: u64) -> Result<Hash, ReadError> {
        if index >= self.size {
            return Err(TreeError::IndexOutOfRange {
                index,
                size: self.size,
            }
            .into());
        }
        Ok(self.nodes(&[NodeId::new(0, index)])?[0])
    }

    /// Entry `index`, read from its bundle.
    pub fn entry(&mut self, index: u64) -> Result<Vec<u8>, ReadError> {
        if index >= self.size {
            return Err(TreeError::IndexOutOfRange {
                index,
                size: self.size,
            }
            .into());
        }
        let bundle_index = index / TILE_WIDTH;
        let width = if bundle_index < self.size / TILE_WIDTH {
            TILE_WIDTH
        } else {
            self.size % TILE_WIDTH
        };
        let tile = TileId::entries(bundle_index, width as u16);
        let bytes = read_tile_bytes(self.storage, tile, None)?;
        let decode_width = if storage_has_exact(&bytes, tile) {
            usize::from(tile.width)
        } else {
            TILE_WIDTH as usize
        };
        let entries = tiles::decode_bundle(&bytes, decode_width)
            .map_err(|source| ReadError::MalformedBundle { tile, source })?;
        Ok(entries[(index % TILE_WIDTH) as usize].to_vec())
    }
}

/// True when `bytes` hold exactly `tile.width` entries (false when they are the full
/// bundle read as a fallback for a missing partial one).
fn storage_has_exact(bytes: &[u8], tile: TileId) -> bool {
    tiles::decode_bundle(bytes, usize::from(tile.width)).is_ok()
}
