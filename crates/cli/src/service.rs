//! `masque service ...`: run a relying party or the example aid desk from its config,
//! write a config, and the aid desk's operator commands. The logic lives in
//! `masque-service`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use masque_files::{WriteOptions, read_secret, write_atomic};
use masque_service::config::DEFAULT_NONCE_LIFETIME_SECS;
use masque_service::desk::http::AdminToken;
use masque_service::{ClientError, Config, Kind, ServiceClient, SystemClock};
use serde_json::json;

use crate::output::print_json;

/// Relying-party service and aid desk commands.
#[derive(Subcommand)]
pub enum ServiceCommand {
    /// Write a config file for a service or an aid desk (and the desk's operator token).
    Init(InitArgs),
    /// Run the service or aid desk of a config file until Ctrl-C or SIGTERM.
    Run(RunArgs),
    /// Aid desk rounds.
    Round {
        #[command(subcommand)]
        what: RoundCommand,
    },
    /// Aid desk: claims and refusals of the open round and the rounds before it.
    Status(ConfigArgs),
}

/// Aid desk round commands.
#[derive(Subcommand)]
pub enum RoundCommand {
    /// Close the open round and open the next one (everyone may claim once more).
    New(ConfigArgs),
}

/// What `init` writes.
#[derive(Clone, Copy, ValueEnum)]
pub enum InitKind {
    /// A relying party with one context.
    Service,
    /// The example aid desk (one claim per person per round).
    AidDesk,
}

/// `masque service init`.
#[derive(Args)]
pub struct InitArgs {
    /// Service or aid desk.
    #[arg(long, value_enum)]
    kind: InitKind,
    /// The config file to write (refuses to overwrite).
    #[arg(long)]
    out: PathBuf,
    /// The issuer's public key file (masque-cred `issuer-public-key` object).
    #[arg(long)]
    issuer_key: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: String,
    /// Data directory (nonces, claims); default: `<config name>-data` next to the config.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Service: its context, such as its origin `https://shop.example`.
    #[arg(long, required_if_eq("kind", "service"))]
    context_id: Option<String>,
    /// Aid desk: its id (a-z, 0-9, `.`, `_`, `-`), unique among desks people may visit.
    #[arg(long, required_if_eq("kind", "aid-desk"))]
    desk: Option<String>,
    /// Start of the network's credential epochs, Unix seconds.
    #[arg(long, default_value_t = 0)]
    epoch_origin: u64,
    /// Length of a credential epoch in seconds.
    #[arg(long, default_value_t = 30 * 86_400)]
    epoch_length_secs: u64,
    /// Attributes every presentation must disclose: `modalities`, `enrolment_quarter`.
    #[arg(long, value_delimiter = ',')]
    required: Vec<String>,
    /// Only people enrolled before this quarter (`2026-Q3`), `none`, or for an aid desk
    /// `round-start` (the default there).
    #[arg(long)]
    enrolled_before: Option<String>,
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
}

/// A command that reads a config file.
#[derive(Args)]
pub struct ConfigArgs {
    /// The service's config file.
    #[arg(long)]
    config: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// `masque service run`.
#[derive(Args)]
pub struct RunArgs {
    /// The service's config file.
    #[arg(long)]
    config: PathBuf,
    /// Announce the listening address as one JSON line on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs a `masque service` command.
pub fn run(command: ServiceCommand) -> anyhow::Result<()> {
    match command {
        ServiceCommand::Init(a) => init(a),
        ServiceCommand::Run(a) => serve(a),
        ServiceCommand::Round {
            what: RoundCommand::New(a),
        } => new_round(a),
        ServiceCommand::Status(a) => status(a),
    }
}

fn toml_string(s: &str) -> String {
    toml_value(toml::Value::String(s.to_owned()))
}

fn toml_value(v: toml::Value) -> String {
    v.to_string()
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("cannot resolve {}", p.display()))
}

/// What `init` wrote.
pub(crate) struct Written {
    /// The config file.
    pub(crate) config: PathBuf,
    /// Its data directory.
    pub(crate) data_dir: PathBuf,
    /// The aid desk's operator token file.
    pub(crate) admin_token_file: Option<PathBuf>,
}

/// The configs `masque devnet` writes at its first run: a relying party (`context_id`)
/// when `desk` is `None`, else an aid desk. The desk takes everyone with a credential
/// (`enrolled_before = "none"`): on a devnet people enrol minutes before they claim,
/// which the default cutoff (enrolled before the round's quarter) would refuse.
pub(crate) fn write_devnet_config(
    out: &Path,
    issuer_key: &Path,
    listen: &str,
    context_id: Option<&str>,
    desk: Option<&str>,
    epochs: (u64, u64),
) -> anyhow::Result<Written> {
    write_config(&InitArgs {
        kind: if desk.is_some() {
            InitKind::AidDesk
        } else {
            InitKind::Service
        },
        out: out.to_owned(),
        issuer_key: issuer_key.to_owned(),
        listen: listen.to_owned(),
        data_dir: None,
        context_id: context_id.map(str::to_owned),
        desk: desk.map(str::to_owned),
        epoch_origin: epochs.0,
        epoch_length_secs: epochs.1,
        required: Vec::new(),
        enrolled_before: Some("none".into()),
        json: false,
    })
}

fn init(a: InitArgs) -> anyhow::Result<()> {
    let written = write_config(&a)?;
    if a.json {
        return print_json(&json!({
            "config": written.config,
            "data_dir": written.data_dir,
            "admin_token_file": written.admin_token_file,
        }));
    }
    println!("wrote {}", written.config.display());
    println!("data directory: {}", written.data_dir.display());
    if let Some(t) = &written.admin_token_file {
        println!("operator token (keep it secret): {}", t.display());
    }
    println!(
        "start it with: masque service run --config {}",
        written.config.display()
    );
    Ok(())
}

fn write_config(a: &InitArgs) -> anyhow::Result<Written> {
    let Some(name) = a.out.file_name() else {
        bail!("--out needs a file name, got {}", a.out.display());
    };
    let out = absolute(&a.out)?;
    let data_dir = match &a.data_dir {
        Some(d) => absolute(d)?,
        None => out.with_file_name(format!(
            "{}-data",
            Path::new(name)
                .file_stem()
                .unwrap_or(name)
                .to_string_lossy()
        )),
    };
    let issuer_key = absolute(&a.issuer_key)?;
    let path_str = |p: &Path| -> anyhow::Result<String> {
        Ok(toml_string(p.to_str().with_context(|| {
            format!("{} is not UTF-8", p.display())
        })?))
    };
    let is_desk = matches!(a.kind, InitKind::AidDesk);
    let mut text = format!(
        "# masque {} config: `masque service run --config {}`\n\
         kind = {}\nlisten = {}\ndata_dir = {}\nissuer_public_key = {}\n",
        if is_desk { "aid desk" } else { "service" },
        out.display(),
        toml_string(if is_desk { "aid-desk" } else { "service" }),
        toml_string(&a.listen),
        path_str(&data_dir)?,
        path_str(&issuer_key)?,
    );
    if let (false, Some(c)) = (is_desk, &a.context_id) {
        text.push_str(&format!("context_id = {}\n", toml_string(c)));
    }
    text.push_str(&format!(
        "\n# The network's credential epochs (a credential is accepted in its epoch and the next).\n\
         [epochs]\norigin = {}\nlength_secs = {}\n\n[policy]\nrequired = {}\n",
        a.epoch_origin,
        a.epoch_length_secs,
        toml_value(toml::Value::Array(
            a.required.iter().map(|r| toml::Value::String(r.clone())).collect()
        )),
    ));
    let enrolled_before = a
        .enrolled_before
        .clone()
        .unwrap_or_else(|| if is_desk { "round-start" } else { "none" }.into());
    text.push_str(&format!(
        "enrolled_before = {}\nnonce_lifetime_secs = {DEFAULT_NONCE_LIFETIME_SECS}\n\n\
         [http]\nmax_body_bytes = 16384\nbody_read_secs = 10\nheader_read_secs = 10\nmax_connections = 256\n",
        toml_string(&enrolled_before)
    ));
    if let (true, Some(d)) = (is_desk, &a.desk) {
        text.push_str(&format!("\n[desk]\nid = {}\n", toml_string(d)));
    }
    // Everything is checked (including the issuer key file) before anything is written.
    let config = Config::parse(&text, &out)?;
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    write_atomic(&out, text.as_bytes(), WriteOptions::CREATE_NEW)?;
    let mut token_file = None;
    if let Kind::AidDesk {
        admin_token_file, ..
    } = &config.kind
    {
        if !admin_token_file.exists() {
            let token = AdminToken::generate();
            write_atomic(admin_token_file, token.as_bytes(), WriteOptions::SECRET)?;
        }
        token_file = Some(admin_token_file.clone());
    }
    Ok(Written {
        config: out,
        data_dir,
        admin_token_file: token_file,
    })
}

fn serve(a: RunArgs) -> anyhow::Result<()> {
    let config = Config::load(&a.config)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let json = a.json;
    runtime.block_on(masque_service::run::run(
        &config,
        Arc::new(SystemClock),
        |address, served| {
            let url = format!("http://{address}");
            if json {
                let mut line = json!({
                    "event": "listening",
                    "kind": served.kind,
                    "url": url,
                    "context_id": served.context_id,
                });
                if let Some((desk, round)) = &served.desk {
                    line["desk"] = json!(desk);
                    line["round"] = json!(round);
                }
                println!("{line}");
            } else if let Some((desk, round)) = &served.desk {
                eprintln!("aid desk {desk}, round {round}: operator page {url}/, API {url}/v1");
            } else {
                eprintln!("service {} on {url}/v1", served.context_id);
            }
        },
    ))?;
    Ok(())
}

/// The URL at which this machine reaches the server of `config`.
fn local_url(config: &Config) -> String {
    let mut address = config.listen;
    if address.ip().is_unspecified() {
        address.set_ip(if address.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    format!("http://{address}")
}

fn desk_token(config: &Config) -> anyhow::Result<&Path> {
    match &config.kind {
        Kind::AidDesk {
            admin_token_file, ..
        } => Ok(admin_token_file),
        Kind::Service { .. } => bail!(
            "{} configures a service (kind = \"service\"); rounds are for an aid desk",
            config.path.display()
        ),
    }
}

fn new_round(a: ConfigArgs) -> anyhow::Result<()> {
    let config = Config::load(&a.config)?;
    let token_file = desk_token(&config)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    // Through the running desk if there is one, else directly on its store.
    let over_http = if config.listen.port() == 0 {
        None
    } else {
        let token = read_secret(token_file)?;
        let client = ServiceClient::new(&local_url(&config))?;
        match runtime.block_on(client.open_round(&token)) {
            Ok(opened) => Some(opened),
            Err(ClientError::Unreachable { .. }) => None,
            Err(e) => return Err(e).context("the running aid desk refused to open a round"),
        }
    };
    let opened = match over_http {
        Some(o) => o,
        None => {
            let desk = masque_service::run::open_desk(&config, Arc::new(SystemClock))
                .context("no aid desk answered, and its store cannot be opened here")?;
            let info = desk.open_round()?;
            masque_service::RoundOpened {
                round: info.number,
                context_id: desk.desk().context(info.number).as_str().to_owned(),
                opened_at: info.opened_at.0,
                enrolled_before: info.enrolled_before.map(|q| q.to_string()),
            }
        }
    };
    if a.json {
        return print_json(&opened);
    }
    println!(
        "opened round {} (context {}); {}",
        opened.round,
        opened.context_id,
        match &opened.enrolled_before {
            Some(q) => format!("people enrolled before {q} may claim once"),
            None => "everyone with a valid credential may claim once".into(),
        }
    );
    Ok(())
}

fn status(a: ConfigArgs) -> anyhow::Result<()> {
    let config = Config::load(&a.config)?;
    desk_token(&config)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let client = ServiceClient::new(&local_url(&config))?;
    let status = runtime
        .block_on(client.status())
        .context("is the aid desk running? (masque service run --config ...)")?;
    if a.json {
        return print_json(&status);
    }
    println!("aid desk {}", status.desk);
    for r in &status.rounds {
        println!(
            "round {}{}: {} claims, {} refused as already claimed, {} refused as not verifying",
            r.round,
            if r.round == status.rounds[0].round {
                " (open)"
            } else {
                ""
            },
            r.claims,
            r.duplicates,
            r.invalid
        );
    }
    Ok(())
}
