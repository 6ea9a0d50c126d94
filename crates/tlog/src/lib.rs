//! masque's transparency log.
//!
//! Every operation on biometric data in masque is recorded as an entry in a public,
//! append-only log that existing transparency tooling understands. This crate implements
//! that log with the C2SP formats, so that any implementation of them can audit it:
//!
//! * [`hash`]: RFC 6962 Merkle tree hashing (SHA-256, `0x00` leaf and `0x01` node prefixes).
//! * [`tree`]: tree math over stored complete-subtree hashes: roots, inclusion and
//!   consistency proofs, and their verification (RFC 6962 / RFC 9162); [`reference`](mod@reference) is
//!   the literal RFC recursion kept as the test oracle.
//! * [`keys`], [`note`], [`checkpoint`], [`cosignature`]: C2SP `signed-note` with Ed25519
//!   keys, `tlog-checkpoint` and `tlog-cosignature` (`cosignature/v1`).
//! * [`tiles`], [`storage`], [`reader`], [`log`], [`sequencer`]: C2SP `tlog-tiles`, atomic
//!   durable storage, proofs read from tiles, and the batched log writer.
//! * [`policy`], [`verifier`]: C2SP `tlog-policy` and a client that checks log signature
//!   and witness quorum, remembers its checkpoint and demands consistency to advance.
//! * [`witness`], [`cosigning`], [`http`]: C2SP `tlog-witness` on both sides, and HTTP
//!   serving with axum.
//! * [`bench`](mod@bench): the measurements behind `masque bench log`.
//!
//! What the crate guarantees: proofs it builds verify with any RFC 6962 verifier, and the
//! log it runs never signs two different roots for one tree size, even across crashes and
//! storage failures. What it does not do: decide what goes into entries (the custodian
//! service does; entries never carry personal data), or keep secrets other than the log's
//! and witnesses' signing keys.
#![deny(missing_docs)]

pub mod bench;
pub mod checkpoint;
pub mod cosignature;
pub mod cosigning;
pub mod hash;
pub mod http;
pub mod keys;
pub mod log;
pub mod note;
pub mod policy;
pub mod reader;
pub mod reference;
pub mod sequencer;
pub mod serve;
pub mod storage;
pub mod tiles;
pub mod tree;
pub mod verifier;
pub mod witness;
