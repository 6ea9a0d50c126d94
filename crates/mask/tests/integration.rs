//! masque-mask's integration tests, built as one binary: one compile and link of the
//! crate and its dependencies instead of one per file, and tests of different files
//! run side by side. Each module is one file of flows; run one module with
//! `cargo test -p masque-mask --test integration <module>::`.

mod common;

mod detection;
mod evaluation;
mod hostile;
mod icc;
mod metadata;
mod rotations;
