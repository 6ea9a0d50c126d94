//! `masque mpc ...`: set-up of the custodians' TLS network (see `masque_mpc::net::tls`
//! and docs/mpc-transport.md).

use anyhow::anyhow;
use clap::{Args, Subcommand};
use masque_mpc::PartyId;
use masque_mpc::net::tls::config::{NETWORK_FILE, certificate_file_name, key_file_name};
use masque_mpc::net::tls::{PartyCertificate, assemble_network, generate_network, generate_party};
use serde_json::json;
use std::path::PathBuf;

use crate::output::print_json;

/// The `masque mpc` commands.
#[derive(Subcommand)]
pub enum MpcCommand {
    /// Generate a key and a pinned self-signed certificate for each of P0, P1, P2 and
    /// write network.json and p0.key, p1.key, p2.key into a directory (one operator).
    NetInit(NetInitArgs),
    /// On one custodian's own machine: generate its key (pN.key, mode 0600) and pinned
    /// certificate (pN.cert.pem). Only the certificate leaves the machine.
    Keygen(KeygenArgs),
    /// Build network.json from the three custodians' certificates and addresses; give
    /// the same file to all three.
    NetAssemble(NetAssembleArgs),
}

/// Arguments of `masque mpc keygen`.
#[derive(Args)]
pub struct KeygenArgs {
    /// This custodian's party index: 0, 1 or 2.
    #[arg(long)]
    party: usize,
    /// Directory to write into (created if missing; existing files are never overwritten).
    #[arg(long)]
    dir: PathBuf,
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `masque mpc net-assemble`.
#[derive(Args)]
pub struct NetAssembleArgs {
    /// Directory to write network.json into.
    #[arg(long)]
    dir: PathBuf,
    /// The parties' listen addresses as host:port, comma-separated, in the order P0,P1,P2.
    #[arg(long, value_delimiter = ',', required = true)]
    addresses: Vec<String>,
    /// The parties' certificate files (from `masque mpc keygen`), comma-separated, in the
    /// order P0,P1,P2.
    #[arg(long, value_delimiter = ',', required = true)]
    certificates: Vec<PathBuf>,
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
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
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs a `masque mpc` command.
pub fn run(command: MpcCommand) -> anyhow::Result<()> {
    match command {
        MpcCommand::NetInit(args) => net_init(args),
        MpcCommand::Keygen(args) => keygen(args),
        MpcCommand::NetAssemble(args) => net_assemble(args),
    }
}

fn three<T>(values: Vec<T>, what: &str) -> anyhow::Result<[T; 3]> {
    values.try_into().map_err(|v: Vec<T>| {
        anyhow!(
            "{what} needs exactly three comma-separated values (P0,P1,P2), got {}",
            v.len()
        )
    })
}

fn keygen(args: KeygenArgs) -> anyhow::Result<()> {
    if args.party > 2 {
        return Err(anyhow!("--party is 0, 1 or 2, got {}", args.party));
    }
    let party = PartyId::from_index(args.party);
    let certificate = generate_party(&args.dir, party)?;
    if args.json {
        return print_json(&json!({
            "party": party.to_string(),
            "certificate_sha256": certificate.fingerprint(),
            "key_file": args.dir.join(key_file_name(party)),
            "certificate_file": args.dir.join(certificate_file_name(party)),
        }));
    }
    println!("{party}  certificate sha256 {}", certificate.fingerprint());
    println!(
        "wrote {} (keep it here) and {} (send it to whoever assembles network.json)",
        args.dir.join(key_file_name(party)).display(),
        args.dir.join(certificate_file_name(party)).display()
    );
    Ok(())
}

fn net_assemble(args: NetAssembleArgs) -> anyhow::Result<()> {
    let addresses = three(args.addresses, "--addresses")?;
    let mut certificates = Vec::with_capacity(3);
    for path in three(args.certificates, "--certificates")? {
        let pem = std::fs::read_to_string(&path)
            .map_err(|e| anyhow!("cannot read certificate {}: {e}", path.display()))?;
        certificates.push(
            PartyCertificate::from_pem(&pem)
                .map_err(|e| anyhow!("{} is not a certificate: {e}", path.display()))?,
        );
    }
    let config = assemble_network(&args.dir, addresses, three(certificates, "--certificates")?)?;
    if args.json {
        return print_json(&network_json(&args.dir, &config, false));
    }
    println!("wrote {}", args.dir.join(NETWORK_FILE).display());
    for p in PartyId::ALL {
        let entry = config.party(p);
        println!(
            "{p}  {}  certificate sha256 {}",
            entry.address,
            entry.certificate.fingerprint()
        );
    }
    println!("give every party this network.json; each keeps its own key");
    Ok(())
}

fn net_init(args: NetInitArgs) -> anyhow::Result<()> {
    let addresses = three(args.addresses, "--addresses")?;
    let config = generate_network(&args.dir, addresses)?;
    if args.json {
        return print_json(&network_json(&args.dir, &config, true));
    }
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

/// What `net-init` / `net-assemble` wrote, as JSON (public facts only: no key material).
fn network_json(
    dir: &std::path::Path,
    config: &masque_mpc::net::tls::NetworkConfig,
    with_keys: bool,
) -> serde_json::Value {
    let parties: Vec<_> = PartyId::ALL
        .into_iter()
        .map(|p| {
            let entry = config.party(p);
            let mut v = json!({
                "party": p.to_string(),
                "address": entry.address,
                "certificate_sha256": entry.certificate.fingerprint(),
            });
            if with_keys {
                v["key_file"] = json!(dir.join(key_file_name(p)));
            }
            v
        })
        .collect();
    json!({ "network_file": dir.join(NETWORK_FILE), "parties": parties })
}
