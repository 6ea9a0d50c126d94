//! Three-party MPC for masque: templates stored as Galois-ring Shamir shares, replicated
//! secret sharing for the protocols, the 1:N / 1:1 engine that opens one bit per query,
//! and the transports between custodians.
//!
//! Layers, bottom up:
//! - [`ring`], [`party`], [`share`]: rings Z_2^16 and Z_2^32, party ids, replicated shares.
//! - [`randomness`]: correlated randomness from pairwise PRF seeds.
//! - [`galois`], [`shamir`], [`dealer`]: the Galois ring GR(2^16, 4), degree-1 Shamir
//!   sharing over it (how templates are stored: one share per party) and the wallet side
//!   that deals an eye's enrolment and query shares.
//! - [`net`]: the transport abstraction and the in-process transport.
//! - [`protocol`]: re-sharing, multiplication, arithmetic-to-boolean conversion, adders,
//!   the sign bit, the lift from 16 to 32 bits, OR/AND trees.
//! - [`encode`], [`kernel`], [`gallery`], [`engine`]: the iris encoding packed for the
//!   Galois ring, the local dot products, one party's gallery and the 1:N / 1:1 engine
//!   that opens one bit per query.
//! - [`matmul`]: integer matrix products over Z_2^16 (queries × gallery rows) with
//!   portable, AVX-512 VNNI and AMX-INT8 kernels chosen at run time.
//! - [`embedding`]: the cosine-threshold mode for face, voice and fingerprint embeddings.
//! - [`bench`](mod@bench), [`profile`]: the throughput measurement behind `masque bench mpc`
//!   and the per-phase timers it reports.
//!
//! Security model: three parties, semi-honest, honest majority. A single corrupted party
//! learns nothing beyond the opened output bits. Nothing here protects against a party
//! that deviates from the protocol (no MACs on shares).

#![deny(missing_docs)]

pub mod bench;
pub mod coverage;
pub mod dealer;
pub mod embedding;
pub mod encode;
pub mod engine;
pub mod gallery;
pub mod galois;
pub mod kernel;
pub mod matmul;
pub mod net;
pub mod party;
pub mod profile;
pub mod protocol;
pub mod randomness;
pub mod ring;
pub mod session;
pub mod shamir;
pub mod share;
pub mod validate;
pub mod wipe;

/// The operating system's generator: the only source production code deals shares and
/// seeds from. Seeded generators are reachable only through the `*_seeded` functions of
/// the `seeded-rng` feature (tests, benches).
pub(crate) fn os_rng() -> rand::rngs::ThreadRng {
    // ThreadRng: ChaCha12 reseeded from the operating system (getrandom), a CSPRNG.
    rand::rng()
}

pub use engine::EngineError;
pub use party::PartyId;
pub use ring::{Ring, Z16, Z32};
pub use share::{Share, ShareVec};
