//! Proofs from the watcher's own copy of the log: roots at earlier sizes, inclusion
//! proofs and consistency proofs, computed from the stored entries (so evidence can be
//! exported even when the log has gone away). Each proof is planned by
//! [`masque_tlog::tree`] and its nodes are hashed from the leaves.

use masque_tlog::hash::{Hash, leaf_hash};
use masque_tlog::reference;
use masque_tlog::tree::{ProofPlan, consistency_plan, inclusion_plan, root_from, root_plan};

use crate::WatchError;
use crate::store::Store;

/// The leaf hashes of the first `size` stored entries.
pub fn leaves(store: &Store, size: u64) -> Result<Vec<Hash>, WatchError> {
    let mut leaves = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    store.for_each_entry(size, |_, entry| leaves.push(leaf_hash(entry)))?;
    if leaves.len() as u64 != size {
        return Err(WatchError::NotFound(format!(
            "the watcher holds {} entries, fewer than the {size} asked for",
            leaves.len()
        )));
    }
    Ok(leaves)
}

/// The hashes of a plan's nodes, from the leaves.
fn node_hashes(plan: &ProofPlan, leaves: &[Hash]) -> Vec<Hash> {
    plan.nodes()
        .iter()
        .map(|node| {
            let width = 1usize << node.level;
            let start = node.index as usize * width;
            reference::root(&leaves[start..(start + width).min(leaves.len())])
        })
        .collect()
}

/// The root of the tree of the first `size` entries.
pub fn root_at(store: &Store, size: u64) -> Result<Hash, WatchError> {
    let leaves = leaves(store, size)?;
    let plan = root_plan(size);
    Ok(root_from(&plan, &node_hashes(&plan, &leaves)))
}

/// The inclusion proof of entry `index` in the tree of `leaves`.
pub fn inclusion(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, WatchError> {
    let plan = inclusion_plan(index, leaves.len() as u64)
        .map_err(|e| WatchError::NotFound(e.to_string()))?;
    Ok(plan.assemble(&node_hashes(&plan, leaves)))
}

/// The consistency proof from size `old` to the tree of `leaves`.
pub fn consistency(leaves: &[Hash], old: u64) -> Result<Vec<Hash>, WatchError> {
    let plan = consistency_plan(old, leaves.len() as u64)
        .map_err(|e| WatchError::NotFound(e.to_string()))?;
    Ok(plan.assemble(&node_hashes(&plan, leaves)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use masque_tlog::tree::{verify_consistency, verify_inclusion};
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&(i as u64).to_be_bytes()))
            .collect()
    }

    proptest! {
        #[test]
        fn proofs_match_the_reference_and_verify(n in 1usize..600, pick in 0usize..600, old in 0usize..600) {
            let all = leaves(n);
            let root = reference::root(&all);
            let index = pick % n;
            let proof = inclusion(&all, index as u64).unwrap();
            prop_assert_eq!(&proof, &reference::inclusion_proof(index, &all));
            prop_assert!(verify_inclusion(&all[index], index as u64, n as u64, &proof, &root).is_ok());
            let old = old % (n + 1);
            let proof = consistency(&all, old as u64).unwrap();
            let old_root = reference::root(&all[..old]);
            prop_assert!(verify_consistency(old as u64, n as u64, &proof, &old_root, &root).is_ok());
        }
    }
}
