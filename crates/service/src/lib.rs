//! masque's relying party: a service that issues challenges for its own `context_id`,
//! verifies presentations of masque credentials and learns one pseudonym per person; and
//! the example aid desk built on it.
//!
//! * [`Service`]: the library API a website or app embeds — [`Service::challenge`],
//!   [`Service::verify`] — over `masque-cred`'s verifier, with single-use nonces that can
//!   be kept in a redb file ([`Nonces::open`]) so they stay used across restarts.
//! * [`http::router`]: the same over HTTP (axum, under `/v1`), with size-limited request
//!   bodies and errors as `application/problem+json` ([`problem`]); [`serve::serve`] with
//!   connection limits and graceful shutdown on Ctrl-C / SIGTERM
//!   ([`serve::shutdown_signal`]).
//! * [`ServiceClient`]: the wallet's side — fetch a challenge, let the caller prove it,
//!   post the presentation, get the pseudonym.
//! * [`desk`]: the aid desk — one claim per person per round, context per desk and round,
//!   claims kept durably in redb, and a plain operator page.
//! * [`config`]: one TOML file per role, checked at start; [`run`] serves it.
//!
//! # Guarantees
//!
//! * A service learns from a presentation only the pseudonym for its context, the epoch
//!   and the attributes it requires. Pseudonyms of different services, and of different
//!   rounds or desks of the aid desk, cannot be linked (under the credential scheme's
//!   assumptions).
//! * A nonce is accepted at most once, also across restarts when kept in redb; an expired
//!   one is refused. Every refusal says what was wrong ([`problem`]).
//! * Nothing here logs or shows pseudonyms or credential bytes.
//!
//! # Limits
//!
//! Plain HTTP only (TLS by a reverse proxy in front), no rate limits,
//! one process per data directory. See `docs/service.md`.

#![deny(missing_docs)]

pub mod api;
pub mod client;
pub mod clock;
pub mod config;
pub mod desk;
pub mod http;
pub mod problem;
pub mod run;
pub mod serve;
pub mod service;

pub use api::{Accepted, Info, RoundOpened};
pub use client::{ClientError, ServiceClient};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, ConfigError, Cutoff, Kind};
pub use desk::{AidDesk, DeskError, DeskId, DeskPolicy};
pub use problem::Problem;
pub use run::{RunError, Served};
pub use service::{Nonces, Service};
