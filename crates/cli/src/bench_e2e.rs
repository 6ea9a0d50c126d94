//! `masque bench e2e`: the network as its users meet it, on this machine. A generated
//! network seeded with `--people` people (two eyes each) runs as real processes; the
//! bench then measures enrolment and 1:1 latency through all three custodians (the MPC,
//! the commit protocol, the log append and the witnessed receipt included), the
//! throughput and errors of many stations enrolling at once, and each custodian's
//! resident memory per enrolled person.

use crate::devnet::{get, health, start_processes, stop};
use crate::output::{print_json, progress};
use anyhow::{Context, bail};
use clap::Args;
use masque_client::Custodians;
use masque_node::setup::{self, Layout, new_signing_key};
use masque_protocol::{PartyId, entry::Outcome};
use masque_template::synth::{IrisPopulation, iris::IrisModel};
use serde_json::json;
use std::time::Instant;

/// `masque bench e2e`.
#[derive(Args)]
pub struct BenchE2eArgs {
    /// People enrolled before measuring (two eyes each: 50,000 people is 100,000 eyes).
    #[arg(long, default_value_t = 50_000)]
    people: usize,
    /// Enrolments and 1:1 verifications timed one after another.
    #[arg(long, default_value_t = 20)]
    samples: usize,
    /// Stations enrolling at once.
    #[arg(long, default_value_t = 50)]
    stations: usize,
    /// Enrolments P0 may run as one batch (the custodians' `limits.max_batch`; 1 runs
    /// every enrolment on its own).
    #[arg(long, default_value_t = 16)]
    max_batch: usize,
    /// First port of the network (see `masque devnet`).
    #[arg(long, default_value_t = 7300)]
    base_port: u16,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// A memory figure of process `pid` from `/proc/<pid>/status`, in KiB: `VmRSS` (resident
/// now) or `VmHWM` (the peak).
pub(crate) fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The phases P0 reports at `/metrics` (`masque_node_phase_seconds`).
const PHASES: [&str; 3] = ["mpc", "round", "receipt"];

/// P0's phase timings now: per phase, (seconds in total, observations).
fn phase_totals(layout: &Layout) -> [(f64, f64); 3] {
    let text = String::from_utf8(get(layout, PartyId::P0, "/metrics")).unwrap_or_default();
    PHASES.map(|phase| {
        let value = |kind: &str| {
            let prefix = format!("masque_node_phase_seconds_{kind}{{");
            let label = format!("phase=\"{phase}\"}}");
            text.lines()
                .find(|l| l.starts_with(&prefix) && l.contains(&label))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(f64::NAN)
        };
        (value("sum"), value("count"))
    })
}

/// A counter P0 reports at `/metrics` (`masque_node_<name>`), 0 if absent.
fn p0_counter(layout: &Layout, name: &str) -> u64 {
    let text = String::from_utf8(get(layout, PartyId::P0, "/metrics")).unwrap_or_default();
    let prefix = format!("masque_node_{name}{{");
    text.lines()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Mean milliseconds per phase between two readings of [`phase_totals`].
fn phase_means(before: [(f64, f64); 3], after: [(f64, f64); 3]) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for (i, phase) in PHASES.iter().enumerate() {
        let (sum, count) = (after[i].0 - before[i].0, after[i].1 - before[i].1);
        let mean = if count > 0.0 {
            1e3 * sum / count
        } else {
            f64::NAN
        };
        out.insert((*phase).into(), json!(mean));
    }
    out.into()
}

/// "mpc 12 ms, round 40 ms, receipt 30 ms".
fn phase_words(means: &serde_json::Value) -> String {
    PHASES
        .iter()
        .map(|p| format!("{p} {:.0} ms", means[p].as_f64().unwrap_or(f64::NAN)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs the bench.
pub fn run(a: BenchE2eArgs) -> anyhow::Result<()> {
    if a.samples == 0 || a.stations == 0 {
        bail!("--samples and --stations must be at least 1");
    }
    if !(1..=256).contains(&a.max_batch) {
        bail!("--max-batch must be between 1 and 256");
    }
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let layout = Layout::new(dir.path(), a.base_port);
    let names: Vec<String> = (0..a.stations).map(|i| format!("station-{i:03}")).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    setup::generate(&layout, &name_refs)?;
    for party in PartyId::ALL {
        let path = layout.node_config(party);
        let mut config = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        config.push_str(&format!("\n[limits]\nmax_batch = {}\n", a.max_batch));
        std::fs::write(&path, config)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let bar = progress(a.people as u64, "seeding");
    let seeded = Instant::now();
    masque_node::seed::seed(&layout, a.people, 1, &|n| bar.set_position(n))?;
    bar.finish_and_clear();
    let seed_secs = seeded.elapsed().as_secs_f64();
    let (network, mut children) = start_processes(&layout, &dir.path().join("logs"))?;
    let result = measure(&a, &layout, network, &children, seed_secs);
    stop(&mut children);
    let figures = result?;
    if a.json {
        return print_json(&figures);
    }
    println!("masque bench e2e: three custodians, a log and a witness on this machine");
    println!(
        "  gallery                {} people ({} eyes), seeded in {:.1} s",
        a.people,
        2 * a.people,
        seed_secs
    );
    println!(
        "  enrolment latency      p50 {:.0} ms   p99 {:.0} ms   ({} enrolments, receipt included)",
        figures["enrol_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
        figures["enrol_ms"]["p99"].as_f64().unwrap_or(f64::NAN),
        a.samples
    );
    println!(
        "    at P0, mean per enrolment: {}",
        phase_words(&figures["enrol_phases_ms"])
    );
    println!(
        "  1:1 verify latency     p50 {:.0} ms   p99 {:.0} ms",
        figures["verify_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
        figures["verify_ms"]["p99"].as_f64().unwrap_or(f64::NAN)
    );
    println!(
        "    at P0, mean per verification: {}",
        phase_words(&figures["verify_phases_ms"])
    );
    println!(
        "  {} stations at once    {:.2} enrolments/s, {} errors, {} lost or duplicated records (batches of up to {})",
        a.stations,
        figures["concurrent"]["enrolments_per_s"]
            .as_f64()
            .unwrap_or(f64::NAN),
        figures["concurrent"]["errors"],
        figures["concurrent"]["lost_or_duplicated"],
        a.max_batch
    );
    println!(
        "    P0 ran them in {} batches (mean {:.1} enrolments per batch)",
        figures["concurrent"]["batches"],
        figures["concurrent"]["mean_batch"]
            .as_f64()
            .unwrap_or(f64::NAN)
    );
    for kind in figures["concurrent"]["error_kinds"]
        .as_array()
        .into_iter()
        .flatten()
        .take(5)
    {
        println!("    error: {}", kind.as_str().unwrap_or_default());
    }
    println!(
        "  memory per person      {:.0} KiB per custodian (resident after start: {} MiB for the largest custodian; peak while measuring {} MiB)",
        figures["memory"]["kib_per_person"]
            .as_f64()
            .unwrap_or(f64::NAN),
        figures["memory"]["max_custodian_mib"],
        figures["memory"]["peak_mib"]
    );
    Ok(())
}

fn measure(
    a: &BenchE2eArgs,
    layout: &Layout,
    network: masque_protocol::network::NetworkDescription,
    children: &[crate::devnet::Running],
    seed_secs: f64,
) -> anyhow::Result<serde_json::Value> {
    let custodians: Vec<u32> = children
        .iter()
        .filter(|c| c.name.starts_with("custodian"))
        .map(|c| c.child.id())
        .collect();
    let rss: Vec<u64> = custodians
        .iter()
        .map(|&p| status_kib(p, "VmRSS:"))
        .collect();
    let stations: Vec<ed25519_dalek::SigningKey> = network
        .stations
        .iter()
        .map(|s| {
            let text = std::fs::read_to_string(layout.station_key(&s.name))?;
            let bytes: [u8; 32] = hex::decode(text.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .context("bad station key")?;
            Ok(ed25519_dalek::SigningKey::from_bytes(&bytes))
        })
        .collect::<anyhow::Result<_>>()?;
    // New people: indices after the seeded ones (same population seed, so distinct).
    let extra = a.samples + a.stations;
    let everyone = IrisPopulation::generate(&IrisModel::default(), 1, a.people + extra, 2, &|| {});
    let fresh = &everyone.persons[a.people..];
    let client = Custodians::new(network, masque_client::CLIENT_TIMEOUT);
    let rt = tokio::runtime::Runtime::new().context("cannot start a runtime")?;
    let mut enrol_ms = Vec::new();
    let mut records = Vec::new();
    let enrol_start = phase_totals(layout);
    for person in &fresh[..a.samples] {
        let record = new_signing_key();
        let t = Instant::now();
        let outcome =
            rt.block_on(client.enrol(&stations[0], &record, &[7; 32], &person.captures[0]))?;
        enrol_ms.push(t.elapsed().as_secs_f64() * 1e3);
        if outcome.outcome() != Outcome::Enrolled {
            bail!("a new person came out {:?}", outcome.outcome());
        }
        records.push(record);
    }
    let enrol_phases = phase_means(enrol_start, phase_totals(layout));
    let verify_start = phase_totals(layout);
    let mut verify_ms = Vec::new();
    for (record, person) in records.iter().zip(fresh) {
        let t = Instant::now();
        let outcome = rt.block_on(client.verify(record, &person.captures[1], None))?;
        verify_ms.push(t.elapsed().as_secs_f64() * 1e3);
        if outcome.outcome() != Outcome::Match {
            bail!("a genuine capture came out {:?}", outcome.outcome());
        }
    }
    let verify_phases = phase_means(verify_start, phase_totals(layout));
    let before = health(layout, PartyId::P0)["stored_records"]
        .as_u64()
        .unwrap_or(0);
    let batched_before = (
        p0_counter(layout, "enrolment_batches_total"),
        p0_counter(layout, "batched_enrolments_total"),
    );
    let t = Instant::now();
    let results = rt.block_on(async {
        let tasks: Vec<_> = stations
            .iter()
            .zip(&fresh[a.samples..])
            .map(|(station, person)| {
                let (client, station, pair) =
                    (client.clone(), station.clone(), person.captures[0].clone());
                tokio::spawn(async move {
                    client
                        .enrol(&station, &new_signing_key(), &[8; 32], &pair)
                        .await
                })
            })
            .collect();
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await);
        }
        out
    });
    let concurrent_secs = t.elapsed().as_secs_f64();
    // Batches of one are not counted as batches: they ran as single rounds.
    let batches = p0_counter(layout, "enrolment_batches_total") - batched_before.0;
    let in_batches = p0_counter(layout, "batched_enrolments_total") - batched_before.1;
    let singles = (results.len() as u64).saturating_sub(in_batches);
    let enrolled = results
        .iter()
        .filter(|r| matches!(r, Ok(Ok(o)) if o.outcome() == Outcome::Enrolled))
        .count() as u64;
    let errors = results.len() as u64 - enrolled;
    let mut error_kinds: Vec<String> = results
        .iter()
        .filter_map(|r| match r {
            Ok(Ok(o)) if o.outcome() == Outcome::Enrolled => None,
            Ok(Ok(o)) => Some(format!("outcome {:?}", o.outcome())),
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        })
        .collect();
    error_kinds.sort();
    error_kinds.dedup();
    let after: Vec<u64> = PartyId::ALL
        .map(|p| health(layout, p)["stored_records"].as_u64().unwrap_or(0))
        .to_vec();
    let lost_or_duplicated = after
        .iter()
        .map(|n| n.abs_diff(before + enrolled))
        .max()
        .unwrap_or(0);
    let sorted = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v
    };
    let (enrol_ms, verify_ms) = (sorted(enrol_ms), sorted(verify_ms));
    let max_rss = rss.iter().copied().max().unwrap_or(0);
    let peak: Vec<u64> = custodians
        .iter()
        .map(|&p| status_kib(p, "VmHWM:"))
        .collect();
    let max_peak = peak.iter().copied().max().unwrap_or(0);
    Ok(json!({
        "people": a.people,
        "eyes": 2 * a.people,
        "seed_secs": seed_secs,
        "enrol_ms": {"p50": percentile(&enrol_ms, 50.0), "p99": percentile(&enrol_ms, 99.0), "samples": enrol_ms.len()},
        "verify_ms": {"p50": percentile(&verify_ms, 50.0), "p99": percentile(&verify_ms, 99.0), "samples": verify_ms.len()},
        "enrol_phases_ms": enrol_phases,
        "verify_phases_ms": verify_phases,
        "concurrent": {
            "stations": a.stations,
            "secs": concurrent_secs,
            "enrolments_per_s": enrolled as f64 / concurrent_secs,
            "errors": errors,
            "lost_or_duplicated": lost_or_duplicated,
            "custodians_agree": after.iter().all(|n| *n == after[0]),
            "error_kinds": error_kinds,
            "max_batch": a.max_batch,
            "batches": batches + singles,
            "mean_batch": results.len() as f64 / (batches + singles).max(1) as f64,
        },
        "memory": {
            "custodian_rss_kib": rss,
            "max_custodian_mib": max_rss / 1024,
            "kib_per_person": max_rss as f64 / a.people.max(1) as f64,
            "custodian_peak_kib": peak,
            "peak_mib": max_peak / 1024,
        },
    }))
}
