//! The operations a station or a person asks for.

use super::auth::{Signed, parse_json, read_signed};
use super::openapi::{NoRecord, SignedErrors, SignedHeaders};
use super::problem::{ApiError, blocking};
use crate::inbox::PendingOp;
use crate::mpc::{decode_enrolment, decode_query};
use crate::node::Node;
use axum::{
    Json,
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use ed25519_dalek::Signature;
use masque_protocol::{
    api::{
        ConsentGrantRequest, ConsentRevokeRequest, DeleteRequest, EnrolRequest, VerifyRequest,
        enrol_statement,
    },
    api::{IssueRequest, OfferAnswer, OperationResult, Problem},
    keys::parse_verifying_key,
    payload::SharePayload,
    seal::{SealedBlob, open},
};
use std::sync::Arc;
use std::time::Duration;

fn reply(result: Result<Response, ApiError>, node: &Node) -> Response {
    result.unwrap_or_else(|e| {
        node.metrics.requests_rejected.inc();
        e.into_response()
    })
}

/// Opens this custodian's sealed blob and checks the shares are its own and complete.
fn open_shares(
    node: &Node,
    signed: &Signed,
    sealed: &SealedBlob,
    enrolment: bool,
) -> Result<SharePayload, ApiError> {
    let plaintext = open(&node.hpke, node.party, &signed.auth.request_id, sealed)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let payload =
        SharePayload::from_bytes(&plaintext).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let eyes = 2;
    if payload.query.len() != eyes {
        return Err(ApiError::bad_request(format!(
            "expected query shares of {eyes} eyes, got {}",
            payload.query.len()
        )));
    }
    decode_query(node.party, &payload.query).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if enrolment {
        if payload.enrolment.len() != eyes || payload.audit_key.is_none() {
            return Err(ApiError::bad_request(format!(
                "an enrolment needs enrolment shares of {eyes} eyes and the record's audit key"
            )));
        }
        decode_enrolment(node.party, &payload.enrolment)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    } else if !payload.enrolment.is_empty() || payload.audit_key.is_some() {
        return Err(ApiError::bad_request(
            "a verification carries query shares only",
        ));
    }
    Ok(payload)
}

fn over_rate(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "this {what} made more requests than this custodian allows per minute; try again later"
        ),
    )
}

async fn record_exists(node: &Arc<Node>, key: [u8; 32]) -> Result<bool, ApiError> {
    let store = node.store.clone();
    Ok(blocking(move || store.record(&key)).await?.is_some())
}

async fn require_record(node: &Arc<Node>, key: [u8; 32]) -> Result<(), ApiError> {
    node.limits.record(&key).map_err(|_| over_rate("record"))?;
    if record_exists(node, key).await? {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no record has this key: it was never enrolled, or it was deleted",
        ))
    }
}

/// Parks the request, hands it to the coordinator (at P0) and waits for the outcome.
async fn park_and_wait(
    node: &Arc<Node>,
    signed: &Signed,
    op: PendingOp,
) -> Result<Response, ApiError> {
    let id = signed.auth.request_id;
    let done = node.inbox.park(id, op).ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            format!("request {id} is already being handled"),
        )
    })?;
    node.metrics.requests_accepted.inc();
    if let Some(queue) = &node.queue {
        queue.send(id).map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "this custodian is shutting down",
            )
        })?;
    }
    let wait = Duration::from_secs(node.config.limits.outcome_wait_s);
    match tokio::time::timeout(wait, done).await {
        Ok(Ok(Ok(mut result))) => {
            result.custodian = node.party;
            Ok((StatusCode::OK, Json(result)).into_response())
        }
        Ok(Ok(Err(reason))) => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, reason)),
        Ok(Err(_)) | Err(_) => {
            node.inbox.forget(&id);
            Err(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "request {id} got no outcome within {wait:?} (is every custodian up?); if it ran, its log entry says how it ended"
                ),
            ))
        }
    }
}

/// `POST /v1/enrol`.
#[utoipa::path(
    post,
    path = "/v1/enrol",
    description = "Enrol a person: 1:N uniqueness on shares, then store. Signed by a registered station.",
    params(SignedHeaders),
    request_body = EnrolRequest,
    responses(
        (status = 200, description = "The agreed outcome: enrolled, duplicate or refused", body = OperationResult),
        SignedErrors,
    )
)]
pub async fn enrol(State(node): State<Arc<Node>>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let signed = read_signed(&node, &headers, "POST", "/v1/enrol", body).await?;
        let station = node
            .network
            .station_by_key(&signed.auth.key)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "enrolments are signed by a station registered in the network description; this key is not one",
                )
            })?
            .name
            .clone();
        node.limits
            .station(&signed.auth.key.to_bytes())
            .map_err(|_| over_rate("station"))?;
        let request: EnrolRequest = parse_json(&signed.body)?;
        let record_key = parse_verifying_key("record_key", &request.record_key)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let signature: [u8; 64] = hex::decode(&request.record_signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| ApiError::bad_request("record_signature: expected 128 hex digits"))?;
        let statement = enrol_statement(&signed.auth.request_id, node.party, &request.record_key, &request.sealed);
        record_key
            .verify_strict(&statement, &Signature::from_bytes(&signature))
            .map_err(|_| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "record_signature does not verify: the wallet must sign the enrolment with the new record key",
                )
            })?;
        let payload = open_shares(&node, &signed, &request.sealed, true)?;
        if record_exists(&node, record_key.to_bytes()).await? {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "a record with this key is already enrolled; a wallet makes a new record key for each enrolment",
            ));
        }
        let op = PendingOp::Enrol {
            record_key: record_key.to_bytes(),
            station,
            payload,
        };
        park_and_wait(&node, &signed, op).await
    }
    .await;
    reply(result, &node)
}

/// `POST /v1/verify`.
#[utoipa::path(
    post,
    path = "/v1/verify",
    description = "1:1 check of a fresh capture against the signer's record. Signed by the record key.",
    params(SignedHeaders),
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "The agreed outcome: match, no-match or refused", body = OperationResult),
        SignedErrors,
        NoRecord,
    )
)]
pub async fn verify(State(node): State<Arc<Node>>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let signed = read_signed(&node, &headers, "POST", "/v1/verify", body).await?;
        let request: VerifyRequest = parse_json(&signed.body)?;
        if let Some(service) = &request.service
            && (service.is_empty() || service.len() > masque_protocol::consent::MAX_TEXT)
        {
            return Err(ApiError::bad_request("service: 1 to 256 bytes"));
        }
        let record_key = signed.auth.key.to_bytes();
        require_record(&node, record_key).await?;
        let payload = open_shares(&node, &signed, &request.sealed, false)?;
        let op = PendingOp::Verify {
            record_key,
            service: request.service,
            payload,
        };
        park_and_wait(&node, &signed, op).await
    }
    .await;
    reply(result, &node)
}

/// `POST /v1/delete`.
#[utoipa::path(
    post,
    path = "/v1/delete",
    description = "Delete the signer's record. Signed by the record key.",
    params(SignedHeaders),
    request_body = DeleteRequest,
    responses(
        (status = 200, description = "The agreed outcome: deleted", body = OperationResult),
        SignedErrors,
        NoRecord,
    )
)]
pub async fn delete(State(node): State<Arc<Node>>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let signed = read_signed(&node, &headers, "POST", "/v1/delete", body).await?;
        let _: DeleteRequest = parse_json(&signed.body)?;
        let record_key = signed.auth.key.to_bytes();
        require_record(&node, record_key).await?;
        park_and_wait(&node, &signed, PendingOp::Delete { record_key }).await
    }
    .await;
    reply(result, &node)
}

/// `POST /v1/consents`.
#[utoipa::path(
    post,
    path = "/v1/consents",
    description = "Record a consent for a service. Signed by the record key.",
    params(SignedHeaders),
    request_body = ConsentGrantRequest,
    responses(
        (status = 200, description = "The agreed outcome: granted", body = OperationResult),
        SignedErrors,
        NoRecord,
    )
)]
pub async fn grant_consent(
    State(node): State<Arc<Node>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let signed = read_signed(&node, &headers, "POST", "/v1/consents", body).await?;
        let request: ConsentGrantRequest = parse_json(&signed.body)?;
        request
            .consent
            .verify()
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        if request.consent.consent.record_key != signed.auth.key {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "the consent names another record than the key signing the request",
            ));
        }
        require_record(&node, signed.auth.key.to_bytes()).await?;
        park_and_wait(
            &node,
            &signed,
            PendingOp::GrantConsent {
                consent: request.consent,
            },
        )
        .await
    }
    .await;
    reply(result, &node)
}

/// `POST /v1/consents/revoke`.
#[utoipa::path(
    post,
    path = "/v1/consents/revoke",
    description = "Revoke a consent. Signed by the record key.",
    params(SignedHeaders),
    request_body = ConsentRevokeRequest,
    responses(
        (status = 200, description = "The agreed outcome: revoked or refused", body = OperationResult),
        SignedErrors,
        NoRecord,
    )
)]
pub async fn revoke_consent(
    State(node): State<Arc<Node>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let signed = read_signed(&node, &headers, "POST", "/v1/consents/revoke", body).await?;
        let request: ConsentRevokeRequest = parse_json(&signed.body)?;
        if request.consent_id.len() != 64
            || !request.consent_id.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(ApiError::bad_request("consent_id: expected 64 hex digits"));
        }
        let record_key = signed.auth.key.to_bytes();
        require_record(&node, record_key).await?;
        let op = PendingOp::RevokeConsent {
            record_key,
            consent_id: request.consent_id.to_ascii_lowercase(),
        };
        park_and_wait(&node, &signed, op).await
    }
    .await;
    reply(result, &node)
}

/// `POST /v1/credentials/offer` (P0): the issuer's offer for the signer's record. Not
/// logged: it reveals nothing and changes nothing.
#[utoipa::path(
    post,
    path = "/v1/credentials/offer",
    description = "The credential issuer's offer for the signer's record (P0 only). Signed by the record key.",
    params(SignedHeaders),
    request_body = DeleteRequest,
    responses(
        (status = 200, description = "The offer", body = OfferAnswer),
        SignedErrors,
        NoRecord,
        (status = 421, description = "This custodian does not issue credentials", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn offer(State(node): State<Arc<Node>>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let signed = read_signed(&node, &headers, "POST", "/v1/credentials/offer", body).await?;
        let _: DeleteRequest = parse_json(&signed.body)?;
        let issuing = node.issuer.as_ref().ok_or_else(|| {
            ApiError::new(
                StatusCode::MISDIRECTED_REQUEST,
                "this custodian does not issue credentials; ask P0",
            )
        })?;
        let record_key = signed.auth.key.to_bytes();
        require_record(&node, record_key).await?;
        let store = node.store.clone();
        let meta = blocking(move || store.record(&record_key))
            .await?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no record has this key"))?;
        let offer = issuing.offer(&meta).map_err(ApiError::internal)?;
        Ok(Json(OfferAnswer { offer }).into_response())
    }
    .await;
    reply(result, &node)
}

/// `POST /v1/credentials`.
#[utoipa::path(
    post,
    path = "/v1/credentials",
    description = "Issue (after enrolment) or re-issue (after the person's own 1:1 match within the hour) a credential for the signer's record; P0's answer carries the issuer's response. Signed by the record key.",
    params(SignedHeaders),
    request_body = IssueRequest,
    responses(
        (status = 200, description = "The agreed outcome: issued or refused (not-verified)", body = OperationResult),
        SignedErrors,
        NoRecord,
    )
)]
pub async fn issue(State(node): State<Arc<Node>>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let signed = read_signed(&node, &headers, "POST", "/v1/credentials", body).await?;
        let request: IssueRequest = parse_json(&signed.body)?;
        let record_key = signed.auth.key.to_bytes();
        require_record(&node, record_key).await?;
        let op = PendingOp::Issue {
            record_key,
            request: request.request,
        };
        park_and_wait(&node, &signed, op).await
    }
    .await;
    reply(result, &node)
}
