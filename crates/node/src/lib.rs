//! The masque custodian node: one of the three organisations that hold a share of every
//! enrolled template.
//!
//! A node serves the HTTP API of [`api`] under `/v1`. It accepts signed requests from
//! registered stations and from record keys, opens the shares sealed to it, runs the
//! requests one at a time in the order the coordinator (P0) sets, with the other two
//! custodians, over the MPC engine's pinned TLS links ([`mpc`]), and commits each
//! outcome at all three custodians or at none ([`coordinator`]). Every operation, and
//! every refusal of one, appends one entry signed by all three custodians to the
//! transparency log, and the answer carries a receipt: the entry and its inclusion proof
//! against a witness-cosigned checkpoint.
//!
//! What it guarantees: no custodian ever sees a template (only its shares, sealed to it
//! and opened in memory); an outcome is stored everywhere or nowhere, across crashes of
//! any custodian at any point; two enrolments of one person never both pass (1:N is
//! sequenced); a request cannot be altered, replayed or sent to another custodian; log
//! entries carry nothing that links them to a person without the record's audit key.
//!
//! What it does not: survive the coordinator's permanent loss (the protocol blocks
//! while P0 is down rather than diverge), hide the request pattern from the custodians
//! (who see which record key asks what), or serve TLS on the API itself (put it behind a
//! TLS terminator; the MPC links are TLS). The protocol is described in
//! `docs/protocol.md`.

#![deny(missing_docs)]

pub mod api;

pub mod config;
pub mod coordinator;
pub mod failpoint;
pub mod flow;
pub mod inbox;
pub mod issuing;
pub mod joint;
pub mod limits;
pub mod log_client;
pub mod metrics;
pub mod mpc;
pub mod node;
pub mod seed;
pub mod server;
pub mod setup;
pub mod store;
