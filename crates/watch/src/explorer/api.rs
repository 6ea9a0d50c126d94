//! The explorer's JSON API handlers and their errors.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::ExplorerData;
use crate::WatchError;

/// The most entries one `/api/entries` answer carries (and how many it carries when the
/// query names no `limit`).
pub const MAX_PAGE: u64 = 1000;

/// Alert ids are at most this long.
const MAX_ID: usize = 128;

type Data = State<Arc<dyn ExplorerData>>;

/// An error answer: `{"error": "..."}` with its status.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<WatchError> for ApiError {
    fn from(error: WatchError) -> Self {
        match error {
            WatchError::NotFound(message) => Self::new(StatusCode::NOT_FOUND, message),
            WatchError::Input { .. } => Self::bad_request(error.to_string()),
            WatchError::Store { .. } => {
                // The database's path is the operator's business, not the public's.
                tracing::error!(%error, "explorer: the watcher's state could not be read");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the watcher's state could not be read (its operator finds why in the \
                     watcher's log)",
                )
            }
            WatchError::Log(_) | WatchError::Evidence(_) => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
            }
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                error: &self.message,
            }),
        )
            .into_response()
    }
}

/// Runs `f` on the data source in tokio's blocking pool; a panic there becomes a 500.
async fn blocking<T: Send + 'static>(
    data: Arc<dyn ExplorerData>,
    f: impl FnOnce(&dyn ExplorerData) -> Result<T, WatchError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(move || f(&*data)).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(error) => {
            tracing::error!(%error, "explorer: a data call failed");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the watcher failed to answer (its operator finds why in the watcher's log)",
            ))
        }
    }
}

/// `GET /api/status`.
pub(super) async fn status(State(data): Data) -> Result<Response, ApiError> {
    Ok(Json(blocking(data, |d| d.status()).await?).into_response())
}

/// `GET /api/alerts`.
pub(super) async fn alerts(State(data): Data) -> Result<Response, ApiError> {
    Ok(Json(blocking(data, |d| d.alerts()).await?).into_response())
}

/// `GET /api/activity`.
pub(super) async fn activity(State(data): Data) -> Result<Response, ApiError> {
    Ok(Json(blocking(data, |d| d.activity()).await?).into_response())
}

/// `GET /api/alerts/{id}/evidence`: the bundle as a download.
pub(super) async fn evidence(
    State(data): Data,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let valid = !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && !id.starts_with('.');
    if !valid {
        return Err(ApiError::bad_request(format!(
            "alert ids are 1 to {MAX_ID} letters, digits, '-', '_' or '.' (as /api/alerts \
             lists them)"
        )));
    }
    let lookup = id.clone();
    match blocking(data, move |d| d.evidence(&lookup)).await? {
        Some(bundle) => Ok((
            [
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{id}.evidence.json\""),
                ),
            ],
            bundle,
        )
            .into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no alert {id} (see /api/alerts for the alerts raised)"),
        )),
    }
}

/// `GET /api/entries?from=N&limit=M`.
pub(super) async fn entries(State(data): Data, uri: Uri) -> Result<Response, ApiError> {
    let (from, limit) = page_query(uri.query())?;
    Ok(Json(blocking(data, move |d| d.entries(from, limit)).await?).into_response())
}

/// `GET /checkpoint`: the note as text.
pub(super) async fn checkpoint(State(data): Data) -> Result<Response, ApiError> {
    match blocking(data, |d| d.checkpoint()).await? {
        Some(note) => {
            Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
        }
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "the watcher has verified no checkpoint yet",
        )),
    }
}

/// `GET /metrics`: Prometheus text.
pub(super) async fn metrics(State(data): Data) -> Result<Response, ApiError> {
    let text = blocking(data, |d| d.metrics()).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// Any other path.
pub(super) async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "nothing at {} (the explorer serves /, /api/status, /api/alerts, \
             /api/alerts/<id>/evidence, /api/entries, /api/activity, /checkpoint and /metrics)",
            uri.path()
        ),
    )
}

/// A method other than GET (or HEAD).
pub(super) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "the explorer only answers GET requests",
    )
}

/// Parses `from` (default 0) and `limit` (default and cap [`MAX_PAGE`]) from a query.
pub(super) fn page_query(query: Option<&str>) -> Result<(u64, u64), ApiError> {
    let (mut from, mut limit) = (None, None);
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match name {
            "from" => &mut from,
            "limit" => &mut limit,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter '{}': /api/entries takes from (the first index) \
                     and limit (1 to {MAX_PAGE})",
                    shorten(name)
                )));
            }
        };
        if slot.is_some() {
            return Err(ApiError::bad_request(format!(
                "query parameter '{name}' given twice"
            )));
        }
        let number = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
            .then(|| value.parse::<u64>().ok())
            .flatten()
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{name} must be a whole number from 0 to {}, not '{}'",
                    u64::MAX,
                    shorten(value)
                ))
            })?;
        *slot = Some(number);
    }
    let limit = limit.unwrap_or(MAX_PAGE);
    if limit == 0 {
        return Err(ApiError::bad_request(format!(
            "limit must be 1 to {MAX_PAGE} (larger values are capped at {MAX_PAGE})"
        )));
    }
    Ok((from.unwrap_or(0), limit.min(MAX_PAGE)))
}

/// At most 40 characters of a client's input, for an error message.
fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        short.push_str("...");
    }
    short
}
