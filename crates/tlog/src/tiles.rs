//! C2SP `tlog-tiles`: hash tiles, entry bundles and their paths.
//!
//! A tile at level `L` holds up to 256 consecutive tree hashes of tree level `8L`; full
//! tiles hold exactly 256, partial ones (the right edge of the tree) 1 to 255 and carry a
//! `.p/<width>` suffix. Entry bundles are the entries behind a level-0 tile, each
//! prefixed with its big-endian 16-bit length. Tile indexes are written in groups of
//! three digits, all but the last prefixed with `x` (`1234067` → `x001/x234/067`).
//!
//! Path parsing is strict and canonical: a path parses only if encoding the result gives
//! the same path back.

use std::fmt;

use thiserror::Error;

use crate::checkpoint::parse_decimal;
use crate::hash::{HASH_SIZE, Hash, node_hash};
use crate::tree::NodeId;

/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Tree levels spanned by one tile level.
pub const TILE_HEIGHT: u8 = 8;
/// Highest tile level (tree level 8 × 7 = 56 covers every `u64` size).
pub const MAX_TILE_LEVEL: u8 = 63;
/// Largest entry an entry bundle can carry (16-bit length prefix).
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// What a tile holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    /// Tree hashes at tree level `8 * level`.
    Hashes {
        /// The tile level (0 = leaf hashes).
        level: u8,
    },
    /// The entries behind the level-0 hash tile of the same index.
    Entries,
}

/// One tile or entry bundle: kind, index within its level, and width (256 = full).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Hash tile or entry bundle.
    pub kind: TileKind,
    /// Position within the level, from the left.
    pub index: u64,
    /// Number of hashes or entries, 1..=256.
    pub width: u16,
}

/// A tile path that is not canonical `tlog-tiles` syntax.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid tile path {path:?}: {reason}")]
pub struct TilePathError {
    /// The path given.
    pub path: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Writes a tile index as `x001/x234/067`.
fn encode_index(mut index: u64) -> String {
    let mut out = format!("{:03}", index % 1000);
    while index >= 1000 {
        index /= 1000;
        out = format!("x{:03}/{out}", index % 1000);
    }
    out
}

impl TileId {
    /// A hash tile.
    pub fn hashes(level: u8, index: u64, width: u16) -> TileId {
        TileId {
            kind: TileKind::Hashes { level },
            index,
            width,
        }
    }

    /// An entry bundle.
    pub fn entries(index: u64, width: u16) -> TileId {
        TileId {
            kind: TileKind::Entries,
            index,
            width,
        }
    }

    /// True for a full (256-wide) tile.
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The path under the log prefix, e.g. `tile/0/x001/234.p/7` or `tile/entries/005`.
    pub fn path(&self) -> String {
        let level = match self.kind {
            TileKind::Hashes { level } => level.to_string(),
            TileKind::Entries => "entries".to_owned(),
        };
        let mut path = format!("tile/{level}/{}", encode_index(self.index));
        if !self.is_full() {
            path.push_str(&format!(".p/{}", self.width));
        }
        path
    }

    /// Parses a canonical tile or bundle path (see the module documentation).
    pub fn parse_path(path: &str) -> Result<TileId, TilePathError> {
        let err = |reason| TilePathError {
            path: path.to_owned(),
            reason,
        };
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| err("must start with tile/"))?;
        let (level, rest) = rest.split_once('/').ok_or_else(|| err("missing index"))?;
        let kind = if level == "entries" {
            TileKind::Entries
        } else {
            let level =
                parse_decimal(level).ok_or_else(|| err("level is not a canonical decimal"))?;
            if level > u64::from(MAX_TILE_LEVEL) {
                return Err(err("level above 63"));
            }
            TileKind::Hashes { level: level as u8 }
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((index, width)) => {
                let w =
                    parse_decimal(width).ok_or_else(|| err("width is not a canonical decimal"))?;
                if !(1..TILE_WIDTH).contains(&w) {
                    return Err(err("partial width must be 1 to 255"));
                }
                (index, w as u16)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let mut index: u64 = 0;
        let groups: Vec<&str> = index_part.split('/').collect();
        for (i, group) in groups.iter().enumerate() {
            let digits = if i + 1 < groups.len() {
                group
                    .strip_prefix('x')
                    .ok_or_else(|| err("all but the last index element start with x"))?
            } else {
                group
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("index elements are three digits"));
            }
            let group_value: u64 = digits
                .parse()
                .map_err(|_| err("index elements are three digits"))?;
            index = index
                .checked_mul(1000)
                .and_then(|v| v.checked_add(group_value))
                .ok_or_else(|| err("index overflows 64 bits"))?;
        }
        let tile = TileId { kind, index, width };
        if tile.path() != path {
            return Err(err("not canonical (leading zero groups)"));
        }
        Ok(tile)
    }

    /// The tree level of the hashes in this tile (hash tiles only).
    pub fn tree_level(&self) -> Option<u8> {
        match self.kind {
            TileKind::Hashes { level } => Some(level * TILE_HEIGHT),
            TileKind::Entries => None,
        }
    }

    /// The first entry index this tile or bundle covers; `None` if it overflows `u64`.
    pub fn start_entry(&self) -> Option<u64> {
        let shift = match self.kind {
            TileKind::Hashes { level } => u32::from(level + 1) * u32::from(TILE_HEIGHT),
            TileKind::Entries => u32::from(TILE_HEIGHT),
        };
        self.index
            .checked_mul(1u64.checked_shl(shift).filter(|_| shift < 64)?)
    }

    /// True when a tree of `size` entries has exactly this tile (a log serves only those).
    pub fn exists_in_tree(&self, size: u64) -> bool {
        let level = match self.kind {
            TileKind::Hashes { level } => level,
            TileKind::Entries => 0,
        };
        let shift = u32::from(level) * u32::from(TILE_HEIGHT);
        if shift >= 64 {
            return false;
        }
        let hashes_at_level = size >> shift;
        let full_tiles = hashes_at_level / TILE_WIDTH;
        if self.is_full() {
            self.index < full_tiles
        } else {
            self.index == full_tiles && u64::from(self.width) == hashes_at_level % TILE_WIDTH
        }
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// The hash tile of a tree of `size` that holds tree-level `8L` hash number `position`
/// (`L` = `tile_level`): full if its tile is complete at this size, partial otherwise.
/// `None` when the tree does not have that hash yet.
pub fn tile_for(tile_level: u8, position: u64, size: u64) -> Option<TileId> {
    let shift = u32::from(tile_level) * u32::from(TILE_HEIGHT);
    let available = if shift >= 64 { 0 } else { size >> shift };
    if position >= available {
        return None;
    }
    let index = position / TILE_WIDTH;
    let width = if index < available / TILE_WIDTH {
        TILE_WIDTH
    } else {
        available % TILE_WIDTH
    };
    Some(TileId::hashes(tile_level, index, width as u16))
}

/// Decodes a hash tile's bytes, which must be exactly `width` hashes.
pub fn decode_hash_tile(tile: &TileId, bytes: &[u8]) -> Option<Vec<Hash>> {
    if bytes.len() != usize::from(tile.width) * HASH_SIZE {
        return None;
    }
    Some(
        bytes
            .chunks_exact(HASH_SIZE)
            .map(|c| Hash::from_slice(c).expect("32 bytes"))
            .collect(),
    )
}

/// Encodes hashes as tile bytes.
pub fn encode_hash_tile(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.0).collect()
}

/// The Merkle Tree Hash of a complete run of `2^k` hashes.
pub fn complete_subtree_hash(hashes: &[Hash]) -> Hash {
    debug_assert!(hashes.len().is_power_of_two());
    let mut level: Vec<Hash> = hashes.to_vec();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|p| node_hash(&p[0], &p[1]))
            .collect();
    }
    level[0]
}

/// Where a stored node lives: the tile holding its hashes at tree level `8L`, and the
/// range of positions within that tile whose complete-subtree hash is the node.
pub fn locate_node(node: NodeId, size: u64) -> Option<(TileId, std::ops::Range<usize>)> {
    let tile_level = node.level / TILE_HEIGHT;
    let depth = node.level - tile_level * TILE_HEIGHT;
    let first = node.index.checked_shl(u32::from(depth))?;
    let count = 1u64 << depth;
    let tile = tile_for(tile_level, first + count - 1, size)?;
    let offset = (first % TILE_WIDTH) as usize;
    Some((tile, offset..offset + count as usize))
}

/// An entry bundle: entries with big-endian 16-bit length prefixes.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum BundleError {
    /// An entry is longer than a 16-bit length can say.
    #[error("entry of {0} bytes is too large: entries must be at most {MAX_ENTRY_SIZE} bytes")]
    EntryTooLarge(usize),
    /// The bundle bytes end inside a length prefix or an entry.
    #[error("entry bundle is truncated")]
    Truncated,
    /// The bundle holds a different number of entries than its width says.
    #[error("entry bundle holds {got} entries, its path says {expected}")]
    WrongCount {
        /// Entries found.
        got: usize,
        /// Entries the width promises.
        expected: usize,
    },
}

/// Appends one entry to bundle bytes.
pub fn push_bundle_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<(), BundleError> {
    let len = u16::try_from(entry.len()).map_err(|_| BundleError::EntryTooLarge(entry.len()))?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Splits bundle bytes into entries, checking there are exactly `width` of them.
pub fn decode_bundle(bytes: &[u8], width: usize) -> Result<Vec<&[u8]>, BundleError> {
    let mut out = Vec::with_capacity(width);
    let mut rest = bytes;
    while !rest.is_empty() {
        let [a, b, tail @ ..] = rest else {
            return Err(BundleError::Truncated);
        };
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        if tail.len() < len {
            return Err(BundleError::Truncated);
        }
        out.push(&tail[..len]);
        rest = &tail[len..];
    }
    if out.len() != width {
        return Err(BundleError::WrongCount {
            got: out.len(),
            expected: width,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_spec_examples() {
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(
            TileId::hashes(0, 1234067, 256).path(),
            "tile/0/x001/x234/067"
        );
        assert_eq!(TileId::hashes(1, 17, 17).path(), "tile/1/017.p/17");
        assert_eq!(TileId::entries(5, 3).path(), "tile/entries/005.p/3");
        assert_eq!(TileId::hashes(0, 1000, 256).path(), "tile/0/x001/000");
        for t in [
            TileId::hashes(0, 1234067, 256),
            TileId::hashes(63, u64::MAX, 1),
            TileId::entries(0, 255),
            TileId::hashes(2, 999, 256),
        ] {
            assert_eq!(TileId::parse_path(&t.path()), Ok(t));
        }
    }

    #[test]
    fn non_canonical_paths_are_refused() {
        for bad in [
            "tile/0/x000/001",
            "tile/00/001",
            "tile/64/001",
            "tile/0/1",
            "tile/0/0001",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/001.p/07",
            "tile/0/001/x002",
            "tile/0/y001/002",
            "tile/entries/001.p/",
            "tile/entry/001",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "/tile/0/001",
            "tile/0/001/",
            "tile/-1/001",
        ] {
            assert!(TileId::parse_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn spec_example_tree_of_70000_has_the_listed_tiles() {
        let size = 70_000;
        assert!(TileId::hashes(0, 272, 256).exists_in_tree(size));
        assert!(!TileId::hashes(0, 273, 256).exists_in_tree(size));
        assert!(TileId::hashes(0, 273, 112).exists_in_tree(size));
        assert!(TileId::hashes(1, 0, 256).exists_in_tree(size));
        assert!(TileId::hashes(1, 1, 17).exists_in_tree(size));
        assert!(TileId::hashes(2, 0, 1).exists_in_tree(size));
        assert!(!TileId::hashes(3, 0, 1).exists_in_tree(size));
        assert!(TileId::hashes(1, 0, 1).exists_in_tree(256));
        assert!(!TileId::hashes(0, 1, 1).exists_in_tree(256));
    }

    #[test]
    fn bundles_round_trip_and_refuse_oversized_or_truncated_input() {
        let mut b = Vec::new();
        push_bundle_entry(&mut b, b"").unwrap();
        push_bundle_entry(&mut b, &[7u8; 300]).unwrap();
        push_bundle_entry(&mut b, &vec![1u8; MAX_ENTRY_SIZE]).unwrap();
        let entries = decode_bundle(&b, 3).unwrap();
        assert_eq!(entries[1], &[7u8; 300][..]);
        assert_eq!(entries[2].len(), MAX_ENTRY_SIZE);
        assert_eq!(
            push_bundle_entry(&mut b, &vec![0u8; MAX_ENTRY_SIZE + 1]),
            Err(BundleError::EntryTooLarge(MAX_ENTRY_SIZE + 1))
        );
        assert_eq!(
            decode_bundle(&b[..b.len() - 1], 3),
            Err(BundleError::Truncated)
        );
        assert_eq!(decode_bundle(&b[..1], 0), Err(BundleError::Truncated));
        assert!(matches!(
            decode_bundle(&b, 2),
            Err(BundleError::WrongCount { .. })
        ));
    }

    #[test]
    fn nodes_are_located_in_the_right_tiles() {
        // Node at level 8 index 0: first hash of the level-1 tile.
        assert_eq!(
            locate_node(NodeId::new(8, 0), 300),
            Some((TileId::hashes(1, 0, 1), 0..1))
        );
        // Level 5 node covering leaves 256..288 in a tree of 300: the partial level-0 tile.
        assert_eq!(
            locate_node(NodeId::new(5, 8), 300),
            Some((TileId::hashes(0, 1, 44), 0..32))
        );
        // Not yet complete.
        assert_eq!(locate_node(NodeId::new(5, 9), 300), None);
        assert_eq!(
            locate_node(NodeId::new(3, 0), 300),
            Some((TileId::hashes(0, 0, 256), 0..8))
        );
    }
}
