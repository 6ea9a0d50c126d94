//! The async side: dialling, accepting, the hello exchange and each connection's
//! reader and writer.
//!
//! The lower-numbered party of each pair dials (P0 dials P1 and P2, P1 dials P2) and
//! redials with exponential backoff whenever the connection is down; the higher one
//! accepts, and a new connection from a peer replaces the old one. After the TLS
//! handshake the dialler sends `HELLO ‖ its index` and the acceptor answers with its
//! own; the dialler treats the connection as up only after that answer, so a server that
//! refuses the dialler's certificate (which TLS 1.3 reports after the client's side of
//! the handshake is done) is seen as a refused handshake, not as a connection.

use super::frame::{CONTROL, Control, FrameError, encode_header, read_frame};
use super::hub::{Hub, OutFrame};
use super::{NetworkConfig, TlsOptions};
use crate::net::NetError;
use crate::party::PartyId;
use rustls::pki_types::ServerName;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::unbounded_channel;

/// First bytes on every connection after the TLS handshake, then one byte: the sender's
/// party index.
pub(crate) const HELLO: &[u8; 12] = b"MASQUE-MPC/1";

const IO_BUFFER: usize = 64 * 1024;

/// What the connection tasks of one node share.
pub(crate) struct Context {
    pub hub: Arc<Hub>,
    pub config: NetworkConfig,
    pub me: PartyId,
    pub options: TlsOptions,
    /// Client configuration per higher-numbered peer.
    pub clients: [Option<Arc<rustls::ClientConfig>>; 3],
    /// Server configuration, if some party dials this one.
    pub server: Option<Arc<rustls::ServerConfig>>,
}

/// The name the dialler asks for; certificates are pinned, so it is not checked.
pub(crate) fn server_name(peer: PartyId) -> ServerName<'static> {
    ServerName::try_from(format!("p{}.masque-mpc.invalid", peer.index()))
        .unwrap_or(ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()))
}

async fn within<T>(
    limit: Duration,
    peer: PartyId,
    work: impl Future<Output = Result<T, NetError>>,
) -> Result<T, NetError> {
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or(Err(NetError::Timeout {
            peer,
            timeout: limit,
        }))
}

fn tls_failure(peer: PartyId, what: &str, e: std::io::Error) -> NetError {
    NetError::Tls {
        peer,
        reason: format!("{what}: {}", describe(&e)),
    }
}

/// An I/O error from the TLS layer, with the pinning verifier's own message when it
/// refused the certificate (rustls would print it with `Debug`).
fn describe(e: &std::io::Error) -> String {
    use rustls::{CertificateError, Error};
    match e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
        Some(Error::InvalidCertificate(CertificateError::Other(other))) => {
            format!("invalid peer certificate: {}", other.0)
        }
        _ => e.to_string(),
    }
}

pub(crate) fn hello(me: PartyId) -> [u8; 13] {
    let mut out = [0u8; 13];
    out[..12].copy_from_slice(HELLO);
    out[12] = me.index() as u8;
    out
}

async fn read_hello<S: AsyncRead + Unpin>(stream: &mut S, peer: PartyId) -> Result<(), NetError> {
    let mut got = [0u8; 13];
    stream
        .read_exact(&mut got)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => NetError::Disconnected { peer },
            _ => tls_failure(peer, &format!("{peer} refused the connection"), e),
        })?;
    if got != hello(peer) {
        return Err(NetError::Tls {
            peer,
            reason: format!("{peer} did not greet as {peer} of masque-mpc/1"),
        });
    }
    Ok(())
}

async fn write_hello<S: AsyncWrite + Unpin>(
    stream: &mut S,
    me: PartyId,
    peer: PartyId,
) -> Result<(), NetError> {
    let hello = hello(me);
    let sent = async {
        stream.write_all(&hello).await?;
        stream.flush().await
    };
    sent.await.map_err(|_| NetError::Disconnected { peer })
}

/// Keeps a connection to `peer` (a higher-numbered party) up for the node's lifetime.
pub(crate) async fn dial_loop(ctx: Arc<Context>, peer: PartyId) {
    let mut backoff = ctx.options.reconnect_min;
    while !ctx.hub.is_shut() {
        match dial(&ctx, peer).await {
            Ok(stream) => {
                backoff = ctx.options.reconnect_min;
                serve(&ctx, peer, stream).await;
            }
            Err(e) => {
                tracing::debug!(%peer, "connection attempt failed: {e}");
                ctx.hub.refused(peer, e);
                backoff = backoff.saturating_mul(2).min(ctx.options.reconnect_max);
            }
        }
        tokio::time::sleep(backoff).await;
    }
}

async fn dial(
    ctx: &Context,
    peer: PartyId,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, NetError> {
    let limit = ctx.options.timeout;
    let address = ctx.config.party(peer).address.as_str();
    let tcp = within(limit, peer, async {
        TcpStream::connect(address)
            .await
            .map_err(|_| NetError::Disconnected { peer })
    })
    .await?;
    let _ = tcp.set_nodelay(true);
    let Some(client) = ctx.clients[peer.index()].clone() else {
        return Err(NetError::SelfMessage);
    };
    let connector = tokio_rustls::TlsConnector::from(client);
    within(limit, peer, async {
        let mut tls = connector
            .connect(server_name(peer), tcp)
            .await
            .map_err(|e| {
                tls_failure(
                    peer,
                    &format!("handshake with {peer} at {address} failed"),
                    e,
                )
            })?;
        write_hello(&mut tls, ctx.me, peer).await?;
        read_hello(&mut tls, peer).await?;
        Ok(tls)
    })
    .await
}

/// Accepts connections from the lower-numbered parties for the node's lifetime.
pub(crate) async fn accept_loop(ctx: Arc<Context>, listener: TcpListener) {
    loop {
        let (tcp, from) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("accepting a connection failed: {e}");
                tokio::time::sleep(ctx.options.reconnect_min).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let ctx = ctx.clone();
        tokio::spawn(async move {
            match accept(&ctx, tcp).await {
                Ok((peer, stream)) => serve(&ctx, peer, stream).await,
                Err(Refused::Known(peer, e)) => {
                    tracing::warn!(%peer, %from, "refused a connection: {e}");
                    ctx.hub.refused(peer, e);
                }
                Err(Refused::Unknown(reason)) => {
                    // Nothing says which party the client meant to be: tell every link
                    // that could have been meant (only those that are down take it).
                    tracing::warn!(%from, "refused a connection: {reason}");
                    for peer in PartyId::ALL.into_iter().filter(|p| *p < ctx.me) {
                        let reason = format!("a client at {from} failed the handshake: {reason}");
                        ctx.hub.refused(peer, NetError::Tls { peer, reason });
                    }
                }
            }
        });
    }
}

type Accepted = (PartyId, tokio_rustls::server::TlsStream<TcpStream>);

/// Why an incoming connection was refused.
enum Refused {
    /// After the client was identified by its pinned certificate.
    Known(PartyId, NetError),
    /// Before: the reason only.
    Unknown(String),
}

async fn accept(ctx: &Context, tcp: TcpStream) -> Result<Accepted, Refused> {
    let limit = ctx.options.timeout;
    let Some(server) = ctx.server.clone() else {
        return Err(Refused::Unknown("this party accepts no connections".into()));
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(server);
    let mut tls = match tokio::time::timeout(limit, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => return Err(Refused::Unknown(describe(&e))),
        Err(_) => return Err(Refused::Unknown(format!("no handshake within {limit:?}"))),
    };
    // The verifier admitted only pinned certificates of lower-numbered parties.
    let peer = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|cert| ctx.config.identify(cert))
        .filter(|p| *p < ctx.me)
        .ok_or(Refused::Unknown("no pinned client certificate".into()))?;
    within(limit, peer, async {
        read_hello(&mut tls, peer).await?;
        write_hello(&mut tls, ctx.me, peer).await
    })
    .await
    .map_err(|e| Refused::Known(peer, e))?;
    Ok((peer, tls))
}

fn frame_error(peer: PartyId, e: FrameError) -> NetError {
    match e {
        FrameError::Io(_) => NetError::Disconnected { peer },
        e => NetError::Malformed {
            peer,
            reason: e.to_string(),
        },
    }
}

/// Runs an established connection until it fails, then reports the loss to the hub.
async fn serve<S: AsyncRead + AsyncWrite + Send + Unpin>(ctx: &Context, peer: PartyId, stream: S) {
    let (tx, mut rx) = unbounded_channel::<OutFrame>();
    let generation = ctx.hub.connected(peer, tx);
    tracing::debug!(%peer, generation, "connected");
    let (read_half, write_half) = tokio::io::split(stream);
    let mut reader = BufReader::with_capacity(IO_BUFFER, read_half);
    let mut writer = BufWriter::with_capacity(IO_BUFFER, write_half);
    let max = ctx.options.max_frame_len;
    let hub = &ctx.hub;
    let read = async {
        loop {
            match read_frame(&mut reader, max).await {
                Ok(Some((CONTROL, payload))) => {
                    let done = match Control::decode(&payload) {
                        Ok(Control::SessionClosed(id)) => hub.peer_closed(peer, generation, id),
                        Err(e) => Err(frame_error(peer, e)),
                    };
                    if let Err(e) = done {
                        return e;
                    }
                }
                Ok(Some((session, payload))) => {
                    if let Err(e) = hub.deliver(peer, generation, session, payload) {
                        return e;
                    }
                }
                Ok(None) => return NetError::Disconnected { peer },
                Err(e) => return frame_error(peer, e),
            }
        }
    };
    let write = async {
        while let Some(frame) = rx.recv().await {
            let mut next = Some(frame);
            // Everything queued goes out before one flush.
            while let Some(frame) = next {
                let header = encode_header(frame.session, frame.payload.len() as u32);
                if writer.write_all(&header).await.is_err()
                    || writer.write_all(&frame.payload).await.is_err()
                {
                    return NetError::Disconnected { peer };
                }
                next = rx.try_recv().ok();
            }
            if writer.flush().await.is_err() {
                return NetError::Disconnected { peer };
            }
        }
        // The hub dropped this connection's queue (it was replaced or the node stops)
        // and everything queued was sent: close the TLS session cleanly.
        let _ = writer.shutdown().await;
        NetError::Disconnected { peer }
    };
    let error = tokio::select! {
        e = read => e,
        e = write => e,
    };
    tracing::debug!(%peer, generation, "connection ended: {error}");
    ctx.hub.lost(peer, generation, error);
}
