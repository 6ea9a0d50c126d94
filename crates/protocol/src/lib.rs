//! masque's wire protocol: what the wallet, the station and the three custodians say to
//! each other, and what goes into the transparency log.
//!
//! * [`request`]: every HTTP request to a custodian is signed (Ed25519) by a station key
//!   or a record key over the custodian it is meant for, the method, the path, a request
//!   id, a timestamp and the body's SHA-256, so a request cannot be altered, replayed at
//!   another custodian, or replayed later.
//! * [`seal`]: a template's shares reach a custodian only sealed to it with HPKE
//!   (RFC 9180, base mode, X25519-HKDF-SHA256 / HKDF-SHA256 / ChaCha20-Poly1305); the
//!   station forwards blobs it cannot open, and a blob sealed for one custodian does not
//!   open at another.
//! * [`payload`]: the binary layout inside a sealed blob (audit key, enrolment and query
//!   shares per eye).
//! * [`consent`]: a consent signed by the record key, naming a service, a purpose and an
//!   expiry; and its revocation.
//! * [`entry`]: the versioned log entry every operation appends, signed by all three
//!   custodians; it never carries a template hash or a stable record id.
//! * [`receipt`]: what a person gets back: the entry with the custodians' signatures and
//!   its inclusion proof against a witness-cosigned checkpoint, and how to check it.
//! * [`audit`]: the per-record audit tag `HMAC(k_record, n)`.
//! * [`network`]: the public description of a network (custodians, stations, log).
//!
//! * [`api`]: the bodies of the custodians' HTTP API.
//!
//! This crate holds formats and their checks only; it opens no socket and keeps no state.
//! Replay windows, rate limits and storage are the node's. The protocol and its failure
//! cases are described in `docs/protocol.md`.

#![deny(missing_docs)]

pub mod api;
pub mod audit;
pub mod consent;
pub mod entry;
mod error;
pub mod ids;
pub mod keys;
pub mod network;
pub mod payload;
pub mod receipt;
pub mod request;
pub mod seal;

pub use error::ProtocolError;
pub use ids::{RequestId, custodian_name, parse_custodian};
pub use masque_mpc::PartyId;
