//! Tree math over stored complete-subtree hashes (RFC 6962 section 2.1, RFC 9162 section 2.1).
//!
//! A log stores the hash of every *complete* subtree: the node at `level` `l` and `index`
//! `i` is the Merkle Tree Hash of entries `[i * 2^l, (i + 1) * 2^l)`. Every root and proof
//! hash is a fold of such nodes, so proofs are built in two steps: a [`ProofPlan`] says
//! which stored nodes are needed (pure arithmetic, no I/O), the caller fetches them (from
//! tiles, memory, anywhere) and [`ProofPlan::assemble`] folds them into the proof.
//!
//! Verification ([`verify_inclusion`], [`verify_consistency`]) follows the iterative
//! algorithms of RFC 9162 and needs nothing but the proof. Conventions at the edges,
//! matching the witness protocol: a consistency proof from size 0 or between equal sizes
//! is empty; between equal sizes the roots must be equal.

use thiserror::Error;

use crate::hash::{Hash, node_hash};

/// The highest level a node can have: a tree of `u64` entries has height below 64.
pub const MAX_LEVEL: u8 = 63;

/// One stored complete subtree: entries `[index * 2^level, (index + 1) * 2^level)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves (0 = leaf hash).
    pub level: u8,
    /// Position among the nodes of this level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level` and `index`.
    pub fn new(level: u8, index: u64) -> NodeId {
        NodeId { level, index }
    }
}

/// Requests that no tree of the given sizes can answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TreeError {
    /// An inclusion proof was asked for an entry the tree does not contain.
    #[error("entry index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The entry asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    OldLargerThanNew {
        /// The older tree size.
        old: u64,
        /// The newer tree size.
        new: u64,
    },
}

/// Why a proof failed to verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// The sizes or index make no proof possible.
    #[error(transparent)]
    Range(#[from] TreeError),
    /// The proof has the wrong number of hashes for these sizes.
    #[error("proof has {got} hashes, expected {expected}")]
    WrongLength {
        /// Hashes given.
        got: usize,
        /// Hashes a valid proof has.
        expected: usize,
    },
    /// The recomputed root differs from the claimed one: the proof is wrong or the log
    /// is lying.
    #[error("proof does not lead to the claimed root")]
    RootMismatch,
}

/// The complete subtrees that make up entries `[lo, hi)`, left to right.
///
/// Precondition (true for every range RFC 6962 recursion produces): `lo` is a multiple of
/// the smallest power of two not below `hi - lo`, so greedy decomposition stays aligned.
fn range_nodes(lo: u64, hi: u64, out: &mut Vec<NodeId>) {
    let mut at = lo;
    while at < hi {
        let level = 63 - (hi - at).leading_zeros() as u8;
        // Alignment: `at` is a multiple of 2^level by the precondition.
        debug_assert_eq!(at % (1u64 << level), 0);
        out.push(NodeId::new(level, at >> level));
        at += 1u64 << level;
    }
}

/// Folds the hashes of a range's complete subtrees (left to right) into its Merkle Tree
/// Hash: the rightmost subtrees are combined first, as RFC 6962's split at the largest
/// power of two does.
fn fold_range(hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    let last = *iter
        .next()
        .expect("a non-empty range has at least one subtree");
    iter.fold(last, |acc, left| node_hash(left, &acc))
}

/// Largest power of two strictly below `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The nodes to fetch for a root or proof, and how to fold them into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofPlan {
    /// Entry ranges `[lo, hi)`, one per output hash, in output order.
    ranges: Vec<(u64, u64)>,
    /// Concatenated node ids of all ranges.
    nodes: Vec<NodeId>,
    /// How many of `nodes` each range uses.
    counts: Vec<usize>,
}

impl ProofPlan {
    fn from_ranges(ranges: Vec<(u64, u64)>) -> ProofPlan {
        let mut nodes = Vec::new();
        let mut counts = Vec::with_capacity(ranges.len());
        for &(lo, hi) in &ranges {
            let before = nodes.len();
            range_nodes(lo, hi, &mut nodes);
            counts.push(nodes.len() - before);
        }
        ProofPlan {
            ranges,
            nodes,
            counts,
        }
    }

    /// The stored nodes to fetch, in the order [`ProofPlan::assemble`] expects them.
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// Number of hashes the finished proof has.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// True when the proof is empty (no nodes needed).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Folds the fetched node hashes (same order and length as [`ProofPlan::nodes`]) into
    /// the proof hashes.
    ///
    /// # Panics
    /// If `hashes` does not have one hash per planned node: that is a bug in the caller,
    /// not bad input.
    pub fn assemble(&self, hashes: &[Hash]) -> Vec<Hash> {
        assert_eq!(hashes.len(), self.nodes.len(), "one hash per planned node");
        let mut out = Vec::with_capacity(self.counts.len());
        let mut at = 0;
        for &count in &self.counts {
            out.push(fold_range(&hashes[at..at + count]));
            at += count;
        }
        out
    }
}

/// The plan for the root of a tree of `size` entries (a single hash; empty plan for size 0,
/// whose root is [`Hash::empty_root`]).
pub fn root_plan(size: u64) -> ProofPlan {
    if size == 0 {
        ProofPlan::from_ranges(Vec::new())
    } else {
        ProofPlan::from_ranges(vec![(0, size)])
    }
}

/// The root of a tree given its complete-subtree hashes as planned by [`root_plan`].
pub fn root_from(plan: &ProofPlan, hashes: &[Hash]) -> Hash {
    plan.assemble(hashes).pop().unwrap_or_else(Hash::empty_root)
}

/// Plans the inclusion proof (RFC 6962 `PATH`) of entry `index` in a tree of `size`.
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan, TreeError> {
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    // PATH(m, D[lo:hi]) = PATH(m, left) + MTH(right) or PATH(m, right) + MTH(left):
    // walk down from the root collecting siblings, then emit them leaf-first.
    let (mut lo, mut hi) = (0u64, size);
    let mut siblings = Vec::new();
    while hi - lo > 1 {
        let mid = lo + split_point(hi - lo);
        if index < mid {
            siblings.push((mid, hi));
            hi = mid;
        } else {
            siblings.push((lo, mid));
            lo = mid;
        }
    }
    siblings.reverse();
    Ok(ProofPlan::from_ranges(siblings))
}

/// Plans the consistency proof (RFC 6962 `PROOF(m, D[n])`) from tree size `old` to `new`.
/// Empty when `old` is 0 or equals `new`.
pub fn consistency_plan(old: u64, new: u64) -> Result<ProofPlan, TreeError> {
    if old > new {
        return Err(TreeError::OldLargerThanNew { old, new });
    }
    if old == 0 || old == new {
        return Ok(ProofPlan::from_ranges(Vec::new()));
    }
    // SUBPROOF(m, D[lo:hi], b), iteratively: each step appends the sibling range after the
    // recursive part, so collect siblings and emit them deepest-first.
    let (mut lo, mut hi, mut m) = (0u64, new, old);
    let mut complete = true;
    let mut siblings = Vec::new();
    while m != hi - lo {
        let k = split_point(hi - lo);
        if m <= k {
            siblings.push((lo + k, hi));
            hi = lo + k;
        } else {
            siblings.push((lo, lo + k));
            lo += k;
            m -= k;
            complete = false;
        }
    }
    if !complete {
        siblings.push((lo, hi));
    }
    siblings.reverse();
    Ok(ProofPlan::from_ranges(siblings))
}

/// Verifies that `leaf` is entry `index` of the tree of `size` with `root` (RFC 9162
/// section 2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size }.into());
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(VerifyError::WrongLength {
            got: proof.len(),
            expected,
        });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s == 0 && r == *root {
        Ok(())
    } else {
        Err(VerifyError::RootMismatch)
    }
}

/// Verifies that the tree of size `old` with root `old_root` is a prefix of the tree of
/// size `new` with root `new_root` (RFC 9162 section 2.1.4.2).
pub fn verify_consistency(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), VerifyError> {
    let expected = consistency_plan(old, new)?.len();
    if proof.len() != expected {
        return Err(VerifyError::WrongLength {
            got: proof.len(),
            expected,
        });
    }
    if old == 0 {
        return if *old_root == Hash::empty_root() {
            Ok(())
        } else {
            Err(VerifyError::RootMismatch)
        };
    }
    if old == new {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(VerifyError::RootMismatch)
        };
    }
    let mut path = proof.iter();
    let mut f = old - 1;
    let mut s = new - 1;
    let first = if old.is_power_of_two() {
        *old_root
    } else {
        *path.next().expect("length checked above")
    };
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (first, first);
    for c in path {
        if s == 0 {
            return Err(VerifyError::RootMismatch);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if fr == *old_root && sr == *new_root && s == 0 {
        Ok(())
    } else {
        Err(VerifyError::RootMismatch)
    }
}

/// Number of hashes in the inclusion proof of `index` in a tree of `size` (`index < size`).
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    // Levels where the path to the root has a sibling: all bits of the highest differing
    // bit between index and size-1, plus one for each set bit above it that is "inner".
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = (index >> inner).count_ones();
    (inner + border) as usize
}

/// Where tree and proof sizes meet: the number of hashes of an inclusion proof, for
/// callers sizing buffers.
pub fn inclusion_len(index: u64, size: u64) -> Result<usize, TreeError> {
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    Ok(inclusion_proof_len(index, size))
}

/// The complete subtrees of a tree of `size`, left to right: the "compact range" whose
/// fold is the root.
pub fn compact_range(size: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    range_nodes(0, size, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_lengths_match_plans() {
        for size in 1..300u64 {
            for index in 0..size {
                let plan = inclusion_plan(index, size).unwrap();
                assert_eq!(plan.len(), inclusion_len(index, size).unwrap());
            }
        }
    }

    #[test]
    fn compact_range_is_binary_decomposition() {
        assert_eq!(compact_range(0), vec![]);
        assert_eq!(
            compact_range(7),
            vec![NodeId::new(2, 0), NodeId::new(1, 2), NodeId::new(0, 6)]
        );
        assert_eq!(compact_range(8), vec![NodeId::new(3, 0)]);
    }

    #[test]
    fn out_of_range_requests_are_refused() {
        assert!(inclusion_plan(5, 5).is_err());
        assert!(consistency_plan(6, 5).is_err());
        assert!(inclusion_plan(0, 0).is_err());
    }
}
