//! Errors as HTTP answers: RFC 9457 problem details (`application/problem+json`).
//!
//! Every refusal has a stable `type` (`urn:masque:problem:<slug>`), a short `title`, the
//! HTTP `status` and a `detail` that says what was wrong and what to do. Details never
//! carry key material, nonces or pseudonyms.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use masque_cred::CredError;
use serde::{Deserialize, Serialize};

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One problem-details answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// `urn:masque:problem:<slug>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What was wrong and what to do.
    pub detail: String,
}

impl Problem {
    /// A problem with `status`, type slug `slug`, `title` and `detail`.
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:masque:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
        }
    }

    /// The type slug (the part after `urn:masque:problem:`).
    pub fn slug(&self) -> &str {
        self.kind
            .strip_prefix("urn:masque:problem:")
            .unwrap_or(&self.kind)
    }

    /// 400: the request body could not be read as what the endpoint expects.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "Malformed request",
            detail,
        )
    }

    /// 500: a failure of the server (its store), not of the request.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            detail,
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // Serialising four strings and a number cannot fail.
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

/// The HTTP answer for a refused presentation or challenge.
pub fn from_cred(e: &CredError) -> Problem {
    let detail = e.to_string();
    let (status, slug, title) = match e {
        CredError::Decode(_) => (
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "Malformed request",
        ),
        CredError::ContextMismatch => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong-context",
            "Presentation for another service",
        ),
        CredError::NonceUnknownOrUsed => (
            StatusCode::CONFLICT,
            "nonce-unknown-or-used",
            "Unknown or already used challenge",
        ),
        CredError::NonceExpired => (StatusCode::GONE, "challenge-expired", "Challenge expired"),
        CredError::UnknownIssuerKey => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-issuer-key",
            "Credential from an issuer this service does not trust",
        ),
        CredError::RequiredAttributeMissing(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "attribute-missing",
            "Required attribute not disclosed",
        ),
        CredError::EnrolledTooLate { .. } => (
            StatusCode::FORBIDDEN,
            "enrolled-too-late",
            "Enrolment after the service's cutoff",
        ),
        CredError::EpochNotAccepted { .. } => (
            StatusCode::FORBIDDEN,
            "epoch-not-accepted",
            "Credential epoch not accepted",
        ),
        CredError::InvalidProof => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-proof",
            "Presentation proof does not verify",
        ),
        CredError::InvalidContextId(_)
        | CredError::InvalidAttribute(_)
        | CredError::MalformedRequest
        | CredError::InvalidNymBinding
        | CredError::NymMismatch
        | CredError::ReplayedRequest
        | CredError::InvalidIssuance => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-presentation",
            "Invalid presentation",
        ),
        CredError::Backend(_) | CredError::Store(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
        ),
    };
    Problem::new(status, slug, title, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_presentation_refusal_is_a_4xx_with_a_message() {
        let refusals = [
            CredError::ContextMismatch,
            CredError::NonceUnknownOrUsed,
            CredError::NonceExpired,
            CredError::UnknownIssuerKey,
            CredError::InvalidProof,
            CredError::RequiredAttributeMissing(masque_cred::AttributeKind::Modalities),
        ];
        for e in refusals {
            let p = from_cred(&e);
            assert!((400..500).contains(&p.status), "{e:?} -> {}", p.status);
            assert_eq!(p.detail, e.to_string());
            assert!(p.kind.starts_with("urn:masque:problem:"));
        }
        assert_eq!(from_cred(&CredError::Store("disk".into())).status, 500);
    }

    #[test]
    fn problems_are_served_as_problem_json() {
        let response = Problem::bad_request("body is not JSON").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }
}
