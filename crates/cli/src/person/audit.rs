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
use masque_wallet::RecordIndex;
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

/// Runs `masque audit`.
pub fn run(args: AuditArgs) -> anyhow::Result<()> {
    let wallet = args.common.load_wallet("audit")?;
    let state = wallet.state();
    let known_max = state
        .records
        .iter()
        .map(|r| r.index.0 + 1)
        .max()
        .unwrap_or(0)
        .max(state.next_record_index);
    if args.export_key {
        let keys: Vec<Value> = (0..known_max)
            .map(|i| {
                json!({
                    "record": i,
                    "audit_key": hex(wallet.keys().audit_key(RecordIndex(i)).expose_bytes()),
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
            lines.push("This wallet knows no record yet; run `masque audit` first.".into());
        }
        return finish(
            args.common.json,
            json!({ "warning": warning, "keys": keys }),
            &lines,
        );
    }
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
    });
    finish(args.common.json, value, &lines)
}
