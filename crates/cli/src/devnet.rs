//! `masque devnet`: a whole network on this machine, from one command.
//!
//! The first run generates every key and config in the data directory, seeds a
//! synthetic population (bulk: shares straight into the custodians' stores, one signed
//! log entry per person), then starts the witness, the log, the three custodians (P0 is
//! also the credential issuer), an example relying-party service, an aid desk and a
//! watchdog following the log (`masque watch serve`), each as its own process of this
//! binary, so any of them can be killed and started again by
//! hand (`masque node run --config <dir>/p1/node.toml`). Later runs reuse the directory.
//! Ctrl-C stops everything: the children get the signal too and shut down cleanly.

use crate::output::progress;
use anyhow::{Context, bail};
use clap::Args;
use masque_node::setup::{self, Layout, Process};
use masque_protocol::{PartyId, custodian_name};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `masque devnet`.
#[derive(Args)]
pub struct DevnetArgs {
    /// Data directory: created and seeded on the first run, reused afterwards.
    #[arg(long, default_value = "masque-devnet")]
    dir: PathBuf,
    /// Synthetic people enrolled at the first run.
    #[arg(long, default_value_t = 10_000)]
    people: usize,
    /// Seed of the synthetic population.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// First port: custodian APIs at +0..+2, MPC links at +10..+12, log +20, witness +21,
    /// aid desk +30, example service +31.
    #[arg(long, default_value_t = 7100)]
    base_port: u16,
    /// Print one JSON line when the network is up (`{"event":"ready",...}`) instead of the
    /// human summary.
    #[arg(long)]
    json: bool,
}

/// One child process, with its name.
pub(crate) struct Running {
    pub(crate) name: String,
    pub(crate) child: Child,
    exited: bool,
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Starts `masque <args> --json` with stderr into `log`, and waits for its listening line.
fn spawn(name: &str, args: &[String], log: &Path) -> anyhow::Result<Running> {
    let exe = std::env::current_exe().context("cannot find the masque binary")?;
    let stderr =
        std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    let mut child = Command::new(exe)
        .args(args)
        .arg("--json")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("cannot start the {name}"))?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    match lines.next() {
        Some(Ok(line)) if line.contains("\"listening\"") => {
            std::thread::spawn(move || for _ in lines {});
            Ok(Running {
                name: name.to_owned(),
                child,
                exited: false,
            })
        }
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the {name} did not start; see {}", log.display())
        }
    }
}

/// Runs the devnet until Ctrl-C or SIGTERM.
pub fn run(a: DevnetArgs) -> anyhow::Result<()> {
    let layout = Layout::new(&a.dir, a.base_port);
    let fresh = !layout.exists();
    if fresh {
        setup::generate(&layout, &["desk-north", "desk-south"])?;
        if a.people > 0 {
            let bar = progress(a.people as u64, "seeding");
            masque_node::seed::seed(&layout, a.people, a.seed, &|n| bar.set_position(n))?;
            bar.finish_and_clear();
        }
    }
    // Caught from here on: a signal while the processes start is acted on once they are
    // up, so the devnet never dies leaving them behind.
    let signals = Signals::install()?;
    let (network, mut children) = start_processes(&layout, &a.dir.join("logs"))?;
    let services = match start_services(&layout, &network, a.base_port, &a.dir.join("logs")) {
        Ok(services) => services,
        Err(e) => {
            stop(&mut children);
            return Err(e);
        }
    };
    children.extend(services);
    let records = health(&layout, PartyId::P0)["stored_records"]
        .as_u64()
        .unwrap_or(0);
    if a.json {
        println!(
            "{}",
            json!({
                "event": "ready",
                "dir": a.dir,
                "network": layout.network(),
                "custodians": PartyId::ALL.map(|p| format!("http://{}", layout.api_addr(p))),
                "log": format!("http://{}", layout.log_addr()),
                "witness": format!("http://{}", layout.witness_addr()),
                "aid_desk": format!("http://127.0.0.1:{}", a.base_port + DESK_PORT),
                "service": format!("http://127.0.0.1:{}", a.base_port + SERVICE_PORT),
                "watch": format!("http://127.0.0.1:{}", a.base_port + WATCH_PORT),
                "stations": network.stations.iter().map(|s| json!({"name": s.name, "key_file": layout.station_key(&s.name)})).collect::<Vec<_>>(),
                "enrolled_records": records,
                "pids": children.iter().map(|c| json!({"name": c.name, "pid": c.child.id()})).collect::<Vec<_>>(),
            })
        );
    } else {
        print_summary(&layout, &a.dir, a.base_port, records, fresh);
    }
    signals.wait(&mut children)
}

/// The aid desk's, the example service's and the watchdog's ports, after the base port.
const DESK_PORT: u16 = 30;
const SERVICE_PORT: u16 = 31;
const WATCH_PORT: u16 = 32;
/// The example service's context.
const SERVICE_CONTEXT: &str = "https://shop.example";

/// Writes (at the first run) and starts the aid desk and the example service, which
/// trust the network's issuer, and the watchdog.
fn start_services(
    layout: &Layout,
    network: &masque_protocol::network::NetworkDescription,
    base_port: u16,
    logs: &Path,
) -> anyhow::Result<Vec<Running>> {
    let issuer = network
        .issuer
        .as_ref()
        .context("the devnet's network description has no issuer")?;
    let epochs = (issuer.epoch_origin, issuer.epoch_secs);
    let services = [
        ("aid desk", "aid-desk", DESK_PORT, None, Some("north")),
        (
            "service",
            "service",
            SERVICE_PORT,
            Some(SERVICE_CONTEXT),
            None,
        ),
    ];
    let mut running = Vec::new();
    for (name, file, port, context, desk) in services {
        let config = layout.dir.join(format!("{file}.toml"));
        if !config.exists() {
            crate::service::write_devnet_config(
                &config,
                &layout.issuer_public_key(),
                &format!("127.0.0.1:{}", base_port + port),
                context,
                desk,
                epochs,
            )?;
        }
        match spawn(
            name,
            &[
                "service".into(),
                "run".into(),
                "--config".into(),
                s(&config),
            ],
            &logs.join(format!("{file}.log")),
        ) {
            Ok(r) => running.push(r),
            Err(e) => {
                stop(&mut running);
                return Err(e);
            }
        }
    }
    // The watchdog follows the network's log and serves its explorer page.
    match spawn(
        "watchdog",
        &[
            "watch".into(),
            "serve".into(),
            "--network".into(),
            s(&layout.network()),
            "--state".into(),
            s(&layout.dir.join("watch")),
            "--listen".into(),
            format!("127.0.0.1:{}", base_port + WATCH_PORT),
            "--interval-s".into(),
            "2".into(),
        ],
        &logs.join("watch.log"),
    ) {
        Ok(r) => running.push(r),
        Err(e) => {
            stop(&mut running);
            return Err(e);
        }
    }
    Ok(running)
}

/// Starts the witness, the log and the three custodians of `layout` (each a process of
/// this binary, stderr into `logs/<name>.log`) and waits until the custodians are linked.
pub(crate) fn start_processes(
    layout: &Layout,
    logs: &Path,
) -> anyhow::Result<(masque_protocol::network::NetworkDescription, Vec<Running>)> {
    let text = std::fs::read_to_string(layout.network())
        .with_context(|| format!("cannot read {}", layout.network().display()))?;
    let network = masque_protocol::network::NetworkDescription::from_json(&text)?;
    std::fs::create_dir_all(logs).with_context(|| format!("cannot create {}", logs.display()))?;
    let args = |process| {
        layout.process_args(&network, process).with_context(|| {
            format!(
                "{}: the log policy lacks the log's or the witness's key",
                layout.network().display()
            )
        })
    };
    let mut children = vec![
        spawn(
            "witness",
            &args(Process::Witness)?,
            &logs.join("witness.log"),
        )?,
        spawn("log", &args(Process::Log)?, &logs.join("log.log"))?,
    ];
    for p in PartyId::ALL {
        let name = custodian_name(p).to_ascii_lowercase();
        children.push(spawn(
            &format!("custodian {}", custodian_name(p)),
            &args(Process::Custodian(p))?,
            &logs.join(format!("{name}.log")),
        )?);
    }
    wait_linked(layout)?;
    Ok((network, children))
}

/// Custodian `p`'s health document (`null` when it does not answer).
pub(crate) fn health(layout: &Layout, p: PartyId) -> serde_json::Value {
    serde_json::from_slice(&get(layout, p, "/v1/health")).unwrap_or(serde_json::Value::Null)
}

/// The body of `GET path` at custodian `p` (empty when it does not answer).
pub(crate) fn get(layout: &Layout, p: PartyId, path: &str) -> Vec<u8> {
    let addr = layout.api_addr(p);
    let Ok(mut stream) = std::net::TcpStream::connect(&addr) else {
        return Vec::new();
    };
    use std::io::{Read, Write};
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return Vec::new();
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| response[i + 4..].to_vec())
        .unwrap_or_default()
}

fn wait_linked(layout: &Layout) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(180);
    for p in PartyId::ALL {
        while health(layout, p)["mpc_links_up"] != true {
            if Instant::now() > deadline {
                bail!(
                    "custodian {} did not link with the others within 3 minutes; see {}",
                    custodian_name(p),
                    layout.dir.join("logs").display()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    Ok(())
}

fn print_summary(layout: &Layout, dir: &Path, base_port: u16, records: u64, fresh: bool) {
    let network = layout.network();
    println!(
        "masque devnet is up ({}; {records} people enrolled)",
        if fresh { "new" } else { "reused" }
    );
    println!();
    for p in PartyId::ALL {
        println!(
            "  custodian {}   http://{}   (config {})",
            custodian_name(p),
            layout.api_addr(p),
            layout.node_config(p).display()
        );
    }
    println!("  log            http://{}", layout.log_addr());
    println!("  witness        http://{}", layout.witness_addr());
    println!(
        "  aid desk       http://127.0.0.1:{}   (operator page; config {})",
        base_port + DESK_PORT,
        dir.join("aid-desk.toml").display()
    );
    println!(
        "  service        http://127.0.0.1:{}   ({SERVICE_CONTEXT})",
        base_port + SERVICE_PORT
    );
    println!(
        "  watchdog       http://127.0.0.1:{}   (explorer page: log, alerts, personal audit)",
        base_port + WATCH_PORT
    );
    println!("  network        {}", network.display());
    println!("  process logs   {}", dir.join("logs").display());
    println!();
    println!("Next, in another terminal (the README walks through them):");
    println!("  export MASQUE_NETWORK={}", network.display());
    println!("  masque wallet new --wallet me.wallet --no-passphrase");
    println!(
        "  masque enroll --station-key {} --template crates/template/tests/data/iris-mpc/iris_codes.json --wallet me.wallet",
        layout.station_key("desk-north").display()
    );
    println!("  masque credential --wallet me.wallet");
    println!(
        "  masque present --service http://127.0.0.1:{} --wallet me.wallet",
        base_port + DESK_PORT
    );
    println!("  masque audit --wallet me.wallet");
    println!(
        "  kill a custodian and start it again: masque node run --config {}",
        layout.node_config(PartyId::P1).display()
    );
    println!();
    println!(
        "Ctrl-C stops everything; running `masque devnet --dir {}` again reuses it.",
        dir.display()
    );
}

/// SIGTERM and SIGINT, listened for from [`Signals::install`] on.
struct Signals {
    runtime: tokio::runtime::Runtime,
    term: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the signal handler")?;
        let _inside = runtime.enter();
        let term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let interrupt = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
        drop(_inside);
        Ok(Self {
            runtime,
            term,
            interrupt,
        })
    }

    /// Waits for a signal (one that came while the network started counts), reporting
    /// children that stop on their own, then stops the others.
    fn wait(mut self, children: &mut [Running]) -> anyhow::Result<()> {
        self.runtime.block_on(async {
            loop {
                tokio::select! {
                    _ = self.interrupt.recv() => break,
                    _ = self.term.recv() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {
                        for c in children.iter_mut().filter(|c| !c.exited) {
                            if let Ok(Some(status)) = c.child.try_wait() {
                                c.exited = true;
                                eprintln!("the {} stopped ({status}); the others keep running", c.name);
                            }
                        }
                    }
                }
            }
        });
        eprintln!("stopping the devnet");
        // The terminal's Ctrl-C reached the children too; a SIGTERM to the devnet alone is
        // passed on.
        stop(children);
        Ok(())
    }
}

/// Stops the processes: SIGTERM, then at most 35 s for each to exit.
pub(crate) fn stop(children: &mut [Running]) {
    for c in children.iter_mut().filter(|c| !c.exited) {
        let _ = Command::new("kill")
            .args(["-TERM", &c.child.id().to_string()])
            .status();
    }
    let deadline = Instant::now() + Duration::from_secs(35);
    for c in children.iter_mut() {
        while c.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.child.kill();
        let _ = c.child.wait();
    }
}
