//! Calls between custodians: the coordinator's run order and decision, and a peer's
//! question about a prepared request after a restart.

use super::auth::{Signed, parse_json, read_signed};
use super::openapi::{SignedErrors, SignedHeaders};
use super::problem::{ApiError, blocking};
use crate::coordinator::answer_decision;
use crate::flow;
use crate::node::Node;
use axum::{
    Json,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use masque_protocol::{
    PartyId, RequestId,
    api::{
        BatchOrder, BatchVotes, CosignOrder, CosignShares, DecideOrder, OperationResult, RunOrder,
        Vote,
    },
    custodian_name,
    entry::{EntryBody, LogEntry},
};
use std::sync::Arc;
use std::time::Duration;

/// How long a run order waits for the station's request to reach this custodian.
const ARRIVAL_WAIT: Duration = Duration::from_secs(10);

/// The largest batch a peer runs (the coordinator's `limits.max_batch` is at most this).
const MAX_BATCH: usize = 256;

fn require_custodian(
    node: &Node,
    signed: &Signed,
    allowed: &[PartyId],
) -> Result<PartyId, ApiError> {
    allowed
        .iter()
        .copied()
        .find(|p| node.network.custodian(*p).signing_key == signed.auth.key)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "only {} may make this call",
                    allowed
                        .iter()
                        .map(|p| custodian_name(*p))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            )
        })
}

struct InFlight<'a>(&'a Node, RequestId);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.1);
    }
}

/// `POST /v1/peer/run` (P0 → P1, P2).
#[utoipa::path(
    post,
    path = "/v1/peer/run",
    description = "Coordinator to peer: run a sequenced request and prepare it. Signed by P0.",
    params(SignedHeaders),
    request_body = RunOrder,
    responses(
        (status = 200, description = "Vote", body = Vote),
        SignedErrors,
    )
)]
pub async fn run(State(node): State<Arc<Node>>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let signed = read_signed(&node, &headers, "POST", "/v1/peer/run", body).await?;
        require_custodian(&node, &signed, &[PartyId::P0])?;
        let order: RunOrder = parse_json(&signed.body)?;
        let id = order.request_id;
        node.in_flight.lock().unwrap_or_else(|p| p.into_inner()).insert(id);
        let _guard = InFlight(&node, id);
        let store = node.store.clone();
        let unsettled = blocking(move || store.prepared())
            .await?;
        if let Some(p) = unsettled.iter().find(|p| p.request_id != id) {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{} is still settling request {} from before; try again shortly", custodian_name(node.party), p.request_id),
            ));
        }
        let op = node.inbox.take(&id, ARRIVAL_WAIT).await.ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                format!("request {id} did not reach {} (the sender must send it to all three custodians)", custodian_name(node.party)),
            )
        })?;
        crate::failpoint::hit("peer-before-prepare");
        match flow::prepare(node.clone(), order, op).await {
            Ok(prepared) => Ok(Json(vote(&node, id, &prepared.entry)).into_response()),
            Err(e) => {
                node.inbox.finish(&id, Err(format!("{}: {e}", custodian_name(node.party))));
                Err(ApiError::internal(e))
            }
        }
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /v1/peer/run-batch` (P0 → P1, P2).
#[utoipa::path(
    post,
    path = "/v1/peer/run-batch",
    description = "Coordinator to peer: run sequenced enrolments as one batch (one MPC, each member also compared with the members before it) and prepare each. Signed by P0.",
    params(SignedHeaders),
    request_body = BatchOrder,
    responses(
        (status = 200, description = "One vote per member, in order", body = BatchVotes),
        SignedErrors,
    )
)]
pub async fn run_batch(State(node): State<Arc<Node>>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let signed = read_signed(&node, &headers, "POST", "/v1/peer/run-batch", body).await?;
        require_custodian(&node, &signed, &[PartyId::P0])?;
        let order: BatchOrder = parse_json(&signed.body)?;
        let ids: Vec<RequestId> = order.members.iter().map(|m| m.request_id).collect();
        let distinct: std::collections::HashSet<&RequestId> = ids.iter().collect();
        if ids.is_empty() || ids.len() > MAX_BATCH || distinct.len() != ids.len() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("a batch holds 1 to {MAX_BATCH} distinct requests; this one has {} ({} distinct)", ids.len(), distinct.len()),
            ));
        }
        node.in_flight.lock().unwrap_or_else(|p| p.into_inner()).extend(ids.iter().copied());
        let _guards: Vec<InFlight<'_>> = ids.iter().map(|id| InFlight(&node, *id)).collect();
        let store = node.store.clone();
        let unsettled = blocking(move || store.prepared()).await?;
        if let Some(p) = unsettled.iter().find(|p| !ids.contains(&p.request_id)) {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{} is still settling request {} from before; try again shortly", custodian_name(node.party), p.request_id),
            ));
        }
        let mut members = Vec::with_capacity(ids.len());
        for member in order.members {
            let id = member.request_id;
            let Some(op) = node.inbox.take(&id, ARRIVAL_WAIT).await else {
                let reason = format!("request {id} of the batch did not reach {} (the sender must send it to all three custodians)", custodian_name(node.party));
                // The members already taken are not run: their stations hear why now.
                for taken in &ids {
                    node.inbox.finish(taken, Err(reason.clone()));
                }
                return Err(ApiError::new(StatusCode::CONFLICT, reason));
            };
            members.push((member, op));
        }
        crate::failpoint::hit("peer-before-prepare");
        match flow::prepare_enrolments(node.clone(), members).await {
            Ok(prepared) => Ok(Json(BatchVotes {
                votes: prepared
                    .iter()
                    .map(|p| vote(&node, p.request_id, &p.entry))
                    .collect(),
            })
            .into_response()),
            Err(e) => {
                for id in &ids {
                    node.inbox.finish(id, Err(format!("{}: {e}", custodian_name(node.party))));
                }
                Err(ApiError::internal(e))
            }
        }
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// This custodian's vote on the entry it prepared for request `id`: its signature, and
/// its commitments for the joint signature (the nonces stay here for [`cosign`]).
fn vote(node: &Node, id: RequestId, entry: &EntryBody) -> Vote {
    Vote {
        signature: entry.sign(node.party, &node.signing),
        commitments: node.joint.commit(id, entry.signed_bytes()),
    }
}

/// `POST /v1/peer/cosign` (P0 → P1, P2).
#[utoipa::path(
    post,
    path = "/v1/peer/cosign",
    description = "Coordinator to peer: the second round of the custodians' joint signature on entries the peer voted on. The peer signs a package only if it holds the entry that peer prepared itself; each commitment is used once. Signed by P0.",
    params(SignedHeaders),
    request_body = CosignOrder,
    responses(
        (status = 200, description = "One signature share per member, in order", body = CosignShares),
        SignedErrors,
    )
)]
pub async fn cosign(State(node): State<Arc<Node>>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let signed = read_signed(&node, &headers, "POST", "/v1/peer/cosign", body).await?;
        require_custodian(&node, &signed, &[PartyId::P0])?;
        let order: CosignOrder = parse_json(&signed.body)?;
        if order.members.is_empty() || order.members.len() > MAX_BATCH {
            return Err(ApiError::bad_request(format!(
                "a cosign order holds 1 to {MAX_BATCH} entries; this one has {}",
                order.members.len()
            )));
        }
        let shares = order
            .members
            .iter()
            .map(|m| node.joint.sign(m.request_id, &m.package))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::new(StatusCode::CONFLICT, e.to_string()))?;
        Ok(Json(CosignShares { shares }).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /v1/peer/decide` (P0 → P1, P2).
#[utoipa::path(
    post,
    path = "/v1/peer/decide",
    description = "Coordinator to peer: commit or abort a prepared request. Signed by P0.",
    params(SignedHeaders),
    request_body = DecideOrder,
    responses(
        (status = 200, description = "Committed or aborted", body = inline(Object)),
        SignedErrors,
    )
)]
pub async fn decide(State(node): State<Arc<Node>>, headers: HeaderMap, body: Body) -> Response {
    let result: Result<Response, ApiError> = async {
        let signed = read_signed(&node, &headers, "POST", "/v1/peer/decide", body).await?;
        require_custodian(&node, &signed, &[PartyId::P0])?;
        let order: DecideOrder = parse_json(&signed.body)?;
        let id = order.request_id;
        if !order.commit {
            let store = node.store.clone();
            blocking(move || store.abort(&id))
                .await?;
            node.metrics.aborts.inc();
            let reason = order.reason.unwrap_or_else(|| "aborted by the coordinator".into());
            node.inbox.finish(&id, Err(format!("the custodians did not all complete the request, so nothing was stored: {reason}")));
            return Ok(StatusCode::OK.into_response());
        }
        let text = order
            .entry
            .ok_or_else(|| ApiError::bad_request("a commit carries its signed entry"))?;
        let entry = LogEntry::parse(text.as_bytes()).map_err(|e| ApiError::bad_request(e.to_string()))?;
        entry
            .verify(&node.network.custodian_keys())
            .map_err(|e| ApiError::bad_request(format!("the committed entry: {e}")))?;
        crate::failpoint::hit("peer-before-commit");
        let node2 = node.clone();
        blocking(move || node2.apply_commit(&id))
            .await?;
        node.metrics.commits.inc();
        // The coordinator goes on with the next request; this custodian's answer waits
        // for the receipt, which it builds from the log itself.
        let node = node.clone();
        tokio::spawn(async move {
            let receipt = node
                .receipt(&id, text.as_bytes(), order.log_index, crate::coordinator::RECEIPT_WAIT)
                .await;
            node.inbox.finish(
                &id,
                Ok(OperationResult {
                    request_id: id,
                    custodian: node.party,
                    outcome: entry.body.outcome,
                    reason: entry.body.reason,
                    entry: text,
                    receipt,
                    credential: None,
                }),
            );
        });
        Ok(StatusCode::OK.into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /v1/peer/decision/{id}` (P1, P2 → P0).
pub async fn decision(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let path = format!("/v1/peer/decision/{id}");
        let signed = read_signed(&node, &headers, "GET", &path, body).await?;
        require_custodian(&node, &signed, &[PartyId::P1, PartyId::P2])?;
        if node.party != PartyId::P0 {
            return Err(ApiError::new(
                StatusCode::MISDIRECTED_REQUEST,
                "only P0 decides",
            ));
        }
        let id = RequestId::parse(&id).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let node2 = node.clone();
        let answer = blocking(move || answer_decision(&node2, &id)).await?;
        Ok(Json(answer).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
