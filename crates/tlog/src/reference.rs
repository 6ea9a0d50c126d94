//! The RFC 6962 recursive definitions, written out literally over an in-memory list of
//! leaf hashes.
//!
//! This is the plaintext oracle for [`crate::tree`]: it is slow (it rehashes whole
//! subtrees at every step) and makes no attempt at efficiency, so that it can be read side
//! by side with RFC 6962 section 2.1. Tests compare the tiled, planned implementation with
//! it on random and edge-case sizes. Not for production use.

use crate::hash::{Hash, node_hash};

/// Largest power of two strictly below `n` (`n >= 2`).
fn k(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// `MTH(D[n])` over leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Hash::empty_root(),
        1 => leaves[0],
        n => {
            let k = k(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// `PATH(m, D[n])`: the inclusion proof of leaf `m`.
///
/// # Panics
/// If `m` is not an index of `leaves`.
pub fn inclusion_proof(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    assert!(m < n, "leaf index out of range");
    if n == 1 {
        return Vec::new();
    }
    let k = k(n);
    if m < k {
        let mut path = inclusion_proof(m, &leaves[..k]);
        path.push(root(&leaves[k..]));
        path
    } else {
        let mut path = inclusion_proof(m - k, &leaves[k..]);
        path.push(root(&leaves[..k]));
        path
    }
}

/// `PROOF(m, D[n])`: the consistency proof from the first `m` leaves to all of them
/// (empty for `m == 0` and `m == n`, the conventions this crate uses).
///
/// # Panics
/// If `m > leaves.len()`.
pub fn consistency_proof(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    assert!(m <= leaves.len(), "old size beyond the tree");
    if m == 0 || m == leaves.len() {
        return Vec::new();
    }
    subproof(m, leaves, true)
}

/// `SUBPROOF(m, D[n], b)`.
fn subproof(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if b { Vec::new() } else { vec![root(leaves)] };
    }
    let k = k(n);
    if m <= k {
        let mut proof = subproof(m, &leaves[..k], b);
        proof.push(root(&leaves[k..]));
        proof
    } else {
        let mut proof = subproof(m - k, &leaves[k..], false);
        proof.push(root(&leaves[..k]));
        proof
    }
}
