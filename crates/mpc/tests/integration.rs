//! masque-mpc's integration tests, built as one binary: one compile and link of the
//! crate and its dependencies instead of one per file, and tests of different files
//! run side by side. Each module is one file of flows; run one module with
//! `cargo test -p masque-mpc --test integration <module>::`.

mod common;

mod coverage_gate;
mod embedding;
mod embedding_gate;
mod engine;
mod parity;
mod sessions;
mod threshold_parity;
mod tls;
mod tls_processes;
mod validation;
mod view_privacy;
