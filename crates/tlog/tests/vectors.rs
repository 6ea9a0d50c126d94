//! Known-answer tests: the RFC 6962 reference tree of transparency-dev/merkle
//! (`testonly/constants.go`) and its published inclusion and consistency vectors
//! (`tests/vectors/transparency-dev`, see the README there for source and licence).

use std::path::{Path, PathBuf};

use masque_tlog::hash::{Hash, leaf_hash};
use masque_tlog::{reference, tree};
use serde::Deserialize;

/// Leaf inputs of the reference tree.
fn reference_leaves() -> Vec<Hash> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|hex| {
        let bytes: Vec<u8> = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        leaf_hash(&bytes)
    })
    .collect()
}

/// Roots of the reference tree at sizes 0..=8 (transparency-dev `RootHashes`).
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// Complete-subtree hashes of the reference tree, computed by the oracle.
fn node(leaves: &[Hash], id: tree::NodeId) -> Hash {
    let lo = (id.index << id.level) as usize;
    reference::root(&leaves[lo..lo + (1usize << id.level)])
}

#[test]
fn reference_tree_roots() {
    let leaves = reference_leaves();
    for (size, want) in ROOTS.iter().enumerate() {
        assert_eq!(
            reference::root(&leaves[..size]).to_hex(),
            *want,
            "oracle size {size}"
        );
        let plan = tree::root_plan(size as u64);
        let hashes: Vec<Hash> = plan.nodes().iter().map(|&id| node(&leaves, id)).collect();
        assert_eq!(
            tree::root_from(&plan, &hashes).to_hex(),
            *want,
            "planned size {size}"
        );
    }
}

fn vector_files(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/transparency-dev")
        .join(kind);
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Decodes a vector hash; `None` when the vector deliberately uses a value that is not a
/// 32-byte hash (such values cannot even be expressed in this crate's typed API).
fn hash(text: &str) -> Option<Hash> {
    Hash::from_base64(text)
}

fn hashes(list: &Option<Vec<String>>) -> Option<Vec<Hash>> {
    list.iter().flatten().map(|s| hash(s)).collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionCase {
    leaf_idx: i128,
    tree_size: i128,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    want_err: bool,
}

#[test]
fn transparency_dev_inclusion_vectors() {
    let files = vector_files("inclusion");
    assert!(files.len() > 80, "vectors missing: {}", files.len());
    let mut checked_valid = 0;
    for file in files {
        let case: InclusionCase = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let parsed = (|| {
            Some((
                u64::try_from(case.leaf_idx).ok()?,
                u64::try_from(case.tree_size).ok()?,
                hash(&case.root)?,
                hash(&case.leaf_hash)?,
                hashes(&case.proof)?,
            ))
        })();
        let ok = match &parsed {
            None => false,
            Some((idx, size, root, leaf, proof)) => {
                tree::verify_inclusion(leaf, *idx, *size, proof, root).is_ok()
            }
        };
        assert_eq!(ok, !case.want_err, "{}", file.display());
        if let (false, Some((idx, size, root, _, proof))) = (case.want_err, parsed) {
            // Our builder, fed by the oracle's node hashes, must produce the same proof
            // whenever the vector is over the reference tree.
            let leaves = reference_leaves();
            if size as usize <= leaves.len() && reference::root(&leaves[..size as usize]) == root {
                let plan = tree::inclusion_plan(idx, size).unwrap();
                let nodes: Vec<Hash> = plan.nodes().iter().map(|&id| node(&leaves, id)).collect();
                assert_eq!(plan.assemble(&nodes), proof, "{}", file.display());
                checked_valid += 1;
            }
        }
    }
    assert!(
        checked_valid >= 4,
        "too few valid vectors rebuilt: {checked_valid}"
    );
}

#[derive(Deserialize)]
struct ConsistencyCase {
    size1: i128,
    size2: i128,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    #[serde(rename = "wantErr")]
    want_err: bool,
}

#[test]
fn transparency_dev_consistency_vectors() {
    let files = vector_files("consistency");
    assert!(files.len() > 80, "vectors missing: {}", files.len());
    let mut skipped = Vec::new();
    let mut rebuilt = 0;
    for file in files {
        let case: ConsistencyCase = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let parsed = (|| {
            Some((
                u64::try_from(case.size1).ok()?,
                u64::try_from(case.size2).ok()?,
                hash(&case.root1)?,
                hash(&case.root2)?,
                hashes(&case.proof)?,
            ))
        })();
        let Some((s1, s2, r1, r2, proof)) = parsed else {
            if !case.want_err {
                // Valid only for opaque non-hash roots ("don't care"), which a typed
                // Hash cannot hold.
                skipped.push(file.file_name().unwrap().to_string_lossy().into_owned());
            }
            continue;
        };
        let ok = tree::verify_consistency(s1, s2, &proof, &r1, &r2).is_ok();
        assert_eq!(ok, !case.want_err, "{}", file.display());
        let leaves = reference_leaves();
        if !case.want_err
            && s2 as usize <= leaves.len()
            && reference::root(&leaves[..s2 as usize]) == r2
        {
            let plan = tree::consistency_plan(s1, s2).unwrap();
            let nodes: Vec<Hash> = plan.nodes().iter().map(|&id| node(&leaves, id)).collect();
            assert_eq!(plan.assemble(&nodes), proof, "{}", file.display());
            rebuilt += 1;
        }
    }
    assert_eq!(
        skipped,
        vec!["sizes-are-equal-one-and-proof-is-empty.json".to_string()]
    );
    assert!(rebuilt >= 4, "too few valid vectors rebuilt: {rebuilt}");
}
