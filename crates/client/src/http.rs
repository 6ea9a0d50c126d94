//! A small HTTP/1 client (hyper) for the calls a custodian makes: to its peers, and to
//! the transparency log.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// A failed call (no answer; an answer with an error status is not an error here).
#[derive(Debug, thiserror::Error)]
#[error("{url}: {message}")]
pub struct CallError {
    /// Where to.
    pub url: String,
    /// What failed.
    pub message: String,
}

/// A shared client.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HttpClient(timeout {:?})", self.timeout)
    }
}

impl HttpClient {
    /// A client whose calls give up after `timeout` (connect, answer and body together).
    pub fn new(timeout: Duration) -> Self {
        Self {
            inner: Client::builder(TokioExecutor::new()).build_http(),
            timeout,
        }
    }

    /// Sends a request; returns the status and body.
    pub async fn call(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>), CallError> {
        let fail = |message: String| CallError {
            url: url.to_owned(),
            message,
        };
        let mut builder = hyper::Request::builder().method(method).uri(url);
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        let request = builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| fail(e.to_string()))?;
        let exchange = async {
            let response = self
                .inner
                .request(request)
                .await
                .map_err(|e| fail(e.to_string()))?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| fail(e.to_string()))?
                .to_bytes();
            Ok((status, body.to_vec()))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| fail(format!("no answer within {:?}", self.timeout)))?
    }
}
