//! The core of the masque wallet, the person's side of the network: the recovery phrase,
//! every key derived from it, the per-record audit tags, and the wallet file.
//!
//! * [`RecoveryPhrase`]: 24 BIP-39 English words; their seed is the wallet's only root
//!   secret.
//! * [`WalletKeys`]: per record index, an Ed25519 [`RecordKey`] (signs the person's
//!   operations on that record) and an [`AuditKey`] `k_record` (the log's audit tag of the
//!   n-th operation is [`audit_tag`]`(k_record, n)`); and the seed of the person's
//!   credentials ([`WalletKeys::cred_seed`], given to masque-cred). All by HKDF-SHA-256
//!   under versioned labels ([`keys`]).
//! * [`Wallet`]: the state (records, consents, credentials, receipts) and the phrase in one
//!   file, encrypted with a passphrase (Argon2id + XChaCha20-Poly1305) or not, written
//!   atomically with mode 0600, one writer at a time ([`format`](mod@format), [`wallet`](mod@wallet)).
//!
//! Guarantees: restoring from the phrase gives the same keys, audit tags and credential
//! seed (so the same pseudonyms); secrets are zeroized on drop and never appear in `Debug`
//! output or errors; a damaged, truncated or altered file gives an error, never a panic.
//!
//! Limits: the phrase restores keys, not state: records, consents, credentials and
//! receipts live only in the file (back it up, or recover them from the network). The
//! passphrase protects the file at rest, not a running process's memory. See
//! `docs/wallet.md`.

#![deny(missing_docs)]

mod codec;
mod error;
pub mod format;
pub mod keys;
mod passphrase;
mod phrase;
pub mod state;
pub mod wallet;

pub use error::{PhraseError, WalletError};
pub use format::KdfCost;
pub use keys::{AuditKey, AuditTag, RecordIndex, RecordKey, WalletKeys, audit_tag};
pub use passphrase::Passphrase;
pub use phrase::{RecoveryPhrase, Seed, WORDS};
pub use state::{OpaqueBytes, Record, StoredItem, WalletState};
pub use wallet::{Protection, SealedWallet, Wallet};
