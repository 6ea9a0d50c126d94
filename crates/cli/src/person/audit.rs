//! `masque audit`: the personal audit. Fetches the whole log, checks its checkpoint
//! against the network's witness policy and every entry against the checkpoint's root
//! and the custodians' signatures, and finds exactly the entries about the person's
//! records: those whose audit tag is `audit_tag(k_record, n)` for one of the wallet's
//! record keys, scanning `n = 0, 1, 2, ...` per record until a tag is missing.
//!
//! Record indexes are scanned from 0 up, past the wallet's known records, until
//! [`GAP`] indexes in a row have no enrolment: a wallet restored from its recovery phrase
//! (which knows no records) finds its records this way.

use std::collections::HashMap;

use anyhow::Context;
use clap::Args;
use masque_client::{http::HttpClient, log::LogReader};
use masque_protocol::entry::LogEntry;
use masque_wallet::{OpaqueBytes, Record, RecordIndex, Wallet};
use serde_json::{Value, json};

use super::{Common, explain, finish, runtime};
use crate::wallet::hex;

/// Indexes without an enrolment in a row after which the scan stops.
const GAP: u32 = 5;

/// Arguments of `masque audit`.
#[derive(Args)]
pub struct AuditArgs {
    /// Print the audit keys of your records (hex) for a watchdog's page, instead of
    /// auditing. Whoever holds them can find every log entry about those records.
    #[arg(long)]
    export_key: bool,
    #[command(flatten)]
    common: Common,
}

/// `--export-key`: the audit keys of the records the wallet knows.
fn export_keys(args: &AuditArgs) -> anyhow::Result<()> {
    let wallet = args.common.load_wallet("audit")?;
    let keys: Vec<Value> = wallet
        .state()
        .records
        .iter()
        .map(|r| {
            json!({
                "record": r.index.0,
                "audit_key": hex(wallet.keys().audit_key(r.index).expose_bytes()),
            })
        })
        .collect();
    let warning = "Whoever holds these keys can find every log entry about these records \
                   (when you enrolled, each check, consent and deletion). Give them only to a \
                   watchdog you trust.";
    let mut lines = vec![format!("WARNING: {warning}")];
    for k in &keys {
        lines.push(format!(
            "record {}: {}",
            k["record"],
            k["audit_key"].as_str().unwrap_or_default()
        ));
    }
    if keys.is_empty() {
        lines.push(
            "This wallet knows no record (a restored wallet: run `masque audit` first, which \
             finds them in the log)."
                .into(),
        );
    }
    finish(
        args.common.json,
        json!({ "warning": warning, "keys": keys }),
        &lines,
    )
}

/// Brings the wallet up to date with what the log says about record `index` (a restored
/// wallet learns its records; a wallet that missed an answer learns its operation
/// count). Returns what changed, in words.
fn learn(
    wallet: &mut Wallet,
    index: RecordIndex,
    found: &[Value],
    network: &str,
) -> anyhow::Result<Option<String>> {
    let ops = found.len() as u64;
    let deleted = found
        .last()
        .is_some_and(|e| e["outcome"].as_str() == Some("deleted"));
    let public = wallet.keys().record_key(index).public_key();
    let state = wallet.state_mut();
    if let Some(record) = state.records.iter_mut().find(|r| r.index == index) {
        if record.ops >= ops {
            return Ok(None);
        }
        record.ops = ops;
        if deleted && let Some(details) = record.details.as_object_mut() {
            details.insert("status".into(), "deleted".into());
        }
        return Ok(Some(format!(
            "Wallet updated: record {index} has {ops} logged operations."
        )));
    }
    state.next_record_index = state.next_record_index.max(index.0 + 1);
    let mut details = json!({
        "network": network,
        "station": found[0]["station"],
        "recovered_from_log": true,
    });
    if deleted {
        details["status"] = "deleted".into();
    }
    wallet.add_record(Record {
        index,
        handle: OpaqueBytes(public.as_bytes().to_vec()),
        enrolled_at: found[0]["hour"].as_u64().unwrap_or(0),
        ops,
        details,
    })?;
    Ok(Some(format!(
        "Wallet updated: record {index} found in the log and added ({ops} operations{}).",
        if deleted { ", deleted" } else { "" }
    )))
}

/// Runs `masque audit`.
pub fn run(args: AuditArgs) -> anyhow::Result<()> {
    if args.export_key {
        return export_keys(&args);
    }
    let mut wallet = args.common.open_wallet("audit")?;
    let state = wallet.state();
    let known_max = state
        .records
        .iter()
        .map(|r| r.index.0 + 1)
        .max()
        .unwrap_or(0)
        .max(state.next_record_index);
    let network = args.common.network()?;
    let policy = network.policy()?;
    let reader = LogReader::new(
        &network.log.url,
        HttpClient::new(std::time::Duration::from_secs(60)),
    );
    let snapshot = runtime()?
        .block_on(reader.snapshot(&policy))
        .context("cannot audit the log")?;
    let keys = network.custodian_keys();
    // Tag -> (index, entry); an entry appended twice (same request id) counts once.
    let mut by_tag: HashMap<String, (u64, LogEntry)> = HashMap::new();
    let mut unsigned = 0u64;
    for (i, bytes) in snapshot.entries.iter().enumerate() {
        let Ok(entry) = LogEntry::parse(bytes) else {
            unsigned += 1;
            continue;
        };
        if entry.verify(&keys).is_err() {
            unsigned += 1;
            continue;
        }
        if let Some(tag) = entry.body.audit_tag.clone() {
            by_tag.entry(tag).or_insert((i as u64, entry));
        }
    }
    let mut records = Vec::new();
    let mut lines = vec![format!(
        "Log of network {}: {} entries, checkpoint signed by the log and cosigned by {}; every entry checked against it.",
        network.name,
        snapshot.entries.len(),
        snapshot
            .checkpoint
            .cosigners
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )];
    let (mut index, mut empty_run) = (0u32, 0u32);
    let mut learned = Vec::new();
    while index < known_max || empty_run < GAP {
        let key = wallet.keys().audit_key(RecordIndex(index));
        let mut found = Vec::new();
        for n in 0u64.. {
            let Some((at, entry)) = by_tag.get(&hex(&key.tag(n).0)) else {
                break;
            };
            found.push(json!({
                "n": n,
                "log_index": at,
                "request_id": entry.body.request_id.to_string(),
                "op": entry.body.op,
                "outcome": entry.body.outcome,
                "reason": entry.body.reason,
                "station": entry.body.station,
                "service": entry.body.service,
                "consent": entry.body.consent.as_ref().map(|c| &c.0),
                "hour": entry.body.hour,
                "text": explain::entry(&entry.body),
            }));
        }
        if found.is_empty() {
            empty_run += 1;
        } else {
            empty_run = 0;
            if let Some(change) = learn(&mut wallet, RecordIndex(index), &found, &network.name)? {
                learned.push(change);
            }
            lines.push(format!("Record {index} ({} entries):", found.len()));
            for f in &found {
                lines.push(format!(
                    "  #{:<6} {}",
                    f["log_index"],
                    f["text"].as_str().unwrap_or_default()
                ));
            }
            records.push(json!({
                "record": index,
                "public_key": hex(wallet.keys().record_key(RecordIndex(index)).public_key().as_bytes()),
                "entries": found,
            }));
        }
        index += 1;
    }
    if records.is_empty() {
        lines.push("No entry of the log is about your records.".into());
    }
    if !learned.is_empty() {
        wallet.save()?;
        lines.extend(learned.iter().cloned());
    }
    if unsigned > 0 {
        lines.push(format!(
            "{unsigned} entries are not masque entries signed by this network's three custodians; ignored."
        ));
    }
    lines.push(
        "Only you (and the custodians) can tell these entries are yours: to anyone else they look unrelated."
            .into(),
    );
    let value = json!({
        "network": network.name,
        "log_size": snapshot.entries.len(),
        "cosigners": snapshot.checkpoint.cosigners.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "ignored_entries": unsigned,
        "records": records,
        "wallet_updates": learned,
    });
    finish(args.common.json, value, &lines)
}
