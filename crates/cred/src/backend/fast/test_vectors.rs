//! The fast backend's general operations and the drafts' mocked random scalars, for
//! checking the published fixtures from outside the crate (feature `test-vectors`).
//!
//! Not part of the default API and not meant for production: [`MockedRandom`] makes every
//! "random" scalar a public function of a seed. [`super::Fast`] restricts these
//! operations to masque's shape (one prover nym, no committed messages) and always draws
//! from [`OsRandom`]. The crate's own known-answer tests (`src/backend/kat_nym.rs`) use
//! the same functions from inside the crate, so they run without this feature.

pub use super::blind::{blind_sign_with_nym, commit_with_nym, keygen, verify_finalize_with_nym};
pub use super::core::{API_ID_CORE, API_ID_NYM, API_ID_NYM_BLIND};
pub use super::generators::{Generators, MAX_GENERATORS, base_point, generators};
pub use super::nym_proof::{
    Disclosed, Disclosure, HolderSecrets, ProofContext, proof_gen_with_nym, proof_verify_with_nym,
};
pub use super::secret::{MockedRandom, OsRandom, UniformBytes};
