//! The custodian's HTTP API under `/v1`.
//!
//! Every request is signed ([`masque_protocol::request`]): by a registered station
//! (`enrol`), by the record's key (`verify`, `delete`, `consents`), or by another
//! custodian (`peer/*`). Bodies are read up to the configured limit before anything is
//! parsed; every error is a problem document (`application/problem+json`) that says
//! what was wrong. The operations' table is in [`masque_protocol::api`].
//! `GET /v1/openapi.json` describes the API, `GET /v1/health` says whether the MPC links
//! are up and `GET /metrics` exposes counters.

mod auth;
mod openapi;
mod ops;
mod peer;
pub mod problem;

use crate::node::Node;
use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use std::sync::Arc;

/// The router of a custodian.
pub fn router(node: Arc<Node>) -> Router {
    Router::new()
        .route("/v1/enrol", post(ops::enrol))
        .route("/v1/verify", post(ops::verify))
        .route("/v1/delete", post(ops::delete))
        .route("/v1/consents", post(ops::grant_consent))
        .route("/v1/consents/revoke", post(ops::revoke_consent))
        .route("/v1/credentials/offer", post(ops::offer))
        .route("/v1/credentials", post(ops::issue))
        .route("/v1/peer/run", post(peer::run))
        .route("/v1/peer/run-batch", post(peer::run_batch))
        .route("/v1/peer/cosign", post(peer::cosign))
        .route("/v1/peer/decide", post(peer::decide))
        .route("/v1/peer/decision/{id}", get(peer::decision))
        .route("/v1/health", get(health))
        .route("/v1/openapi.json", get(openapi::document))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(node)
}

async fn health(State(node): State<Arc<Node>>) -> Response {
    let up = node.mpc.links_up();
    let store = node.store.clone();
    let (stored, unsettled) = tokio::task::spawn_blocking(move || {
        (
            store.record_count().unwrap_or(u64::MAX),
            store.prepared().map(|p| p.len()).unwrap_or(usize::MAX),
        )
    })
    .await
    .unwrap_or((u64::MAX, usize::MAX));
    let body = serde_json::json!({
        "custodian": masque_protocol::custodian_name(node.party),
        "mpc_links_up": up,
        "gallery_records": node.mpc.gallery_len(),
        "stored_records": stored,
        "unsettled_requests": unsettled,
    });
    let status = if up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn metrics(State(node): State<Arc<Node>>) -> Response {
    let text = node.metrics.render(
        masque_protocol::custodian_name(node.party),
        node.mpc.gallery_len(),
        node.inbox.waiting(),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn not_found() -> problem::ApiError {
    problem::ApiError::new(
        StatusCode::NOT_FOUND,
        "no such endpoint; GET /v1/openapi.json describes the API",
    )
}
