//! `masque credential` and `masque present`: the person's anonymous credential.
//!
//! `credential` asks the custodians for a BBS credential on the record (P0 blind-signs it
//! once the three agree; see `docs/protocol.md`, "Credentials"): the first time after the
//! enrolment, and again on a wallet restored from its phrase once the person's own 1:1
//! match (`masque verify`) is logged. The credential's nym secret derives from the
//! wallet's seed, so a re-issued credential gives the same pseudonym at every service.
//! It is kept in the (encrypted) wallet, never printed.
//!
//! `present` fetches a service's challenge, answers it with the credential and prints the
//! pseudonym the service accepted: stable at one service, unlinkable across services.

use anyhow::{Context, anyhow, bail};
use clap::Args;
use masque_cred::{
    BbsHolder, Credential, Holder,
    objects::{IssuanceOffer, IssuanceResponse, IssuerPublicKey},
    wire::WireObject,
};
use masque_protocol::entry::Outcome;
use masque_service::ServiceClient;
use masque_wallet::{RecordIndex, StoredItem, Wallet};
use serde_json::json;

use super::{
    Common, custodians, explain, finish, ops::keep, receipt_words, runtime, select_record,
};
use crate::wallet::{now, utc};

/// The kind under which the wallet keeps credentials.
const KIND: &str = "bbs-credential";

/// Arguments of `masque credential`.
#[derive(Args)]
pub struct CredentialArgs {
    /// Which of your records [default: the only one].
    #[arg(long, value_name = "N")]
    record: Option<u32>,
    #[command(flatten)]
    common: Common,
}

/// Arguments of `masque present`.
#[derive(Args)]
pub struct PresentArgs {
    /// The service's base URL (a `masque service run` or an aid desk).
    #[arg(long, value_name = "URL")]
    service: String,
    /// Which of your records' credential [default: the only one].
    #[arg(long, value_name = "N")]
    record: Option<u32>,
    #[command(flatten)]
    common: Common,
}

/// Runs `masque credential`.
pub fn get(args: CredentialArgs) -> anyhow::Result<()> {
    let network = args.common.network()?;
    let info = network.issuer.as_ref().ok_or_else(|| {
        anyhow!(
            "network {:?} publishes no credential issuer (no \"issuer\" in its description)",
            network.name
        )
    })?;
    let issuer = IssuerPublicKey::from_json(info.public_key.as_bytes())
        .context("the network description's issuer key")?;
    let mut wallet = args.common.open_wallet("credential")?;
    let index = select_record(&wallet, args.record)?;
    let key = wallet.keys().record_key(index);
    let holder = BbsHolder::from_seed(&wallet.keys().cred_seed());
    let client = custodians(&network);
    let rt = runtime()?;
    let offer = rt
        .block_on(client.offer(key.signing_key()))
        .context("the custodians did not make an issuance offer")?;
    let offer = IssuanceOffer::from_json(offer.as_bytes()).context("the issuer's offer")?;
    let (request, pending) = holder
        .request(&issuer, &offer)
        .context("cannot answer the issuer's offer")?;
    let outcomes = rt
        .block_on(client.issue(key.signing_key(), &request.to_json()))
        .context("the issuance did not complete")?;
    let credential = match outcomes.credential() {
        Some(response) if outcomes.outcome() == Outcome::Issued => {
            let response = IssuanceResponse::from_json(response.as_bytes())
                .context("the issuer's response")?;
            Some(
                holder
                    .finalise(&pending, &response)
                    .context("the issuer's signature does not verify; nothing was stored")?,
            )
        }
        _ => None,
    };
    if let Some(credential) = &credential {
        wallet.state_mut().credentials.push(StoredItem {
            kind: KIND.into(),
            record: Some(index),
            stored_at: now(),
            value: serde_json::from_str(&credential.to_json()).expect("a wire object is JSON"),
        });
    }
    let (receipt, n) = keep(&mut wallet, &network, index, &outcomes)?;
    let op = outcomes.entry()?.body.op;
    let headline = match &credential {
        Some(c) => format!(
            "Credential issued on record {index} (epoch {}): `masque present --service URL` shows it to a service.",
            c.attributes().epoch.0
        ),
        None => format!("No credential: {}.", explain::refusal(outcomes.reason())),
    };
    let lines = [
        headline.clone(),
        "It is kept in your wallet. Each service sees one pseudonym of yours, and no two services can link theirs."
            .into(),
        receipt_words(&receipt),
    ];
    let value = json!({
        "outcome": outcomes.outcome(),
        "reason": outcomes.reason(),
        "operation_kind": op,
        "record": index.0,
        "operation": n,
        "issued": credential.is_some(),
        "epoch": credential.as_ref().map(|c| c.attributes().epoch.0),
        "request_id": outcomes.results[0].request_id.to_string(),
        "message": headline,
        "receipt": receipt,
    });
    finish(args.common.json, value, &lines)?;
    if credential.is_none() {
        std::process::exit(2);
    }
    Ok(())
}

/// The newest credential the wallet holds for record `index`.
fn newest_credential(wallet: &Wallet, index: RecordIndex) -> anyhow::Result<Credential> {
    let item = wallet
        .state()
        .credentials
        .iter()
        .rev()
        .find(|c| c.kind == KIND && c.record == Some(index))
        .ok_or_else(|| {
            anyhow!(
                "this wallet holds no credential for record {index}: get one with `masque credential`"
            )
        })?;
    Credential::from_json(item.value.to_string().as_bytes())
        .map_err(|e| anyhow!("the wallet's credential for record {index} is unreadable: {e}"))
}

/// Runs `masque present`.
pub fn present(args: PresentArgs) -> anyhow::Result<()> {
    let wallet = args.common.load_wallet("present")?;
    let index = select_record(&wallet, args.record)?;
    let credential = newest_credential(&wallet, index)?;
    let holder = BbsHolder::from_seed(&wallet.keys().cred_seed());
    let service = ServiceClient::new(&args.service)
        .with_context(|| format!("--service {:?}", args.service))?;
    let rt = runtime()?;
    let info = rt.block_on(service.info())?;
    if info.issuer_key_id != credential.issuer().key_id() {
        bail!(
            "{} trusts another credential issuer than the one that issued yours; it would refuse the presentation",
            args.service
        );
    }
    let accepted =
        rt.block_on(service.present(|challenge| holder.present(&credential, challenge)))?;
    let pseudonym = accepted.pseudonym.to_string();
    let headline = match (accepted.round, accepted.claim) {
        (Some(round), Some(claim)) => format!(
            "Claim accepted at {} (round {round}, claim {claim}); your pseudonym there: {pseudonym}.",
            info.desk.as_deref().unwrap_or(&info.context_id)
        ),
        _ => format!(
            "Accepted by {}; your pseudonym there: {pseudonym}.",
            info.context_id
        ),
    };
    let lines = [
        headline.clone(),
        "The service learned that you are a unique enrolled person and this pseudonym; nothing else, and nothing it could link to another service."
            .into(),
    ];
    let value = json!({
        "service": args.service,
        "kind": info.kind,
        "context_id": info.context_id,
        "pseudonym": pseudonym,
        "epoch": accepted.epoch.0,
        "round": accepted.round,
        "claim": accepted.claim,
        "record": index.0,
        "presented_at": utc(now()),
        "message": headline,
    });
    finish(args.common.json, value, &lines)
}
