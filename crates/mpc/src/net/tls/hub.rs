//! Where the blocking engine threads meet the async connection tasks.
//!
//! The hub keeps, under one mutex, the state of the link to each peer and the incoming
//! queues of every session. Connection tasks report a new connection
//! ([`Hub::connected`]), a lost one ([`Hub::lost`]), a refused handshake
//! ([`Hub::refused`]) and each incoming frame ([`Hub::deliver`]); sessions wait on a
//! condition variable for frames or link changes, never longer than their timeout.
//!
//! Each connection has a *generation* number. A session's stream from a peer binds to the
//! generation it first uses; if that connection is lost, the stream fails with the loss's
//! error (after its already-received messages), because messages may have been lost
//! with it. A session that has not used a peer yet waits for a new connection instead,
//! so the query after a reconnect works.
//!
//! Frames for a session nobody has opened yet are buffered, bounded by a count of such
//! sessions and by bytes per peer; a peer that exceeds the bounds (after stale entries
//! are dropped) loses its connection. Closed sessions release their queues, and late
//! frames for a recently closed session are discarded.

use super::frame::CONTROL;
use crate::net::NetError;
use crate::party::PartyId;
use crate::randomness::SessionId;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A frame queued for a connection's writer.
#[derive(Debug)]
pub(crate) struct OutFrame {
    pub session: SessionId,
    pub payload: Vec<u8>,
}

/// The sending end of a connection's writer queue.
pub(crate) type Outbox = tokio::sync::mpsc::UnboundedSender<OutFrame>;

/// Bounds on what a peer can make this party buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Sessions with buffered frames that nobody has opened.
    pub max_pending_sessions: usize,
    /// Buffered payload bytes per peer, over all sessions.
    pub max_buffered_bytes: usize,
    /// An unopened session older than this may be dropped to make room.
    pub stale_after: Duration,
}

/// `now + wait`, or a year from now if that overflows (a "wait forever" timeout).
fn deadline_after(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 86_400)))
        .unwrap_or(now)
}

/// How many closed session ids are remembered (their late frames are dropped).
const CLOSED_MEMORY: usize = 4096;

#[derive(Default)]
struct Link {
    /// Of the current or last connection; 0 before the first.
    generation: u64,
    outbox: Option<Outbox>,
    last_error: Option<NetError>,
}

#[derive(Default)]
struct Stream {
    generation: Option<u64>,
    queue: VecDeque<Vec<u8>>,
    failed: Option<NetError>,
    /// The peer closed the session: once the queue is empty, nothing more will come.
    peer_left: bool,
}

struct SessionState {
    opened: bool,
    since: Instant,
    streams: [Stream; 3],
}

impl SessionState {
    fn new() -> Self {
        Self {
            opened: false,
            since: Instant::now(),
            streams: Default::default(),
        }
    }
}

#[derive(Default)]
struct State {
    links: [Link; 3],
    sessions: HashMap<SessionId, SessionState>,
    closed: VecDeque<SessionId>,
    closed_set: HashSet<SessionId>,
    buffered: [usize; 3],
    /// Connections being served (each `connected` is matched by one `lost`).
    live: usize,
    shut: bool,
}

impl State {
    fn fail_generation(&mut self, peer: PartyId, generation: u64, error: &NetError) {
        for session in self.sessions.values_mut() {
            let stream = &mut session.streams[peer.index()];
            if stream.generation == Some(generation) && stream.failed.is_none() {
                stream.failed = Some(error.clone());
            }
        }
    }

    fn remove(&mut self, id: SessionId) {
        if let Some(session) = self.sessions.remove(&id) {
            for (p, stream) in session.streams.iter().enumerate() {
                self.buffered[p] -= stream.queue.iter().map(Vec::len).sum::<usize>();
            }
        }
        if self.closed_set.insert(id) {
            self.closed.push_back(id);
            if self.closed.len() > CLOSED_MEMORY
                && let Some(old) = self.closed.pop_front()
            {
                self.closed_set.remove(&old);
            }
        }
    }

    fn drop_stale_pending(&mut self, stale_after: Duration) {
        let stale: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, s)| !s.opened && s.since.elapsed() > stale_after)
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            tracing::debug!(session = id.0, "dropping frames of a session nobody opened");
            self.remove(id);
        }
    }

    /// The stream of session `id` from `peer` for a frame of `len` bytes arriving over
    /// connection `generation`, creating a pending session within the bounds; `None` if
    /// the frame is to be discarded (a replaced connection, a session that is over).
    fn arriving(
        &mut self,
        limits: &Limits,
        peer: PartyId,
        generation: u64,
        id: SessionId,
        len: usize,
    ) -> Result<Option<&mut Stream>, NetError> {
        if self.links[peer.index()].generation != generation || self.closed_set.contains(&id) {
            return Ok(None);
        }
        let malformed = |reason: String| NetError::Malformed { peer, reason };
        let pending = |s: &Self| s.sessions.values().filter(|x| !x.opened).count();
        if !self.sessions.contains_key(&id) && pending(self) >= limits.max_pending_sessions {
            self.drop_stale_pending(limits.stale_after);
            if pending(self) >= limits.max_pending_sessions {
                return Err(malformed(format!(
                    "frames for more than {} sessions that were never opened here",
                    limits.max_pending_sessions
                )));
            }
        }
        if self.buffered[peer.index()] + len > limits.max_buffered_bytes {
            self.drop_stale_pending(limits.stale_after);
            if self.buffered[peer.index()] + len > limits.max_buffered_bytes {
                return Err(malformed(format!(
                    "more than {} bytes of messages nobody read",
                    limits.max_buffered_bytes
                )));
            }
        }
        let session = self.sessions.entry(id).or_insert_with(SessionState::new);
        Ok(Some(&mut session.streams[peer.index()]))
    }

    /// The error for a session that needs `peer` while the link is down.
    fn down_error(&self, peer: PartyId) -> NetError {
        match &self.links[peer.index()].last_error {
            Some(e @ NetError::Tls { .. }) => e.clone(),
            _ => NetError::Disconnected { peer },
        }
    }

    /// Binds `id`'s stream from `peer` to the live connection, if there is one; the
    /// stream's failure if it was bound to an earlier connection.
    fn bind(&mut self, id: SessionId, peer: PartyId) -> Result<Option<Outbox>, NetError> {
        let link = &self.links[peer.index()];
        let Some(session) = self.sessions.get_mut(&id) else {
            return Err(NetError::Disconnected { peer });
        };
        let stream = &mut session.streams[peer.index()];
        if let Some(e) = &stream.failed {
            return Err(e.clone());
        }
        match (&link.outbox, stream.generation) {
            (Some(out), None) => {
                stream.generation = Some(link.generation);
                Ok(Some(out.clone()))
            }
            (Some(out), Some(g)) if g == link.generation => Ok(Some(out.clone())),
            (None, None) => Ok(None),
            // Bound to a connection that is gone (its loss normally marked the stream).
            _ => {
                let e = NetError::Disconnected { peer };
                stream.failed = Some(e.clone());
                Err(e)
            }
        }
    }
}

/// The shared state of one node.
pub(crate) struct Hub {
    limits: Limits,
    state: Mutex<State>,
    changed: Condvar,
}

impl Hub {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent between statements, so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a change, at most until `deadline`; `None` once the deadline passed.
    fn wait<'a>(
        &self,
        guard: MutexGuard<'a, State>,
        deadline: Instant,
    ) -> Option<MutexGuard<'a, State>> {
        let left = deadline.checked_duration_since(Instant::now())?;
        let (guard, _) = self
            .changed
            .wait_timeout(guard, left)
            .unwrap_or_else(|e| e.into_inner());
        Some(guard)
    }

    /// A new connection to `peer` (replacing any previous one); returns its generation.
    /// After [`Hub::shutdown`] the outbox is dropped at once, which ends the connection.
    pub fn connected(&self, peer: PartyId, outbox: Outbox) -> u64 {
        let mut s = self.lock();
        s.live += 1;
        if s.shut {
            return 0;
        }
        let old = s.links[peer.index()].generation;
        if s.links[peer.index()].outbox.take().is_some() {
            s.fail_generation(peer, old, &NetError::Disconnected { peer });
        }
        let link = &mut s.links[peer.index()];
        link.generation += 1;
        link.outbox = Some(outbox);
        link.last_error = None;
        let generation = link.generation;
        self.changed.notify_all();
        generation
    }

    /// Connection `generation` to `peer` ended with `error`.
    pub fn lost(&self, peer: PartyId, generation: u64, error: NetError) {
        let mut s = self.lock();
        s.live = s.live.saturating_sub(1);
        let link = &mut s.links[peer.index()];
        if link.generation == generation && link.outbox.is_some() {
            link.outbox = None;
            link.last_error = Some(error.clone());
        }
        s.fail_generation(peer, generation, &error);
        self.changed.notify_all();
    }

    /// A connection attempt with `peer` failed (recorded unless a connection is up).
    pub fn refused(&self, peer: PartyId, error: NetError) {
        let mut s = self.lock();
        let link = &mut s.links[peer.index()];
        if link.outbox.is_none() {
            link.last_error = Some(error);
        }
        self.changed.notify_all();
    }

    /// A frame from `peer` over connection `generation`. An error means the peer broke
    /// the buffering bounds and its connection must be dropped.
    pub fn deliver(
        &self,
        peer: PartyId,
        generation: u64,
        id: SessionId,
        payload: Vec<u8>,
    ) -> Result<(), NetError> {
        let mut s = self.lock();
        let len = payload.len();
        let Some(stream) = s.arriving(&self.limits, peer, generation, id, len)? else {
            return Ok(());
        };
        if stream.failed.is_some() {
            return Ok(()); // the session already failed with this peer
        }
        if *stream.generation.get_or_insert(generation) != generation {
            stream.failed = Some(NetError::Disconnected { peer });
            return Ok(());
        }
        stream.queue.push_back(payload);
        s.buffered[peer.index()] += len;
        self.changed.notify_all();
        Ok(())
    }

    /// `peer` closed session `id` (its control frame arrived over `generation`); an
    /// error as for [`Hub::deliver`].
    pub fn peer_closed(
        &self,
        peer: PartyId,
        generation: u64,
        id: SessionId,
    ) -> Result<(), NetError> {
        let mut s = self.lock();
        if let Some(stream) = s.arriving(&self.limits, peer, generation, id, 0)? {
            stream.peer_left = true;
            self.changed.notify_all();
        }
        Ok(())
    }

    /// Opens session `id` (taking over frames already buffered for it).
    pub fn open(&self, id: SessionId) -> Result<(), NetError> {
        let mut s = self.lock();
        if s.closed_set.contains(&id) || id == CONTROL {
            return Err(NetError::SessionInUse { session: id.0 });
        }
        let session = s.sessions.entry(id).or_insert_with(SessionState::new);
        if session.opened {
            return Err(NetError::SessionInUse { session: id.0 });
        }
        session.opened = true;
        Ok(())
    }

    /// Closes session `id`, releasing its queues; returns the connections that are up,
    /// on which to tell the peers.
    pub fn close(&self, id: SessionId) -> Vec<Outbox> {
        let mut s = self.lock();
        s.remove(id);
        s.links.iter().filter_map(|l| l.outbox.clone()).collect()
    }

    /// The writer queue for sending in session `id` to `peer`, waiting up to `timeout`
    /// for a connection if there is none.
    pub fn outbox(
        &self,
        id: SessionId,
        peer: PartyId,
        timeout: Duration,
    ) -> Result<Outbox, NetError> {
        let deadline = deadline_after(timeout);
        let mut s = self.lock();
        loop {
            if s.shut {
                return Err(NetError::Disconnected { peer });
            }
            if let Some(out) = s.bind(id, peer)? {
                return Ok(out);
            }
            s = match self.wait(s, deadline) {
                Some(s) => s,
                None => return Err(self.lock().down_error(peer)),
            };
        }
    }

    /// The next message of session `id` from `peer`, waiting up to `timeout`.
    pub fn recv(
        &self,
        id: SessionId,
        peer: PartyId,
        timeout: Duration,
    ) -> Result<Vec<u8>, NetError> {
        let deadline = deadline_after(timeout);
        let mut s = self.lock();
        loop {
            let st = &mut *s;
            let Some(session) = st.sessions.get_mut(&id) else {
                return Err(NetError::Disconnected { peer });
            };
            if let Some(message) = session.streams[peer.index()].queue.pop_front() {
                st.buffered[peer.index()] -= message.len();
                return Ok(message);
            }
            let left = session.streams[peer.index()].peer_left;
            if st.shut {
                return Err(NetError::Disconnected { peer });
            }
            // Fails if the stream's connection is gone; binds it to a live one.
            let up = st.bind(id, peer)?.is_some();
            if left {
                return Err(NetError::PeerLeft { peer });
            }
            s = match self.wait(s, deadline) {
                Some(s) => s,
                None if up => return Err(NetError::Timeout { peer, timeout }),
                None => return Err(self.lock().down_error(peer)),
            };
        }
    }

    /// Waits until the links to both peers of `me` are up.
    pub fn wait_connected(&self, me: PartyId, timeout: Duration) -> Result<(), NetError> {
        let deadline = deadline_after(timeout);
        let mut s = self.lock();
        loop {
            let down = PartyId::ALL
                .into_iter()
                .find(|&p| p != me && s.links[p.index()].outbox.is_none());
            let Some(peer) = down else { return Ok(()) };
            s = match self.wait(s, deadline) {
                Some(s) => s,
                None => return Err(self.lock().down_error(peer)),
            };
        }
    }

    /// Whether a connection to `peer` is up.
    pub fn is_up(&self, peer: PartyId) -> bool {
        self.lock().links[peer.index()].outbox.is_some()
    }

    /// The node is going away: every session fails, no link comes back, and dropping the
    /// outboxes lets each writer send what is queued and close its connection.
    pub fn shutdown(&self) {
        let mut s = self.lock();
        s.shut = true;
        for p in PartyId::ALL {
            if s.links[p.index()].outbox.take().is_some() {
                let g = s.links[p.index()].generation;
                s.fail_generation(p, g, &NetError::Disconnected { peer: p });
            }
        }
        self.changed.notify_all();
    }

    /// Waits until every connection task has ended (after [`Hub::shutdown`] their writers
    /// send what was queued, then close), at most `linger`.
    pub fn drain(&self, linger: Duration) {
        let deadline = deadline_after(linger);
        let mut s = self.lock();
        while s.live > 0 {
            s = match self.wait(s, deadline) {
                Some(s) => s,
                None => return,
            };
        }
    }

    /// Whether the node is shutting down.
    pub fn is_shut(&self) -> bool {
        self.lock().shut
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc::unbounded_channel;

    const P1: PartyId = PartyId::P1;
    const SHORT: Duration = Duration::from_millis(20);

    fn hub(max_pending_sessions: usize, max_buffered_bytes: usize) -> Hub {
        Hub::new(Limits {
            max_pending_sessions,
            max_buffered_bytes,
            stale_after: Duration::from_secs(60),
        })
    }

    #[test]
    fn frames_before_open_are_kept_and_closed_sessions_release_them() {
        let h = hub(4, 100);
        let (tx, _rx) = unbounded_channel();
        let g = h.connected(P1, tx);
        h.deliver(P1, g, SessionId(5), vec![1; 10]).unwrap();
        h.deliver(P1, g, SessionId(5), vec![2; 10]).unwrap();
        h.open(SessionId(5)).unwrap();
        assert_eq!(h.recv(SessionId(5), P1, SHORT).unwrap(), vec![1; 10]);
        assert_eq!(
            h.open(SessionId(5)),
            Err(NetError::SessionInUse { session: 5 })
        );
        h.close(SessionId(5));
        assert_eq!(h.lock().buffered[1], 0, "the unread frame was released");
        // Late frames for a closed session are dropped; the id cannot be reused.
        h.deliver(P1, g, SessionId(5), vec![3; 10]).unwrap();
        assert_eq!(h.lock().buffered[1], 0);
        assert_eq!(
            h.open(SessionId(5)),
            Err(NetError::SessionInUse { session: 5 })
        );
    }

    #[test]
    fn huge_timeouts_do_not_overflow() {
        assert!(deadline_after(Duration::MAX) > Instant::now());
        let h = hub(4, 100);
        h.open(SessionId(1)).unwrap();
        h.shutdown();
        assert_eq!(
            h.recv(SessionId(1), P1, Duration::MAX),
            Err(NetError::Disconnected { peer: P1 })
        );
    }

    #[test]
    fn a_peer_that_closed_the_session_fails_the_next_wait_at_once() {
        let h = hub(4, 100);
        let (tx, _rx) = unbounded_channel();
        let g = h.connected(P1, tx);
        // Closed by the peer before it was opened here, after one message.
        h.deliver(P1, g, SessionId(3), vec![1]).unwrap();
        h.peer_closed(P1, g, SessionId(3)).unwrap();
        h.open(SessionId(3)).unwrap();
        assert_eq!(h.recv(SessionId(3), P1, SHORT).unwrap(), vec![1]);
        let started = Instant::now();
        assert_eq!(
            h.recv(SessionId(3), P1, Duration::from_secs(60)),
            Err(NetError::PeerLeft { peer: P1 })
        );
        assert!(started.elapsed() < Duration::from_secs(30), "no waiting");
        // Closing here releases the entry; the reserved control id is never a session.
        assert_eq!(h.close(SessionId(3)).len(), 1, "one connection to tell");
        assert!(h.lock().sessions.is_empty());
        assert_eq!(
            h.open(CONTROL),
            Err(NetError::SessionInUse { session: u64::MAX })
        );
    }

    #[test]
    fn bounds_on_unopened_sessions_and_bytes_drop_the_connection() {
        let h = hub(2, 25);
        let (tx, _rx) = unbounded_channel();
        let g = h.connected(P1, tx);
        h.deliver(P1, g, SessionId(1), vec![0; 10]).unwrap();
        h.deliver(P1, g, SessionId(2), vec![0; 10]).unwrap();
        let e = h.deliver(P1, g, SessionId(3), vec![0; 1]).unwrap_err();
        assert!(matches!(e, NetError::Malformed { peer: P1, .. }), "{e}");
        let e = h.deliver(P1, g, SessionId(2), vec![0; 6]).unwrap_err();
        assert!(e.to_string().contains("25 bytes"), "{e}");
        // Within bounds again once a session is read and closed.
        h.open(SessionId(1)).unwrap();
        h.close(SessionId(1));
        h.deliver(P1, g, SessionId(3), vec![0; 10]).unwrap();
    }

    #[test]
    fn a_lost_connection_fails_bound_streams_but_not_later_sessions() {
        let h = hub(4, 100);
        let (tx, mut rx) = unbounded_channel();
        let g = h.connected(P1, tx);
        h.open(SessionId(1)).unwrap();
        h.outbox(SessionId(1), P1, SHORT)
            .unwrap()
            .send(OutFrame {
                session: SessionId(1),
                payload: vec![7],
            })
            .unwrap();
        assert_eq!(rx.try_recv().unwrap().payload, vec![7]);
        h.deliver(P1, g, SessionId(1), vec![9]).unwrap();
        let broken = NetError::Malformed {
            peer: P1,
            reason: "test".into(),
        };
        h.lost(P1, g, broken.clone());
        // Messages received before the loss are still delivered, then the loss.
        assert_eq!(h.recv(SessionId(1), P1, SHORT).unwrap(), vec![9]);
        assert_eq!(h.recv(SessionId(1), P1, SHORT), Err(broken.clone()));
        assert_eq!(h.outbox(SessionId(1), P1, SHORT).unwrap_err(), broken);
        // A new session waits for the link and reports a plain disconnect if none comes.
        h.open(SessionId(2)).unwrap();
        assert_eq!(
            h.recv(SessionId(2), P1, SHORT),
            Err(NetError::Disconnected { peer: P1 })
        );
        // After a reconnect a new session works; an up link with no message times out.
        let (tx, _rx) = unbounded_channel();
        let g2 = h.connected(P1, tx);
        assert_eq!(
            h.recv(SessionId(2), P1, SHORT),
            Err(NetError::Timeout {
                peer: P1,
                timeout: SHORT
            })
        );
        h.deliver(P1, g2, SessionId(2), vec![4]).unwrap();
        assert_eq!(h.recv(SessionId(2), P1, SHORT).unwrap(), vec![4]);
        // Frames of the old connection are ignored.
        h.deliver(P1, g, SessionId(2), vec![5]).unwrap();
        assert_eq!(h.lock().buffered[1], 0);
    }

    #[test]
    fn handshake_refusals_are_reported_and_shutdown_fails_everything() {
        let h = hub(4, 100);
        let refused = NetError::Tls {
            peer: P1,
            reason: "not pinned".into(),
        };
        h.refused(P1, refused.clone());
        h.open(SessionId(1)).unwrap();
        assert_eq!(h.outbox(SessionId(1), P1, SHORT).unwrap_err(), refused);
        assert_eq!(h.wait_connected(PartyId::P0, SHORT), Err(refused));
        let (tx, _rx) = unbounded_channel();
        h.connected(P1, tx);
        assert!(h.is_up(P1));
        h.shutdown();
        assert!(!h.is_up(P1) && h.is_shut());
        assert_eq!(
            h.recv(SessionId(1), P1, SHORT),
            Err(NetError::Disconnected { peer: P1 })
        );
    }
}
