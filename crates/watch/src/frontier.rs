//! The compact range of a Merkle tree: the roots of its perfect subtrees, left to right
//! (one per set bit of the size). It is all a follower needs to extend a verified tree by
//! new entries and compute the new root, so the new checkpoint is checked against the
//! old one by construction: a log that changed any earlier entry cannot produce a root
//! that matches.
//!
//! The root it computes is RFC 6962's Merkle Tree Hash; tests compare it with
//! [`masque_tlog::reference::root`], the literal recursive definition.

use masque_tlog::hash::{Hash, node_hash};
use serde::{Deserialize, Serialize};

/// The compact range of a tree of `size` leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// `(level, hash)` of each perfect subtree, from the left; levels strictly decrease.
    nodes: Vec<(u8, Hash)>,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = (0u8, leaf);
        while let Some(&(level, left)) = self.nodes.last() {
            if level != node.0 {
                break;
            }
            self.nodes.pop();
            node = (level + 1, node_hash(&left, &node.1));
        }
        self.nodes.push(node);
        self.size += 1;
    }

    /// The Merkle Tree Hash of the leaves so far.
    pub fn root(&self) -> Hash {
        let mut nodes = self.nodes.iter().rev();
        let Some(&(_, mut acc)) = nodes.next() else {
            return Hash::empty_root();
        };
        for (_, left) in nodes {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

/// The stored form: size and hashes in base64.
#[derive(Serialize, Deserialize)]
struct Stored {
    size: u64,
    nodes: Vec<(u8, String)>,
}

impl Serialize for Frontier {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Stored {
            size: self.size,
            nodes: self
                .nodes
                .iter()
                .map(|(l, h)| (*l, h.to_base64()))
                .collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Frontier {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let stored = Stored::deserialize(d)?;
        let nodes = stored
            .nodes
            .iter()
            .map(|(l, h)| Hash::from_base64(h).map(|h| (*l, h)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| D::Error::custom("a frontier hash is not 32 bytes of base64"))?;
        // The levels must be the set bits of the size, highest first.
        let expected: Vec<u8> = (0..64u8)
            .rev()
            .filter(|b| stored.size >> b & 1 == 1)
            .collect();
        if nodes.iter().map(|(l, _)| *l).collect::<Vec<_>>() != expected {
            return Err(D::Error::custom("frontier levels do not match its size"));
        }
        Ok(Frontier {
            size: stored.size,
            nodes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use masque_tlog::{hash::leaf_hash, reference};
    use proptest::prelude::*;

    fn leaves(n: usize, salt: u8) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&[salt, i as u8, (i >> 8) as u8]))
            .collect()
    }

    #[test]
    fn edge_sizes_match_the_reference() {
        for n in [
            0usize, 1, 2, 3, 4, 5, 7, 8, 9, 255, 256, 257, 1023, 1024, 1025,
        ] {
            let leaves = leaves(n, 1);
            let mut f = Frontier::new();
            for l in &leaves {
                f.push(*l);
            }
            assert_eq!(f.size(), n as u64);
            assert_eq!(f.root(), reference::root(&leaves), "size {n}");
        }
    }

    proptest! {
        #[test]
        fn every_prefix_matches_the_reference_and_survives_storage(n in 0usize..300, salt: u8) {
            let leaves = leaves(n, salt);
            let mut f = Frontier::new();
            for (i, l) in leaves.iter().enumerate() {
                f.push(*l);
                prop_assert_eq!(f.root(), reference::root(&leaves[..=i]));
            }
            let json = serde_json::to_string(&f).unwrap();
            let back: Frontier = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, f);
        }
    }

    #[test]
    fn a_stored_frontier_that_contradicts_its_size_is_refused() {
        let mut f = Frontier::new();
        for l in leaves(5, 2) {
            f.push(l);
        }
        let mut v: serde_json::Value = serde_json::to_value(&f).unwrap();
        v["size"] = 6.into();
        assert!(serde_json::from_value::<Frontier>(v).is_err());
    }
}
