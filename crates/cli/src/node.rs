//! `masque node`: run a custodian.

use anyhow::Context;
use clap::{Args, Subcommand};
use masque_node::config::NodeConfig;
use serde_json::json;
use std::path::PathBuf;

/// Custodian node commands.
#[derive(Subcommand)]
pub enum NodeCommand {
    /// Run a custodian from its config file until SIGTERM or Ctrl-C.
    Run(RunArgs),
}

/// `masque node run`.
#[derive(Args)]
pub struct RunArgs {
    /// The custodian's TOML config (see `docs/protocol.md`; `masque devnet` writes them).
    #[arg(long)]
    config: PathBuf,
    /// Announce the listening address as one JSON line on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs a `masque node` command.
pub fn run(command: NodeCommand) -> anyhow::Result<()> {
    match command {
        NodeCommand::Run(a) => {
            let config = NodeConfig::load(&a.config)?;
            let party = masque_protocol::custodian_name(config.party);
            let json = a.json;
            masque_node::server::run(config, |address| {
                if json {
                    println!("{}", json!({"event": "listening", "custodian": party, "url": format!("http://{address}")}));
                } else {
                    eprintln!("custodian {party} serving on http://{address}");
                }
            })
            .with_context(|| format!("custodian from {}", a.config.display()))
        }
    }
}
