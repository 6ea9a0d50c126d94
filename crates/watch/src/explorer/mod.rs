//! The explorer: the web page `masque watch serve` shows, and the JSON API behind it.
//!
//! [`explorer_router`] serves, from whatever implements [`ExplorerData`]:
//!
//! | path | answer |
//! | --- | --- |
//! | `GET /` , `/app.js`, `/util.js`, `/plot.js`, `/audit.js`, `/style.css` | the page (embedded in the binary) |
//! | `GET /api/status` | [`StatusView`] |
//! | `GET /api/alerts` | [`AlertView`]s, newest first |
//! | `GET /api/alerts/{id}/evidence` | the alert's evidence bundle, as a download `<id>.evidence.json` |
//! | `GET /api/entries?from=N&limit=M` | [`EntriesPage`] (`limit` at most [`MAX_PAGE`], which is also its default) |
//! | `GET /api/activity` | [`ActivityView`] |
//! | `GET /checkpoint` | the latest verified checkpoint note, for peer monitors' gossip |
//! | `GET /metrics` | Prometheus text |
//!
//! Guarantees:
//! - **The personal audit's key never leaves the page.** The page computes audit tags
//!   in the browser (WebCrypto HMAC-SHA-256) over entries it fetches with the same
//!   requests for everyone (`/api/entries`, page by page from 0): no request, URL, query,
//!   header, cookie or storage carries the key or anything derived from it. A key given
//!   in the URL *fragment* (`#audit-key=...`, which browsers never send) is removed from
//!   the location as soon as it is read. The watcher learns that someone fetched the whole
//!   log, not whose records they looked for.
//! - **Nothing is loaded from elsewhere and no inline script runs**: every answer carries
//!   a Content-Security-Policy that allows only this server's own scripts, styles and
//!   connections ([`CONTENT_SECURITY_POLICY`]), `Referrer-Policy: no-referrer` and
//!   `X-Content-Type-Options: nosniff`; `/api` answers are never cached.
//! - **Bad requests get a JSON error, never a panic**: `{"error": "..."}` with a 4xx
//!   status for a malformed query or an unknown path or alert, 5xx when the watcher's
//!   state cannot be read (or a data source panics).
//!
//! The data calls are synchronous (database reads) and run on tokio's blocking pool.

mod api;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::WatchError;
use crate::view::{ActivityView, AlertView, EntriesPage, StatusView};
use masque_tlog::serve::ServerLimits;

pub use api::MAX_PAGE;

/// The Content-Security-Policy of every answer: the page runs only this server's scripts
/// and styles, talks only to this server and cannot be framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self'; \
     img-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// What the explorer shows: the watcher's state, read on each request.
///
/// The calls may block briefly (database reads); the router runs them on tokio's
/// blocking pool.
pub trait ExplorerData: Send + Sync + 'static {
    /// Where the watcher stands.
    fn status(&self) -> Result<StatusView, WatchError>;
    /// The alerts raised so far, newest first.
    fn alerts(&self) -> Result<Vec<AlertView>, WatchError>;
    /// The evidence bundle (its JSON bytes) of the alert with this id; `None` for an
    /// unknown id.
    fn evidence(&self, id: &str) -> Result<Option<Vec<u8>>, WatchError>;
    /// Up to `limit` verified entries from index `from` (`limit` is 1 to [`MAX_PAGE`]).
    fn entries(&self, from: u64, limit: u64) -> Result<EntriesPage, WatchError>;
    /// Operations per station and hour.
    fn activity(&self) -> Result<ActivityView, WatchError>;
    /// The latest verified checkpoint note, as signed and cosigned; `None` before the
    /// first one.
    fn checkpoint(&self) -> Result<Option<Vec<u8>>, WatchError>;
    /// The watcher's metrics, Prometheus text format 0.0.4.
    fn metrics(&self) -> Result<String, WatchError>;
}

/// The page's files, embedded: (path, content type, text).
const ASSETS: [(&str, &str, &str); 6] = [
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("assets/index.html"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
    (
        "/util.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/util.js"),
    ),
    (
        "/plot.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/plot.js"),
    ),
    (
        "/audit.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/audit.js"),
    ),
    (
        "/style.css",
        "text/css; charset=utf-8",
        include_str!("assets/style.css"),
    ),
];

/// The explorer's routes (page, API, checkpoint, metrics) over `data`.
pub fn explorer_router(data: Arc<dyn ExplorerData>) -> Router {
    let mut router = Router::new();
    for (path, content_type, text) in ASSETS {
        router = router.route(
            path,
            get(move || async move {
                (
                    [
                        (header::CONTENT_TYPE, content_type),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    text,
                )
            }),
        );
    }
    router
        .route("/api/status", get(api::status))
        .route("/api/alerts", get(api::alerts))
        .route("/api/alerts/{id}/evidence", get(api::evidence))
        .route("/api/entries", get(api::entries))
        .route("/api/activity", get(api::activity))
        .route("/checkpoint", get(api::checkpoint))
        .route("/metrics", get(api::metrics))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .with_state(data)
        .layer(axum::middleware::map_response(security_headers))
}

/// Serves the explorer on `listener` under `limits` (connection cap, header deadline,
/// idle timeout: the log server's, [`masque_tlog::serve`]) until the listener fails.
pub async fn serve_explorer(
    listener: tokio::net::TcpListener,
    data: Arc<dyn ExplorerData>,
    limits: ServerLimits,
) -> std::io::Result<()> {
    masque_tlog::serve::serve(listener, explorer_router(data), limits).await
}

/// Adds the security headers to every answer, and `Cache-Control: no-store` to every
/// answer that is not one of the page's files.
async fn security_headers(response: Response) -> impl IntoResponse {
    let mut response = response;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
