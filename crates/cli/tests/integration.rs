//! masque's integration tests, built as one binary: one compile and link of the
//! crate and its dependencies instead of one per file, and tests of different files
//! run side by side. Each module is one file of flows; run one module with
//! `cargo test -p masque --test integration <module>::`.

#[path = "../../service/tests/common/chromium.rs"]
mod chromium;
mod common;

mod devnet_cli;
mod log_cli;
mod mask_cli;
mod mask_video_cli;
mod mpc_net;
mod network_e2e;
mod person_e2e;
mod plaintext_flow;
mod readme_claims;
mod service_cli;
mod wallet_cli;
mod watch_e2e;
