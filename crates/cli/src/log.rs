//! `masque log ...` and `masque bench log`: argument parsing and wiring for the
//! transparency log (`masque-tlog`); the logic lives in the library.

use std::io::Read as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use masque_tlog::hash::{Hash, leaf_hash};
use masque_tlog::http::{serve_log_forever, serve_witness_forever};
use masque_tlog::keys::{KeyName, PublicKey, SecretKey, TYPE_COSIGNATURE_V1, TYPE_ED25519};
use masque_tlog::log::Log;
use masque_tlog::policy::Policy;
use masque_tlog::reader::TreeReader;
use masque_tlog::storage::{FsStorage, Storage};
use masque_tlog::verifier::Verifier;
use masque_tlog::witness::Witness;

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
    /// Where to write the secret key (Go `note` PRIVATE+KEY format). Refuses to overwrite.
    #[arg(long)]
    out: PathBuf,
}

/// Options that locate a local log and its key.
#[derive(Args)]
pub struct LocalLogArgs {
    /// Log directory.
    #[arg(long)]
    dir: PathBuf,
    /// Secret key file of the log (its name is the origin).
    #[arg(long)]
    key: PathBuf,
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
    /// Longest wait for a batch to fill, in milliseconds.
    #[arg(long, default_value_t = 50)]
    max_wait_ms: u64,
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
}

fn read_key(path: &PathBuf) -> anyhow::Result<SecretKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading key {}", path.display()))?;
    Ok(SecretKey::from_skey(text.trim())?)
}

fn read_proof(path: &PathBuf) -> anyhow::Result<Vec<Hash>> {
    std::fs::read_to_string(path)?
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| Hash::from_base64(l).with_context(|| format!("bad proof line {l:?}")))
        .collect()
}

fn current_size(storage: &FsStorage) -> anyhow::Result<u64> {
    let bytes = storage
        .read(masque_tlog::log::CHECKPOINT_KEY)?
        .context("no checkpoint in the log directory")?;
    let note = masque_tlog::note::Note::parse(&bytes)?;
    Ok(masque_tlog::checkpoint::Checkpoint::parse(note.text())?.size())
}

/// Runs a `masque log` command.
pub fn run(command: LogCommand) -> anyhow::Result<()> {
    match command {
        LogCommand::Keygen(a) => {
            if a.out.exists() {
                bail!("{} exists; not overwriting a key", a.out.display());
            }
            let key = SecretKey::generate(KeyName::new(&a.name)?);
            let dir = a
                .out
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let name = a
                .out
                .file_name()
                .context("--out needs a file name")?
                .to_string_lossy()
                .into_owned();
            FsStorage::new(dir)?.write(&name, key.to_skey().as_bytes())?;
            println!("log vkey:     {}", key.public_key(TYPE_ED25519).to_vkey());
            println!(
                "witness vkey: {}",
                key.public_key(TYPE_COSIGNATURE_V1).to_vkey()
            );
            Ok(())
        }
        LogCommand::Append(a) => {
            let key = read_key(&a.key)?;
            let origin = key.name().as_str().to_owned();
            let storage = FsStorage::new(&a.dir)?;
            let mut log = if storage.read(masque_tlog::log::CHECKPOINT_KEY)?.is_some() {
                Log::open(storage, &origin, key)?
            } else {
                Log::create(storage, &origin, key)?
            };
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input)?;
            let entries: Vec<&[u8]> = input.lines().map(str::as_bytes).collect();
            let receipt = log.append_batch(&entries)?;
            for i in 0..receipt.count {
                println!("index {}", receipt.first_index + i);
            }
            print!("{}", String::from_utf8_lossy(&receipt.checkpoint));
            Ok(())
        }
        LogCommand::Prove(a) => {
            let storage = FsStorage::new(&a.dir)?;
            let size = current_size(&storage)?;
            let mut reader = TreeReader::new(&storage, size);
            let proof = match (a.index, a.old) {
                (Some(i), None) => reader.inclusion_proof(i)?,
                (None, Some(old)) => reader.consistency_proof(old)?,
                _ => bail!("give --index or --old"),
            };
            for h in proof {
                println!("{}", h.to_base64());
            }
            Ok(())
        }
        LogCommand::Verify(a) => verify(a),
        LogCommand::Serve(a) => serve(a),
        LogCommand::Witness(a) => witness(a),
    }
}

fn verify(a: VerifyArgs) -> anyhow::Result<()> {
    let policy = Policy::parse(&std::fs::read_to_string(&a.policy)?)?;
    let checkpoint = std::fs::read(&a.checkpoint)?;
    let mut verifier = match &a.state {
        Some(path) if path.exists() => Verifier::resume(policy, &std::fs::read(path)?)?,
        _ => Verifier::new(policy),
    };
    let proof = a
        .consistency_proof
        .as_ref()
        .map(read_proof)
        .transpose()?
        .unwrap_or_default();
    let accepted = verifier.advance(&checkpoint, &proof)?;
    println!(
        "checkpoint OK: {} size {} root {}",
        accepted.checkpoint.origin(),
        accepted.checkpoint.size(),
        accepted.checkpoint.root()
    );
    for (name, ts) in &accepted.cosigners {
        println!("cosigned by {name} at {ts}");
    }
    if let (Some(entry), Some(index), Some(proof)) = (&a.entry, a.index, &a.inclusion_proof) {
        verifier.verify_inclusion(
            &leaf_hash(&std::fs::read(entry)?),
            index,
            &read_proof(proof)?,
        )?;
        println!("inclusion OK: entry {index}");
    }
    if let Some(path) = &a.state {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let name = path
            .file_name()
            .context("--state needs a file name")?
            .to_string_lossy()
            .into_owned();
        FsStorage::new(dir)?.write(&name, &verifier.last().expect("just accepted").note)?;
    }
    Ok(())
}

fn serve(a: ServeArgs) -> anyhow::Result<()> {
    let key = read_key(&a.log.key)?;
    let origin = key.name().as_str().to_owned();
    let storage = Arc::new(FsStorage::new(&a.log.dir)?);
    let log = if storage.read(masque_tlog::log::CHECKPOINT_KEY)?.is_some() {
        Log::open(storage.clone(), &origin, key)?
    } else {
        Log::create(storage.clone(), &origin, key)?
    };
    let tokens: Vec<String> = std::fs::read_to_string(&a.tokens)?
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
        let (url, vkey) = w.split_once('=').context("--witness is <url>=<vkey>")?;
        witnesses.push((url.to_owned(), PublicKey::from_vkey(vkey)?));
    }
    serve_log_forever(
        &a.listen,
        storage,
        log,
        &tokens,
        witnesses,
        a.max_batch,
        Duration::from_millis(a.max_wait_ms),
    )?;
    Ok(())
}

fn witness(a: WitnessArgs) -> anyhow::Result<()> {
    let key = read_key(&a.key)?;
    let logs = a
        .logs
        .iter()
        .map(|v| PublicKey::from_vkey(v))
        .collect::<Result<Vec<_>, _>>()?;
    let witness = Witness::new(key, logs, FsStorage::new(&a.dir)?)?;
    println!("witness vkey: {}", witness.public_key().to_vkey());
    serve_witness_forever(&a.listen, witness)?;
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
