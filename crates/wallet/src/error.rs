//! The wallet's one error type. No variant carries a secret: recovery phrases,
//! passphrases, seeds and keys never appear in an error message or its `Debug` output.

use std::path::PathBuf;

use masque_files::FileError;
use thiserror::Error;

/// What went wrong with a wallet, its recovery phrase or its file.
#[derive(Debug, Error)]
pub enum WalletError {
    /// Reading, writing or locking the wallet file failed (it exists already, another
    /// process holds its lock, others can read it, an I/O error, ...).
    #[error(transparent)]
    File(#[from] FileError),
    /// The recovery phrase is not a valid 24-word BIP-39 English phrase.
    #[error("invalid recovery phrase: {0}")]
    Phrase(PhraseError),
    /// The file is encrypted and the passphrase does not open it (or the encrypted part
    /// was altered: the two cannot be told apart).
    #[error(
        "cannot open {}: wrong passphrase, or the file was altered or damaged",
        path.display()
    )]
    WrongPassphrase {
        /// The wallet file.
        path: PathBuf,
    },
    /// The file is not a wallet file this version can read.
    #[error(
        "{} is not a readable masque wallet: {reason} (restore it from a backup or from its recovery phrase)",
        path.display()
    )]
    Corrupt {
        /// The wallet file.
        path: PathBuf,
        /// What is wrong with it (never any of its contents).
        reason: String,
    },
    /// The file is encrypted and no passphrase was given.
    #[error("{} is encrypted: give its passphrase", path.display())]
    PassphraseNeeded {
        /// The wallet file.
        path: PathBuf,
    },
    /// A passphrase was given for a file that is not encrypted.
    #[error(
        "{} is not encrypted, but a passphrase was given (open it without one)",
        path.display()
    )]
    NotEncrypted {
        /// The wallet file.
        path: PathBuf,
    },
    /// A passphrase or key-derivation parameter that cannot be used.
    #[error("{0}")]
    Passphrase(&'static str),
    /// A wallet opened read-only was asked to save.
    #[error("{} was opened read-only; open it for update to change it", path.display())]
    ReadOnly {
        /// The wallet file.
        path: PathBuf,
    },
    /// Every record index (2^32), or every operation number of a record, is used.
    #[error("this wallet has used every record index or operation number")]
    IndexesExhausted,
    /// A record index that is not taken, already has a record, or has none.
    #[error("record {0} cannot be used here: its index was not taken, is in use, or has no record")]
    RecordIndex(crate::keys::RecordIndex),
}

/// Why a recovery phrase was refused; says which word, never what it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PhraseError {
    /// Not 24 words.
    #[error("it has {0} words; a masque recovery phrase has 24")]
    WordCount(usize),
    /// A word is not in the BIP-39 English word list.
    #[error("word {0} is not in the BIP-39 English word list (check its spelling)")]
    UnknownWord(usize),
    /// The words are all valid but their checksum does not match.
    #[error(
        "its checksum does not match: a word is wrong or the words are out of order (check each word against your written copy)"
    )]
    Checksum,
}
