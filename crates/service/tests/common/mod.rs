//! Shared set-up for the flow tests: an issuer, people with real credentials, servers on
//! loopback, a hand-moved clock and a raw HTTP helper.
#![allow(dead_code)]

pub mod chromium;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use masque_cred::{
    BbsHolder, BbsIssuer, Challenge, ContextId, Credential, CredentialAttributes, EnrolmentQuarter,
    EpochSchedule, Holder, Issuer, IssuerPublicKey, IssuerSeed, Modalities, Modality, Presentation,
    RecordHandle, Timestamp, VerifierPolicy, WalletSeed, WireObject,
};
use masque_service::desk::http::AdminToken;
use masque_service::desk::{AidDesk, DeskId, DeskPolicy};
use masque_service::http::HttpLimits;
use masque_service::{Cutoff, ManualClock, Nonces, Service};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// One-day epochs from t = 0.
pub const EPOCH_SECS: u64 = 86_400;
/// The tests' "now": 2027-01-15, in epoch 20833.
pub const NOW: Timestamp = Timestamp(1_800_000_000);
/// Challenge lifetime in the tests.
pub const NONCE_LIFETIME: u64 = 120;

pub fn schedule() -> EpochSchedule {
    EpochSchedule::new(Timestamp(0), EPOCH_SECS).unwrap()
}

pub fn issuer() -> BbsIssuer {
    BbsIssuer::from_seed(&IssuerSeed::new(&[42; 32]).unwrap()).unwrap()
}

/// A person: a wallet (from a test seed) and a credential for their record, enrolled in
/// `enrolled`.
pub struct Person {
    pub holder: BbsHolder,
    pub credential: Credential,
}

impl Person {
    pub fn new(issuer: &mut BbsIssuer, seed: u8, enrolled: EnrolmentQuarter) -> Self {
        let holder = BbsHolder::from_seed(&WalletSeed::new(&[seed; 64]).unwrap());
        let record = RecordHandle::new(&[b'r', seed]).unwrap();
        let offer = issuer.offer(&record);
        let (request, pending) = holder.request(issuer.public_key(), &offer).unwrap();
        let attributes = CredentialAttributes {
            epoch: schedule().epoch_at(NOW),
            modalities: Modalities::new(&[Modality::Iris]).unwrap(),
            enrolment_quarter: enrolled,
        };
        let response = issuer.issue(&request, &record, &attributes).unwrap();
        let credential = holder.finalise(&pending, &response).unwrap();
        Self { holder, credential }
    }

    /// Enrolled well before the tests' rounds.
    pub fn early(issuer: &mut BbsIssuer, seed: u8) -> Self {
        Self::new(issuer, seed, EnrolmentQuarter::new(2026, 2).unwrap())
    }

    pub fn present(&self, challenge: &Challenge) -> Result<Presentation, masque_cred::CredError> {
        self.holder.present(&self.credential, challenge)
    }
}

/// A server on loopback that stops when dropped.
pub struct Server {
    pub url: String,
    pub address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub async fn start(router: Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(masque_service::serve::serve(
            listener,
            router,
            limits(),
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            url: format!("http://{address}"),
            address,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server and waits until it has (so its stores can be reopened).
    pub async fn stop(mut self) {
        self.stop.take().map(|s| s.send(()));
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub fn policy(issuer: &IssuerPublicKey, context: &str) -> VerifierPolicy {
    VerifierPolicy {
        context_id: ContextId::new(context).unwrap(),
        issuer: issuer.clone(),
        required: vec![],
        nonce_lifetime_secs: NONCE_LIFETIME,
        schedule: schedule(),
        enrolled_before: None,
    }
}

/// A relying party for `context` with its nonces in `dir`.
pub fn service(
    issuer: &IssuerPublicKey,
    context: &str,
    dir: &Path,
    clock: &Arc<ManualClock>,
) -> Arc<Service> {
    let nonces = Nonces::open(&dir.join("nonces.redb")).unwrap();
    Arc::new(Service::new(policy(issuer, context), nonces, clock.clone()).unwrap())
}

pub fn limits() -> HttpLimits {
    HttpLimits {
        max_body_bytes: 8 * 1024,
        ..HttpLimits::default()
    }
}

pub const TOKEN: &str = "0123456789abcdef0123456789abcdef";

pub fn desk(
    issuer: &IssuerPublicKey,
    id: &str,
    dir: &Path,
    clock: &Arc<ManualClock>,
) -> Arc<AidDesk> {
    let policy = DeskPolicy {
        issuer: issuer.clone(),
        epochs: schedule(),
        required: vec![],
        cutoff: Cutoff::RoundStart,
        nonce_lifetime_secs: NONCE_LIFETIME,
    };
    Arc::new(AidDesk::open(DeskId::new(id).unwrap(), policy, dir, clock.clone()).unwrap())
}

pub async fn start_desk(desk: &Arc<AidDesk>) -> Server {
    let token = AdminToken::new(TOKEN).unwrap();
    Server::start(masque_service::desk::http::router(
        desk.clone(),
        limits(),
        Some(token),
    ))
    .await
}

pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(NOW))
}

/// A raw request: (status, content type, body).
pub async fn raw(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, String, Vec<u8>) {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut request = hyper::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = client
        .request(request.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, content_type, body)
}

/// The problem-details body of a refusal, checked to be `application/problem+json`.
pub fn problem(content_type: &str, body: &[u8]) -> masque_service::Problem {
    assert_eq!(
        content_type,
        "application/problem+json",
        "{}",
        String::from_utf8_lossy(body)
    );
    serde_json::from_slice(body).unwrap()
}

/// A presentation's JSON envelope with `edit` applied to its body.
pub fn tamper(p: &Presentation, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut value: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
    edit(&mut value["body"]);
    serde_json::to_vec(&value).unwrap()
}
