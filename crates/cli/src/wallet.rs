//! `masque wallet ...`: create, restore and inspect the person's wallet (see
//! `masque_wallet` and docs/wallet.md).
//!
//! Secrets never come from the command line, where shell history and `ps` would keep
//! them: the recovery phrase is read from stdin, the passphrase from an environment
//! variable named by `--passphrase-env` or, when stdin is a terminal, from a prompt
//! without echo.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use masque_wallet::{KdfCost, Passphrase, Protection, RecordIndex, RecoveryPhrase, Wallet};
use serde_json::json;
use zeroize::Zeroizing;

use crate::output::print_json;

/// The `masque wallet` commands.
#[derive(Subcommand)]
pub enum WalletCommand {
    /// Create a new wallet and show its 24-word recovery phrase, once.
    New(CreateArgs),
    /// Re-create a wallet from its recovery phrase, read from stdin.
    Restore(CreateArgs),
    /// Show what a wallet holds (no secrets): records, public record keys, counts.
    Show(ShowArgs),
}

/// Where the wallet file is.
#[derive(Args)]
pub struct WalletPath {
    /// The wallet file [default: $MASQUE_WALLET, else ~/.masque/wallet.json].
    #[arg(long, value_name = "FILE")]
    pub(crate) wallet: Option<PathBuf>,
}

/// Arguments of `masque wallet new` and `masque wallet restore`.
#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    path: WalletPath,
    /// Read the passphrase that encrypts the file from this environment variable
    /// (without it, masque asks when stdin is a terminal).
    #[arg(long, value_name = "VAR", conflicts_with = "no_passphrase")]
    passphrase_env: Option<String>,
    /// Do not encrypt the file (it is still readable by you only, mode 0600).
    #[arg(long)]
    no_passphrase: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `masque wallet show`.
#[derive(Args)]
pub struct ShowArgs {
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

/// Runs a `masque wallet` command.
pub fn run(command: WalletCommand) -> anyhow::Result<()> {
    match command {
        WalletCommand::New(args) => new(args),
        WalletCommand::Restore(args) => restore(args),
        WalletCommand::Show(args) => show(args),
    }
}

/// The wallet file: `--wallet`, else `$MASQUE_WALLET`, else `~/.masque/wallet.json`.
pub(crate) fn wallet_path(path: &WalletPath) -> anyhow::Result<PathBuf> {
    if let Some(path) = &path.wallet {
        return Ok(path.clone());
    }
    if let Some(path) = std::env::var_os("MASQUE_WALLET").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| anyhow!("HOME is not set: give the wallet file with --wallet FILE"))?;
    Ok(Path::new(&home).join(".masque").join("wallet.json"))
}

/// Creates the wallet's directory (mode 0700) if it is missing.
pub(crate) fn ensure_parent(path: &Path) -> anyhow::Result<()> {
    let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    if parent.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(parent)
        .with_context(|| format!("cannot create directory {}", parent.display()))
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The passphrase from the environment variable `var`.
pub(crate) fn passphrase_from_env(var: &str) -> anyhow::Result<Passphrase> {
    let value = std::env::var_os(var).ok_or_else(|| {
        anyhow!("--passphrase-env {var}: the environment variable {var} is not set")
    })?;
    let value = value
        .into_string()
        .map_err(|_| anyhow!("--passphrase-env {var}: the value of {var} is not UTF-8"))?;
    Passphrase::new(Zeroizing::new(value)).with_context(|| format!("--passphrase-env {var}"))
}

/// Asks on the terminal (no echo).
pub(crate) fn prompt(question: &str) -> anyhow::Result<Zeroizing<String>> {
    rpassword::prompt_password(question)
        .map(Zeroizing::new)
        .context("cannot read the passphrase from the terminal")
}

pub(crate) fn no_terminal(what: &str) -> anyhow::Error {
    anyhow!(
        "{what}: stdin is not a terminal to ask for a passphrase; use --passphrase-env VAR \
         (the name of an environment variable that holds it){}",
        if what.ends_with("show") {
            ""
        } else {
            " or --no-passphrase"
        }
    )
}

/// How a new or restored wallet is protected, from the flags or a prompt.
fn new_protection(args: &CreateArgs, what: &str) -> anyhow::Result<Protection> {
    if args.no_passphrase {
        return Ok(Protection::None);
    }
    let passphrase = match &args.passphrase_env {
        Some(var) => passphrase_from_env(var)?,
        None if std::io::stdin().is_terminal() => {
            let first = prompt("Passphrase to encrypt the wallet file: ")?;
            let second = prompt("The same passphrase again: ")?;
            if first != second {
                bail!("the two passphrases differ; nothing was created");
            }
            Passphrase::new(first)?
        }
        None => return Err(no_terminal(what)),
    };
    Ok(Protection::Passphrase(passphrase, KdfCost::DEFAULT))
}

fn refuse_existing(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        bail!(
            "{} already exists; not overwriting a wallet (move it away or give another --wallet FILE)",
            path.display()
        );
    }
    Ok(())
}

fn new(args: CreateArgs) -> anyhow::Result<()> {
    let json = args.json;
    // Checked before asking for a passphrase that would be typed for nothing.
    let path = wallet_path(&args.path)?;
    refuse_existing(&path)?;
    let protection = new_protection(&args, "wallet new")?;
    ensure_parent(&path)?;
    let wallet = Wallet::create(&path, RecoveryPhrase::generate(), protection, now())?;
    let fingerprint = wallet.keys().fingerprint();
    if json {
        return print_json(&json!({
            "wallet": path,
            "encrypted": wallet.is_encrypted(),
            "recovery_phrase": wallet.phrase().to_phrase().as_str(),
            "fingerprint": fingerprint,
            "note": "Write the recovery phrase down and keep it safe: it is shown only once, it restores the wallet, and anyone who has it can act as you.",
        }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Created wallet {}{}.",
        path.display(),
        protected(&wallet)
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "Your recovery phrase is below. Write the 24 words down on paper, in this order, and\n\
         keep them somewhere safe and private. They are the only way to restore this wallet\n\
         on a new device, and anyone who has them can act as you. masque will not show them\n\
         again."
    )?;
    writeln!(out)?;
    let words: Vec<&str> = wallet.phrase().words().collect();
    for (r, chunk) in words.chunks(4).enumerate() {
        let cells: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(c, word)| format!("{:>4}. {word:<10}", r * 4 + c + 1))
            .collect();
        writeln!(out, "{}", cells.concat().trim_end())?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "Wallet fingerprint: {fingerprint} (a wallet restored from these words shows the same)."
    )?;
    Ok(())
}

fn protected(wallet: &Wallet) -> &'static str {
    if wallet.is_encrypted() {
        ", encrypted with your passphrase"
    } else {
        ", not encrypted (readable by your user account only)"
    }
}

/// Reads the recovery phrase from stdin into zeroized memory.
fn read_phrase() -> anyhow::Result<RecoveryPhrase> {
    const LIMIT: usize = 4096;
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    if interactive {
        eprintln!("Type your 24-word recovery phrase, then press Enter:");
    }
    // Sized up front (with room for the reader's probing) so it never reallocates and
    // leaves a copy of the words behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(LIMIT + 64));
    let mut handle = stdin.lock().take(LIMIT as u64 + 1);
    if interactive {
        let mut line = Zeroizing::new(String::with_capacity(LIMIT + 64));
        std::io::BufRead::read_line(&mut handle, &mut line)
            .context("cannot read the recovery phrase from stdin")?;
        bytes.extend_from_slice(line.as_bytes());
    } else {
        handle
            .read_to_end(&mut bytes)
            .context("cannot read the recovery phrase from stdin")?;
    }
    if bytes.len() > LIMIT {
        bail!("stdin holds more than {LIMIT} bytes; a recovery phrase is 24 words");
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| anyhow!("the recovery phrase on stdin is not UTF-8 text"))?;
    if text.trim().is_empty() {
        bail!(
            "no recovery phrase on stdin: pipe or type the 24 words (never pass them as arguments)"
        );
    }
    Ok(RecoveryPhrase::parse(text).map_err(masque_wallet::WalletError::Phrase)?)
}

fn restore(args: CreateArgs) -> anyhow::Result<()> {
    let json = args.json;
    let path = wallet_path(&args.path)?;
    refuse_existing(&path)?;
    let phrase = read_phrase()?;
    let protection = new_protection(&args, "wallet restore")?;
    ensure_parent(&path)?;
    let wallet = Wallet::create(&path, phrase, protection, now())?;
    let fingerprint = wallet.keys().fingerprint();
    let note = "Keys and pseudonyms are restored. Records, consents, credentials and receipts are not in the recovery phrase; they come back from a backup of the old wallet file or from the network.";
    if json {
        return print_json(&json!({
            "wallet": path,
            "encrypted": wallet.is_encrypted(),
            "fingerprint": fingerprint,
            "note": note,
        }));
    }
    println!("Restored wallet {}{}.", path.display(), protected(&wallet));
    println!("Wallet fingerprint: {fingerprint}");
    println!("{note}");
    Ok(())
}

fn show(args: ShowArgs) -> anyhow::Result<()> {
    let path = wallet_path(&args.path)?;
    let sealed = Wallet::load(&path)?;
    let passphrase = match (&args.passphrase_env, sealed.is_encrypted()) {
        (_, false) => None,
        (Some(var), true) => Some(passphrase_from_env(var)?),
        (None, true) if std::io::stdin().is_terminal() => {
            Some(Passphrase::new(prompt("Wallet passphrase: ")?)?)
        }
        (None, true) => return Err(no_terminal("wallet show")),
    };
    let wallet = sealed.unlock(passphrase.as_ref())?;
    let keys = wallet.keys();
    let state = wallet.state();
    let public = |i: RecordIndex| hex(keys.record_key(i).public_key().as_bytes());
    let next = RecordIndex(state.next_record_index);
    if args.json {
        let records: Vec<_> = state
            .records
            .iter()
            .map(|r| {
                json!({
                    "index": r.index,
                    "public_key": public(r.index),
                    "enrolled_at": r.enrolled_at,
                    "operations": r.ops,
                })
            })
            .collect();
        return print_json(&json!({
            "wallet": path,
            "encrypted": wallet.is_encrypted(),
            "kdf": wallet.kdf_cost().map(|c| json!({
                "algorithm": "argon2id",
                "memory_kib": c.memory_kib,
                "iterations": c.iterations,
                "parallelism": c.parallelism,
            })),
            "fingerprint": keys.fingerprint(),
            "created_at": state.created_at,
            "records": records,
            "consents": state.consents.len(),
            "credentials": state.credentials.len(),
            "receipts": state.receipts.len(),
            "next_record_index": next,
            "next_record_public_key": public(next),
        }));
    }
    println!("wallet       {}", path.display());
    match wallet.kdf_cost() {
        Some(c) => println!(
            "encryption   passphrase (Argon2id, {} MiB, {} passes, {} lanes; XChaCha20-Poly1305)",
            c.memory_kib / 1024,
            c.iterations,
            c.parallelism
        ),
        None => println!("encryption   none (file readable by your user account only)"),
    }
    println!("fingerprint  {}", keys.fingerprint());
    println!("created      {}", utc(state.created_at));
    println!("records      {}", state.records.len());
    for r in &state.records {
        println!(
            "  record {}: public key {}, enrolled {}, {} operation(s)",
            r.index,
            public(r.index),
            utc(r.enrolled_at),
            r.ops
        );
    }
    println!("consents     {}", state.consents.len());
    println!("credentials  {}", state.credentials.len());
    println!("receipts     {}", state.receipts.len());
    println!("next record  {} (public key {})", next, public(next));
    Ok(())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Unix seconds as `YYYY-MM-DD hh:mm UTC` (proleptic Gregorian calendar).
pub(crate) fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let (hour, minute) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    // Days since 1970-01-01 to a civil date (H. Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_796_204_400), "2026-12-02 09:40 UTC");
    }
}
