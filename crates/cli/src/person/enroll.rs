//! `masque enroll`: the station reads a capture, the wallet makes the new record's keys,
//! and the client deals, seals and sends the shares to the three custodians.

use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use ed25519_dalek::SigningKey;
use masque_protocol::entry::Outcome;
use masque_wallet::{OpaqueBytes, Record, RecordIndex};
use serde_json::json;

use super::{
    Capture, Common, count_operation, custodians, explain, finish, receipt_words, runtime,
    store_receipt,
};
use crate::wallet::{hex, now, utc};

/// Arguments of `masque enroll`.
#[derive(Args)]
pub struct EnrollArgs {
    /// The station's Ed25519 key file (64 hex digits, mode 0600), registered in the
    /// network description.
    #[arg(long, value_name = "FILE")]
    station_key: PathBuf,
    #[command(flatten)]
    capture: Capture,
    #[command(flatten)]
    common: Common,
}

/// Reads a station key file: 64 hex digits, refused when others can read it.
fn station_key(path: &std::path::Path) -> anyhow::Result<SigningKey> {
    let text = masque_files::read_secret_up_to(path, 1024)
        .with_context(|| format!("the station key {}", path.display()))?;
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    ::hex::decode_to_slice(text.trim(), bytes.as_mut_slice()).map_err(|_| {
        anyhow!(
            "the station key {} is not 64 hex digits (an Ed25519 secret key)",
            path.display()
        )
    })?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// Runs `masque enroll`.
pub fn run(args: EnrollArgs) -> anyhow::Result<()> {
    let network = args.common.network()?;
    let station = station_key(&args.station_key)?;
    let Some(station_name) = network
        .station_by_key(&station.verifying_key())
        .map(|s| s.name.clone())
    else {
        bail!(
            "the station key {} is not registered in network {:?}: the custodians would refuse it",
            args.station_key.display(),
            network.name
        );
    };
    let pair = args.capture.read()?;
    let mut wallet = args.common.open_wallet("enroll")?;
    // The index is taken only once the enrolment is committed, so a duplicate or a
    // refusal leaves no gap in the indexes a restored wallet scans.
    let index = RecordIndex(wallet.state().next_record_index);
    let record_key = wallet.keys().record_key(index);
    let audit_key = wallet.keys().audit_key(index);
    let client = custodians(&network);
    let outcomes = runtime()?
        .block_on(client.enrol(
            &station,
            record_key.signing_key(),
            audit_key.expose_bytes(),
            &pair,
        ))
        .context("the enrolment did not complete; nothing was stored in the wallet")?;
    let public = hex(record_key.public_key().as_bytes());
    let outcome = outcomes.outcome();
    let enrolled = outcome == Outcome::Enrolled;
    let mut stored_record = None;
    if enrolled {
        let taken = wallet.new_record_index()?;
        debug_assert_eq!(taken, index);
        wallet.add_record(Record {
            index,
            handle: OpaqueBytes(record_key.public_key().as_bytes().to_vec()),
            enrolled_at: now(),
            ops: 0,
            details: json!({ "network": network.name, "station": station_name }),
        })?;
        count_operation(&mut wallet, index, &outcomes)?;
        stored_record = Some(index);
    }
    let receipt = store_receipt(&mut wallet, &network, stored_record, &outcomes);
    wallet.save()?;
    let receipt = receipt?;
    let (headline, detail) = match outcome {
        Outcome::Enrolled => (
            format!(
                "Enrolled at {station_name}: you are now record {index} of network {}.",
                network.name
            ),
            format!(
                "Your iris is held only as secret shares by the three custodians. Record {index}'s \
                 public key is {public}; its keys come from your recovery phrase."
            ),
        ),
        Outcome::Duplicate => (
            "Not enrolled: this person is already enrolled in the network.".to_owned(),
            "Nothing was stored. If it is you, use the wallet that holds your record (or restore \
             it from its recovery phrase); a person can be enrolled only once."
                .to_owned(),
        ),
        _ => (
            format!("Not enrolled: {}.", explain::refusal(outcomes.reason())),
            "Nothing was stored.".to_owned(),
        ),
    };
    let value = json!({
        "outcome": outcome,
        "reason": outcomes.reason(),
        "enrolled": enrolled,
        "record": stored_record.map(|i| i.0),
        "record_public_key": enrolled.then_some(&public),
        "station": station_name,
        "network": network.name,
        "request_id": outcomes.results[0].request_id.to_string(),
        "enrolled_at": enrolled.then(|| utc(now())),
        "message": headline,
        "receipt": receipt,
    });
    finish(
        args.common.json,
        value,
        &[headline, detail, receipt_words(&receipt)],
    )?;
    if !enrolled {
        std::process::exit(2);
    }
    Ok(())
}
