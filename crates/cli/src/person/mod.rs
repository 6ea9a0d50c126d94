//! The person's and the station's commands against a network: `masque enroll`,
//! `verify`, `delete`, `consent grant|revoke|list`, `credential`, `present` and `audit`.
//!
//! Each command loads the network description (`--network`, else `$MASQUE_NETWORK`),
//! opens the wallet for update (its lock is held until the command ends), talks to the
//! three custodians through `masque_client`, checks what comes back (the custodians'
//! signatures on the log entry, the receipt's inclusion proof and witness quorum), and
//! keeps in the wallet what the person needs later: the record, its operation counter
//! (the next audit tag's `n`), consents and receipts.
//!
//! Templates are read into memory only: never written to disk and never printed or logged.

mod audit;
mod consent;
mod credential;
mod enroll;
mod explain;
mod ops;

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use clap::Args;
use masque_client::{Custodians, Outcomes};
use masque_protocol::network::NetworkDescription;
use masque_template::{EyePair, IrisDocument};
use masque_wallet::{Passphrase, RecordIndex, StoredItem, Wallet};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::wallet::{WalletPath, now, passphrase_from_env, prompt, wallet_path};

pub use audit::AuditArgs;
pub use consent::ConsentCommand;
pub use credential::{CredentialArgs, PresentArgs};
pub use enroll::EnrollArgs;
pub use ops::{DeleteArgs, VerifyArgs};

/// Runs `masque enroll`.
pub fn enroll(args: EnrollArgs) -> anyhow::Result<()> {
    enroll::run(args)
}

/// Runs `masque verify`.
pub fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    ops::verify(args)
}

/// Runs `masque delete`.
pub fn delete(args: DeleteArgs) -> anyhow::Result<()> {
    ops::delete(args)
}

/// Runs `masque consent ...`.
pub fn consent(command: ConsentCommand) -> anyhow::Result<()> {
    consent::run(command)
}

/// Runs `masque credential`.
pub fn credential(args: CredentialArgs) -> anyhow::Result<()> {
    credential::get(args)
}

/// Runs `masque present`.
pub fn present(args: PresentArgs) -> anyhow::Result<()> {
    credential::present(args)
}

/// Runs `masque audit`.
pub fn audit(args: AuditArgs) -> anyhow::Result<()> {
    audit::run(args)
}

/// What every person command takes: the network, the wallet and how to print.
#[derive(Args)]
pub struct Common {
    /// The network description [default: $MASQUE_NETWORK].
    #[arg(long, value_name = "FILE")]
    network: Option<PathBuf>,
    #[command(flatten)]
    path: WalletPath,
    /// Read the passphrase of an encrypted wallet from this environment variable
    /// (without it, masque asks when stdin is a terminal).
    #[arg(long, value_name = "VAR")]
    passphrase_env: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// The largest network description or template file read.
const MAX_FILE: u64 = 1 << 20;

/// Reads a small text file (at most [`MAX_FILE`] bytes) into zeroized memory.
pub(crate) fn read_small(path: &Path, what: &str) -> anyhow::Result<Zeroizing<String>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open the {what} {}", path.display()))?;
    let mut text = Zeroizing::new(String::with_capacity(64 * 1024));
    file.take(MAX_FILE + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read the {what} {} as UTF-8 text", path.display()))?;
    if text.len() as u64 > MAX_FILE {
        bail!(
            "the {what} {} is larger than {MAX_FILE} bytes",
            path.display()
        );
    }
    Ok(text)
}

impl Common {
    /// The network description.
    fn network(&self) -> anyhow::Result<NetworkDescription> {
        let path = match &self.network {
            Some(path) => path.clone(),
            None => std::env::var_os("MASQUE_NETWORK")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .ok_or_else(|| {
                    anyhow!(
                        "which network? give its description with --network FILE (network.json) or set MASQUE_NETWORK"
                    )
                })?,
        };
        let text = read_small(&path, "network description")?;
        NetworkDescription::from_json(&text)
            .with_context(|| format!("the network description {}", path.display()))
    }

    fn passphrase(&self, encrypted: bool, what: &str) -> anyhow::Result<Option<Passphrase>> {
        Ok(match (&self.passphrase_env, encrypted) {
            (_, false) => None,
            (Some(var), true) => Some(passphrase_from_env(var)?),
            (None, true) if std::io::stdin().is_terminal() => {
                Some(Passphrase::new(prompt("Wallet passphrase: ")?)?)
            }
            (None, true) => return Err(crate::wallet::no_terminal(what)),
        })
    }

    /// The wallet, opened for update (locked until dropped).
    fn open_wallet(&self, what: &str) -> anyhow::Result<Wallet> {
        let path = wallet_path(&self.path)?;
        let sealed = Wallet::open(&path).with_context(|| {
            format!(
                "cannot open the wallet {} (create one with `masque wallet new`)",
                path.display()
            )
        })?;
        let passphrase = self.passphrase(sealed.is_encrypted(), what)?;
        Ok(sealed.unlock(passphrase.as_ref())?)
    }

    /// The wallet, read without the lock (it cannot be saved).
    fn load_wallet(&self, what: &str) -> anyhow::Result<Wallet> {
        let path = wallet_path(&self.path)?;
        let sealed = Wallet::load(&path).with_context(|| {
            format!(
                "cannot read the wallet {} (create one with `masque wallet new`)",
                path.display()
            )
        })?;
        let passphrase = self.passphrase(sealed.is_encrypted(), what)?;
        Ok(sealed.unlock(passphrase.as_ref())?)
    }
}

/// A runtime for one command's network calls.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// A client of the network's custodians. An enrolment runs the 1:N check and waits for
/// the witnesses: allow minutes.
fn custodians(network: &NetworkDescription) -> Custodians {
    Custodians::new(network.clone(), masque_client::CLIENT_TIMEOUT)
}

/// Where a capture comes from: one iris-mpc two-eye JSON file, or one open-iris template
/// per eye. Read into memory only, never written anywhere.
#[derive(Args)]
pub struct Capture {
    /// The capture: an iris-mpc two-eye JSON file (left_iris_code, left_mask_code,
    /// right_iris_code, right_mask_code).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present_all = ["left", "right"],
        conflicts_with_all = ["left", "right"]
    )]
    template: Option<PathBuf>,
    /// Or: the left eye as an open-iris template (iris_codes, mask_codes), with --right.
    #[arg(long, value_name = "FILE", requires = "right")]
    left: Option<PathBuf>,
    /// The right eye as an open-iris template, with --left.
    #[arg(long, value_name = "FILE", requires = "left")]
    right: Option<PathBuf>,
}

impl Capture {
    /// Reads the capture into memory (never anywhere else).
    fn read(&self) -> anyhow::Result<EyePair> {
        match (&self.template, &self.left, &self.right) {
            (Some(path), _, _) => match parse_template(path)? {
                IrisDocument::Pair(pair) => Ok(*pair),
                IrisDocument::Eye(_) => bail!(
                    "the template {} holds one eye (open-iris template form); masque enrols and \
                     checks both eyes: give both eyes' templates with --left FILE --right FILE, or \
                     the two-eye JSON (left_iris_code, left_mask_code, right_iris_code, \
                     right_mask_code) with --template",
                    path.display()
                ),
            },
            (None, Some(left), Some(right)) => Ok(EyePair {
                left: one_eye(left, "--left")?,
                right: one_eye(right, "--right")?,
            }),
            _ => bail!("give the capture with --template FILE, or --left FILE --right FILE"),
        }
    }
}

fn parse_template(path: &Path) -> anyhow::Result<IrisDocument> {
    let text = read_small(path, "template")?;
    IrisDocument::from_json(&text)
        .with_context(|| format!("the template {} is not an iris template", path.display()))
}

/// One eye's open-iris template.
fn one_eye(path: &Path, flag: &str) -> anyhow::Result<masque_template::IrisCode> {
    match parse_template(path)? {
        IrisDocument::Eye(code) => Ok(*code),
        IrisDocument::Pair(_) => bail!(
            "{flag} {} holds both eyes (iris-mpc two-eye JSON): give it alone with --template",
            path.display()
        ),
    }
}

/// Whether a wallet record was deleted at the custodians.
fn is_deleted(record: &masque_wallet::Record) -> bool {
    record.details.get("status").and_then(Value::as_str) == Some("deleted")
}

/// The record a command acts on: `--record N`, else the wallet's only live record.
fn select_record(wallet: &Wallet, chosen: Option<u32>) -> anyhow::Result<RecordIndex> {
    let live: Vec<_> = wallet
        .state()
        .records
        .iter()
        .filter(|r| !is_deleted(r))
        .collect();
    match chosen {
        Some(i) => {
            let record = wallet.record(RecordIndex(i)).ok_or_else(|| {
                anyhow!("--record {i}: this wallet has no record {i} (see `masque wallet show`)")
            })?;
            if is_deleted(record) {
                bail!("--record {i}: this record was deleted");
            }
            Ok(record.index)
        }
        None => match live.as_slice() {
            [] => bail!(
                "this wallet has no enrolled record: enrol first with `masque enroll` at a station"
            ),
            [only] => Ok(only.index),
            several => bail!(
                "this wallet has {} records ({}); say which with --record N",
                several.len(),
                several
                    .iter()
                    .map(|r| r.index.0.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    }
}

/// Counts the operation the custodians just logged on record `index`: finds `n` with
/// `audit_tag(k_record, n)` equal to the entry's tag and sets the counter to `n + 1`.
/// Returns `n`, or `None` when the entry carries no tag of this record.
fn count_operation(
    wallet: &mut Wallet,
    index: RecordIndex,
    outcomes: &Outcomes,
) -> anyhow::Result<Option<u64>> {
    let Some(tag) = outcomes.entry()?.body.audit_tag else {
        return Ok(None);
    };
    let key = wallet.keys().audit_key(index);
    let Some(record) = wallet
        .state_mut()
        .records
        .iter_mut()
        .find(|r| r.index == index)
    else {
        return Ok(None);
    };
    // The wallet may have missed operations (an answer lost, a restored wallet): look
    // a little past its counter.
    let found =
        (0..record.ops.saturating_add(64)).find(|&n| crate::wallet::hex(&key.tag(n).0) == tag);
    if let Some(n) = found {
        record.ops = record.ops.max(n + 1);
    }
    Ok(found)
}

/// Checks the receipt of `outcomes` against the network and stores it in the wallet
/// (with the entry, so a person can show it later). Returns how it went, for the output.
fn store_receipt(
    wallet: &mut Wallet,
    network: &NetworkDescription,
    record: Option<RecordIndex>,
    outcomes: &Outcomes,
) -> anyhow::Result<Value> {
    let entry = &outcomes.results[0].entry;
    let (status, receipt) = match outcomes.receipt() {
        None => ("pending", Value::Null),
        Some(receipt) => {
            let verified = outcomes.verify_receipt(network).context(
                "the custodians' receipt does not verify against the network's keys and witness \
                 policy; it was not stored (report this to the network's operators)",
            )?;
            (
                "verified",
                json!({
                    "receipt": receipt,
                    "log_index": receipt.index,
                    "checkpoint_size": verified.checkpoint.checkpoint.size(),
                    "witnesses": verified.checkpoint.cosigners.iter().map(|(n, _)| n).collect::<Vec<_>>(),
                }),
            )
        }
    };
    let value = json!({
        "request_id": outcomes.results[0].request_id.to_string(),
        "outcome": outcomes.outcome(),
        "reason": outcomes.reason(),
        "entry": entry,
        "status": status,
        "receipt": receipt,
    });
    wallet.state_mut().receipts.push(StoredItem {
        kind: "receipt".into(),
        record,
        stored_at: now(),
        value: value.clone(),
    });
    Ok(json!({
        "status": status,
        "log_index": value["receipt"]["log_index"],
        "witnesses": value["receipt"]["witnesses"],
    }))
}

/// One line about a receipt, for people.
fn receipt_words(receipt: &Value) -> String {
    match receipt["status"].as_str() {
        Some("verified") => format!(
            "Receipt checked and kept in your wallet: the three custodians signed the outcome, \
             and it is entry {} of the public log, cosigned by {}.",
            receipt["log_index"],
            receipt["witnesses"]
                .as_array()
                .map(|w| w
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        ),
        _ => "The custodians signed the outcome, but the log's witnesses had not cosigned it yet; \
              no receipt yet (the entry is in the log; `masque audit` will find it)."
            .into(),
    }
}

/// Prints `value` as JSON, or `lines` for people.
fn finish(json_out: bool, value: Value, lines: &[String]) -> anyhow::Result<()> {
    if json_out {
        return crate::output::print_json(&value);
    }
    for line in lines {
        println!("{line}");
    }
    Ok(())
}
