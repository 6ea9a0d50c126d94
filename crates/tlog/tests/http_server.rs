//! HTTP end to end on loopback: append with and without a token, static checkpoint and
//! tiles with the spec's headers, tiles beyond the checkpoint refused, and a witness
//! cosigning over HTTP.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{ORIGIN, log_key};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use masque_tlog::cosignature::CosignatureVerifier;
use masque_tlog::cosigning::WitnessPeer;
use masque_tlog::http::{HttpWitnessTransport, LogServer, log_router, witness_router};
use masque_tlog::keys::{KeyName, SecretKey, TYPE_ED25519};
use masque_tlog::log::Log;
use masque_tlog::note::Note;
use masque_tlog::policy::Policy;
use masque_tlog::reader::TreeReader;
use masque_tlog::storage::MemStorage;
use masque_tlog::verifier::verify_checkpoint;
use masque_tlog::witness::Witness;

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

async fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> (u16, hyper::HeaderMap, Vec<u8>) {
    let client: Client<_, Full<axum::body::Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut req = hyper::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = client
        .request(req.body(Full::new(body.into())).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (
        status,
        headers,
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

fn framed(entries: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(&(e.len() as u16).to_be_bytes());
        out.extend_from_slice(e);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_and_witness_over_http() {
    let storage = Arc::new(MemStorage::new());
    let log = Log::create(storage.clone(), ORIGIN, log_key()).unwrap();
    let server = Arc::new(
        LogServer::new(
            storage.clone(),
            log,
            &["s3cret".to_string()],
            256,
            Duration::from_millis(5),
        )
        .unwrap(),
    );
    let base = serve(log_router(server.clone())).await;

    // Unauthenticated and malformed appends are refused.
    assert_eq!(
        call(
            "POST",
            &format!("{base}/add-entries"),
            None,
            framed(&[b"x"])
        )
        .await
        .0,
        401
    );
    assert_eq!(
        call(
            "POST",
            &format!("{base}/add-entries"),
            Some("wrong"),
            framed(&[b"x"])
        )
        .await
        .0,
        401
    );
    assert_eq!(
        call(
            "POST",
            &format!("{base}/add-entries"),
            Some("s3cret"),
            vec![0, 5, 1]
        )
        .await
        .0,
        400
    );

    let (status, _, body) = call(
        "POST",
        &format!("{base}/add-entries"),
        Some("s3cret"),
        framed(&[b"one", b"two", b"three"]),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(body.starts_with(b"0 3\n"));

    let (status, headers, checkpoint) =
        call("GET", &format!("{base}/checkpoint"), None, vec![]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=0")
    );
    assert_eq!(checkpoint, &body[4..]);

    let (status, headers, tile) =
        call("GET", &format!("{base}/tile/0/000.p/3"), None, vec![]).await;
    assert_eq!(status, 200);
    assert_eq!(tile.len(), 96);
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let (status, _, bundle) =
        call("GET", &format!("{base}/tile/entries/000.p/3"), None, vec![]).await;
    assert_eq!(status, 200);
    assert_eq!(bundle, framed(&[b"one", b"two", b"three"]));
    // Not in the published tree, or not a canonical path.
    assert_eq!(
        call("GET", &format!("{base}/tile/0/000.p/4"), None, vec![])
            .await
            .0,
        404
    );
    assert_eq!(
        call("GET", &format!("{base}/tile/0/000.p/2"), None, vec![])
            .await
            .0,
        404
    );
    assert_eq!(
        call("GET", &format!("{base}/tile/0/0"), None, vec![])
            .await
            .0,
        404
    );

    // A witness over HTTP cosigns the checkpoint.
    let wkey = SecretKey::from_seed(KeyName::new("witness.example/w1").unwrap(), &[3; 32]);
    let witness = Arc::new(
        Witness::new(
            wkey,
            vec![log_key().public_key(TYPE_ED25519)],
            MemStorage::new(),
        )
        .unwrap(),
    );
    let wpub = witness.public_key();
    let wbase = serve(witness_router(witness)).await;
    let (status, headers, _) = call(
        "POST",
        &format!("{wbase}/add-checkpoint"),
        None,
        b"old 7\n\n".to_vec(),
    )
    .await;
    assert_eq!(status, 400, "{headers:?}");
    let handle = tokio::runtime::Handle::current();
    let (cp, st, key) = (checkpoint.clone(), storage.clone(), wpub.clone());
    let sigs = tokio::task::spawn_blocking(move || {
        let transport = HttpWitnessTransport::new(&wbase, handle, Duration::from_secs(5));
        let mut reader = TreeReader::new(st.as_ref(), 3);
        let mut peer = WitnessPeer::new(
            CosignatureVerifier::new(key.clone()).unwrap(),
            transport.clone(),
        );
        let first = peer
            .cosign(&cp, |old| {
                reader.consistency_proof(old).map_err(|e| e.to_string())
            })
            .unwrap();
        // A peer that believes the witness is at 0 gets 409 (text/x.tlog.size) and recovers.
        let mut fresh = WitnessPeer::new(CosignatureVerifier::new(key).unwrap(), transport);
        let second = fresh
            .cosign(&cp, |old| {
                reader.consistency_proof(old).map_err(|e| e.to_string())
            })
            .unwrap();
        assert_eq!(fresh.known_size, 3);
        vec![first, second]
    })
    .await
    .unwrap();
    let text = Note::parse(&checkpoint).unwrap().text().to_owned();
    assert!(
        server
            .log()
            .lock()
            .unwrap()
            .add_cosignatures(&text, sigs)
            .unwrap()
    );
    let (_, _, cosigned) = call("GET", &format!("{base}/checkpoint"), None, vec![]).await;
    let policy = Policy::k_of_n(log_key().public_key(TYPE_ED25519), vec![wpub], 1).unwrap();
    let verified = verify_checkpoint(&policy, &cosigned).unwrap();
    assert_eq!(verified.checkpoint.size(), 3);
    assert_eq!(
        Note::parse(&cosigned).unwrap().signatures().len(),
        2,
        "one log signature, one cosignature"
    );
}
