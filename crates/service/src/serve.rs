//! Serving a router over HTTP/1.1 with the limits a public server needs, and graceful
//! shutdown.
//!
//! A cap on concurrent connections (at the cap, new clients wait in the listen backlog
//! instead of costing memory), a deadline for each request's headers (a client that
//! trickles headers is cut off), and the per-handler body deadline of
//! [`HttpLimits::body_read`]. On shutdown the listener is closed, idle keep-alive
//! connections are closed, requests in flight are answered, and after a grace period any
//! connection still open is dropped.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::http::HttpLimits;

/// How long requests in flight may take to finish after shutdown is asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` under `limits` until `shutdown` completes, then shuts
/// down gracefully (see the module docs).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit
                .map_err(|_| io::Error::other("connection semaphore closed"))?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: log, back off, keep serving.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read)
            .serve_connection(
                TokioIo::new(stream),
                TowerToHyperService::new(router.clone()),
            );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection from {peer} closed: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::debug!("all connections closed"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("connections still open {} s after shutdown: dropping them", SHUTDOWN_GRACE.as_secs());
        }
    }
    Ok(())
}

/// A future that completes on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed
/// when this returns (call it inside the runtime, before announcing the server), so a
/// signal that arrives before the future is first polled is not lost.
#[cfg(unix)]
pub fn shutdown_signal() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("Ctrl-C: shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
        }
    })
}

/// A future that completes on Ctrl-C.
#[cfg(not(unix))]
pub fn shutdown_signal() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("Ctrl-C: shutting down");
        } else {
            std::future::pending::<()>().await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn router() -> Router {
        Router::new().route("/", axum::routing::get(|| async { "hello" }))
    }

    #[tokio::test]
    async fn a_client_that_stalls_its_headers_is_cut_off_and_shutdown_completes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let limits = HttpLimits {
            header_read: Duration::from_millis(200),
            ..HttpLimits::default()
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, router(), limits, async {
            let _ = stopped.await;
        }));

        // Half a request, then nothing: the server closes the connection by itself.
        let mut slow = tokio::net::TcpStream::connect(address).await.unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        // Generous bound so that a server that never cuts it off fails the test, not hangs it.
        tokio::time::timeout(Duration::from_secs(60), slow.read_to_end(&mut answer))
            .await
            .expect("the server kept a connection with unfinished headers open")
            .ok();
        // hyper answers 408 or just closes; either way the read above ended.
        assert!(answer.is_empty() || answer.starts_with(b"HTTP/1.1 408"));

        // A whole request is served.
        let mut fast = tokio::net::TcpStream::connect(address).await.unwrap();
        fast.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        fast.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("hello"));

        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
        assert!(tokio::net::TcpStream::connect(address).await.is_err());
    }
}
