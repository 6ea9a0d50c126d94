//! `masque log ...` and `masque bench log`: argument parsing and wiring for the
//! transparency log (`masque-tlog`); the logic lives in the library.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use masque_files::{WriteOptions, read_secret, write_atomic};
use masque_tlog::hash::{Hash, leaf_hash};
use masque_tlog::http::{LogServeOptions, serve_log_forever, serve_witness_forever};
use masque_tlog::keys::{KeyName, PublicKey, SecretKey, TYPE_COSIGNATURE_V1, TYPE_ED25519};
use masque_tlog::log::Log;
use masque_tlog::policy::Policy;
use masque_tlog::reader::TreeReader;
use masque_tlog::serve::ServerLimits;
use masque_tlog::storage::{FsStorage, Storage};
use masque_tlog::tiles::MAX_ENTRY_SIZE;
use masque_tlog::verifier::Verifier;
use masque_tlog::witness::Witness;
use serde_json::json;

use crate::output::print_json;

/// Transparency log commands.
#[derive(Subcommand)]
pub enum LogCommand {
    /// Generate an Ed25519 key: writes the secret key file, prints the log vkey and the
    /// witness (cosignature/v1) vkey.
    Keygen(KeygenArgs),
    /// Serve a log over HTTP (checkpoint, tiles, bundles, authenticated append).
    Serve(ServeArgs),
    /// Run a witness over HTTP (tlog-witness add-checkpoint).
    Witness(WitnessArgs),
    /// Append lines of stdin as entries (one batch; for testing), creating the log if needed.
    Append(LocalLogArgs),
    /// Print an inclusion or consistency proof (base64 lines) from a local log directory.
    Prove(ProveArgs),
    /// Verify a checkpoint against a policy, consistency from a saved state, and inclusion.
    Verify(VerifyArgs),
}

/// `masque log keygen`.
#[derive(Args)]
pub struct KeygenArgs {
    /// Key name (for a log: its origin, e.g. log.example.org/masque).
    #[arg(long)]
    name: String,
    /// Where to write the secret key (Go `note` PRIVATE+KEY format, mode 0600). Refuses
    /// to overwrite.
    #[arg(long)]
    out: PathBuf,
    /// Print the public keys as JSON.
    #[arg(long)]
    json: bool,
}

/// Options that locate a local log and its key.
#[derive(Args)]
pub struct LocalLogArgs {
    /// Log directory.
    #[arg(long)]
    dir: PathBuf,
    /// Secret key file of the log (its name is the origin); must be mode 0600.
    #[arg(long)]
    key: PathBuf,
    /// Print the result as JSON (`serve`: announce the listening address as one JSON
    /// line on stdout).
    #[arg(long)]
    json: bool,
}

/// Connection and request limits of an HTTP server.
#[derive(Args)]
pub struct LimitArgs {
    /// Most connections served at once (others wait).
    #[arg(long, default_value_t = ServerLimits::default().max_connections)]
    max_connections: usize,
    /// Seconds a client has to send a request's headers.
    #[arg(long, default_value_t = ServerLimits::default().header_read.as_secs())]
    header_timeout_secs: u64,
    /// Seconds a client has to send a request body.
    #[arg(long, default_value_t = ServerLimits::default().body_read.as_secs())]
    body_timeout_secs: u64,
    /// Seconds after which a connection on which nothing moves is closed.
    #[arg(long, default_value_t = ServerLimits::default().idle.as_secs())]
    idle_timeout_secs: u64,
}

impl LimitArgs {
    fn limits(&self) -> anyhow::Result<ServerLimits> {
        if self.max_connections == 0 {
            bail!("--max-connections must be at least 1");
        }
        for (name, secs) in [
            ("--header-timeout-secs", self.header_timeout_secs),
            ("--body-timeout-secs", self.body_timeout_secs),
            ("--idle-timeout-secs", self.idle_timeout_secs),
        ] {
            if !(1..=86_400).contains(&secs) {
                bail!("{name} must be between 1 and 86400 seconds, got {secs}");
            }
        }
        Ok(ServerLimits {
            header_read: Duration::from_secs(self.header_timeout_secs),
            body_read: Duration::from_secs(self.body_timeout_secs),
            idle: Duration::from_secs(self.idle_timeout_secs),
            max_connections: self.max_connections,
        })
    }
}

/// `masque log serve`.
#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    log: LocalLogArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// File with bearer tokens allowed to append, one per line.
    #[arg(long)]
    tokens: PathBuf,
    /// Witness to ask for cosignatures: `<submission prefix URL>=<witness vkey>`; repeatable.
    #[arg(long)]
    witness: Vec<String>,
    /// Largest batch.
    #[arg(long, default_value_t = 4096)]
    max_batch: usize,
    /// Longest wait for a batch to fill, in milliseconds; 0 batches only the appends that
    /// arrived while the last batch was written (lowest latency).
    #[arg(long, default_value_t = 50)]
    max_wait_ms: u64,
    #[command(flatten)]
    limits: LimitArgs,
}

/// `masque log witness`.
#[derive(Args)]
pub struct WitnessArgs {
    /// State directory.
    #[arg(long)]
    dir: PathBuf,
    /// Witness secret key file.
    #[arg(long)]
    key: PathBuf,
    /// Vkey of a log to witness (type 0x01, named after its origin); repeatable.
    #[arg(long = "log", required = true)]
    logs: Vec<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: String,
    #[command(flatten)]
    limits: LimitArgs,
    /// Announce the listening address and witness key as one JSON line on stdout.
    #[arg(long)]
    json: bool,
}

/// `masque log prove`.
#[derive(Args)]
pub struct ProveArgs {
    /// Log directory.
    #[arg(long)]
    dir: PathBuf,
    /// Inclusion proof of this entry index in the current tree.
    #[arg(long, conflicts_with = "old")]
    index: Option<u64>,
    /// Consistency proof from this older size to the current tree.
    #[arg(long)]
    old: Option<u64>,
    /// Print the proof as JSON.
    #[arg(long)]
    json: bool,
}

/// `masque log verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// C2SP tlog-policy file (log key, witnesses, quorum).
    #[arg(long)]
    policy: PathBuf,
    /// The checkpoint to verify.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Saved state: the last accepted checkpoint. Updated (atomically) on success.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Consistency proof (base64 lines) from the saved checkpoint to this one.
    #[arg(long)]
    consistency_proof: Option<PathBuf>,
    /// An entry whose inclusion to check (file with its exact bytes).
    #[arg(long, requires_all = ["index", "inclusion_proof"])]
    entry: Option<PathBuf>,
    /// Index of the entry.
    #[arg(long)]
    index: Option<u64>,
    /// Inclusion proof (base64 lines).
    #[arg(long)]
    inclusion_proof: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// `masque bench log`.
#[derive(Args)]
pub struct BenchLogArgs {
    /// Directory for the benchmark log (a fresh subdirectory is created and removed).
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Entries to append.
    #[arg(long, default_value_t = 500_000)]
    entries: u64,
    /// Entries per batch.
    #[arg(long, default_value_t = 4096)]
    batch: usize,
    /// Bytes per entry.
    #[arg(long, default_value_t = 256)]
    entry_size: usize,
    /// Inclusion proofs to build and verify.
    #[arg(long, default_value_t = 20_000)]
    proofs: u64,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

/// Reads a secret key file: refused if others can read it; the text is zeroized.
fn read_key(path: &Path) -> anyhow::Result<SecretKey> {
    let text = read_secret(path)?;
    SecretKey::from_skey(text.trim())
        .with_context(|| format!("{} is not a masque log or witness key", path.display()))
}

fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_proof(path: &Path) -> anyhow::Result<Vec<Hash>> {
    read_text(path)?
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            Hash::from_base64(l)
                .with_context(|| format!("{}: bad proof line {l:?}", path.display()))
        })
        .collect()
}

/// Opens the log in `dir` as its only writer (creating it if empty).
fn open_log_writer(
    dir: &Path,
    key: SecretKey,
) -> anyhow::Result<(Arc<FsStorage>, Log<Arc<FsStorage>>)> {
    let origin = key.name().as_str().to_owned();
    let storage = Arc::new(FsStorage::writer(dir)?);
    let log = if storage.read(masque_tlog::log::CHECKPOINT_KEY)?.is_some() {
        Log::open(storage.clone(), &origin, key)?
    } else {
        Log::create(storage.clone(), &origin, key)?
    };
    Ok((storage, log))
}

fn current_size(storage: &FsStorage, dir: &Path) -> anyhow::Result<u64> {
    let bytes = storage
        .read(masque_tlog::log::CHECKPOINT_KEY)?
        .with_context(|| format!("{} holds no log (no checkpoint file)", dir.display()))?;
    let note = masque_tlog::note::Note::parse(&bytes)?;
    Ok(masque_tlog::checkpoint::Checkpoint::parse(note.text())?.size())
}

/// Runs a `masque log` command.
pub fn run(command: LogCommand) -> anyhow::Result<()> {
    match command {
        LogCommand::Keygen(a) => keygen(a),
        LogCommand::Append(a) => append(a),
        LogCommand::Prove(a) => prove(a),
        LogCommand::Verify(a) => verify(a),
        LogCommand::Serve(a) => serve(a),
        LogCommand::Witness(a) => witness(a),
    }
}

fn keygen(a: KeygenArgs) -> anyhow::Result<()> {
    let key = SecretKey::generate(KeyName::new(&a.name)?);
    if a.out.file_name().is_none() {
        bail!("--out needs a file name, got {}", a.out.display());
    }
    // Mode 0600, and never over an existing file (even one created meanwhile).
    write_atomic(&a.out, key.to_skey().as_bytes(), WriteOptions::SECRET)?;
    let log_vkey = key.public_key(TYPE_ED25519).to_vkey();
    let witness_vkey = key.public_key(TYPE_COSIGNATURE_V1).to_vkey();
    if a.json {
        return print_json(&json!({
            "key_file": a.out,
            "log_vkey": log_vkey,
            "witness_vkey": witness_vkey,
        }));
    }
    println!("log vkey:     {log_vkey}");
    println!("witness vkey: {witness_vkey}");
    Ok(())
}

fn append(a: LocalLogArgs) -> anyhow::Result<()> {
    // Everything is read and checked before anything is created.
    let key = read_key(&a.key)?;
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .context("cannot read entries from standard input")?;
    let input = String::from_utf8(input)
        .context("standard input is not UTF-8 text: give one entry per line")?;
    let entries: Vec<&[u8]> = input.lines().map(str::as_bytes).collect();
    if entries.is_empty() {
        bail!("no entries on standard input: give one entry per line");
    }
    if let Some((line, e)) = entries
        .iter()
        .enumerate()
        .find(|(_, e)| e.len() > MAX_ENTRY_SIZE)
    {
        bail!(
            "line {} is {} bytes; entries must be at most {MAX_ENTRY_SIZE} bytes",
            line + 1,
            e.len()
        );
    }
    let (_storage, mut log) = open_log_writer(&a.dir, key)?;
    let receipt = log.append_batch(&entries)?;
    let checkpoint = String::from_utf8_lossy(&receipt.checkpoint).into_owned();
    if a.json {
        return print_json(&json!({
            "first_index": receipt.first_index,
            "count": receipt.count,
            "checkpoint": checkpoint,
        }));
    }
    for i in 0..receipt.count {
        println!("index {}", receipt.first_index + i);
    }
    print!("{checkpoint}");
    Ok(())
}

fn prove(a: ProveArgs) -> anyhow::Result<()> {
    // A reader: creates nothing, needs no lock.
    let storage = FsStorage::open_existing(&a.dir)?;
    let size = current_size(&storage, &a.dir)?;
    let mut reader = TreeReader::new(&storage, size);
    let (kind, proof) = match (a.index, a.old) {
        (Some(i), None) => ("inclusion", reader.inclusion_proof(i)?),
        (None, Some(old)) => ("consistency", reader.consistency_proof(old)?),
        _ => bail!("give --index (inclusion proof) or --old (consistency proof)"),
    };
    let lines: Vec<String> = proof.iter().map(Hash::to_base64).collect();
    if a.json {
        return print_json(&json!({
            "kind": kind,
            "tree_size": size,
            "index": a.index,
            "old_size": a.old,
            "proof": lines,
        }));
    }
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

fn verify(a: VerifyArgs) -> anyhow::Result<()> {
    let policy = Policy::parse(&read_text(&a.policy)?)
        .with_context(|| format!("{} is not a valid tlog-policy", a.policy.display()))?;
    let checkpoint = read_file(&a.checkpoint)?;
    let mut verifier = match &a.state {
        Some(path) if path.exists() => Verifier::resume(policy, &read_file(path)?)
            .with_context(|| format!("saved state {} is not usable", path.display()))?,
        _ => Verifier::new(policy),
    };
    let proof = a
        .consistency_proof
        .as_ref()
        .map(|p| read_proof(p))
        .transpose()?
        .unwrap_or_default();
    let accepted = verifier.advance(&checkpoint, &proof)?;
    let (origin, size, root) = (
        accepted.checkpoint.origin().to_owned(),
        accepted.checkpoint.size(),
        accepted.checkpoint.root().to_string(),
    );
    let cosigners: Vec<_> = accepted
        .cosigners
        .iter()
        .map(|(name, ts)| json!({"witness": name.to_string(), "timestamp": ts}))
        .collect();
    if !a.json {
        println!("checkpoint OK: {origin} size {size} root {root}");
        for (name, ts) in &accepted.cosigners {
            println!("cosigned by {name} at {ts}");
        }
    }
    let mut inclusion = None;
    if let (Some(entry), Some(index), Some(proof)) = (&a.entry, a.index, &a.inclusion_proof) {
        verifier.verify_inclusion(&leaf_hash(&read_file(entry)?), index, &read_proof(proof)?)?;
        if !a.json {
            println!("inclusion OK: entry {index}");
        }
        inclusion = Some(index);
    }
    if let Some(path) = &a.state {
        let note = &verifier.last().context("no checkpoint was accepted")?.note;
        write_atomic(path, note, WriteOptions::REPLACE)?;
    }
    if a.json {
        return print_json(&json!({
            "origin": origin,
            "size": size,
            "root": root,
            "cosigners": cosigners,
            "inclusion_verified_for_index": inclusion,
        }));
    }
    Ok(())
}

fn serve(a: ServeArgs) -> anyhow::Result<()> {
    let key = read_key(&a.log.key)?;
    let limits = a.limits.limits()?;
    // Bearer tokens are secrets too: same permission rule as keys.
    let tokens: Vec<String> = read_secret(&a.tokens)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if tokens.is_empty() {
        bail!("no tokens in {}", a.tokens.display());
    }
    let mut witnesses = Vec::new();
    for w in &a.witness {
        let (url, vkey) = w
            .split_once('=')
            .with_context(|| format!("--witness {w:?} is not <url>=<vkey>"))?;
        let key =
            PublicKey::from_vkey(vkey).with_context(|| format!("--witness {url}: bad vkey"))?;
        witnesses.push((url.to_owned(), key));
    }
    if a.max_batch == 0 {
        bail!("--max-batch must be at least 1");
    }
    let (storage, log) = open_log_writer(&a.log.dir, key)?;
    let origin = log.origin().to_owned();
    let json = a.log.json;
    serve_log_forever(
        &a.listen,
        storage,
        log,
        &tokens,
        LogServeOptions {
            witnesses,
            max_batch: a.max_batch,
            max_wait: Duration::from_millis(a.max_wait_ms),
            limits,
        },
        |address| {
            if json {
                let line = json!({"event": "listening", "origin": origin, "url": format!("http://{address}")});
                println!("{line}");
            } else {
                eprintln!("serving log {origin} on http://{address}");
            }
        },
    )?;
    Ok(())
}

fn witness(a: WitnessArgs) -> anyhow::Result<()> {
    let key = read_key(&a.key)?;
    let limits = a.limits.limits()?;
    let logs = a
        .logs
        .iter()
        .map(|v| PublicKey::from_vkey(v).with_context(|| format!("--log {v:?} is not a vkey")))
        .collect::<Result<Vec<_>, _>>()?;
    // One witness per state directory: two would cosign from diverging states.
    let witness = Witness::new(key, logs, FsStorage::writer(&a.dir)?)?;
    let vkey = witness.public_key().to_vkey();
    let json = a.json;
    serve_witness_forever(&a.listen, witness, limits, |address| {
        if json {
            let line = json!({"event": "listening", "witness_vkey": vkey, "url": format!("http://{address}")});
            println!("{line}");
        } else {
            println!("witness vkey: {vkey}");
            eprintln!("witness listening on http://{address}");
        }
    })?;
    Ok(())
}

/// Runs `masque bench log`.
pub fn bench(a: BenchLogArgs) -> anyhow::Result<()> {
    let dir = a
        .dir
        .join(format!("masque-bench-log-{}", std::process::id()));
    if dir.exists() {
        bail!("{} exists", dir.display());
    }
    let result =
        masque_tlog::bench::run_log_bench(&dir, a.entries, a.batch, a.entry_size, a.proofs);
    std::fs::remove_dir_all(&dir).ok();
    let r = result?;
    if a.json {
        return print_json(&json!({
            "entries": r.entries,
            "entry_size": r.entry_size,
            "batch": r.batch,
            "appends_per_sec": r.appends_per_sec,
            "proof_builds_per_sec": r.proof_builds_per_sec,
            "verifications_per_sec": r.verifications_per_sec,
            "bytes_per_entry": r.bytes_per_entry,
        }));
    }
    println!(
        "log bench: {} entries of {} bytes, batches of {}",
        r.entries, r.entry_size, r.batch
    );
    println!("durable appends/s:          {:.0}", r.appends_per_sec);
    println!("inclusion proof builds/s:   {:.0}", r.proof_builds_per_sec);
    println!("inclusion verifications/s:  {:.0}", r.verifications_per_sec);
    println!("bytes on disk per entry:    {:.1}", r.bytes_per_entry);
    Ok(())
}
