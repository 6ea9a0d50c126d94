//! masque-service's integration tests, built as one binary: one compile and link of the
//! crate and its dependencies instead of one per file, and tests of different files
//! run side by side. Each module is one file of flows; run one module with
//! `cargo test -p masque-service --test integration <module>::`.

mod common;

mod aid_desk;
mod operator_page;
mod parsers;
mod service_flow;
