//! Reading a request: its body up to the limit, its signature, its freshness and
//! whether its id was seen before.

use super::problem::{ApiError, blocking};
use crate::node::Node;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use masque_protocol::request::{RequestAuth, check_fresh, unix_now};

/// A request whose signature verified.
pub struct Signed {
    /// The signature headers.
    pub auth: RequestAuth,
    /// The body.
    pub body: Vec<u8>,
}

/// Reads the body (at most the configured size) and checks the signature for `method`
/// and `path` at this custodian, the timestamp window, and (unless `replay_ok`) that
/// the request id is new.
pub async fn read_signed(
    node: &Node,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    body: Body,
) -> Result<Signed, ApiError> {
    let limit = node.config.limits.max_body_bytes;
    if let Some(length) = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && length > limit
    {
        return Err(too_large(limit));
    }
    let body = http_body_util::Limited::new(body, limit)
        .collect()
        .await
        .map_err(|_| too_large(limit))?
        .to_bytes()
        .to_vec();
    let auth = RequestAuth::from_headers(|name| headers.get(name).and_then(|v| v.to_str().ok()))
        .map_err(|e| ApiError::new(StatusCode::UNAUTHORIZED, e.to_string()))?;
    auth.verify(node.party, method, path, &body).map_err(|_| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            format!(
                "the signature does not verify for {method} {path} at {}: the request was altered, signed for another custodian, or signed with another key",
                masque_protocol::custodian_name(node.party)
            ),
        )
    })?;
    let now = unix_now();
    check_fresh(auth.timestamp, now, node.network.request_window_s)
        .map_err(|e| ApiError::new(StatusCode::UNAUTHORIZED, e.to_string()))?;
    let store = node.store.clone();
    let id = auth.request_id;
    let fresh = blocking(move || store.first_sight(&id, now)).await?;
    if !fresh {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("request id {id} was already used; every request needs a fresh id"),
        ));
    }
    Ok(Signed { auth, body })
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the body is larger than this custodian's limit of {limit} bytes"),
    )
}

/// Parses a JSON body, naming what is wrong.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the JSON body is not valid here: {e}")))
}
