//! HTTP serving with axum: the log's static resources, an authenticated append endpoint,
//! the witness endpoint, and an HTTP transport for asking witnesses to cosign.
//!
//! * `GET /checkpoint`: `text/plain; charset=utf-8`, `Cache-Control: no-cache, max-age=0`
//!   (the spec asks to prevent caching beyond a few seconds).
//! * `GET /tile/<L>/<N>[.p/<W>]` and `GET /tile/entries/<N>[.p/<W>]`:
//!   `application/octet-stream`, `Cache-Control: public, max-age=31536000, immutable`.
//!   Only tiles that the published tree has are served (404 otherwise), so a client can
//!   never cache a tile written by a batch that was not committed.
//! * `POST /add-entries`: `Authorization: Bearer <token>`; body = entries in entry-bundle
//!   framing (16-bit big-endian length prefix each); answers `<first index> <count>\n`
//!   followed by the checkpoint that covers them.
//! * `POST /add-checkpoint` (witness): C2SP `tlog-witness`.
//!
//! The append endpoint checks the bearer token from the headers before it reads a byte of
//! the body, so unauthenticated clients cannot make the server buffer uploads. Servers
//! started with [`serve_log_forever`] / [`serve_witness_forever`] run under
//! [`ServerLimits`]: connection cap, header and body deadlines, idle timeout.
//!
//! Not done: TLS (put a TLS-terminating proxy in front), gzip of entry bundles.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::cosignature::CosignatureVerifier;
use crate::cosigning::{WitnessPeer, WitnessTransport};
use crate::log::{CHECKPOINT_KEY, Log};
use crate::sequencer::{AppendError, Sequencer};
use crate::serve::{ServerLimits, serve};
use crate::storage::Storage;
use crate::tiles::{self, TileId};
use crate::witness::{Witness, WitnessError};

/// Largest append request body.
pub const MAX_APPEND_BODY: usize = 16 << 20;

/// Largest witness request body.
pub const MAX_WITNESS_BODY: usize = 1 << 20;

/// Reads a request body of at most `limit` bytes within `deadline`, or answers why not.
async fn read_body(body: Body, limit: usize, deadline: Duration) -> Result<Bytes, Response> {
    match tokio::time::timeout(deadline, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            Err(if too_large {
                text(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body is larger than {limit} bytes\n"),
                )
            } else {
                text(
                    StatusCode::BAD_REQUEST,
                    format!("could not read the request body: {e}\n"),
                )
            })
        }
        Err(_) => Err(text(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "request body not received within {} s\n",
                deadline.as_secs_f64()
            ),
        )),
    }
}

/// Shared state of a log server.
pub struct LogServer<S: Storage> {
    storage: Arc<S>,
    log: Arc<Mutex<Log<Arc<S>>>>,
    sequencer: Sequencer,
    token_digests: Vec<[u8; 32]>,
    published: watch::Receiver<u64>,
    published_tx: Arc<watch::Sender<u64>>,
    body_read: Duration,
}

impl<S: Storage> std::fmt::Debug for LogServer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogServer")
            .field("published", &*self.published.borrow())
            .finish_non_exhaustive()
    }
}

impl<S: Storage + 'static> LogServer<S> {
    /// Serves `log` (whose storage is `storage`); `tokens` are the bearer tokens allowed
    /// to append (only their SHA-256 digests are kept).
    pub fn new(
        storage: Arc<S>,
        mut log: Log<Arc<S>>,
        tokens: &[String],
        max_batch: usize,
        max_wait: Duration,
    ) -> Result<LogServer<S>, crate::log::LogError> {
        let size = log.size()?;
        let (tx, rx) = watch::channel(size);
        let tx = Arc::new(tx);
        let log = Arc::new(Mutex::new(log));
        let notify = tx.clone();
        let sequencer = Sequencer::start(log.clone(), max_batch, max_wait, move |size| {
            notify.send_replace(size);
        });
        let token_digests = tokens
            .iter()
            .map(|t| Sha256::digest(t.as_bytes()).into())
            .collect();
        Ok(LogServer {
            storage,
            log,
            sequencer,
            token_digests,
            published: rx,
            published_tx: tx,
            body_read: ServerLimits::default().body_read,
        })
    }

    /// Sets the deadline for receiving an append body (default
    /// [`ServerLimits::default`]'s).
    pub fn with_body_read_timeout(mut self, deadline: Duration) -> Self {
        self.body_read = deadline;
        self
    }

    /// The log (for proofs and cosignatures).
    pub fn log(&self) -> &Arc<Mutex<Log<Arc<S>>>> {
        &self.log
    }

    /// A receiver that changes whenever the published size does.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.published_tx.subscribe()
    }
}

/// The router of a log server.
pub fn log_router<S: Storage + 'static>(server: Arc<LogServer<S>>) -> Router {
    Router::new()
        .route("/checkpoint", get(get_checkpoint::<S>))
        .route("/tile/{*path}", get(get_tile::<S>))
        .route("/add-entries", post(add_entries::<S>))
        .with_state(server)
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

async fn get_checkpoint<S: Storage + 'static>(State(server): State<Arc<LogServer<S>>>) -> Response {
    let storage = server.storage.clone();
    match tokio::task::spawn_blocking(move || storage.read(CHECKPOINT_KEY)).await {
        Ok(Ok(Some(bytes))) => (
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache, max-age=0"),
            ],
            bytes,
        )
            .into_response(),
        _ => text(StatusCode::SERVICE_UNAVAILABLE, "checkpoint unavailable\n"),
    }
}

async fn get_tile<S: Storage + 'static>(
    State(server): State<Arc<LogServer<S>>>,
    Path(path): Path<String>,
) -> Response {
    let path = format!("tile/{path}");
    let Ok(tile) = TileId::parse_path(&path) else {
        return text(StatusCode::NOT_FOUND, "not a tile path\n");
    };
    let size = *server.published.borrow();
    if !tile.exists_in_tree(size) {
        return text(StatusCode::NOT_FOUND, "tile not in the published tree\n");
    }
    let storage = server.storage.clone();
    match tokio::task::spawn_blocking(move || storage.read(&tile.path())).await {
        Ok(Ok(Some(bytes))) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response(),
        Ok(Ok(None)) => text(StatusCode::NOT_FOUND, "tile missing\n"),
        _ => text(StatusCode::SERVICE_UNAVAILABLE, "storage error\n"),
    }
}

fn authorized(digests: &[[u8; 32]], headers: &HeaderMap) -> bool {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    // Comparing digests leaks nothing useful about the token through timing.
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    digests.contains(&digest)
}

async fn add_entries<S: Storage + 'static>(
    State(server): State<Arc<LogServer<S>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // The token is checked from the headers alone: nothing of the body is read (or
    // buffered) for a client that may not append.
    if !authorized(&server.token_digests, &headers) {
        let mut r = text(
            StatusCode::UNAUTHORIZED,
            "missing or invalid bearer token\n",
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    let body = match read_body(body, MAX_APPEND_BODY, server.body_read).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let count = {
        let mut n = 0usize;
        let mut rest = &body[..];
        loop {
            if rest.is_empty() {
                break Some(n);
            }
            if rest.len() < 2 {
                break None;
            }
            let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            if rest.len() < 2 + len {
                break None;
            }
            rest = &rest[2 + len..];
            n += 1;
        }
    };
    let entries = match count.map(|n| tiles::decode_bundle(&body, n)) {
        Some(Ok(e)) if !e.is_empty() => e.into_iter().map(<[u8]>::to_vec).collect::<Vec<_>>(),
        _ => {
            return text(
                StatusCode::BAD_REQUEST,
                "body must be one or more entries, each prefixed by its 16-bit big-endian length\n",
            );
        }
    };
    let n = entries.len();
    let server2 = server.clone();
    match tokio::task::spawn_blocking(move || server2.sequencer.append(entries)).await {
        Ok(Ok(done)) => {
            let mut body = format!("{} {n}\n", done.first_index).into_bytes();
            body.extend_from_slice(&done.checkpoint);
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
        }
        Ok(Err(AppendError::EntryTooLarge(len))) => text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("entry of {len} bytes is too large\n"),
        ),
        Ok(Err(e)) => text(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "append task failed\n"),
    }
}

/// The router of a witness: `POST /add-checkpoint`, with the default body deadline.
pub fn witness_router<S: Storage + 'static>(witness: Arc<Witness<S>>) -> Router {
    witness_router_with(witness, ServerLimits::default().body_read)
}

/// The router of a witness, receiving each request body within `body_read`.
pub fn witness_router_with<S: Storage + 'static>(
    witness: Arc<Witness<S>>,
    body_read: Duration,
) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint::<S>))
        .with_state((witness, body_read))
}

async fn add_checkpoint<S: Storage + 'static>(
    State((witness, body_read)): State<(Arc<Witness<S>>, Duration)>,
    body: Body,
) -> Response {
    let body = match read_body(body, MAX_WITNESS_BODY, body_read).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let result = tokio::task::spawn_blocking(move || witness.add_checkpoint(&body)).await;
    match result {
        Ok(Ok(lines)) => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], lines).into_response()
        }
        Ok(Err(WitnessError::Conflict(size))) => (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{size}\n"),
        )
            .into_response(),
        Ok(Err(e)) => text(
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            format!("{e}\n"),
        ),
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "witness task failed\n"),
    }
}

/// Asks a witness over plain HTTP (`<submission prefix>/add-checkpoint`). Must be used
/// from a thread that is not running async code (e.g. `spawn_blocking`), as it blocks
/// on `handle`.
#[derive(Debug, Clone)]
pub struct HttpWitnessTransport {
    url: String,
    handle: tokio::runtime::Handle,
    timeout: Duration,
}

impl HttpWitnessTransport {
    /// A transport to the witness with this submission prefix (`http://host:port/prefix`).
    pub fn new(
        prefix: &str,
        handle: tokio::runtime::Handle,
        timeout: Duration,
    ) -> HttpWitnessTransport {
        HttpWitnessTransport {
            url: format!("{}/add-checkpoint", prefix.trim_end_matches('/')),
            handle,
            timeout,
        }
    }
}

impl WitnessTransport for HttpWitnessTransport {
    fn add_checkpoint(&self, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let request = hyper::Request::post(&self.url)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Full::new(Bytes::copy_from_slice(body)))
            .map_err(|e| e.to_string())?;
        let timeout = self.timeout;
        self.handle.block_on(async move {
            let response = tokio::time::timeout(timeout, client.request(request))
                .await
                .map_err(|_| "timeout".to_string())?
                .map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let body = tokio::time::timeout(timeout, response.into_body().collect())
                .await
                .map_err(|_| "timeout".to_string())?
                .map_err(|e| e.to_string())?;
            Ok((status, body.to_bytes().to_vec()))
        })
    }
}

/// Asks every witness to cosign each new checkpoint and attaches the cosignatures,
/// forever (until the server's sequencer stops). Failures are logged with `tracing` and
/// retried at the next checkpoint.
pub async fn run_cosigning<S: Storage + 'static>(
    server: Arc<LogServer<S>>,
    peers: Vec<WitnessPeer<HttpWitnessTransport>>,
) {
    let mut changes = server.subscribe();
    let peers = Arc::new(Mutex::new(peers));
    loop {
        let server = server.clone();
        let peers = peers.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let checkpoint = match server
                .log
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .checkpoint()
            {
                Ok(c) => c,
                Err(e) => return tracing::warn!("cosigning: no checkpoint: {e}"),
            };
            let Ok(note) = crate::note::Note::parse(&checkpoint) else {
                return;
            };
            let Ok(cp) = crate::checkpoint::Checkpoint::parse(note.text()) else {
                return;
            };
            let mut signatures = Vec::new();
            for peer in peers.lock().unwrap_or_else(|p| p.into_inner()).iter_mut() {
                let mut reader = crate::reader::TreeReader::new(server.storage.as_ref(), cp.size());
                match peer.cosign(&checkpoint, |old| {
                    reader.consistency_proof(old).map_err(|e| e.to_string())
                }) {
                    Ok(sig) => signatures.push(sig),
                    Err(e) => tracing::warn!(
                        "witness {} did not cosign size {}: {e}",
                        peer.verifier.key().name(),
                        cp.size()
                    ),
                }
            }
            if signatures.is_empty() {
                return;
            }
            let attached = server
                .log
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .add_cosignatures(note.text(), signatures);
            if let Err(e) = attached {
                tracing::warn!("could not attach cosignatures: {e}");
            }
        })
        .await;
        if changes.changed().await.is_err() {
            return;
        }
    }
}

/// Why a server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Binding or serving failed.
    #[error("server I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The log could not be opened.
    #[error(transparent)]
    Log(#[from] crate::log::LogError),
}

/// How a log server batches appends and which witnesses it asks.
#[derive(Debug, Clone)]
pub struct LogServeOptions {
    /// Witnesses to ask for cosignatures: `(submission prefix URL, cosignature key)`.
    pub witnesses: Vec<(String, crate::keys::PublicKey)>,
    /// Largest batch.
    pub max_batch: usize,
    /// Longest wait for a batch to fill.
    pub max_wait: Duration,
    /// Connection and request limits.
    pub limits: ServerLimits,
}

/// Serves a log on `listen` until the process ends, asking the witnesses of `options` to
/// cosign every new checkpoint. `on_listening` is told the bound address once the server
/// accepts connections.
pub fn serve_log_forever<S: Storage + 'static>(
    listen: &str,
    storage: Arc<S>,
    log: Log<Arc<S>>,
    tokens: &[String],
    options: LogServeOptions,
    on_listening: impl FnOnce(std::net::SocketAddr),
) -> Result<(), ServeError> {
    let LogServeOptions {
        witnesses,
        max_batch,
        max_wait,
        limits,
    } = options;
    let runtime = tokio::runtime::Runtime::new()?;
    let origin = log.origin().to_owned();
    let server = Arc::new(
        LogServer::new(storage, log, tokens, max_batch, max_wait)?
            .with_body_read_timeout(limits.body_read),
    );
    let mut peers = Vec::new();
    for (url, key) in witnesses {
        let verifier = CosignatureVerifier::new(key)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        peers.push(WitnessPeer::new(
            verifier,
            HttpWitnessTransport::new(&url, runtime.handle().clone(), Duration::from_secs(10)),
        ));
    }
    runtime.block_on(async move {
        if !peers.is_empty() {
            tokio::spawn(run_cosigning(server.clone(), peers));
        }
        let listener = tokio::net::TcpListener::bind(listen).await?;
        tracing::info!(origin = %origin, "log server listening");
        on_listening(listener.local_addr()?);
        serve(listener, log_router(server), limits).await?;
        Ok(())
    })
}

/// Serves a witness on `listen` under `limits` until the process ends. `on_listening` is
/// told the bound address once the server accepts connections.
pub fn serve_witness_forever<S: Storage + 'static>(
    listen: &str,
    witness: Witness<S>,
    limits: ServerLimits,
    on_listening: impl FnOnce(std::net::SocketAddr),
) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        on_listening(listener.local_addr()?);
        let router = witness_router_with(Arc::new(witness), limits.body_read);
        serve(listener, router, limits).await?;
        Ok(())
    })
}
