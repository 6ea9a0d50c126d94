//! The protocols, each with a plaintext twin in its tests.
//!
//! - [`arith`]: re-sharing of additive shares, multiplication, inputs by one party,
//!   opening (arithmetic shares over [`Ring`]s).
//! - [`bits`]: packed XOR shares of many bits ([`bits::BitShares`]) and the AND gate.
//! - [`planes`]: the same shares held plane after plane in one buffer, and the AND round
//!   over such buffers (the carry trees run on them).
//! - [`binary`]: arithmetic-to-boolean conversion, the parallel-prefix adder and carry,
//!   the sign (MSB), the 16→32-bit lift, bit injection, and OR/AND trees.
//!
//! Every step runs inside a [`Session`]: this party's transport plus the session's PRF
//! streams. All parties must call the same steps in the same order with inputs of the
//! same shape; the shapes are public.

pub mod arith;
pub mod binary;
pub mod bits;
pub mod planes;

use crate::net::{NetError, Transport};
use crate::party::PartyId;
use crate::randomness::CorrelatedRandomness;
use crate::ring::Ring;

/// One party's state while running a protocol session.
pub struct Session<'t> {
    party: PartyId,
    net: &'t mut dyn Transport,
    /// The session's PRF streams.
    pub rand: CorrelatedRandomness,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session({})", self.party)
    }
}

impl<'t> Session<'t> {
    /// A session for the party behind `net`.
    pub fn new(net: &'t mut dyn Transport, rand: CorrelatedRandomness) -> Self {
        Self {
            party: net.party(),
            net,
            rand,
        }
    }

    /// This party.
    pub fn party(&self) -> PartyId {
        self.party
    }

    /// Sends raw bytes to `to`.
    pub fn send_bytes(&mut self, to: PartyId, bytes: Vec<u8>) -> Result<(), NetError> {
        let _t = crate::profile::timer(crate::profile::Phase::Transport);
        self.net.send(to, bytes)
    }

    /// Receives exactly `len` bytes from `from`; another length is [`NetError::Malformed`].
    pub fn recv_bytes(&mut self, from: PartyId, len: usize) -> Result<Vec<u8>, NetError> {
        let _t = crate::profile::timer(crate::profile::Phase::Transport);
        let bytes = self.net.recv(from)?;
        if bytes.len() == len {
            Ok(bytes)
        } else {
            Err(NetError::Malformed {
                peer: from,
                reason: format!("expected {len} bytes, got {}", bytes.len()),
            })
        }
    }

    /// Sends `mine` to both peers, then receives theirs (of the same length):
    /// `[(previous party, its bytes), (next party, its bytes)]`. Every party sends before
    /// it receives, so all three learn all three values and can decide alike.
    pub fn exchange_with_peers(
        &mut self,
        mine: &[u8],
    ) -> Result<[(PartyId, Vec<u8>); 2], NetError> {
        let (prev, next) = (self.party.prev(), self.party.next());
        self.send_bytes(next, mine.to_vec())?;
        self.send_bytes(prev, mine.to_vec())?;
        let from_prev = self.recv_bytes(prev, mine.len())?;
        let from_next = self.recv_bytes(next, mine.len())?;
        Ok([(prev, from_prev), (next, from_next)])
    }

    /// Sends ring elements to `to`.
    pub fn send_ring<R: Ring>(&mut self, to: PartyId, values: &[R]) -> Result<(), NetError> {
        let mut bytes = Vec::with_capacity(values.len() * R::BYTES);
        values.iter().for_each(|v| v.write_le(&mut bytes));
        self.send_bytes(to, bytes)
    }

    /// Receives exactly `n` ring elements from `from`.
    pub fn recv_ring<R: Ring>(&mut self, from: PartyId, n: usize) -> Result<Vec<R>, NetError> {
        let bytes = self.recv_bytes(from, n * R::BYTES)?;
        Ok(bytes.chunks_exact(R::BYTES).map(R::read_le).collect())
    }

    /// Sends 64-bit words to `to`.
    pub fn send_words(&mut self, to: PartyId, words: &[u64]) -> Result<(), NetError> {
        let mut bytes = Vec::with_capacity(8 * words.len());
        words
            .iter()
            .for_each(|w| bytes.extend_from_slice(&w.to_le_bytes()));
        self.send_bytes(to, bytes)
    }

    /// Receives exactly `n` words from `from`.
    pub fn recv_words(&mut self, from: PartyId, n: usize) -> Result<Vec<u64>, NetError> {
        let bytes = self.recv_bytes(from, n * 8)?;
        Ok(bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8-byte chunk")))
            .collect())
    }

    /// The ring pattern of every re-sharing: send `values` to the previous party and
    /// receive as many from the next one.
    pub fn pass_ring<R: Ring>(&mut self, values: &[R]) -> Result<Vec<R>, NetError> {
        let (prev, next) = (self.party.prev(), self.party.next());
        self.send_ring(prev, values)?;
        self.recv_ring(next, values.len())
    }

    /// [`Session::pass_ring`] for words.
    pub fn pass_words(&mut self, words: &[u64]) -> Result<Vec<u64>, NetError> {
        let (prev, next) = (self.party.prev(), self.party.next());
        self.send_words(prev, words)?;
        self.recv_words(next, words.len())
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Runs one closure per party on its own thread over an in-process network.

    use super::Session;
    use crate::net::local::LocalNetwork;
    use crate::party::PartyId;
    use crate::randomness::{CorrelatedRandomness, PartySeeds, SessionId};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use std::time::Duration;

    /// Runs `f(party, session)` for the three parties and returns their results in order.
    pub fn run3<T: Send>(f: impl Fn(PartyId, &mut Session<'_>) -> T + Sync) -> [T; 3] {
        let seeds = PartySeeds::deal_seeded(&mut ChaCha20Rng::seed_from_u64(42));
        let nets = LocalNetwork::connect(Duration::from_secs(20));
        let f = &f;
        std::thread::scope(|scope| {
            let handles: Vec<_> = nets
                .into_iter()
                .zip(seeds.iter())
                .map(|(mut net, seeds)| {
                    scope.spawn(move || {
                        let rand = CorrelatedRandomness::new(seeds, SessionId(7));
                        let party = PartyId::ALL[net_index(&net)];
                        let mut session = Session::new(&mut net, rand);
                        f(party, &mut session)
                    })
                })
                .collect();
            let out: Vec<T> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            match <[T; 3]>::try_from(out) {
                Ok(a) => a,
                Err(_) => unreachable!("three parties"),
            }
        })
    }

    fn net_index(net: &crate::net::local::LocalTransport) -> usize {
        use crate::net::Transport;
        net.party().index()
    }
}
