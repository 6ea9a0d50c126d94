//! `GET /v1/openapi.json`: the API described from the handlers' annotations and the
//! request and answer types (utoipa).

use axum::{
    http::header,
    response::{IntoResponse, Response},
};
use utoipa::OpenApi;

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
        ] {
            assert!(schemas[schema].is_object(), "{schema} missing");
        }
        let refusals = schemas["Refusal"].to_string();
        assert!(refusals.contains("no-consent"), "{refusals}");
    }
}
