//! The relying party over HTTP: an axum [`Router`] under `/v1`, request parsing with size
//! and time limits, and serving with graceful shutdown.
//!
//! | method and path | body | answer |
//! | --- | --- | --- |
//! | `GET /v1/info` | | [`Info`] |
//! | `POST /v1/challenge` | none | the challenge, a `masque-cred` envelope `{"v":1,"kind":"challenge","body":…}` |
//! | `POST /v1/presentations` | a presentation envelope (JSON, or its compact base64url form) | [`Accepted`] |
//!
//! Every refusal is `application/problem+json` ([`Problem`]). A body larger than
//! [`HttpLimits::max_body_bytes`] is refused with 413 before it is read in full; one that
//! does not arrive within [`HttpLimits::body_read`] with 408. A body that cannot be parsed
//! is refused with 400 before anything is looked up or stored.
//!
//! Serving, with connection limits and graceful shutdown, is in [`crate::serve`].
//!
//! Not done here: TLS (run behind a TLS-terminating reverse proxy), rate limits.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use masque_cred::{Presentation, WireObject};

use crate::api::{Accepted, Info};
use crate::problem::{Problem, from_cred};
use crate::service::Service;

/// Limits on requests and connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest request body in bytes (a presentation is about 1 KiB).
    pub max_body_bytes: usize,
    /// Most time to receive a whole request body.
    pub body_read: Duration,
    /// Most time to receive a request's headers.
    pub header_read: Duration,
    /// Most connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 * 1024,
            body_read: Duration::from_secs(10),
            header_read: Duration::from_secs(10),
            max_connections: 256,
        }
    }
}

/// Reads a request body of at most `limits.max_body_bytes` within `limits.body_read`.
pub(crate) async fn read_body(body: Body, limits: HttpLimits) -> Result<Bytes, Problem> {
    let limit = limits.max_body_bytes;
    match tokio::time::timeout(limits.body_read, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            Err(if too_large {
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body-too-large",
                    "Request body too large",
                    format!("the request body is larger than {limit} bytes"),
                )
            } else {
                Problem::bad_request(format!("could not read the request body: {e}"))
            })
        }
        Err(_) => Err(Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "body-timeout",
            "Request body too slow",
            format!(
                "the request body did not arrive within {} s",
                limits.body_read.as_secs_f64()
            ),
        )),
    }
}

/// Parses a request body as a `masque-cred` object: its JSON envelope, or the compact
/// base64url form of it. Never panics; every failure says what was wrong.
pub fn parse_wire<T: WireObject>(body: &[u8]) -> Result<T, Problem> {
    let text = std::str::from_utf8(body)
        .map_err(|_| Problem::bad_request(format!("the {} body is not UTF-8 text", T::KIND)))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Problem::bad_request(format!(
            "the request body is empty: send a {} object",
            T::KIND
        )));
    }
    let parsed = if text.starts_with('{') {
        T::from_json(text.as_bytes())
    } else {
        T::from_compact(text)
    };
    parsed.map_err(|e| Problem::bad_request(format!("not a valid {} object: {e}", T::KIND)))
}

/// Parses a presentation request body (see [`parse_wire`]).
pub fn parse_presentation(body: &[u8]) -> Result<Presentation, Problem> {
    parse_wire(body)
}

/// A JSON answer with `status`.
pub(crate) fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut r = (status, bytes).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => Problem::internal(format!("could not encode the answer: {e}")).into_response(),
    }
}

/// A credential object's envelope as the answer.
pub(crate) fn wire_response(object: &impl WireObject) -> Response {
    let mut r = (StatusCode::OK, object.to_json()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Runs CPU-heavy or store work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Problem::internal(format!("the request's worker failed: {e}")))?
}

/// 404 and 405 as problems, for every router of this crate.
pub(crate) fn with_fallbacks(router: Router) -> Router {
    router
        .fallback(|| async {
            Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "No such endpoint",
                "no such endpoint: see GET /v1/info and docs/service.md",
            )
        })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this endpoint does not take that method (challenges and presentations are POST)",
            )
        })
}

#[derive(Clone)]
struct AppState {
    service: Arc<Service>,
    limits: HttpLimits,
}

/// The relying party's router (see the module docs for the endpoints).
pub fn router(service: Arc<Service>, limits: HttpLimits) -> Router {
    let routes = Router::new()
        .route("/v1/info", get(info))
        .route("/v1/challenge", post(challenge))
        .route("/v1/presentations", post(presentation))
        .with_state(AppState { service, limits });
    with_fallbacks(routes)
}

async fn info(State(s): State<AppState>) -> Response {
    json_response(
        StatusCode::OK,
        &Info {
            kind: "service".into(),
            context_id: s.service.context_id().as_str().to_owned(),
            issuer_key_id: s.service.issuer_key_id(),
            desk: None,
            round: None,
        },
    )
}

async fn challenge(State(s): State<AppState>) -> Response {
    let service = s.service.clone();
    match blocking(move || service.challenge().map_err(|e| from_cred(&e))).await {
        Ok(c) => wire_response(&c),
        Err(p) => {
            tracing::error!(detail = %p.detail, "challenge failed");
            p.into_response()
        }
    }
}

async fn presentation(State(s): State<AppState>, body: Body) -> Response {
    let result = async {
        let bytes = read_body(body, s.limits).await?;
        let p = parse_presentation(&bytes)?;
        let service = s.service.clone();
        blocking(move || service.verify(&p).map_err(|e| from_cred(&e))).await
    }
    .await;
    match result {
        Ok(v) => {
            tracing::info!(epoch = v.epoch.0, "presentation accepted");
            json_response(StatusCode::OK, &Accepted::from(&v))
        }
        Err(p) => {
            tracing::info!(
                problem = p.slug(),
                status = p.status,
                "presentation refused"
            );
            p.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_that_are_not_presentations_are_refused_with_a_reason() {
        for (body, needle) in [
            (&b""[..], "empty"),
            (&b"\xff\xfe"[..], "UTF-8"),
            (&b"{}"[..], "presentation"),
            (&br#"{"v":1,"kind":"challenge","body":{}}"#[..], "challenge"),
            (
                &br#"{"v":9,"kind":"presentation","body":{}}"#[..],
                "version",
            ),
            (&b"not base64 !!"[..], "base64"),
        ] {
            let p = parse_presentation(body).unwrap_err();
            assert_eq!(p.status, 400);
            assert!(p.detail.contains(needle), "{:?}: {}", body, p.detail);
        }
    }
}
