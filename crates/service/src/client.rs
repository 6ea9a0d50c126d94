//! [`ServiceClient`]: the wallet's side of the HTTP API — fetch a challenge, have the
//! caller prove it, post the presentation, return the pseudonym.
//!
//! The client never builds presentations itself: [`ServiceClient::present`] hands the
//! service's challenge to a caller-supplied closure (the wallet, which holds the
//! credential), so this crate needs no holder secrets. It speaks plain HTTP/1.1 through
//! hyper's client; every request has a deadline and every answer a size cap. A refusal
//! comes back as [`ClientError::Refused`] with the service's problem details.
//!
//! Not supported: `https://` URLs (no TLS client here; the service is meant to sit behind
//! a TLS-terminating proxy, and a TLS client belongs to the wallet's transport).

use std::fmt::Display;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use masque_cred::{Challenge, Presentation, WireObject};
use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::api::{Accepted, Info, RoundOpened};
use crate::desk::http::Status;
use crate::problem::Problem;

/// Largest answer the client reads.
const MAX_ANSWER: usize = 1 << 20;

/// Why a call to a service failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The service URL is unusable.
    #[error("invalid service URL {url:?}: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No connection or no complete answer.
    #[error("cannot reach the service at {url}: {reason}")]
    Unreachable {
        /// The endpoint.
        url: String,
        /// What failed.
        reason: String,
    },
    /// No answer within the deadline.
    #[error("the service at {url} did not answer within {secs} s")]
    Timeout {
        /// The endpoint.
        url: String,
        /// The deadline.
        secs: u64,
    },
    /// The service refused the request.
    #[error("the service refused ({status}): {detail}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// What the service said was wrong.
        detail: String,
        /// The problem details, if the service sent them.
        problem: Option<Problem>,
    },
    /// The answer is not what the API specifies.
    #[error("unexpected answer from {url}: {reason}")]
    BadAnswer {
        /// The endpoint.
        url: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The caller could not prove the challenge.
    #[error("could not make the presentation: {0}")]
    Prove(String),
}

/// A client of one service (or aid desk), by its base URL.
#[derive(Debug, Clone)]
pub struct ServiceClient {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl ServiceClient {
    /// A client of the service at `base_url` (`http://host:port`, optionally with a path
    /// prefix), with a 30 s deadline per request.
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        let bad = |reason| ClientError::Url {
            url: base_url.to_owned(),
            reason,
        };
        let uri: Uri = base_url.trim().parse().map_err(|_| bad("not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(bad(
                    "https is not supported by this client: reach the service over http on a trusted network or through a local TLS proxy",
                ));
            }
            _ => return Err(bad("give an http:// URL such as http://127.0.0.1:8090")),
        }
        if uri.host().is_none() {
            return Err(bad("the URL has no host"));
        }
        if uri.query().is_some() {
            return Err(bad("the URL must not have a query"));
        }
        Ok(Self {
            base: base_url.trim().trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            timeout: Duration::from_secs(30),
        })
    }

    /// The same client with another per-request deadline.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        bearer: Option<&str>,
    ) -> Result<(StatusCode, Bytes, String), ClientError> {
        let url = format!("{}{path}", self.base);
        let mut request = Request::builder()
            .method(method)
            .uri(&url)
            .header(header::ACCEPT, "application/json");
        if !body.is_empty() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        if let Some(token) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request =
            request
                .body(Full::new(Bytes::from(body)))
                .map_err(|e| ClientError::Unreachable {
                    url: url.clone(),
                    reason: e.to_string(),
                })?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                let reason = std::error::Error::source(&e)
                    .map_or_else(|| e.to_string(), |s| format!("{e}: {s}"));
                ClientError::Unreachable {
                    url: url.clone(),
                    reason,
                }
            })?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| ClientError::BadAnswer {
                    url: url.clone(),
                    reason: format!("could not read the answer: {e}"),
                })?
                .to_bytes();
            Ok((status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout {
                url: url.clone(),
                secs: self.timeout.as_secs(),
            })??;
        if !status.is_success() {
            let problem: Option<Problem> = serde_json::from_slice(&body).ok();
            let detail = match &problem {
                Some(p) => p.detail.clone(),
                None => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            };
            return Err(ClientError::Refused {
                status: status.as_u16(),
                detail,
                problem,
            });
        }
        Ok((status, body, url))
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        bearer: Option<&str>,
    ) -> Result<T, ClientError> {
        let (_, body, url) = self.call(method, path, body, bearer).await?;
        serde_json::from_slice(&body).map_err(|e| ClientError::BadAnswer {
            url,
            reason: e.to_string(),
        })
    }

    /// What the service says about itself.
    pub async fn info(&self) -> Result<Info, ClientError> {
        self.get_json(Method::GET, "/v1/info", Vec::new(), None)
            .await
    }

    /// A fresh challenge.
    pub async fn challenge(&self) -> Result<Challenge, ClientError> {
        let (_, body, url) = self
            .call(Method::POST, "/v1/challenge", Vec::new(), None)
            .await?;
        Challenge::from_json(&body).map_err(|e| ClientError::BadAnswer {
            url,
            reason: e.to_string(),
        })
    }

    /// Posts `presentation`; the pseudonym if the service accepts it.
    pub async fn submit(&self, presentation: &Presentation) -> Result<Accepted, ClientError> {
        let body = presentation.to_json().into_bytes();
        self.get_json(Method::POST, "/v1/presentations", body, None)
            .await
    }

    /// Fetches a challenge, has `prove` answer it, posts the presentation, and returns
    /// what the service accepted.
    pub async fn present<E: Display>(
        &self,
        prove: impl FnOnce(&Challenge) -> Result<Presentation, E>,
    ) -> Result<Accepted, ClientError> {
        let challenge = self.challenge().await?;
        let presentation = prove(&challenge).map_err(|e| ClientError::Prove(e.to_string()))?;
        self.submit(&presentation).await
    }

    /// Aid desk: opens the next round with the operator `token`.
    pub async fn open_round(&self, token: &str) -> Result<RoundOpened, ClientError> {
        self.get_json(Method::POST, "/v1/rounds", Vec::new(), Some(token.trim()))
            .await
    }

    /// Aid desk: counts of the open and earlier rounds.
    pub async fn status(&self) -> Result<Status, ClientError> {
        self.get_json(Method::GET, "/v1/status", Vec::new(), None)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert!(ServiceClient::new("http://127.0.0.1:8090/").is_ok());
        assert_eq!(
            ServiceClient::new("http://127.0.0.1:8090/desk/")
                .unwrap()
                .base_url(),
            "http://127.0.0.1:8090/desk"
        );
        for bad in [
            "",
            "127.0.0.1:8090",
            "ftp://x",
            "https://x.example",
            "http://x/?a=1",
        ] {
            let e = ServiceClient::new(bad).unwrap_err();
            assert!(matches!(e, ClientError::Url { .. }), "{bad:?}: {e}");
        }
    }
}
