//! The client side of the custodians' API, for stations and wallets.
//!
//! * [`deal`]: splits a two-eye iris template into each custodian's shares (the MPC
//!   dealer), packs them with the record's audit key and seals each custodian's part to
//!   it (HPKE). The template exists only in memory, only here.
//! * [`custodians`]: sends one request (one id, one signature per custodian) to all
//!   three custodians at once, and checks that their answers agree and that the receipt
//!   verifies against the network's keys and witness policy.
//! * [`log`]: reads the transparency log over HTTP (checkpoint verified against the
//!   witness policy, every entry checked against its root), for the personal audit.
//! * [`http`]: the small HTTP/1 client underneath.
//!
//! What it does not do: keep anything. Keys and results belong to the caller (the
//! wallet keeps them).

#![deny(missing_docs)]

pub mod custodians;
pub mod deal;
pub mod http;
pub mod log;

pub use custodians::{ClientError, Custodians, Outcomes};

/// How long a station or wallet waits for the custodians' answer: a little longer than a
/// custodian lets a request queue and run by default (`outcome_wait_s`, 600 s), so the
/// caller hears the custodian's own explanation rather than a bare timeout.
pub const CLIENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(660);
