//! A wallet on disk: its recovery phrase, keys and state, read from and written to one
//! file (see [`crate::format`]).
//!
//! * Written atomically with mode 0600 ([`masque_files::write_atomic`]): a crash or an
//!   error leaves the previous file whole, never a half-written one. A new wallet never
//!   replaces an existing file.
//! * One writer: a wallet opened for update ([`Wallet::open`], [`Wallet::create`]) holds
//!   an exclusive lock on `<file>.lock` until dropped, so two processes never write one
//!   wallet at once. [`Wallet::load`] reads without the lock and cannot save.
//! * Read with [`masque_files::read_secret_up_to`]: a file that others can read is refused.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use masque_files::{FileError, WriteOptions, WriterLock, read_secret_up_to, write_atomic};
use zeroize::Zeroizing;

use crate::error::WalletError;
use crate::format::{self, FileKey, KdfCost, Sealed};
use crate::keys::{AuditTag, RecordIndex, WalletKeys};
use crate::passphrase::Passphrase;
use crate::phrase::RecoveryPhrase;
use crate::state::{Body, Record, SecretText, WalletState};

/// How a wallet file is protected at rest.
#[derive(Debug, Clone)]
pub enum Protection {
    /// Not encrypted (still mode 0600): anyone who can read the file has the wallet.
    None,
    /// Encrypted under a key derived from the passphrase with Argon2id at `cost`.
    Passphrase(Passphrase, KdfCost),
}

/// An open wallet.
pub struct Wallet {
    path: PathBuf,
    phrase: RecoveryPhrase,
    keys: WalletKeys,
    state: WalletState,
    file_key: Option<FileKey>,
    lock: Option<WriterLock>,
}

impl fmt::Debug for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wallet")
            .field("path", &self.path)
            .field("encrypted", &self.is_encrypted())
            .field("records", &self.state.records.len())
            .field("writable", &self.lock.is_some())
            .finish_non_exhaustive()
    }
}

/// A wallet file read from disk but not yet opened: ask for its passphrase if
/// [`SealedWallet::is_encrypted`], then [`SealedWallet::unlock`].
pub struct SealedWallet {
    path: PathBuf,
    sealed: Sealed,
    lock: Option<WriterLock>,
}

impl fmt::Debug for SealedWallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedWallet")
            .field("path", &self.path)
            .field("encrypted", &self.is_encrypted())
            .finish_non_exhaustive()
    }
}

impl SealedWallet {
    /// Whether the file is encrypted (so [`SealedWallet::unlock`] needs the passphrase).
    pub fn is_encrypted(&self) -> bool {
        self.sealed.is_encrypted()
    }

    /// Opens the wallet: decrypts it with `passphrase` if it is encrypted (and refuses a
    /// passphrase for a plain file), checks the recovery phrase and derives the keys.
    pub fn unlock(self, passphrase: Option<&Passphrase>) -> Result<Wallet, WalletError> {
        let (body, file_key) = self.sealed.open(&self.path, passphrase)?;
        let phrase =
            RecoveryPhrase::parse(&body.recovery_phrase.0).map_err(|e| WalletError::Corrupt {
                path: self.path.clone(),
                reason: format!("its recovery phrase is invalid ({e})"),
            })?;
        Ok(Wallet {
            keys: WalletKeys::from_seed(&phrase.seed()),
            path: self.path,
            phrase,
            state: body.state,
            file_key,
            lock: self.lock,
        })
    }
}

/// `<file>.lock`, next to the wallet file.
fn lock_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".lock");
    PathBuf::from(name)
}

fn read(path: &Path, lock: Option<WriterLock>) -> Result<SealedWallet, WalletError> {
    let text = read_secret_up_to(path, format::MAX_FILE_LEN)?;
    let sealed = format::parse(path, &text)?;
    Ok(SealedWallet {
        path: path.to_owned(),
        sealed,
        lock,
    })
}

impl Wallet {
    /// Creates a new wallet file at `path` (its directory must exist) for `phrase`, created
    /// at `now` (Unix seconds). Refuses an existing file; the returned wallet holds the
    /// file's lock.
    pub fn create(
        path: &Path,
        phrase: RecoveryPhrase,
        protection: Protection,
        now: u64,
    ) -> Result<Wallet, WalletError> {
        let lock = WriterLock::acquire_file(&lock_path(path))?;
        // Checked before the (slow) key derivation; the write itself refuses a file that
        // appears meanwhile.
        if path.exists() {
            return Err(FileError::Exists {
                path: path.to_owned(),
            }
            .into());
        }
        let file_key = match &protection {
            Protection::None => None,
            Protection::Passphrase(passphrase, cost) => Some(FileKey::new(passphrase, *cost)?),
        };
        let wallet = Wallet {
            path: path.to_owned(),
            keys: WalletKeys::from_seed(&phrase.seed()),
            phrase,
            state: WalletState::new(now),
            file_key,
            lock: Some(lock),
        };
        write_atomic(path, &wallet.encode(), WriteOptions::SECRET)?;
        Ok(wallet)
    }

    /// Reads the wallet at `path` for update, taking its lock (fails if another process
    /// holds it).
    pub fn open(path: &Path) -> Result<SealedWallet, WalletError> {
        let lock = WriterLock::acquire_file(&lock_path(path))?;
        read(path, Some(lock))
    }

    /// Reads the wallet at `path` to look at it, without the lock; it cannot be saved.
    pub fn load(path: &Path) -> Result<SealedWallet, WalletError> {
        read(path, None)
    }

    fn encode(&self) -> Zeroizing<Vec<u8>> {
        let body = Body {
            recovery_phrase: SecretText(self.phrase.to_phrase()),
            state: self.state.clone(),
        };
        format::encode(&body, self.file_key.as_ref())
    }

    /// Writes the wallet back to its file (atomically, mode 0600, a fresh nonce).
    pub fn save(&mut self) -> Result<(), WalletError> {
        if self.lock.is_none() {
            return Err(WalletError::ReadOnly {
                path: self.path.clone(),
            });
        }
        write_atomic(&self.path, &self.encode(), WriteOptions::SECRET_REPLACE)?;
        Ok(())
    }

    /// Sets, changes or removes the passphrase (a fresh salt) and saves.
    pub fn set_protection(&mut self, protection: Protection) -> Result<(), WalletError> {
        if self.lock.is_none() {
            return Err(WalletError::ReadOnly {
                path: self.path.clone(),
            });
        }
        self.file_key = match &protection {
            Protection::None => None,
            Protection::Passphrase(passphrase, cost) => Some(FileKey::new(passphrase, *cost)?),
        };
        self.save()
    }

    /// The wallet file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file is encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.file_key.is_some()
    }

    /// The Argon2id cost of the file key, when encrypted.
    pub fn kdf_cost(&self) -> Option<KdfCost> {
        self.file_key.as_ref().map(FileKey::cost)
    }

    /// The recovery phrase (secret: show it only to the person).
    pub fn phrase(&self) -> &RecoveryPhrase {
        &self.phrase
    }

    /// The wallet's keys.
    pub fn keys(&self) -> &WalletKeys {
        &self.keys
    }

    /// The state.
    pub fn state(&self) -> &WalletState {
        &self.state
    }

    /// The state, to change (then [`Wallet::save`]).
    pub fn state_mut(&mut self) -> &mut WalletState {
        &mut self.state
    }

    /// Takes the next record index (for a new enrolment); indexes are never reused.
    pub fn new_record_index(&mut self) -> Result<RecordIndex, WalletError> {
        let index = self.state.next_record_index;
        self.state.next_record_index = index.checked_add(1).ok_or(WalletError::IndexesExhausted)?;
        Ok(RecordIndex(index))
    }

    /// Adds an enrolled record; its index must have been taken with
    /// [`Wallet::new_record_index`] and not be in use.
    pub fn add_record(&mut self, record: Record) -> Result<(), WalletError> {
        if record.index.0 >= self.state.next_record_index
            || self.state.records.iter().any(|r| r.index == record.index)
        {
            return Err(WalletError::RecordIndex(record.index));
        }
        self.state.records.push(record);
        Ok(())
    }

    /// The record with `index`.
    pub fn record(&self, index: RecordIndex) -> Option<&Record> {
        self.state.records.iter().find(|r| r.index == index)
    }

    /// Counts one more operation on record `index` and returns its number `n` and audit
    /// tag `HMAC(k_record, n)`.
    pub fn next_operation(&mut self, index: RecordIndex) -> Result<(u64, AuditTag), WalletError> {
        let tag_key = self.keys.audit_key(index);
        let record = self
            .state
            .records
            .iter_mut()
            .find(|r| r.index == index)
            .ok_or(WalletError::RecordIndex(index))?;
        let n = record.ops;
        record.ops = n.checked_add(1).ok_or(WalletError::IndexesExhausted)?;
        Ok((n, tag_key.tag(n)))
    }
}
