//! Generator points, derived once per `(api_id, count)` and cached for the process.
//!
//! The BBS draft's `create_generators` is sequential: the generators for
//! `count` are a prefix of those for `count + 1`. The cache therefore keeps, per API id,
//! the longest list derived so far with its compressed encodings (needed for the domain
//! and challenge hashes) and the chaining value from which it can be extended. Lists are
//! shared as `Arc`s, so a reader never waits for hash-to-curve once a list exists.
//!
//! Guarantees: the points are exactly the draft's (checked against the published
//! `generators.json`); at most [`MAX_GENERATORS`] per API id are ever derived, so no input
//! can make the process derive or store an unbounded number.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use blstrs::{G1Affine, G1Projective};
use group::Curve;

use super::hash::{EXPAND_LEN, expand_message_xmd, hash_to_g1};
use super::msm::Rows;
use crate::error::CredError;

/// The most generators derived for one API id (masque needs 5; the drafts' fixtures 27).
pub const MAX_GENERATORS: usize = 1024;

/// The BLS12-381-SHA-256 ciphersuite's base point `P1` (compressed); the fixtures'
/// `generators.json` states the same value.
const P1_COMPRESSED: [u8; 48] = [
    0xa8, 0xce, 0x25, 0x61, 0x02, 0x84, 0x08, 0x21, 0xa3, 0xe9, 0x4e, 0xa9, 0x02, 0x5e, 0x46, 0x62,
    0xb2, 0x05, 0x76, 0x2f, 0x97, 0x76, 0xb3, 0xa7, 0x66, 0xc8, 0x72, 0xb9, 0x48, 0xf1, 0xfd, 0x22,
    0x5e, 0x7c, 0x59, 0x69, 0x85, 0x88, 0xe7, 0x0d, 0x11, 0x40, 0x6d, 0x16, 0x1b, 0x4e, 0x28, 0xc9,
];

/// The base point `P1`.
pub fn base_point() -> G1Projective {
    static P1: OnceLock<G1Projective> = OnceLock::new();
    *P1.get_or_init(|| {
        let point: Option<G1Affine> = G1Affine::from_compressed(&P1_COMPRESSED).into();
        point
            .map(G1Projective::from)
            .expect("the ciphersuite's P1 constant is a valid G1 point")
    })
}

/// The precomputed MSM table row of `P1`.
pub fn base_point_rows() -> &'static Rows {
    static ROWS: OnceLock<Rows> = OnceLock::new();
    ROWS.get_or_init(|| Rows::precompute(&[base_point()]))
}

/// A prefix of the generator sequence for one API id.
#[derive(Debug, Clone)]
pub struct Generators {
    points: Vec<G1Projective>,
    compressed: Vec<[u8; 48]>,
    rows: Rows,
    /// The draft's chaining value `v` after the last derived generator.
    chain: [u8; EXPAND_LEN],
}

impl Generators {
    /// The generators (at least the count asked for; use [`Self::first`]).
    pub fn first(&self, count: usize) -> &[G1Projective] {
        &self.points[..count]
    }

    /// Precomputed MSM table rows of all derived generators (row `i` is generator `i`).
    pub fn rows(&self) -> &Rows {
        &self.rows
    }

    /// Compressed encodings of the first `count` generators.
    pub fn first_compressed(&self, count: usize) -> &[[u8; 48]] {
        &self.compressed[..count]
    }

    fn start(api_id: &[u8]) -> Result<Self, CredError> {
        let seed = [api_id, b"MESSAGE_GENERATOR_SEED"].concat();
        let mut chain = [0u8; EXPAND_LEN];
        expand_message_xmd(&seed, &seed_dst(api_id), &mut chain)?;
        Ok(Self {
            points: Vec::new(),
            compressed: Vec::new(),
            rows: Rows::default(),
            chain,
        })
    }

    fn extend_to(&mut self, api_id: &[u8], count: usize) -> Result<(), CredError> {
        let seed_dst = seed_dst(api_id);
        let generator_dst = [api_id, b"SIG_GENERATOR_DST_"].concat();
        let mut fresh = Vec::with_capacity(count.saturating_sub(self.points.len()));
        for i in self.points.len() + 1..=count {
            let input = [&self.chain[..], &(i as u64).to_be_bytes()].concat();
            expand_message_xmd(&input, &seed_dst, &mut self.chain)?;
            fresh.push(hash_to_g1(&self.chain, &generator_dst));
        }
        let mut affine = vec![G1Affine::default(); fresh.len()];
        G1Projective::batch_normalize(&fresh, &mut affine);
        self.compressed
            .extend(affine.iter().map(G1Affine::to_compressed));
        let fresh_rows = Rows::precompute(&fresh);
        self.rows.extend_from(&fresh_rows, 0..fresh_rows.points());
        self.points.extend(fresh);
        Ok(())
    }
}

fn seed_dst(api_id: &[u8]) -> Vec<u8> {
    [api_id, b"SIG_GENERATOR_SEED_"].concat()
}

type Cache = Mutex<HashMap<Vec<u8>, Arc<Generators>>>;

/// At least `count` generators for `api_id`, from the process-wide cache.
pub fn generators(api_id: &[u8], count: usize) -> Result<Arc<Generators>, CredError> {
    if count > MAX_GENERATORS {
        return Err(CredError::Backend("too many messages for this backend"));
    }
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    // A poisoned lock only means another thread panicked while extending a list; the map
    // itself is still consistent (entries are replaced whole), so keep using it.
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = map.get(api_id)
        && found.points.len() >= count
    {
        return Ok(Arc::clone(found));
    }
    let mut grown = match map.get(api_id) {
        Some(found) => Generators::clone(found),
        None => Generators::start(api_id)?,
    };
    grown.extend_to(api_id, count)?;
    let grown = Arc::new(grown);
    map.insert(api_id.to_vec(), Arc::clone(&grown));
    Ok(grown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_lists_extend_as_prefixes() {
        let api = b"masque-test-generators-api";
        let short = generators(api, 2).unwrap();
        let long = generators(api, 5).unwrap();
        assert_eq!(short.first(2), long.first(2));
        assert_eq!(long.first_compressed(5).len(), 5);
        // A fresh derivation of 5 equals the extended list.
        let mut fresh = Generators::start(api).unwrap();
        fresh.extend_to(api, 5).unwrap();
        assert_eq!(fresh.first(5), long.first(5));
        assert!(Arc::ptr_eq(&long, &generators(api, 3).unwrap()));
    }

    #[test]
    fn refuses_unbounded_requests() {
        assert!(generators(b"x", MAX_GENERATORS + 1).is_err());
    }
}
