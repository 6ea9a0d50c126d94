//! `masque watch`: the watchdog. `follow` keeps up with a network's log and prints
//! alerts as JSON lines; `serve` does the same and serves the explorer page; `alerts`
//! lists what was raised; `evidence` exports an alert's bundle and `check-evidence`
//! verifies one offline.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use masque_files::{WriteOptions, write_atomic};
use masque_protocol::network::NetworkDescription;
use masque_watch::data::StoreData;
use masque_watch::explorer::serve_explorer;
use masque_watch::{WatchOptions, Watcher, evidence};
use serde_json::json;
use zeroize::Zeroizing;

use crate::person::read_small;

/// `masque watch ...`.
#[derive(Subcommand)]
pub enum WatchCommand {
    /// Follow the log: verify, replay the rules, run the detectors, print alerts as JSON
    /// lines on stdout (and post them to --webhook).
    Follow(FollowArgs),
    /// Follow the log as `follow` does and serve the explorer page (log status, station
    /// activity, alerts with their evidence, the personal audit) and /metrics.
    Serve(ServeArgs),
    /// List the alerts raised so far.
    Alerts(StateArgs),
    /// Export an alert's evidence bundle (masque-evidence/v1).
    Evidence(EvidenceArgs),
    /// Verify an evidence bundle offline and say what it proves.
    CheckEvidence(CheckArgs),
}

/// Where the network and the watcher's state are.
#[derive(Args)]
pub struct StateArgs {
    /// The network's description (network.json): the log's URL and policy, the
    /// custodians' keys, the stations' declared rates.
    #[arg(long)]
    network: PathBuf,
    /// The watcher's state directory (created on first use).
    #[arg(long, default_value = "masque-watch")]
    state: PathBuf,
    /// Files of audit keys of records to follow across entries (the output of `masque
    /// audit --export-key --json`, or one 64-hex-digit key per line). Needed to see
    /// operations on a deleted record.
    #[arg(long = "audit-keys")]
    audit_keys: Vec<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// `masque watch follow`.
#[derive(Args)]
pub struct FollowArgs {
    #[command(flatten)]
    state: StateArgs,
    /// Poll once and exit (exit status 3 if the poll failed, for cron jobs).
    #[arg(long)]
    once: bool,
    /// Seconds between polls.
    #[arg(long, default_value_t = 5)]
    interval_s: u64,
    /// Peer monitors (their base URL, serving `/checkpoint`) to compare views with.
    #[arg(long = "peer")]
    peers: Vec<String>,
    /// POST each alert as JSON to this http:// URL (retried until it answers 2xx).
    #[arg(long)]
    webhook: Option<String>,
}

/// `masque watch serve`.
#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    follow: FollowArgs,
    /// Address of the explorer page.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: String,
}

/// `masque watch evidence`.
#[derive(Args)]
pub struct EvidenceArgs {
    /// The alert's id (from `masque watch alerts`).
    alert: String,
    #[command(flatten)]
    state: StateArgs,
    /// Write the bundle here instead of stdout (never over an existing file; with
    /// `--json`, say where as one JSON line).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// `masque watch check-evidence`.
#[derive(Args)]
pub struct CheckArgs {
    /// The bundle file.
    bundle: PathBuf,
    /// The network's description: the keys the bundle is checked against.
    #[arg(long)]
    network: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// Runs `masque watch ...`.
pub fn run(command: WatchCommand) -> anyhow::Result<()> {
    match command {
        WatchCommand::Follow(a) => follow(a, None),
        WatchCommand::Serve(a) => follow(a.follow, Some(a.listen)),
        WatchCommand::Alerts(a) => alerts(a),
        WatchCommand::Evidence(a) => export(a),
        WatchCommand::CheckEvidence(a) => check(a),
    }
}

fn network(path: &Path) -> anyhow::Result<NetworkDescription> {
    let text = read_small(path, "network description")?;
    NetworkDescription::from_json(&text)
        .with_context(|| format!("the network description {}", path.display()))
}

/// Reads audit keys: `masque audit --export-key --json` output, or hex lines.
fn audit_keys(files: &[PathBuf]) -> anyhow::Result<Vec<Zeroizing<[u8; 32]>>> {
    let mut keys = Vec::new();
    for path in files {
        let text = read_small(path, "audit key file")?;
        let hexes: Vec<String> = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => v["keys"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|k| k["audit_key"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            Err(_) => text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect(),
        };
        if hexes.is_empty() {
            bail!(
                "{} holds no audit key: give the output of `masque audit --export-key --json` \
                 or one 64-hex-digit key per line",
                path.display()
            );
        }
        for (i, h) in hexes.iter().enumerate() {
            let key: [u8; 32] = hex::decode(h)
                .ok()
                .and_then(|b| b.try_into().ok())
                .with_context(|| {
                    format!("{}: key {} is not 64 hex digits", path.display(), i + 1)
                })?;
            keys.push(Zeroizing::new(key));
        }
    }
    Ok(keys)
}

fn open(a: &StateArgs, peers: Vec<String>) -> anyhow::Result<(NetworkDescription, Watcher)> {
    let network = network(&a.network)?;
    let options = WatchOptions {
        audit_keys: audit_keys(&a.audit_keys)?,
        peers,
        ..Default::default()
    };
    let watcher = Watcher::open(&a.state, &network, options)?;
    Ok((network, watcher))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("cannot start the async runtime")
}

/// Caps glibc's malloc at two arenas for this process; `false` where it cannot.
///
/// The watcher reads, parses and checks chunks of entries on other threads than the one
/// that replays and frees them. With glibc's default (up to eight arenas per core) the
/// freed chunks stay cached in many arenas: a million-entry catch-up peaked at 1.45 GB
/// resident against 237 MB with two arenas (`masque bench watch`, docs/BENCHMARKS.md).
/// Call before the process starts its threads.
fn cap_malloc_arenas() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallopt` only sets an allocator parameter; M_ARENA_MAX takes any
        // positive count, and glibc applies it to arenas created from now on.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

fn follow(a: FollowArgs, listen: Option<String>) -> anyhow::Result<()> {
    // Bounded memory on glibc; elsewhere the allocator keeps its own policy.
    cap_malloc_arenas();
    let (_, mut watcher) = open(&a.state, a.peers.clone())?;
    let rt = runtime()?;
    let http = masque_client::http::HttpClient::new(Duration::from_secs(10));
    let webhook = a.webhook.clone();
    if let Some(url) = &webhook
        && !url.starts_with("http://")
    {
        bail!("--webhook {url}: only http:// URLs are supported (put a TLS proxy in front)");
    }
    let json = a.state.json;
    rt.block_on(async {
        let mut stop = std::pin::pin!(tokio::signal::ctrl_c());
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        if let Some(listen) = &listen {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            let url = format!("http://{}", listener.local_addr()?);
            let data = std::sync::Arc::new(StoreData::of(&watcher));
            tokio::spawn(async move {
                if let Err(e) = serve_explorer(listener, data, Default::default()).await {
                    eprintln!("the explorer stopped: {e}");
                }
            });
            if json {
                println!("{}", json!({"event": "listening", "url": url}));
            } else {
                eprintln!("explorer on {url}/");
            }
        }
        loop {
            let result = watcher.poll().await;
            // Alerts go out from the outbox, so ones left undelivered by a crash or a
            // failing webhook go out now.
            watcher
                .deliver(|alert| {
                    let http = http.clone();
                    let webhook = webhook.clone();
                    async move {
                        let line = serde_json::to_string(&alert).map_err(|e| e.to_string())?;
                        if let Some(url) = webhook {
                            let (status, _) = http
                                .call(
                                    "POST",
                                    &url,
                                    &[("content-type", "application/json".into())],
                                    line.clone().into_bytes(),
                                )
                                .await
                                .map_err(|e| e.to_string())?;
                            if !(200..300).contains(&status) {
                                return Err(format!("webhook answered {status}"));
                            }
                        }
                        println!("{line}");
                        Ok(())
                    }
                })
                .await?;
            match &result {
                Ok(report) if json => eprintln!(
                    "{}",
                    json!({"event": "poll", "from": report.from, "to": report.to,
                           "alerts": report.alerts.len(), "fetch_s": report.fetch_s,
                           "replay_s": report.replay_s, "commit_s": report.commit_s})
                ),
                Ok(report) if report.to > report.from || !report.alerts.is_empty() => eprintln!(
                    "verified entries {}..{} of the log, {} new alert(s)",
                    report.from,
                    report.to,
                    report.alerts.len()
                ),
                Ok(_) => {}
                Err(e) if json => eprintln!(
                    "{}",
                    json!({"event": "poll-failed", "error": e.to_string()})
                ),
                Err(e) => eprintln!("poll failed: {e}"),
            }
            if a.once {
                if result.is_err() {
                    std::process::exit(3);
                }
                return Ok(());
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(a.interval_s.max(1))) => {}
                _ = &mut stop => return Ok(()),
                _ = terminate.recv() => return Ok(()),
            }
        }
    })
}

fn alerts(a: StateArgs) -> anyhow::Result<()> {
    let (_, watcher) = open(&a, Vec::new())?;
    let alerts = watcher.store().alerts()?;
    if a.json {
        let views: Vec<_> = alerts.iter().map(|x| x.view()).collect();
        return crate::output::print_json(&views);
    }
    if alerts.is_empty() {
        println!("No alerts in {} entries verified so far.", watcher.size());
    }
    for alert in alerts {
        println!(
            "{:<28} {:<8} {}",
            alert.id,
            alert.view().severity,
            alert.summary
        );
    }
    Ok(())
}

fn export(a: EvidenceArgs) -> anyhow::Result<()> {
    let (_, watcher) = open(&a.state, Vec::new())?;
    let alert = watcher.store().alert(&a.alert)?.with_context(|| {
        format!(
            "no alert {:?} in {}: list them with `masque watch alerts`",
            a.alert,
            a.state.state.display()
        )
    })?;
    let keys = audit_keys(&a.state.audit_keys)?;
    let bundle = evidence::export(watcher.store(), &alert, &keys)?;
    let bytes = serde_json::to_vec_pretty(&bundle)?;
    match &a.out {
        Some(path) => {
            write_atomic(path, &bytes, WriteOptions::CREATE_NEW)
                .with_context(|| format!("cannot write {}", path.display()))?;
            if a.state.json {
                println!("{}", json!({"id": alert.id, "written": path}));
            } else {
                eprintln!("evidence for {} written to {}", alert.id, path.display());
            }
        }
        None => println!("{}", String::from_utf8_lossy(&bytes)),
    }
    Ok(())
}

fn check(a: CheckArgs) -> anyhow::Result<()> {
    let network = network(&a.network)?;
    let bytes = std::fs::read(&a.bundle)
        .with_context(|| format!("cannot read the bundle {}", a.bundle.display()))?;
    let verdict = evidence::check(&bytes, &network)
        .with_context(|| format!("{} does not check out", a.bundle.display()))?;
    if a.json {
        return crate::output::print_json(&verdict);
    }
    println!(
        "Evidence {} ({}) checks out.",
        verdict.id,
        verdict.rule.name()
    );
    println!("It proves:");
    for p in &verdict.proves {
        println!("  - {p}");
    }
    if !verdict.does_not_prove.is_empty() {
        println!("It does not prove:");
        for p in &verdict.does_not_prove {
            println!("  - {p}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn malloc_accepts_the_arena_cap_and_still_allocates() {
        assert!(super::cap_malloc_arenas());
        let threads: Vec<_> = (0..4)
            .map(|i| std::thread::spawn(move || vec![i as u8; 1 << 20]))
            .collect();
        for (i, t) in threads.into_iter().enumerate() {
            let block = t.join().unwrap();
            assert!(block.iter().all(|&b| b == i as u8));
        }
    }
}
