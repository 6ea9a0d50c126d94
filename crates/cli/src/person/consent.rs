//! `masque consent grant|revoke|list`: the person's signed permissions for services to
//! have their record checked 1:1.

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use masque_protocol::{
    consent::{Consent, SignedConsent},
    entry::Outcome,
    request::unix_now,
};
use masque_wallet::{RecordIndex, StoredItem};
use serde_json::{Value, json};

use super::{
    Common, custodians, explain, finish, ops::keep, receipt_words, runtime, select_record,
};
use crate::wallet::{now, utc};

/// The `masque consent` commands.
#[derive(Subcommand)]
pub enum ConsentCommand {
    /// Allow a service to have your record checked 1:1, for a purpose, for some days.
    Grant(GrantArgs),
    /// Withdraw a consent (by its id, as `consent list` shows it; a unique prefix will do).
    Revoke(RevokeArgs),
    /// The consents in your wallet: to whom, why, until when, and whether still live.
    List(ListArgs),
}

/// Arguments of `masque consent grant`.
#[derive(Args)]
pub struct GrantArgs {
    /// The service (its context id, as it names itself).
    #[arg(long, value_name = "S")]
    service: String,
    /// Why the service may check you, in its words.
    #[arg(long, value_name = "P")]
    purpose: String,
    /// For how many days (1 to 3650).
    #[arg(long, value_name = "N")]
    days: u64,
    /// Which of your records [default: the only one].
    #[arg(long, value_name = "N")]
    record: Option<u32>,
    #[command(flatten)]
    common: Common,
}

/// Arguments of `masque consent revoke`.
#[derive(Args)]
pub struct RevokeArgs {
    /// The consent's id (64 hex digits, or a unique prefix of one in your wallet).
    id: String,
    /// The record it belongs to, for a consent this wallet does not hold (a restored
    /// wallet); needs the full id.
    #[arg(long, value_name = "N")]
    record: Option<u32>,
    #[command(flatten)]
    common: Common,
}

/// Arguments of `masque consent list`.
#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    common: Common,
}

/// Runs a `masque consent` command.
pub fn run(command: ConsentCommand) -> anyhow::Result<()> {
    match command {
        ConsentCommand::Grant(args) => grant(args),
        ConsentCommand::Revoke(args) => revoke(args),
        ConsentCommand::List(args) => list(args),
    }
}

fn grant(args: GrantArgs) -> anyhow::Result<()> {
    if !(1..=3650).contains(&args.days) {
        bail!("--days {}: give 1 to 3650 days", args.days);
    }
    let network = args.common.network()?;
    let mut wallet = args.common.open_wallet("consent grant")?;
    let index = select_record(&wallet, args.record)?;
    let key = wallet.keys().record_key(index);
    let issued_at = unix_now();
    let signed = SignedConsent::sign(
        key.signing_key(),
        Consent {
            v: 1,
            record_key: key.public_key(),
            service: args.service.clone(),
            purpose: args.purpose.clone(),
            issued_at,
            not_after: issued_at + args.days * 86_400,
        },
    )
    .context("the consent")?;
    let id = signed.id().0;
    let outcomes = runtime()?
        .block_on(custodians(&network).grant_consent(key.signing_key(), signed.clone()))
        .context("the consent was not recorded")?;
    let granted = outcomes.outcome() == Outcome::Granted;
    if granted {
        wallet.state_mut().consents.push(StoredItem {
            kind: "consent".into(),
            record: Some(index),
            stored_at: now(),
            value: json!({ "id": id, "signed": signed, "revoked": false }),
        });
    }
    let (receipt, n) = keep(&mut wallet, &network, index, &outcomes)?;
    let headline = if granted {
        format!(
            "Consent given: service {} may have record {index} checked for \"{}\" until {}.",
            args.service,
            args.purpose,
            utc(signed.consent.not_after)
        )
    } else {
        format!(
            "Consent not recorded: {}.",
            explain::refusal(outcomes.reason())
        )
    };
    let value = json!({
        "outcome": outcomes.outcome(),
        "reason": outcomes.reason(),
        "record": index.0,
        "consent_id": id,
        "service": args.service,
        "purpose": args.purpose,
        "not_after": signed.consent.not_after,
        "operation": n,
        "request_id": outcomes.results[0].request_id.to_string(),
        "message": headline,
        "receipt": receipt,
    });
    finish(
        args.common.json,
        value,
        &[
            headline,
            format!(
                "Consent id: {id} (withdraw it with `masque consent revoke {}`).",
                explain::short(&id)
            ),
            receipt_words(&receipt),
        ],
    )?;
    if !granted {
        std::process::exit(2);
    }
    Ok(())
}

/// The wallet's consent whose id is `id` or starts with it.
fn find(items: &[StoredItem], id: &str) -> anyhow::Result<Option<usize>> {
    let id = id.trim().to_ascii_lowercase();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("a consent id is hex digits (see `masque consent list`)");
    }
    let found: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, c)| c.value["id"].as_str().is_some_and(|c| c.starts_with(&id)))
        .map(|(i, _)| i)
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => bail!("{id} is the start of several consents' ids; give more digits"),
    }
}

fn revoke(args: RevokeArgs) -> anyhow::Result<()> {
    let network = args.common.network()?;
    let mut wallet = args.common.open_wallet("consent revoke")?;
    let (slot, index, id) = match find(&wallet.state().consents, &args.id)? {
        Some(slot) => {
            let item = &wallet.state().consents[slot];
            let index = item
                .record
                .ok_or_else(|| anyhow!("the consent in the wallet names no record"))?;
            let id = item.value["id"].as_str().unwrap_or_default().to_owned();
            (Some(slot), index, id)
        }
        None if args.record.is_some() && args.id.len() == 64 => (
            None,
            select_record(&wallet, args.record)?,
            args.id.to_ascii_lowercase(),
        ),
        None => bail!(
            "this wallet holds no consent {}; for one given from another copy of the wallet, \
             give its full id and --record N",
            args.id
        ),
    };
    let key = wallet.keys().record_key(index);
    let outcomes = runtime()?
        .block_on(custodians(&network).revoke_consent(key.signing_key(), &id))
        .context("the revocation did not complete")?;
    let revoked = outcomes.outcome() == Outcome::Revoked;
    if revoked && let Some(slot) = slot {
        let value = &mut wallet.state_mut().consents[slot].value;
        value["revoked"] = true.into();
        value["revoked_at"] = now().into();
    }
    let (receipt, n) = keep(&mut wallet, &network, RecordIndex(index.0), &outcomes)?;
    let headline = if revoked {
        format!(
            "Consent {} revoked: the service can no longer have record {index} checked.",
            explain::short(&id)
        )
    } else {
        format!("Not revoked: {}.", explain::refusal(outcomes.reason()))
    };
    let value = json!({
        "outcome": outcomes.outcome(),
        "reason": outcomes.reason(),
        "record": index.0,
        "consent_id": id,
        "operation": n,
        "request_id": outcomes.results[0].request_id.to_string(),
        "message": headline,
        "receipt": receipt,
    });
    finish(
        args.common.json,
        value,
        &[headline, receipt_words(&receipt)],
    )?;
    if !revoked {
        std::process::exit(2);
    }
    Ok(())
}

fn list(args: ListArgs) -> anyhow::Result<()> {
    let wallet = args.common.load_wallet("consent list")?;
    let t = unix_now();
    let consents: Vec<Value> = wallet
        .state()
        .consents
        .iter()
        .filter_map(|item| {
            let signed: SignedConsent =
                serde_json::from_value(item.value["signed"].clone()).ok()?;
            let revoked = item.value["revoked"].as_bool().unwrap_or(false);
            let status = if revoked {
                "revoked"
            } else if signed.is_live(t) {
                "live"
            } else {
                "expired"
            };
            Some(json!({
                "id": item.value["id"],
                "record": item.record.map(|r| r.0),
                "service": signed.consent.service,
                "purpose": signed.consent.purpose,
                "issued_at": signed.consent.issued_at,
                "not_after": signed.consent.not_after,
                "status": status,
            }))
        })
        .collect();
    let mut lines = Vec::new();
    if consents.is_empty() {
        lines.push("No consents in this wallet.".to_owned());
    }
    for c in &consents {
        lines.push(format!(
            "{}  {:<8} record {}  service {}  purpose \"{}\"  until {}",
            explain::short(c["id"].as_str().unwrap_or_default()),
            c["status"].as_str().unwrap_or_default(),
            c["record"],
            c["service"].as_str().unwrap_or_default(),
            c["purpose"].as_str().unwrap_or_default(),
            utc(c["not_after"].as_u64().unwrap_or(0)),
        ));
    }
    finish(args.common.json, json!({ "consents": consents }), &lines)
}
