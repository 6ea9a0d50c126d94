//! `masque bench watch`: how fast a watcher verifies and replays a large log it follows
//! over loopback HTTP, and how much memory it needs.
//!
//! The log is a synthetic network's (the watch crate's benign stream, every entry signed
//! by three custodian keys), written to a temporary directory and served by a separate
//! `masque log serve` process. The watcher is a separate `masque watch follow --once`
//! process, timed from start to exit, its peak resident memory sampled from /proc.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use ed25519_dalek::SigningKey;
use masque_files::{WriteOptions, write_atomic};
use masque_protocol::PartyId;
use masque_protocol::network::{
    CustodianInfo, JointKeyInfo, LogInfo, NetworkDescription, StationInfo,
};
use masque_tlog::keys::{KeyName, SecretKey, TYPE_ED25519};
use masque_tlog::log::Log;
use masque_tlog::storage::FsStorage;
use masque_watch::synth::{Stream, SynthKeys};
use serde_json::json;

use crate::bench_e2e::status_kib;
use crate::output::progress;

/// Arguments of `masque bench watch`.
#[derive(Args)]
pub struct BenchWatchArgs {
    /// Entries in the log.
    #[arg(long, default_value_t = 1_000_000)]
    entries: usize,
    /// Stations of the synthetic network.
    #[arg(long, default_value_t = 50)]
    stations: usize,
    /// Seed of the synthetic network.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the benchmark.
pub fn run(a: BenchWatchArgs) -> anyhow::Result<()> {
    if a.entries == 0 || a.stations == 0 {
        bail!("--entries and --stations must be at least 1");
    }
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let keys = SynthKeys::from_seeds([[1; 32], [2; 32], [3; 32]], [4; 32]);
    let log_key = SecretKey::from_seed(KeyName::new("bench.watch.log")?, &[9; 32]);

    let started = Instant::now();
    let mut stream = Stream::new(keys.clone(), a.stations, a.seed, 1_796_000_400).defer_signing();
    let mut entries = stream.benign(a.entries);
    entries.truncate(a.entries);
    let bar = progress(entries.len() as u64, "signing");
    for chunk in entries.chunks_mut(16_384) {
        stream.sign_all(chunk);
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let log_dir = dir.path().join("log");
    {
        let storage = Arc::new(FsStorage::writer(&log_dir)?);
        let mut log = Log::create(
            storage,
            "bench.watch.log",
            SecretKey::from_skey(&log_key.to_skey())?,
        )?;
        let bar = progress(entries.len() as u64, "logging");
        for chunk in entries.chunks(8_192) {
            log.append_batch(chunk)?;
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
    }
    let bytes: usize = entries.iter().map(Vec::len).sum();
    let sample: Vec<Vec<u8>> = entries.iter().take(20_000).cloned().collect();
    drop(entries);
    let (batched, one_by_one) = signature_rates(&keys, &sample);
    let prepared = started.elapsed();

    let key_file = dir.path().join("log.key");
    write_atomic(
        &key_file,
        log_key.to_skey().as_bytes(),
        WriteOptions::SECRET,
    )?;
    let tokens = dir.path().join("tokens");
    write_atomic(&tokens, b"bench-token\n", WriteOptions::SECRET)?;
    let exe = std::env::current_exe().context("cannot find the masque binary")?;
    let mut server = Command::new(&exe)
        .args(["log", "serve", "--listen", "127.0.0.1:0", "--json"])
        .arg("--dir")
        .arg(&log_dir)
        .arg("--key")
        .arg(&key_file)
        .arg("--tokens")
        .arg(&tokens)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start the log server")?;
    let line = BufReader::new(server.stdout.take().expect("piped"))
        .lines()
        .next()
        .transpose()?
        .unwrap_or_default();
    let listening: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
    let Some(url) = listening["url"].as_str().map(str::to_owned) else {
        let _ = server.kill();
        bail!("the log server did not start: {line}");
    };

    let network = bench_network(&url, &log_key, &keys, &stream);
    let network_file = dir.path().join("network.json");
    std::fs::write(&network_file, serde_json::to_vec_pretty(&network)?)?;
    let state = dir.path().join("watch");
    let result = follow_once(&exe, &network_file, &state);
    let _ = server.kill();
    let _ = server.wait();
    let (elapsed, peak_kib, alerts, poll) = result?;
    let disk = dir_size(&state);

    let per_second = a.entries as f64 / elapsed.as_secs_f64();
    let figures = json!({
        "entries": a.entries,
        "stations": a.stations,
        "entry_bytes_mean": bytes / a.entries,
        "prepare_s": prepared.as_secs_f64(),
        "follow_s": elapsed.as_secs_f64(),
        "entries_per_second": per_second,
        "watcher_peak_mib": peak_kib / 1024,
        "watcher_state_mib": disk / (1 << 20),
        "alerts": alerts,
        "phases_s": {"fetch": poll["fetch_s"], "replay": poll["replay_s"], "commit": poll["commit_s"]},
        "signature_checks_entries_per_second": {"batched": batched, "one_by_one": one_by_one},
        "threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
    });
    if a.json {
        return crate::output::print_json(&figures);
    }
    println!(
        "masque bench watch: a log of {} entries ({} stations, {} B per entry on average) \
         served over loopback HTTP",
        a.entries,
        a.stations,
        bytes / a.entries
    );
    println!(
        "  followed, verified and replayed in {:.1} s: {:.0} entries/s ({} threads)",
        elapsed.as_secs_f64(),
        per_second,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "  watcher peak memory {} MiB, state on disk {} MiB, {} alert(s) on this benign stream",
        peak_kib / 1024,
        disk / (1 << 20),
        alerts
    );
    println!(
        "  time in the watcher: waiting for entries (read and signature-checked in the \
         background) and tying them to the root {:.1} s, rules + detectors {:.1} s, waiting for the database {:.1} s",
        poll["fetch_s"].as_f64().unwrap_or(f64::NAN),
        poll["replay_s"].as_f64().unwrap_or(f64::NAN),
        poll["commit_s"].as_f64().unwrap_or(f64::NAN)
    );
    println!(
        "  signature checks alone, in this process on {} entries: batched {:.0} entries/s, \
         one by one {:.0} entries/s ({:.2}x)",
        sample.len(),
        batched,
        one_by_one,
        batched / one_by_one
    );
    println!("  (log prepared in {:.1} s)", prepared.as_secs_f64());
    Ok(())
}

/// Entries per second through the watcher's batched signature check and through one
/// `verify_strict` per signature, both on every core.
fn signature_rates(keys: &SynthKeys, sample: &[Vec<u8>]) -> (f64, f64) {
    use rayon::prelude::*;
    let public = keys.public();
    let start = Instant::now();
    let batched = masque_watch::rules::check_signatures(&public, sample);
    let batched_rate = sample.len() as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let single: Vec<_> = sample
        .par_iter()
        .map(|e| masque_watch::rules::check_one(&public, e).signed_by)
        .collect();
    let single_rate = sample.len() as f64 / start.elapsed().as_secs_f64();
    debug_assert!(batched.iter().zip(&single).all(|(b, s)| b.signed_by == *s));
    (batched_rate, single_rate)
}

/// Runs `masque watch follow --once`; its wall time, peak memory and alert count.
fn follow_once(
    exe: &Path,
    network: &Path,
    state: &Path,
) -> anyhow::Result<(Duration, u64, usize, serde_json::Value)> {
    let log = state.with_extension("stderr");
    let stderr = std::fs::File::create(&log)?;
    let start = Instant::now();
    let mut child = Command::new(exe)
        .args(["watch", "follow", "--once", "--json", "--network"])
        .arg(network)
        .arg("--state")
        .arg(state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .context("cannot start the watcher")?;
    let stdout = child.stdout.take().expect("piped");
    let counter = std::thread::spawn(move || BufReader::new(stdout).lines().count());
    let mut peak = 0;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message("following");
    let status = loop {
        peak = peak.max(status_kib(child.id(), "VmHWM:"));
        if let Some(status) = child.try_wait()? {
            break status;
        }
        bar.tick();
        std::thread::sleep(Duration::from_millis(50));
    };
    bar.finish_and_clear();
    let elapsed = start.elapsed();
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    let poll: serde_json::Value = said
        .lines()
        .find_map(|l| {
            serde_json::from_str(l)
                .ok()
                .filter(|v: &serde_json::Value| v["event"] == "poll")
        })
        .unwrap_or_default();
    if !status.success() {
        bail!("the watcher failed ({status}): {}", said.trim());
    }
    Ok((elapsed, peak, counter.join().unwrap_or(0), poll))
}

fn bench_network(
    url: &str,
    log_key: &SecretKey,
    keys: &SynthKeys,
    stream: &Stream,
) -> NetworkDescription {
    NetworkDescription {
        name: "masque bench watch".into(),
        custodians: PartyId::ALL
            .iter()
            .map(|p| CustodianInfo {
                party: *p,
                api: format!("http://127.0.0.1:{}", 9 + p.index()),
                signing_key: keys.each[p.index()].verifying_key(),
                hpke_key: masque_protocol::keys::HpkeSecretKey::generate().1,
            })
            .collect(),
        joint_key: JointKeyInfo {
            key: keys.joint.verifying_key(),
            package: None,
        },
        stations: stream
            .stations
            .iter()
            .enumerate()
            .map(|(i, s)| StationInfo {
                name: s.name.clone(),
                key: station_key(i),
                max_per_hour: Some(1_000),
            })
            .collect(),
        log: LogInfo {
            url: url.into(),
            policy: format!(
                "log {}\nquorum none\n",
                log_key.public_key(TYPE_ED25519).to_vkey()
            ),
        },
        request_window_s: 300,
        issuer: None,
    }
}

/// A distinct public key per station (the network refuses two stations with one key).
fn station_key(i: usize) -> ed25519_dalek::VerifyingKey {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
    seed[31] = 0xba;
    SigningKey::from_bytes(&seed).verifying_key()
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.metadata().map_or(0, |m| m.len()))
                .sum()
        })
        .unwrap_or(0)
}
