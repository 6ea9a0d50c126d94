//! Running a custodian until SIGTERM or Ctrl-C.

use crate::api::router;
use crate::config::NodeConfig;
use crate::coordinator;
use crate::node::{Node, StartError};
use masque_protocol::PartyId;
use masque_tlog::serve::{ServerLimits, serve};
use std::net::SocketAddr;

use std::time::Duration;

/// Starts the custodian of `config` and serves its API until SIGTERM or Ctrl-C.
/// `on_listening` is told the address once the API accepts connections. On a signal it
/// stops taking requests, lets a running request finish (at most 30 s) and returns;
/// anything cut short is settled at the next start ([`coordinator`]).
pub fn run(config: NodeConfig, on_listening: impl FnOnce(SocketAddr)) -> Result<(), StartError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("masque-node")
        .build()
        .map_err(|e| StartError::Listen {
            addr: config.listen.to_string(),
            message: e.to_string(),
        })?;
    let listen = config.listen;
    let (node, queue) = Node::open(config)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| StartError::Listen {
            addr: listen.to_string(),
            message: e.to_string(),
        })?;
        if node.party == PartyId::P0 {
            let n = node.clone();
            tokio::task::spawn_blocking(move || coordinator::recover_coordinator(&n))
                .await
                .map_err(|e| StartError::Listen {
                    addr: listen.to_string(),
                    message: e.to_string(),
                })??;
            if let Some(queue) = queue {
                tokio::spawn(coordinator::run(node.clone(), queue));
            }
            let n = node.clone();
            tokio::spawn(async move {
                loop {
                    n.append_queued().await;
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            });
        } else {
            tokio::spawn(coordinator::resolve_forever(node.clone()));
        }
        let address = listener.local_addr().map_err(|e| StartError::Listen {
            addr: listen.to_string(),
            message: e.to_string(),
        })?;
        tracing::info!(custodian = %node.party, %address, records = node.mpc.gallery_len(), "custodian listening");
        on_listening(address);
        // A request may wait for its outcome (queued behind others, then the MPC) for up
        // to `outcome_wait_s` with nothing on the wire: the connection must outlive that.
        let limits = ServerLimits {
            idle: Duration::from_secs(node.config.limits.outcome_wait_s + 30),
            ..ServerLimits::default()
        };
        let server = serve(listener, router(node.clone()), limits);
        tokio::select! {
            result = server => {
                result.map_err(|e| StartError::Listen { addr: listen.to_string(), message: e.to_string() })?;
            }
            _ = shutdown_signal() => {
                tracing::info!(custodian = %node.party, "shutting down");
                let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
                while !node.active.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
                    && tokio::time::Instant::now() < deadline
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        Ok::<(), StartError>(())
    })?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
