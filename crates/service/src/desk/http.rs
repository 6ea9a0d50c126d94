//! The aid desk over HTTP.
//!
//! | method and path | body | answer |
//! | --- | --- | --- |
//! | `GET /` | | the operator page (HTML) |
//! | `POST /rounds` | form `token=<operator token>` | 303 to `/` after opening the next round |
//! | `GET /v1/info` | | [`Info`] with the desk and open round |
//! | `GET /v1/status` | | [`Status`]: counts of the open and earlier rounds |
//! | `POST /v1/challenge` | none | a challenge for the open round |
//! | `POST /v1/presentations` | a presentation | [`Accepted`] with `round` and `claim`; 409 if already claimed in the round |
//! | `POST /v1/rounds` | none, `Authorization: Bearer <operator token>` | 201 [`RoundOpened`] |
//!
//! The operator token is compared by its SHA-256 digest; without a configured token the
//! round endpoints answer 403. Refusals are `application/problem+json` (the form: HTML).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{AidDesk, DeskError, RoundInfo, RoundSummary, page};
use crate::api::{Accepted, Info, RoundOpened};
use crate::http::{
    HttpLimits, blocking, json_response, parse_presentation, read_body, wire_response,
    with_fallbacks,
};
use crate::problem::{Problem, from_cred};

/// The operator's token, kept as its SHA-256 digest.
#[derive(Clone)]
pub struct AdminToken([u8; 32]);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

impl AdminToken {
    /// The token `text` (surrounding whitespace ignored); refuses one shorter than 16
    /// characters.
    pub fn new(text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        if text.len() < 16 {
            return Err("the operator token must be at least 16 characters");
        }
        Ok(Self(Sha256::digest(text.as_bytes()).into()))
    }

    /// A fresh random token (64 hex digits), to write to the token file.
    pub fn generate() -> Zeroizing<String> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::fill(&mut bytes[..]);
        let mut text = Zeroizing::new(String::with_capacity(64));
        for b in bytes.iter() {
            text.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            text.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
        }
        text
    }

    fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
        // Digests are compared, so the comparison time says nothing about the token.
        digest == self.0
    }
}

/// Counts for `GET /v1/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The desk's id.
    pub desk: String,
    /// The open round first, then up to 19 earlier ones.
    pub rounds: Vec<RoundStatus>,
}

/// One round's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundStatus {
    /// Round number.
    pub round: u64,
    /// Unix seconds.
    pub opened_at: u64,
    /// Cutoff quarter, e.g. `2026-Q3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolled_before: Option<String>,
    /// Accepted claims.
    pub claims: u64,
    /// Refused: already claimed.
    pub duplicates: u64,
    /// Refused: did not verify.
    pub invalid: u64,
}

impl From<&RoundSummary> for RoundStatus {
    fn from(r: &RoundSummary) -> Self {
        Self {
            round: r.info.number,
            opened_at: r.info.opened_at.0,
            enrolled_before: r.info.enrolled_before.map(|q| q.to_string()),
            claims: r.claims,
            duplicates: r.duplicates,
            invalid: r.invalid,
        }
    }
}

/// How many earlier rounds the page and the status show.
const EARLIER_ROUNDS: u64 = 19;

#[derive(Clone)]
struct DeskState {
    desk: Arc<AidDesk>,
    limits: HttpLimits,
    token: Option<AdminToken>,
}

/// The aid desk's router; round opening needs `token`.
pub fn router(desk: Arc<AidDesk>, limits: HttpLimits, token: Option<AdminToken>) -> Router {
    let routes = Router::new()
        .route("/", get(operator_page))
        .route("/rounds", post(rounds_form))
        .route("/v1/info", get(info))
        .route("/v1/status", get(status))
        .route("/v1/challenge", post(challenge))
        .route("/v1/presentations", post(claim))
        .route("/v1/rounds", post(open_round))
        .with_state(DeskState {
            desk,
            limits,
            token,
        });
    with_fallbacks(routes)
}

/// The HTTP answer for a desk refusal.
pub fn problem(e: &DeskError) -> Problem {
    let detail = e.to_string();
    match e {
        DeskError::Refused(c) => from_cred(c),
        DeskError::AlreadyClaimed { .. } => Problem::new(
            StatusCode::CONFLICT,
            "already-claimed",
            "Already claimed this round",
            detail,
        ),
        DeskError::RoundClosed { .. } => {
            Problem::new(StatusCode::CONFLICT, "round-closed", "Round closed", detail)
        }
        DeskError::WrongContext { .. } => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong-context",
            "Presentation for another service or round",
            detail,
        ),
        DeskError::InvalidDeskId(_) | DeskError::Store(_) => Problem::internal(detail),
    }
}

fn recent(desk: &AidDesk) -> Result<Vec<RoundSummary>, Problem> {
    desk.recent(EARLIER_ROUNDS).map_err(|e| problem(&e))
}

async fn operator_page(State(s): State<DeskState>) -> Response {
    let desk = s.desk.clone();
    match blocking(move || recent(&desk)).await {
        Ok(rounds) => {
            let mut r = Html(page::render(
                s.desk.desk().as_str(),
                &rounds,
                s.token.is_some(),
            ))
            .into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(p) => p.into_response(),
    }
}

async fn info(State(s): State<DeskState>) -> Response {
    let round = s.desk.current_round();
    json_response(
        StatusCode::OK,
        &Info {
            kind: "aid-desk".into(),
            context_id: s.desk.desk().context(round.number).as_str().to_owned(),
            issuer_key_id: s.desk.issuer_key_id(),
            desk: Some(s.desk.desk().as_str().to_owned()),
            round: Some(round.number),
        },
    )
}

async fn status(State(s): State<DeskState>) -> Response {
    let desk = s.desk.clone();
    match blocking(move || recent(&desk)).await {
        Ok(rounds) => json_response(
            StatusCode::OK,
            &Status {
                desk: s.desk.desk().as_str().to_owned(),
                rounds: rounds.iter().map(RoundStatus::from).collect(),
            },
        ),
        Err(p) => p.into_response(),
    }
}

async fn challenge(State(s): State<DeskState>) -> Response {
    let desk = s.desk.clone();
    match blocking(move || desk.challenge().map_err(|e| problem(&e))).await {
        Ok((_, c)) => wire_response(&c),
        Err(p) => {
            tracing::error!(detail = %p.detail, "challenge failed");
            p.into_response()
        }
    }
}

async fn claim(State(s): State<DeskState>, body: Body) -> Response {
    let result = async {
        let bytes = read_body(body, s.limits).await?;
        let p = parse_presentation(&bytes)?;
        let desk = s.desk.clone();
        blocking(move || desk.claim(&p).map_err(|e| problem(&e))).await
    }
    .await;
    match result {
        Ok(c) => {
            tracing::info!(round = c.round, claim = c.number, "claim accepted");
            let mut accepted = Accepted::from(&c.verified);
            accepted.round = Some(c.round);
            accepted.claim = Some(c.number);
            json_response(StatusCode::OK, &accepted)
        }
        Err(p) => {
            tracing::info!(problem = p.slug(), status = p.status, "claim refused");
            p.into_response()
        }
    }
}

fn opened(desk: &AidDesk, info: &RoundInfo) -> RoundOpened {
    RoundOpened {
        round: info.number,
        context_id: desk.desk().context(info.number).as_str().to_owned(),
        opened_at: info.opened_at.0,
        enrolled_before: info.enrolled_before.map(|q| q.to_string()),
    }
}

fn check_token(token: &Option<AdminToken>, presented: Option<&str>) -> Result<(), Problem> {
    let Some(token) = token else {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "rounds-disabled",
            "Rounds cannot be opened over HTTP",
            "this desk has no operator token configured: open rounds with `masque service round new`",
        ));
    };
    match presented {
        Some(p) if token.matches(p) => Ok(()),
        _ => Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "bad-token",
            "Operator token missing or wrong",
            "opening a round needs the operator token (Authorization: Bearer <token>, from the desk's admin token file)",
        )),
    }
}

async fn open_round(State(s): State<DeskState>, headers: HeaderMap) -> Response {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Err(p) = check_token(&s.token, presented) {
        tracing::warn!("round opening refused: {}", p.slug());
        return p.into_response();
    }
    let desk = s.desk.clone();
    match blocking(move || desk.open_round().map_err(|e| problem(&e))).await {
        Ok(info) => json_response(StatusCode::CREATED, &opened(&s.desk, &info)),
        Err(p) => p.into_response(),
    }
}

/// The token from a `token=<value>` form body; values that need URL-decoding are not
/// tokens this desk generates, so they are refused rather than decoded.
fn form_token(body: &[u8]) -> Option<&str> {
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .filter(|t| {
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
        })
}

async fn rounds_form(State(s): State<DeskState>, body: Body) -> Response {
    let html = |status: StatusCode, title: &str, text: &str| {
        (status, Html(page::message(title, text))).into_response()
    };
    let bytes = match read_body(body, s.limits).await {
        Ok(b) => b,
        Err(p) => {
            return html(
                StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST),
                "Not opened",
                &p.detail,
            );
        }
    };
    if let Err(p) = check_token(&s.token, form_token(&bytes)) {
        tracing::warn!("round opening refused: {}", p.slug());
        return html(
            StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNAUTHORIZED),
            "Round not opened",
            &p.detail,
        );
    }
    let desk = s.desk.clone();
    match blocking(move || desk.open_round().map_err(|e| problem(&e))).await {
        Ok(_) => (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response(),
        Err(p) => html(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Round not opened",
            &p.detail,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_by_digest() {
        let text = AdminToken::generate();
        assert_eq!(text.len(), 64);
        let token = AdminToken::new(&text).unwrap();
        assert!(token.matches(&text));
        assert!(token.matches(&format!(" {}\n", text.as_str())));
        assert!(!token.matches("0123456789abcdef0123"));
        assert!(AdminToken::new("short").is_err());
        assert!(!format!("{token:?}").contains(&text[..8]));
    }

    #[test]
    fn form_tokens_are_read_without_decoding() {
        assert_eq!(form_token(b"token=abc123"), Some("abc123"));
        assert_eq!(form_token(b"x=1&token=abc"), Some("abc"));
        assert_eq!(form_token(b"token=a%20b"), None);
        assert_eq!(form_token(b"\xff"), None);
        assert_eq!(form_token(b""), None);
    }
}
