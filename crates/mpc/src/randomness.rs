//! Correlated randomness from pairwise PRF seeds.
//!
//! There are three seeds `k0, k1, k2`; seed `k_j` is known to parties `P(j-1)` and `Pj`,
//! so party `Pi` holds `k_i` (shared with its previous party) and `k_{i+1}` (shared with
//! its next party): the same pattern as the share components. The PRF is AES-256 in
//! counter mode (the vetted RustCrypto `aes` and `ctr` crates; AES-NI where the CPU has
//! it) keyed, per session, by HKDF-SHA-256(seed; info = [`Protocol`] label ‖
//! [`SessionId`]), the counter advancing with every draw. (It was ChaCha20 through
//! `rand_chacha`, a sixth of the query path's cycles without AMX; issue 12.) Each
//! protocol (1:N, 1:1, the coverage gate, embeddings) thus has its own keys, and a session
//! id names a fresh key in each. Both
//! holders of a seed draw from it in the same order, because the protocols are
//! deterministic, so they see the same values; nobody else can predict them.
//!
//! From these: *zero-sharings* `a_i = F(k_i) - F(k_{i+1})` (three values that sum to
//! zero, each pseudorandom to the party that does not hold both seeds), boolean
//! zero-sharings with XOR, and values shared with one neighbour.
//!
//! Seeds are either dealt ([`PartySeeds::deal`], tests and tools) or agreed by the
//! parties themselves at startup ([`PartySeeds::agree`]): each party draws the seed it
//! shares with its next party and sends it over the authenticated, encrypted link (the
//! pinned TLS 1.3 transport), so each seed is known to exactly its two holders and no
//! machine ever holds all three.
//!
//! Guarantees: within one session no PRF output is used twice; two protocols never share
//! a key; the engines refuse a session id they have used before
//! ([`crate::session::SessionLedger`]), across restarts with a file-backed ledger. Seeds
//! and derived keys are zeroized on drop and never printed.

use crate::net::{NetError, Transport};
use crate::party::PartyId;
use crate::ring::Ring;
use aes::cipher::{KeyIvInit, StreamCipher};
use rand::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A 256-bit PRF seed shared by two parties.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Seed(pub [u8; 32]);

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed(..)")
    }
}

/// The two seeds one party holds.
#[derive(Clone, Debug, Zeroize, ZeroizeOnDrop)]
pub struct PartySeeds {
    /// `k_i`, shared with the previous party.
    pub with_prev: Seed,
    /// `k_{i+1}`, shared with the next party.
    pub with_next: Seed,
}

impl PartySeeds {
    /// Draws three fresh seeds and hands each party its two (tests, benches and a
    /// configuration tool; in deployment each pair agrees on its seed out of band or by a
    /// key exchange, and no single machine knows all three).
    pub fn deal() -> [PartySeeds; 3] {
        Self::deal_with(&mut crate::os_rng())
    }

    /// [`PartySeeds::deal`] from a caller's generator: reproducible tests and benches
    /// only (feature `seeded-rng`).
    #[cfg(any(test, feature = "seeded-rng"))]
    pub fn deal_seeded(rng: &mut (impl CryptoRng + ?Sized)) -> [PartySeeds; 3] {
        Self::deal_with(rng)
    }

    pub(crate) fn deal_with(rng: &mut (impl CryptoRng + ?Sized)) -> [PartySeeds; 3] {
        let mut seeds = [[0u8; 32]; 3];
        for s in &mut seeds {
            rng.fill_bytes(s);
        }
        let out = PartyId::ALL.map(|p| PartySeeds {
            with_prev: Seed(seeds[p.index()]),
            with_next: Seed(seeds[p.next().index()]),
        });
        seeds.zeroize();
        out
    }
}

impl PartySeeds {
    /// Agrees fresh seeds with the two other parties over `net`: draws `k_{i+1}` from
    /// the operating system's generator and sends it to the next party, receives `k_i` from the previous one. All
    /// three parties call this on the same (fresh, never reused) session. `net` must be
    /// confidential and authenticated (the TLS transport is); the in-process transport
    /// is for tests.
    ///
    /// # Errors
    /// A [`NetError`] if a peer is unreachable, or [`NetError::Malformed`] if it sends
    /// something other than a 32-byte seed.
    pub fn agree(net: &mut dyn Transport) -> Result<PartySeeds, NetError> {
        let me = net.party();
        let mut with_next = Seed([0; 32]);
        crate::os_rng().fill_bytes(&mut with_next.0);
        net.send(me.next(), with_next.0.to_vec())?;
        let mut received = net.recv(me.prev())?;
        let seed = <[u8; 32]>::try_from(received.as_slice()).map_err(|_| NetError::Malformed {
            peer: me.prev(),
            reason: format!("a PRF seed is 32 bytes, got {}", received.len()),
        });
        received.zeroize();
        Ok(PartySeeds {
            with_prev: Seed(seed?),
            with_next,
        })
    }
}

/// Identifies one protocol session; part of the key of every PRF draw in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub u64);

/// Which protocol a session runs: part of every PRF key (domain separation), so the
/// same session id in two protocols never yields the same masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// 1:N search.
    Search,
    /// 1:1 verification.
    Verify,
    /// The mask-coverage gate.
    CoverageGate,
    /// Validation of a client's shares.
    Validation,
    /// Embedding (cosine) search and verification.
    Embedding,
    /// The embedding norm gate.
    EmbeddingGate,
    /// Anything else (protocol building blocks exercised on their own, tests).
    General,
}

impl Protocol {
    fn label(self) -> &'static [u8] {
        match self {
            Protocol::Search => b"masque-mpc/prf/v1/search",
            Protocol::Verify => b"masque-mpc/prf/v1/verify",
            Protocol::CoverageGate => b"masque-mpc/prf/v1/coverage-gate",
            Protocol::Validation => b"masque-mpc/prf/v1/validation",
            Protocol::Embedding => b"masque-mpc/prf/v1/embedding",
            Protocol::EmbeddingGate => b"masque-mpc/prf/v1/embedding-gate",
            Protocol::General => b"masque-mpc/prf/v1/general",
        }
    }
}

/// One session's stream shared by two parties: AES-256-CTR from a zero counter under a
/// per-session key. The key schedule and any buffered keystream are zeroized when it is
/// dropped (the crates' `zeroize` feature), so a session's masks do not outlive it.
pub(crate) struct Prf(ctr::Ctr128BE<aes::Aes256>);

impl Prf {
    fn new(key: &[u8; 32]) -> Self {
        Prf(ctr::Ctr128BE::<aes::Aes256>::new(
            key.into(),
            &[0u8; 16].into(),
        ))
    }
}

impl RngCore for Prf {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    /// The next `dest.len()` bytes of the keystream.
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.fill(0);
        self.0.apply_keystream(dest);
    }
}

impl CryptoRng for Prf {}

/// One party's PRF streams for one session.
pub struct CorrelatedRandomness {
    with_prev: Prf,
    with_next: Prf,
}

impl std::fmt::Debug for CorrelatedRandomness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CorrelatedRandomness(..)")
    }
}

/// The session's PRF: AES-256-CTR keyed by HKDF-SHA-256 of the pairwise seed, with the
/// protocol label and the session id as the context.
fn stream(seed: &Seed, protocol: Protocol, session: SessionId) -> Prf {
    let mut info = Vec::with_capacity(protocol.label().len() + 9);
    info.extend_from_slice(protocol.label());
    info.push(0);
    info.extend_from_slice(&session.0.to_be_bytes());
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    hkdf::Hkdf::<sha2::Sha256>::new(None, &seed.0)
        .expand(&info, key.as_mut())
        .expect("32 bytes is a valid HKDF-SHA-256 output length");
    Prf::new(&key)
}

impl CorrelatedRandomness {
    /// The streams of `seeds` for `session` of the [`Protocol::General`] domain.
    pub fn new(seeds: &PartySeeds, session: SessionId) -> Self {
        Self::for_protocol(seeds, Protocol::General, session)
    }

    /// The streams of `seeds` for `session` of `protocol`.
    pub fn for_protocol(seeds: &PartySeeds, protocol: Protocol, session: SessionId) -> Self {
        Self {
            with_prev: stream(&seeds.with_prev, protocol, session),
            with_next: stream(&seeds.with_next, protocol, session),
        }
    }

    /// `n` elements of a 3-of-3 additive sharing of zero.
    pub fn zero_share<R: Ring>(&mut self, n: usize) -> Vec<R> {
        let _prf = crate::profile::timer(crate::profile::Phase::Prf);
        let mut out = vec![R::ZERO; n];
        R::random_fill(&mut self.with_prev, &mut out);
        let mut theirs = [R::ZERO; SCRATCH];
        for chunk in out.chunks_mut(SCRATCH) {
            let theirs = &mut theirs[..chunk.len()];
            R::random_fill(&mut self.with_next, theirs);
            chunk
                .iter_mut()
                .zip(theirs.iter())
                .for_each(|(a, &b)| *a -= b);
        }
        theirs.zeroize();
        out
    }

    /// `words` 64-bit words of a 3-of-3 XOR sharing of zero.
    pub fn zero_share_bits(&mut self, words: usize) -> Vec<u64> {
        let mut out = vec![0u64; words];
        self.xor_zero_share_bits(&mut out);
        out
    }

    /// XORs `out.len()` words of a 3-of-3 XOR sharing of zero into `out` (the same draws
    /// as [`CorrelatedRandomness::zero_share_bits`] of that length).
    pub fn xor_zero_share_bits(&mut self, out: &mut [u64]) {
        let _prf = crate::profile::timer(crate::profile::Phase::Prf);
        let mut drawn = [0u64; SCRATCH];
        for chunk in out.chunks_mut(SCRATCH) {
            let drawn = &mut drawn[..chunk.len()];
            // The two streams are independent, so drawing them chunk by chunk gives each
            // stream's words in the same order as drawing one whole and then the other.
            for stream in [&mut self.with_prev, &mut self.with_next] {
                fill_words(stream, drawn);
                chunk
                    .iter_mut()
                    .zip(drawn.iter())
                    .for_each(|(a, &b)| *a ^= b);
            }
        }
        drawn.zeroize();
    }

    /// `n` elements known to this party and its previous party.
    pub fn common_with_prev<R: Ring>(&mut self, n: usize) -> Vec<R> {
        let _prf = crate::profile::timer(crate::profile::Phase::Prf);
        let mut out = vec![R::ZERO; n];
        R::random_fill(&mut self.with_prev, &mut out);
        out
    }

    /// `n` elements known to this party and its next party.
    pub fn common_with_next<R: Ring>(&mut self, n: usize) -> Vec<R> {
        let _prf = crate::profile::timer(crate::profile::Phase::Prf);
        let mut out = vec![R::ZERO; n];
        R::random_fill(&mut self.with_next, &mut out);
        out
    }

    /// `words` random words known to this party and its previous party.
    pub fn common_bits_with_prev(&mut self, words: usize) -> Vec<u64> {
        let _prf = crate::profile::timer(crate::profile::Phase::Prf);
        let mut out = vec![0u64; words];
        fill_words(&mut self.with_prev, &mut out);
        out
    }

    /// `words` random words known to this party and its next party.
    pub fn common_bits_with_next(&mut self, words: usize) -> Vec<u64> {
        let _prf = crate::profile::timer(crate::profile::Phase::Prf);
        let mut out = vec![0u64; words];
        fill_words(&mut self.with_next, &mut out);
        out
    }
}

/// Elements of the second stream drawn at a time when two streams are combined.
const SCRATCH: usize = 512;

/// Fills `out` with the stream's next `8 · out.len()` bytes, read as little-endian words
/// (one bulk draw; the same words on every platform).
fn fill_words(rng: &mut Prf, out: &mut [u64]) {
    let len = std::mem::size_of_val(out);
    // SAFETY: a `[u64]` is `len` initialised bytes without padding and every byte
    // pattern is a valid `u64`; the byte view borrows `out` exclusively for the fill
    // only, and `u8` has no alignment requirement.
    let bytes = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u8>(), len) };
    rng.fill_bytes(bytes);
    out.iter_mut().for_each(|w| *w = u64::from_le(*w));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::{Z16, Z32};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn all(session: u64) -> Vec<CorrelatedRandomness> {
        let seeds = PartySeeds::deal_seeded(&mut ChaCha20Rng::seed_from_u64(9));
        seeds
            .iter()
            .map(|s| CorrelatedRandomness::new(s, SessionId(session)))
            .collect()
    }

    #[test]
    fn zero_shares_sum_to_zero_and_are_not_zero() {
        let mut r = all(1);
        let a: Vec<Vec<Z32>> = r.iter_mut().map(|p| p.zero_share(100)).collect();
        let sums = (0..100).map(|k| a.iter().fold(Z32(0), |s, v| s + v[k]));
        assert!(sums.into_iter().all(|s| s == Z32(0)));
        assert!(a[0].iter().any(|&x| x != Z32(0)));
        let b: Vec<Vec<u64>> = r.iter_mut().map(|p| p.zero_share_bits(10)).collect();
        let xors = (0..10).map(|k| b.iter().fold(0, |s, v| s ^ v[k]));
        assert!(xors.into_iter().all(|x| x == 0));
        assert!(b[1].iter().any(|&x| x != 0));
    }

    #[test]
    fn protocols_and_sessions_never_share_a_stream() {
        let seeds = PartySeeds::deal_seeded(&mut ChaCha20Rng::seed_from_u64(9));
        let draw = |p: Protocol, sid: u64| -> Vec<u64> {
            CorrelatedRandomness::for_protocol(&seeds[0], p, SessionId(sid))
                .common_bits_with_next(4)
        };
        let all = [
            Protocol::Search,
            Protocol::Verify,
            Protocol::CoverageGate,
            Protocol::Validation,
            Protocol::Embedding,
            Protocol::EmbeddingGate,
            Protocol::General,
        ];
        let mut seen = std::collections::HashSet::new();
        for p in all {
            for sid in [0, 1, 2, u64::MAX] {
                assert!(seen.insert(draw(p, sid)), "{p:?} {sid}");
            }
        }
        // Deterministic: both holders of a seed draw the same stream.
        let theirs = CorrelatedRandomness::for_protocol(&seeds[1], Protocol::Verify, SessionId(7))
            .common_bits_with_prev(4);
        assert_eq!(draw(Protocol::Verify, 7), theirs);
    }

    #[test]
    fn the_prf_state_is_wiped_on_drop() {
        fn wiped_on_drop<T: ZeroizeOnDrop>() {}
        wiped_on_drop::<ctr::Ctr128BE<aes::Aes256>>();
    }

    #[test]
    fn the_prf_is_aes_256_ctr_from_a_zero_counter() {
        // FIPS-197 C.3: AES-256 of 00112233..ff under key 000102..1f is 8ea2b7ca...
        // Counter mode's first block is AES(0), so check against the block cipher itself.
        use aes::cipher::{BlockEncrypt, KeyInit};
        let key: [u8; 32] = core::array::from_fn(|i| i as u8);
        let mut block = aes::Block::from([0u8; 16]);
        aes::Aes256::new(&key.into()).encrypt_block(&mut block);
        let mut prf = Prf::new(&key);
        let mut first = [0u8; 16];
        prf.fill_bytes(&mut first);
        assert_eq!(first[..], block[..]);
        let mut plain = aes::Block::from(core::array::from_fn(|i| (i as u8) * 0x11));
        aes::Aes256::new(&key.into()).encrypt_block(&mut plain);
        assert_eq!(plain[..4], [0x8e, 0xa2, 0xb7, 0xca]);
    }

    #[test]
    fn neighbours_agree_and_draws_never_repeat() {
        let mut r = all(2);
        let x: Vec<Z16> = r[0].common_with_next(50);
        let y: Vec<Z16> = r[1].common_with_prev(50);
        assert_eq!(x, y);
        let again: Vec<Z16> = r[0].common_with_next(50);
        assert_ne!(x, again, "the stream advances");
    }

    #[test]
    fn sessions_are_independent() {
        let a: Vec<Z32> = all(3)[0].zero_share(16);
        let b: Vec<Z32> = all(4)[0].zero_share(16);
        let c: Vec<Z32> = all(3)[0].zero_share(16);
        assert_ne!(a, b);
        assert_eq!(a, c, "deterministic per (seed, session)");
    }

    #[test]
    fn agreed_seeds_pair_up_like_dealt_ones() {
        use crate::net::local::LocalNetwork;
        let seeds: Vec<PartySeeds> = std::thread::scope(|scope| {
            let handles: Vec<_> = LocalNetwork::connect(std::time::Duration::from_secs(5))
                .into_iter()
                .map(|mut net| scope.spawn(move || PartySeeds::agree(&mut net).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for p in PartyId::ALL {
            assert_eq!(
                seeds[p.index()].with_next,
                seeds[p.next().index()].with_prev
            );
            assert_ne!(seeds[p.index()].with_next, seeds[p.index()].with_prev);
        }
        // A peer that sends a short seed is refused with a typed error.
        let [mut p0, _p1, mut p2] = LocalNetwork::connect(std::time::Duration::from_secs(5));
        p2.send(PartyId::P0, vec![1, 2, 3]).unwrap();
        assert!(matches!(
            PartySeeds::agree(&mut p0),
            Err(NetError::Malformed {
                peer: PartyId::P2,
                ..
            })
        ));
    }
}
