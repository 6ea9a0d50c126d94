//! `GET /v1/openapi.json`: the API described from the handlers' annotations and the
//! request and answer types (utoipa).

use axum::{
    http::header,
    response::{IntoResponse, Response},
};
use masque_protocol::api::Problem;
use utoipa::OpenApi;

/// The headers of every signed request (`docs/protocol.md`, "Requests"), for the
/// operations' `params(...)`. Describes headers; never built.
#[allow(dead_code)]
#[derive(utoipa::IntoParams)]
#[into_params(
    parameter_in = Header,
    names(
        "x-masque-key",
        "x-masque-request-id",
        "x-masque-timestamp",
        "x-masque-signature"
    )
)]
pub struct SignedHeaders(
    /// Signer's Ed25519 public key, 64 hex digits
    String,
    /// Request id, 32 hex digits
    String,
    /// Unix seconds when signed
    u64,
    /// Ed25519 signature over the signing payload, 128 hex digits
    String,
);

/// The refusals any signed request can get, for the operations' `responses(...)`.
/// Describes answers; never built.
#[allow(dead_code)]
#[derive(utoipa::IntoResponses)]
pub enum SignedErrors {
    /// Malformed body or shares
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// Missing, invalid or stale signature
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// Request id already used
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// Body over the limit
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// Over the station's or record's rate
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Problem),
    /// The custodians did not all complete it; nothing was stored
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}

/// No record has the signer's key. Describes an answer; never built.
#[allow(dead_code)]
#[derive(utoipa::IntoResponses)]
#[response(status = 404, content_type = "application/problem+json")]
pub struct NoRecord(Problem);

/// The custodian API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "masque custodian API",
        description = "One of the three custodians of a masque network. Every request is signed (see docs/protocol.md); errors are application/problem+json."
    ),
    paths(
        super::ops::enrol,
        super::ops::verify,
        super::ops::delete,
        super::ops::grant_consent,
        super::ops::revoke_consent,
        super::ops::offer,
        super::ops::issue,
        super::peer::run,
        super::peer::run_batch,
        super::peer::cosign,
        super::peer::decide,
    )
)]
pub struct ApiDoc;

/// Serves the document.
pub async fn document() -> Response {
    let json = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    ([(header::CONTENT_TYPE, "application/json")], json).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_every_operation_with_its_schemas() {
        let doc: serde_json::Value =
            serde_json::from_str(&ApiDoc::openapi().to_json().unwrap()).unwrap();
        for path in [
            "/v1/enrol",
            "/v1/verify",
            "/v1/delete",
            "/v1/consents",
            "/v1/consents/revoke",
            "/v1/peer/run",
            "/v1/peer/run-batch",
            "/v1/peer/cosign",
            "/v1/peer/decide",
        ] {
            assert!(doc["paths"][path]["post"].is_object(), "{path} missing");
        }
        let schemas = &doc["components"]["schemas"];
        for schema in [
            "EnrolRequest",
            "SealedBlob",
            "OperationResult",
            "Receipt",
            "Problem",
            "Outcome",
            "Refusal",
            "SignedConsent",
            "BatchOrder",
            "BatchVotes",
        ] {
            assert!(schemas[schema].is_object(), "{schema} missing");
        }
        let enrol = &doc["paths"]["/v1/enrol"]["post"];
        let headers: Vec<&str> = enrol["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            headers,
            [
                "x-masque-key",
                "x-masque-request-id",
                "x-masque-timestamp",
                "x-masque-signature"
            ]
        );
        let problem = &enrol["responses"]["401"]["content"]["application/problem+json"];
        assert!(problem.is_object(), "{enrol}");
        let verify = &doc["paths"]["/v1/verify"]["post"]["responses"];
        assert!(
            verify["404"].is_object() && verify["200"].is_object(),
            "{verify}"
        );
        let refusals = schemas["Refusal"].to_string();
        assert!(refusals.contains("no-consent"), "{refusals}");
    }
}
