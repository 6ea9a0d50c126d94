//! `masque mpc ...`: set-up of the custodians' TLS network (see `masque_mpc::net::tls`
//! and docs/mpc-transport.md).

use anyhow::anyhow;
use clap::{Args, Subcommand};
use masque_mpc::PartyId;
use masque_mpc::net::tls::config::{NETWORK_FILE, key_file_name};
use masque_mpc::net::tls::generate_network;
use std::path::PathBuf;

/// The `masque mpc` commands.
#[derive(Subcommand)]
pub enum MpcCommand {
    /// Generate a key and a pinned self-signed certificate for each of P0, P1, P2 and
    /// write network.json and p0.key, p1.key, p2.key into a directory.
    NetInit(NetInitArgs),
}

/// Arguments of `masque mpc net-init`.
#[derive(Args)]
pub struct NetInitArgs {
    /// Directory to write into (created if missing; existing files are never overwritten).
    #[arg(long)]
    dir: PathBuf,
    /// The parties' listen addresses as host:port, comma-separated, in the order P0,P1,P2.
    #[arg(long, value_delimiter = ',', required = true)]
    addresses: Vec<String>,
}

/// Runs a `masque mpc` command.
pub fn run(command: MpcCommand) -> anyhow::Result<()> {
    match command {
        MpcCommand::NetInit(args) => net_init(args),
    }
}

fn net_init(args: NetInitArgs) -> anyhow::Result<()> {
    let addresses: [String; 3] = args.addresses.try_into().map_err(|a: Vec<String>| {
        anyhow!(
            "--addresses needs exactly three host:port values (P0,P1,P2), got {}",
            a.len()
        )
    })?;
    let config = generate_network(&args.dir, addresses)?;
    println!("wrote {}", args.dir.join(NETWORK_FILE).display());
    for p in PartyId::ALL {
        let entry = config.party(p);
        println!(
            "{p}  {}  certificate sha256 {}  key {}",
            entry.address,
            entry.certificate.fingerprint(),
            args.dir.join(key_file_name(p)).display()
        );
    }
    println!("give every party network.json and each party only its own key file (mode 0600)");
    Ok(())
}
