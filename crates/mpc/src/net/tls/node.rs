//! One party's TLS node: its runtime, its two links and the sessions over them.

use super::frame::{CONTROL, Control};
use super::hub::{Hub, Limits, OutFrame};
use super::link::{Context, accept_loop, dial_loop};
use super::verify::{check_key, client_config, server_config};
use super::{NetworkConfig, PartyKey, TlsError};
use crate::net::{NetError, Transport};
use crate::party::PartyId;
use crate::randomness::SessionId;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The longest a dropped [`TlsNode`] waits for its queued messages to go out.
pub const LINGER: Duration = Duration::from_secs(2);

/// Tunables of a [`TlsNode`]; [`TlsOptions::with_timeout`] gives the defaults.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// How long a receive waits for a message, and a connection attempt for its
    /// handshake, before failing.
    pub timeout: Duration,
    /// The largest message (frame payload) sent or accepted, in bytes. A larger incoming
    /// frame drops the connection; a larger outgoing one is refused before sending.
    pub max_frame_len: u32,
    /// Payload bytes from one peer that may wait unread (all sessions together).
    pub max_buffered_bytes: usize,
    /// Sessions with frames that arrived before this party opened them.
    pub max_pending_sessions: usize,
    /// First delay before redialling a peer; doubles up to `reconnect_max`.
    pub reconnect_min: Duration,
    /// Longest delay between redials.
    pub reconnect_max: Duration,
    /// Threads of the node's tokio runtime (TLS and socket work).
    pub worker_threads: usize,
}

impl TlsOptions {
    /// Defaults with receive and handshake timeout `timeout`: 256 MiB frames, 1 GiB
    /// buffered per peer, 64 unopened sessions, redial after 50 ms doubling to 2 s,
    /// one runtime thread.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            timeout,
            max_frame_len: 256 << 20,
            max_buffered_bytes: 1 << 30,
            max_pending_sessions: 64,
            reconnect_min: Duration::from_millis(50),
            reconnect_max: Duration::from_secs(2),
            worker_threads: 1,
        }
    }
}

impl Default for TlsOptions {
    /// [`TlsOptions::with_timeout`] of 30 s.
    fn default() -> Self {
        Self::with_timeout(Duration::from_secs(30))
    }
}

/// One party's endpoint of the TLS network. Sessions ([`TlsNode::session`]) are the
/// [`Transport`]s the engine uses; any number may run at once over the node's one
/// connection per peer. Dropping the node closes its connections.
pub struct TlsNode {
    me: PartyId,
    hub: Arc<Hub>,
    options: TlsOptions,
    listening: Option<SocketAddr>,
    thread_name: String,
    runtime: Option<tokio::runtime::Runtime>,
}

/// Numbers the nodes of this process (for their thread names).
static NODES: AtomicU32 = AtomicU32::new(0);

impl std::fmt::Debug for TlsNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TlsNode({})", self.me)
    }
}

impl TlsNode {
    /// Starts party `me` of `config` with its private `key`: listens on its address if a
    /// lower-numbered party dials it, and dials the higher-numbered ones (in the
    /// background; [`TlsNode::wait_connected`] waits for both links).
    pub fn start(
        config: &NetworkConfig,
        me: PartyId,
        key: &PartyKey,
        options: TlsOptions,
    ) -> Result<Self, TlsError> {
        Self::start_with(config, me, key, options, None)
    }

    /// [`TlsNode::start`] with the config and key read from a directory made by
    /// [`super::generate_network`].
    pub fn start_dir(
        dir: &std::path::Path,
        me: PartyId,
        options: TlsOptions,
    ) -> Result<Self, TlsError> {
        let (config, key) = super::load_party(dir, me)?;
        Self::start(&config, me, &key, options)
    }

    /// Starts with an already bound listener (for ephemeral ports).
    pub(crate) fn start_with(
        config: &NetworkConfig,
        me: PartyId,
        key: &PartyKey,
        options: TlsOptions,
        listener: Option<std::net::TcpListener>,
    ) -> Result<Self, TlsError> {
        if options.max_frame_len == 0 || options.worker_threads == 0 {
            return Err(TlsError::Config(
                "max_frame_len and worker_threads must be positive".into(),
            ));
        }
        check_key(config, me, key)?;
        let accepts = me != PartyId::P0;
        let server = accepts
            .then(|| server_config(config, me, key))
            .transpose()?;
        let mut clients: [Option<Arc<rustls::ClientConfig>>; 3] = Default::default();
        for peer in PartyId::ALL.into_iter().filter(|p| *p > me) {
            clients[peer.index()] = Some(client_config(config, me, key, peer)?);
        }
        let io = |what: String| {
            move |e: std::io::Error| TlsError::Io {
                what,
                reason: e.to_string(),
            }
        };
        let listener = match (accepts, listener) {
            (false, _) => None,
            (true, Some(l)) => Some(l),
            (true, None) => {
                let address = &config.party(me).address;
                Some(
                    std::net::TcpListener::bind(address)
                        .map_err(io(format!("listening on {address}")))?,
                )
            }
        };
        let listening = listener
            .as_ref()
            .map(|l| l.local_addr())
            .transpose()
            .map_err(io("the listening address".into()))?;
        // Unique per node (and within Linux's 15-character thread names), so the
        // runtime's CPU time can be told apart from other nodes' in one process.
        let thread_name = format!(
            "mpc-tls-{}-p{}",
            NODES.fetch_add(1, Ordering::Relaxed) % 10_000,
            me.index()
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.worker_threads)
            .thread_name(thread_name.clone())
            .enable_io()
            .enable_time()
            .build()
            .map_err(io("starting the network runtime".into()))?;
        let hub = Arc::new(Hub::new(Limits {
            max_pending_sessions: options.max_pending_sessions,
            max_buffered_bytes: options.max_buffered_bytes,
            stale_after: options.timeout.saturating_mul(2),
        }));
        let ctx = Arc::new(Context {
            hub: hub.clone(),
            config: config.clone(),
            me,
            options: options.clone(),
            clients,
            server,
        });
        if let Some(listener) = listener {
            listener
                .set_nonblocking(true)
                .map_err(io("the listening socket".into()))?;
            let _guard = runtime.enter();
            let listener = tokio::net::TcpListener::from_std(listener)
                .map_err(io("the listening socket".into()))?;
            runtime.spawn(accept_loop(ctx.clone(), listener));
        }
        for peer in PartyId::ALL.into_iter().filter(|p| *p > me) {
            runtime.spawn(dial_loop(ctx.clone(), peer));
        }
        Ok(Self {
            me,
            hub,
            options,
            listening,
            thread_name,
            runtime: Some(runtime),
        })
    }

    /// This party.
    pub fn party(&self) -> PartyId {
        self.me
    }

    /// The address the node listens on (`None` for P0, which only dials).
    pub fn listening_address(&self) -> Option<SocketAddr> {
        self.listening
    }

    /// CPU time used so far by this node's runtime threads (TLS record encryption and
    /// decryption, socket I/O, framing): what a benchmark adds to the engine threads' own
    /// CPU time to count a party's whole cost. Read from `/proc` (Linux); `None` where
    /// that is unavailable.
    pub fn runtime_cpu_time(&self) -> Option<Duration> {
        let mut total = Duration::ZERO;
        for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim_end() != self.thread_name {
                continue;
            }
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            if let Some(ns) = stat.split_whitespace().next().and_then(|n| n.parse().ok()) {
                total += Duration::from_nanos(ns);
            }
        }
        Some(total)
    }

    /// Whether the connection to `peer` is up now.
    pub fn is_connected(&self, peer: PartyId) -> bool {
        self.hub.is_up(peer)
    }

    /// Waits up to `timeout` until the connections to both peers are up; otherwise the
    /// reason one is not (a refused handshake, or [`NetError::Disconnected`]).
    pub fn wait_connected(&self, timeout: Duration) -> Result<(), NetError> {
        self.hub.wait_connected(self.me, timeout)
    }

    /// Opens session `id`, the transport for one query. All three parties open the same
    /// id; an id that is open or was closed recently on this node, or `u64::MAX`
    /// (reserved for control frames), is refused with [`NetError::SessionInUse`] (ids
    /// are never reused). Messages a peer sent for `id`
    /// before it was opened here are delivered. Dropping the session releases its
    /// queues.
    pub fn session(&self, id: SessionId) -> Result<TlsSession, NetError> {
        self.hub.open(id)?;
        Ok(TlsSession {
            hub: self.hub.clone(),
            id,
            me: self.me,
            timeout: self.options.timeout,
            max_frame_len: self.options.max_frame_len,
            sent: 0,
        })
    }
}

impl Drop for TlsNode {
    /// Sends what is still queued (waiting at most [`LINGER`] or the timeout, whichever
    /// is shorter), closes the connections and stops the runtime.
    fn drop(&mut self) {
        self.hub.shutdown();
        self.hub.drain(LINGER.min(self.options.timeout));
        if let Some(runtime) = self.runtime.take() {
            // Drops any connection task still running without blocking, so the node may
            // be dropped anywhere, even inside another runtime.
            runtime.shutdown_background();
        }
    }
}

/// One session over a [`TlsNode`]: a [`Transport`] whose messages are framed with the
/// session id on the node's connections.
pub struct TlsSession {
    hub: Arc<Hub>,
    id: SessionId,
    me: PartyId,
    timeout: Duration,
    max_frame_len: u32,
    sent: u64,
}

impl std::fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TlsSession({}, session {})", self.me, self.id.0)
    }
}

impl TlsSession {
    /// The session id.
    pub fn id(&self) -> SessionId {
        self.id
    }
}

impl Transport for TlsSession {
    fn party(&self) -> PartyId {
        self.me
    }

    fn session(&self) -> Option<SessionId> {
        Some(self.id)
    }

    /// Queues `message` on the connection to `to`; waits (up to the timeout) only if
    /// that connection is down and this session has not used it yet.
    fn send(&mut self, to: PartyId, message: Vec<u8>) -> Result<(), NetError> {
        if to == self.me {
            return Err(NetError::SelfMessage);
        }
        if message.len() > self.max_frame_len as usize {
            return Err(NetError::TooLarge {
                peer: to,
                len: message.len() as u64,
                max: self.max_frame_len,
            });
        }
        let outbox = self.hub.outbox(self.id, to, self.timeout)?;
        let len = message.len() as u64;
        outbox
            .send(OutFrame {
                session: self.id,
                payload: message,
            })
            .map_err(|_| NetError::Disconnected { peer: to })?;
        self.sent += len;
        Ok(())
    }

    fn recv(&mut self, from: PartyId) -> Result<Vec<u8>, NetError> {
        if from == self.me {
            return Err(NetError::SelfMessage);
        }
        self.hub.recv(self.id, from, self.timeout)
    }

    fn bytes_sent(&self) -> u64 {
        self.sent
    }
}

impl Drop for TlsSession {
    /// Frees the session's queues and tells both peers, so one still waiting for this
    /// party in this session fails at once with [`NetError::PeerLeft`].
    fn drop(&mut self) {
        let closed = Control::SessionClosed(self.id).encode();
        for outbox in self.hub.close(self.id) {
            let frame = OutFrame {
                session: CONTROL,
                payload: closed.clone(),
            };
            // A connection that just went away needs no notice.
            let _ = outbox.send(frame);
        }
    }
}
