//! The log and witness servers under hostile clients, over real loopback sockets: the
//! token is checked before any of the body is read, a client that stalls mid-headers or
//! mid-body is dropped (and what it sent is not appended), and the connection cap holds
//! further clients back until a slot frees.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{ORIGIN, log_key};
use masque_tlog::http::{LogServer, log_router, witness_router_with};
use masque_tlog::keys::{KeyName, SecretKey, TYPE_ED25519};
use masque_tlog::log::Log;
use masque_tlog::serve::{ServerLimits, serve};
use masque_tlog::storage::MemStorage;
use masque_tlog::witness::Witness;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "s3cret";

/// Short limits so the tests finish quickly; the assertions are on what happens, never
/// on how long it took.
fn limits(max_connections: usize) -> ServerLimits {
    ServerLimits {
        header_read: Duration::from_millis(400),
        body_read: Duration::from_millis(400),
        idle: Duration::from_millis(400),
        max_connections,
    }
}

async fn start_log(max_connections: usize) -> (String, Arc<LogServer<MemStorage>>) {
    let storage = Arc::new(MemStorage::new());
    let log = Log::create(storage.clone(), ORIGIN, log_key()).unwrap();
    let limits = limits(max_connections);
    let server = Arc::new(
        LogServer::new(
            storage,
            log,
            &[TOKEN.to_string()],
            64,
            Duration::from_millis(5),
        )
        .unwrap()
        .with_body_read_timeout(limits.body_read),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let router = log_router(server.clone());
    tokio::spawn(async move { serve(listener, router, limits).await.unwrap() });
    (addr, server)
}

/// Everything the server sends until it closes the connection (bounded by a generous
/// safety net so a regression fails instead of hanging).
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the server never closed the connection");
    String::from_utf8_lossy(&out).into_owned()
}

fn size(server: &LogServer<MemStorage>) -> u64 {
    server.log().lock().unwrap().size().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_upload_is_refused_before_its_body_is_sent() {
    let (addr, server) = start_log(16).await;
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    // Announce 16 MiB and send none of it: a server that buffers the body before checking
    // the token would wait for it (and be dropped by the idle timeout without answering).
    stream
        .write_all(
            b"POST /add-entries HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n\
              Content-Length: 16777216\r\n\r\n",
        )
        .await
        .unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 401");
    assert_eq!(size(&server), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_stalling_in_its_headers_is_dropped() {
    let (addr, server) = start_log(16).await;
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(b"POST /add-entries HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream).await;
    // Dropped, possibly with a 408; never a 200.
    assert!(!answer.contains(" 200 "), "{answer}");
    assert_eq!(size(&server), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_stalling_in_its_body_is_dropped_and_nothing_is_appended() {
    let (addr, server) = start_log(16).await;
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /add-entries HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Length: 100\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[0, 3, b'a', b'b']).await.unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(!answer.contains(" 200 "), "{answer}");
    assert_eq!(size(&server), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_cap_holds_clients_back_until_a_slot_frees() {
    let (addr, server) = start_log(1).await;
    // One stalled client takes the only slot...
    let mut staller = TcpStream::connect(&addr).await.unwrap();
    staller
        .write_all(b"GET /checkpoint HTTP/1.1\r\n")
        .await
        .unwrap();
    // ...so a well-behaved client is served only after the staller is dropped.
    let mut client = TcpStream::connect(&addr).await.unwrap();
    client
        .write_all(b"GET /checkpoint HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut client).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(ORIGIN));
    // By then the staller's connection has been closed by the server.
    let staller_saw = read_until_closed(&mut staller).await;
    assert!(!staller_saw.contains(" 200 "), "{staller_saw}");
    assert_eq!(size(&server), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn witness_drops_a_stalled_body_and_keeps_serving() {
    let key = SecretKey::from_seed(KeyName::new("witness.example/w1").unwrap(), &[3; 32]);
    let witness = Witness::new(
        key,
        vec![log_key().public_key(TYPE_ED25519)],
        MemStorage::new(),
    )
    .unwrap();
    let limits = limits(4);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let router = witness_router_with(Arc::new(witness), limits.body_read);
    tokio::spawn(async move { serve(listener, router, limits).await.unwrap() });

    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(
            b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\nold 0\n",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(!answer.contains(" 200 "), "{answer}");

    // Still serving: a malformed request gets its 400.
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(
            b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbad",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}
