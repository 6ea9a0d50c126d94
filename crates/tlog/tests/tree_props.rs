//! Property tests: the planned, node-based tree math against the literal RFC 6962 oracle
//! ([`masque_tlog::reference`]) on random and edge-case sizes, and tampering detection.

use masque_tlog::hash::{Hash, leaf_hash, node_hash};
use masque_tlog::{reference, tree};
use proptest::prelude::*;

/// Every complete-subtree hash of a tree, level by level, as a log would store them.
struct Nodes(Vec<Vec<Hash>>);

impl Nodes {
    fn build(leaves: &[Hash]) -> Nodes {
        let mut levels = vec![leaves.to_vec()];
        while levels.last().unwrap().len() > 1 {
            let below = levels.last().unwrap();
            let next = below
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
            levels.push(next);
        }
        Nodes(levels)
    }
    fn fetch(&self, plan: &tree::ProofPlan) -> Vec<Hash> {
        plan.nodes()
            .iter()
            .map(|id| self.0[id.level as usize][id.index as usize])
            .collect()
    }
}

fn leaves(n: usize) -> Vec<Hash> {
    (0..n as u32).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

/// Sizes that stress the edges: 0, 1, powers of two and their neighbours, random.
fn size_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1usize),
        (0u32..9).prop_map(|k| 1usize << k),
        (1u32..9).prop_map(|k| (1usize << k) - 1),
        (1u32..9).prop_map(|k| (1usize << k) + 1),
        0usize..600,
    ]
}

fn tamper(proof: &mut [Hash], at: usize, bit: u8) {
    let i = at % proof.len();
    proof[i].0[(bit as usize / 8) % 32] ^= 1 << (bit % 8);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn roots_match_oracle(size in size_strategy()) {
        let l = leaves(size);
        let nodes = Nodes::build(&l);
        let plan = tree::root_plan(size as u64);
        prop_assert_eq!(tree::root_from(&plan, &nodes.fetch(&plan)), reference::root(&l));
    }

    #[test]
    fn inclusion_matches_oracle_and_verifies(size in size_strategy(), pick in any::<u64>(), bit in any::<u8>()) {
        prop_assume!(size > 0);
        let l = leaves(size);
        let nodes = Nodes::build(&l);
        let index = (pick % size as u64) as usize;
        let plan = tree::inclusion_plan(index as u64, size as u64).unwrap();
        let proof = plan.assemble(&nodes.fetch(&plan));
        prop_assert_eq!(&proof, &reference::inclusion_proof(index, &l));
        let root = reference::root(&l);
        prop_assert!(tree::verify_inclusion(&l[index], index as u64, size as u64, &proof, &root).is_ok());
        // Wrong leaf, wrong index, tampered proof, truncated proof: all rejected.
        let other = leaf_hash(b"not in the tree");
        prop_assert!(tree::verify_inclusion(&other, index as u64, size as u64, &proof, &root).is_err());
        if size > 1 {
            let wrong = (index as u64 + 1) % size as u64;
            prop_assert!(tree::verify_inclusion(&l[index], wrong, size as u64, &proof, &root).is_err());
            let mut bad = proof.clone();
            tamper(&mut bad, pick as usize, bit);
            prop_assert!(tree::verify_inclusion(&l[index], index as u64, size as u64, &bad, &root).is_err());
            prop_assert!(tree::verify_inclusion(&l[index], index as u64, size as u64, &proof[1..], &root).is_err());
        }
        prop_assert!(tree::verify_inclusion(&l[index], size as u64, size as u64, &proof, &root).is_err());
    }

    #[test]
    fn consistency_matches_oracle_and_verifies(new in size_strategy(), pick in any::<u64>(), bit in any::<u8>()) {
        let l = leaves(new);
        let nodes = Nodes::build(&l);
        let old = (pick % (new as u64 + 1)) as usize;
        let plan = tree::consistency_plan(old as u64, new as u64).unwrap();
        let proof = plan.assemble(&nodes.fetch(&plan));
        prop_assert_eq!(&proof, &reference::consistency_proof(old, &l));
        let (r1, r2) = (reference::root(&l[..old]), reference::root(&l));
        prop_assert!(tree::verify_consistency(old as u64, new as u64, &proof, &r1, &r2).is_ok());
        // Swapped roots, tampered proofs and a wrong old root never verify.
        if old != new {
            prop_assert!(tree::verify_consistency(old as u64, new as u64, &proof, &r2, &r1).is_err());
        }
        if !proof.is_empty() {
            let mut bad = proof.clone();
            tamper(&mut bad, pick as usize, bit);
            prop_assert!(tree::verify_consistency(old as u64, new as u64, &bad, &r1, &r2).is_err());
        }
        let wrong_old = leaf_hash(b"fork");
        prop_assert!(tree::verify_consistency(old as u64, new as u64, &proof, &wrong_old, &r2).is_err());
    }
}

#[test]
fn edge_cases_old_zero_and_equal_sizes() {
    let l = leaves(8);
    let r8 = reference::root(&l);
    // old = 0: empty proof, old root must be the empty root.
    assert!(tree::verify_consistency(0, 8, &[], &Hash::empty_root(), &r8).is_ok());
    assert!(tree::verify_consistency(0, 8, &[r8], &Hash::empty_root(), &r8).is_err());
    // old == new: empty proof and equal roots.
    assert!(tree::verify_consistency(8, 8, &[], &r8, &r8).is_ok());
    assert!(tree::verify_consistency(8, 8, &[r8], &r8, &r8).is_err());
    assert!(tree::verify_consistency(8, 8, &[], &l[0], &r8).is_err());
    // 0 == 0
    assert!(tree::verify_consistency(0, 0, &[], &Hash::empty_root(), &Hash::empty_root()).is_ok());
    // old > new
    assert!(tree::verify_consistency(9, 8, &[], &r8, &r8).is_err());
}
