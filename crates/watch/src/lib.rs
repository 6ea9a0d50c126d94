//! The watchdog: anyone (an auditor, a journalist, the person themselves) runs it to keep
//! a masque network honest through its transparency log.
//!
//! What it does:
//! - **follows** a log over HTTP (C2SP tiles), verifies every checkpoint against the
//!   network's witness policy and recomputes each new root from the previous one and the
//!   new entries, so a log that rewrites history or shows two views is caught
//!   ([`follow`]);
//! - **replays** every entry against the network's rules ([`rules`]) and runs streaming
//!   **detectors** for abuse that no single entry shows ([`detect`]);
//! - raises **alerts**, kept with the watcher's state in one embedded database so a
//!   restart neither repeats nor misses one ([`store`], [`alert`]);
//! - exports **evidence** bundles that a third party checks offline with nothing but the
//!   network's public keys ([`evidence`]);
//! - serves an **explorer** page, including a personal audit that runs in the browser
//!   ([`explorer`]).
//!
//! What it cannot see: anything the log does not carry. Entries are unlinkable without a
//! record's audit key, so rules about one record across entries (no operation after a
//! deletion) are checked only for records whose audit keys the watcher was given.
#![deny(missing_docs)]

pub mod activity;
pub mod alert;
pub mod archive;
pub mod data;
pub mod detect;
pub mod error;
pub mod evidence;
pub mod explorer;
pub mod follow;
pub mod frontier;
pub mod metrics;
pub mod proofs;
pub mod rules;
pub mod store;
pub mod synth;
pub mod view;

pub use error::WatchError;
pub use follow::{PollReport, WatchOptions, Watcher};
