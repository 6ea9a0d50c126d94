//! masque-watch's integration tests, built as one binary: one compile and link of the
//! crate and its dependencies instead of one per file, and tests of different files
//! run side by side. Each module is one file of flows; run one module with
//! `cargo test -p masque-watch --test integration <module>::`.

#[path = "../../service/tests/common/chromium.rs"]
mod chromium;
mod fixture;

mod explorer_page;
mod flow;
