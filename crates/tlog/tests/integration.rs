//! masque-tlog's integration tests, built as one binary: one compile and link of the
//! crate and its dependencies instead of one per file, and tests of different files
//! run side by side. Each module is one file of flows; run one module with
//! `cargo test -p masque-tlog --test integration <module>::`.

mod common;

mod crash_safety;
mod http_limits;
mod http_server;
mod interop_go;
mod log_append;
mod note_parsing;
mod tree_props;
mod vectors;
mod verifier;
mod witness_protocol;
