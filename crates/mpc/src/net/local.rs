//! In-process transport over channels, for tests and benchmarks.
//!
//! [`LocalNetwork::connect`] gives three connected endpoints; move each to its own thread.
//! Dropping an endpoint disconnects it: its peers get [`NetError::Disconnected`].

use super::{NetError, Transport};
use crate::party::PartyId;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

/// One party's endpoint of an in-process network.
pub struct LocalTransport {
    party: PartyId,
    to: [Option<Sender<Vec<u8>>>; 3],
    from: [Option<Receiver<Vec<u8>>>; 3],
    timeout: Duration,
    sent: u64,
}

impl std::fmt::Debug for LocalTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalTransport({})", self.party)
    }
}

/// Builds connected in-process endpoints.
#[derive(Debug)]
pub struct LocalNetwork;

impl LocalNetwork {
    /// Three endpoints, indexed by party, with receive timeout `timeout`.
    pub fn connect(timeout: Duration) -> [LocalTransport; 3] {
        let mut ends = PartyId::ALL.map(|party| LocalTransport {
            party,
            to: [None, None, None],
            from: [None, None, None],
            timeout,
            sent: 0,
        });
        for a in PartyId::ALL {
            for b in PartyId::ALL {
                if a != b {
                    let (tx, rx) = channel();
                    ends[a.index()].to[b.index()] = Some(tx);
                    ends[b.index()].from[a.index()] = Some(rx);
                }
            }
        }
        ends
    }
}

impl Transport for LocalTransport {
    fn party(&self) -> PartyId {
        self.party
    }

    fn send(&mut self, to: PartyId, message: Vec<u8>) -> Result<(), NetError> {
        let sender = self.to[to.index()].as_ref().ok_or(NetError::SelfMessage)?;
        self.sent += message.len() as u64;
        sender
            .send(message)
            .map_err(|_| NetError::Disconnected { peer: to })
    }

    fn recv(&mut self, from: PartyId) -> Result<Vec<u8>, NetError> {
        let receiver = self.from[from.index()]
            .as_ref()
            .ok_or(NetError::SelfMessage)?;
        receiver.recv_timeout(self.timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => NetError::Timeout {
                peer: from,
                timeout: self.timeout,
            },
            RecvTimeoutError::Disconnected => NetError::Disconnected { peer: from },
        })
    }

    fn bytes_sent(&self) -> u64 {
        self.sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_flow_and_failures_are_typed() {
        let [mut a, mut b, c] = LocalNetwork::connect(Duration::from_millis(50));
        a.send(PartyId::P1, vec![1, 2, 3]).unwrap();
        assert_eq!(b.recv(PartyId::P0).unwrap(), vec![1, 2, 3]);
        assert_eq!(a.bytes_sent(), 3);
        assert!(matches!(b.recv(PartyId::P0), Err(NetError::Timeout { .. })));
        drop(c);
        assert_eq!(
            a.recv(PartyId::P2),
            Err(NetError::Disconnected { peer: PartyId::P2 })
        );
        assert_eq!(a.send(PartyId::P0, vec![]), Err(NetError::SelfMessage));
    }
}
