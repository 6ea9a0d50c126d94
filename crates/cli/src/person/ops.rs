//! `masque verify` and `masque delete`: operations on the person's own record, signed by
//! its record key.

use anyhow::{Context, bail};
use clap::Args;
use masque_client::Outcomes;
use masque_protocol::entry::Outcome;
use masque_wallet::{RecordIndex, Wallet};
use serde_json::{Value, json};

use super::{
    Capture, Common, count_operation, custodians, explain, finish, receipt_words, runtime,
    select_record, store_receipt,
};

/// Arguments of `masque verify`.
#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    capture: Capture,
    /// The service the check is for (its context id); it needs a live consent you gave
    /// it (`masque consent grant`). Without it, the check is your own.
    #[arg(long, value_name = "S")]
    service: Option<String>,
    /// Which of your records [default: the only one].
    #[arg(long, value_name = "N")]
    record: Option<u32>,
    #[command(flatten)]
    common: Common,
}

/// Arguments of `masque delete`.
#[derive(Args)]
pub struct DeleteArgs {
    /// Which of your records [default: the only one].
    #[arg(long, value_name = "N")]
    record: Option<u32>,
    /// Confirm: the custodians erase the record's shares, and it can never match again.
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    common: Common,
}

/// Counts the operation and stores the receipt, then saves the wallet. Returns the
/// receipt summary and the operation's number `n`.
pub(super) fn keep(
    wallet: &mut Wallet,
    network: &masque_protocol::network::NetworkDescription,
    index: RecordIndex,
    outcomes: &Outcomes,
) -> anyhow::Result<(Value, Option<u64>)> {
    let n = count_operation(wallet, index, outcomes)?;
    let receipt = store_receipt(wallet, network, Some(index), outcomes);
    wallet.save()?;
    Ok((receipt?, n))
}

/// Runs `masque verify`.
pub fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let network = args.common.network()?;
    let pair = args.capture.read()?;
    let mut wallet = args.common.open_wallet("verify")?;
    let index = select_record(&wallet, args.record)?;
    let key = wallet.keys().record_key(index);
    let outcomes = runtime()?
        .block_on(custodians(&network).verify(key.signing_key(), &pair, args.service.as_deref()))
        .context("the check did not complete")?;
    let (receipt, n) = keep(&mut wallet, &network, index, &outcomes)?;
    let body = outcomes.entry()?.body;
    let for_whom = match &args.service {
        Some(s) => format!("for service {s}"),
        None => "for yourself".to_owned(),
    };
    let headline = match outcomes.outcome() {
        Outcome::Match => {
            format!("Match: the capture is the person of record {index} (checked {for_whom}).")
        }
        Outcome::NoMatch => format!(
            "No match: the capture is not the person of record {index} (checked {for_whom})."
        ),
        _ => format!(
            "Refused (checked {for_whom}): {}.",
            explain::refusal(outcomes.reason())
        ),
    };
    let mut lines = vec![headline.clone()];
    if let Some(consent) = &body.consent {
        lines.push(format!(
            "The check ran under your consent {}.",
            explain::short(&consent.0)
        ));
    }
    if outcomes.outcome() != Outcome::Refused {
        lines.push(
            "The custodians compared shares only; nobody saw the capture or learned more than this answer."
                .into(),
        );
    }
    lines.push(receipt_words(&receipt));
    let value = json!({
        "outcome": outcomes.outcome(),
        "reason": outcomes.reason(),
        "record": index.0,
        "service": args.service,
        "consent": body.consent.map(|c| c.0),
        "operation": n,
        "request_id": outcomes.results[0].request_id.to_string(),
        "message": headline,
        "receipt": receipt,
    });
    finish(args.common.json, value, &lines)?;
    if outcomes.outcome() == Outcome::Refused {
        std::process::exit(2);
    }
    Ok(())
}

/// Runs `masque delete`.
pub fn delete(args: DeleteArgs) -> anyhow::Result<()> {
    let network = args.common.network()?;
    let mut wallet = args.common.open_wallet("delete")?;
    let index = select_record(&wallet, args.record)?;
    if !args.yes {
        bail!(
            "this deletes record {index} at the custodians for good: its shares are erased and it \
             can never match again. Run again with --yes to confirm"
        );
    }
    let key = wallet.keys().record_key(index);
    let outcomes = runtime()?
        .block_on(custodians(&network).delete(key.signing_key()))
        .context("the deletion did not complete")?;
    let deleted = outcomes.outcome() == Outcome::Deleted;
    if deleted
        && let Some(record) = wallet
            .state_mut()
            .records
            .iter_mut()
            .find(|r| r.index == index)
    {
        if let Some(details) = record.details.as_object_mut() {
            details.insert("status".into(), "deleted".into());
        } else {
            record.details = json!({ "status": "deleted" });
        }
    }
    let (receipt, n) = keep(&mut wallet, &network, index, &outcomes)?;
    let headline = if deleted {
        format!(
            "Deleted record {index}: the three custodians erased its shares; it can never match again."
        )
    } else {
        format!("Not deleted: {}.", explain::refusal(outcomes.reason()))
    };
    let value = json!({
        "outcome": outcomes.outcome(),
        "reason": outcomes.reason(),
        "record": index.0,
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
            "The deletion is in the public log; `masque audit` shows it.".into(),
            receipt_words(&receipt),
        ],
    )?;
    if !deleted {
        std::process::exit(2);
    }
    Ok(())
}
