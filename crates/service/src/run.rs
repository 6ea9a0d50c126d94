//! Running a relying party or an aid desk from its [`Config`]: open the stores, build the
//! router, listen, serve until shutdown.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use masque_cred::{CredError, VerifierPolicy};
use thiserror::Error;

use crate::clock::Clock;
use crate::config::{Config, ConfigError, Cutoff, Kind};
use crate::desk::http::AdminToken;
use crate::desk::{AidDesk, DeskError, DeskPolicy, NONCE_STORE_FILE};
use crate::service::{Nonces, Service};

/// Why a service could not start or stopped with an error.
#[derive(Debug, Error)]
pub enum RunError {
    /// The config is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The relying party could not be set up (its nonce store, the issuer key).
    #[error("cannot start the service: {0}")]
    Service(#[from] CredError),
    /// The aid desk could not be set up.
    #[error("cannot start the aid desk: {0}")]
    Desk(#[from] DeskError),
    /// The operator token file is unusable.
    #[error("operator token file: {0}")]
    Token(String),
    /// Listening or serving failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// What is being served, for the "listening" announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// `service` or `aid-desk`.
    pub kind: &'static str,
    /// The context of the challenges it issues now.
    pub context_id: String,
    /// Aid desk: its id and open round.
    pub desk: Option<(String, u64)>,
}

/// Reads the operator token file, if it exists (refused if others can read it).
fn read_token(path: &Path) -> Result<Option<AdminToken>, RunError> {
    if !path.exists() {
        tracing::warn!(
            file = %path.display(),
            "no operator token file: rounds can only be opened with the server stopped"
        );
        return Ok(None);
    }
    let text = masque_files::read_secret(path).map_err(|e| RunError::Token(e.to_string()))?;
    AdminToken::new(&text)
        .map(Some)
        .map_err(|e| RunError::Token(format!("{}: {e}", path.display())))
}

/// The aid desk of `config` (opens its stores; fails if another process has them).
pub fn open_desk(config: &Config, clock: Arc<dyn Clock>) -> Result<AidDesk, RunError> {
    let Kind::AidDesk { desk, .. } = &config.kind else {
        return Err(RunError::Desk(DeskError::Store(format!(
            "{} configures a service, not an aid desk (kind = \"service\")",
            config.path.display()
        ))));
    };
    let policy = DeskPolicy {
        issuer: config.issuer.clone(),
        epochs: config.epochs,
        required: config.required.clone(),
        cutoff: config.cutoff,
        nonce_lifetime_secs: config.nonce_lifetime_secs,
    };
    Ok(AidDesk::open(
        desk.clone(),
        policy,
        &config.data_dir,
        clock,
    )?)
}

/// Builds the router of `config` with its stores open.
pub fn build(config: &Config, clock: Arc<dyn Clock>) -> Result<(Router, Served), RunError> {
    match &config.kind {
        Kind::Service { context_id } => {
            std::fs::create_dir_all(&config.data_dir).map_err(|source| RunError::Io {
                what: format!("cannot create {}", config.data_dir.display()),
                source,
            })?;
            let policy = VerifierPolicy {
                context_id: context_id.clone(),
                issuer: config.issuer.clone(),
                required: config.required.clone(),
                nonce_lifetime_secs: config.nonce_lifetime_secs,
                schedule: config.epochs,
                enrolled_before: match config.cutoff {
                    Cutoff::Quarter(q) => Some(q),
                    Cutoff::None | Cutoff::RoundStart => None,
                },
            };
            let nonces = Nonces::open(&config.data_dir.join(NONCE_STORE_FILE))?;
            let service = Arc::new(Service::new(policy, nonces, clock)?);
            let served = Served {
                kind: "service",
                context_id: context_id.as_str().to_owned(),
                desk: None,
            };
            Ok((crate::http::router(service, config.http), served))
        }
        Kind::AidDesk {
            admin_token_file, ..
        } => {
            let token = read_token(admin_token_file)?;
            let desk = Arc::new(open_desk(config, clock)?);
            let round = desk.current_round().number;
            let served = Served {
                kind: "aid-desk",
                context_id: desk.current_context().as_str().to_owned(),
                desk: Some((desk.desk().as_str().to_owned(), round)),
            };
            Ok((crate::desk::http::router(desk, config.http, token), served))
        }
    }
}

/// Serves `config` until Ctrl-C or SIGTERM, telling `on_listening` the bound address.
pub async fn run(
    config: &Config,
    clock: Arc<dyn Clock>,
    on_listening: impl FnOnce(SocketAddr, &Served),
) -> Result<(), RunError> {
    let (router, served) = build(config, clock)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| RunError::Io {
            what: format!("cannot listen on {}", config.listen),
            source,
        })?;
    let address = listener.local_addr().map_err(|source| RunError::Io {
        what: "cannot read the bound address".into(),
        source,
    })?;
    let shutdown = crate::serve::shutdown_signal().map_err(|source| RunError::Io {
        what: "cannot install the Ctrl-C / SIGTERM handlers".into(),
        source,
    })?;
    tracing::info!(%address, kind = served.kind, context_id = %served.context_id, "listening");
    on_listening(address, &served);
    crate::serve::serve(listener, router, config.http, shutdown)
        .await
        .map_err(|source| RunError::Io {
            what: "serving failed".into(),
            source,
        })?;
    tracing::info!("stopped");
    Ok(())
}
