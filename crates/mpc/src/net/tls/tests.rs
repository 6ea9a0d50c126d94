//! Failure behaviour of the TLS transport with real nodes on loopback: a peer that
//! crashes mid-query, one that stalls, one that sends malformed or oversized frames, and
//! certificates that are not pinned. After each, the next query on the same nodes must
//! work and agree with the plaintext matcher.

use super::frame::{encode, encode_header};
use super::link::{hello, server_name};
use super::verify::client_config;
use super::*;
use crate::dealer::{QueryShare, enrolment_shares_seeded, query_shares_seeded};
use crate::engine::{EngineError, PartyEngine};
use crate::gallery::RecordId;
use crate::net::Transport;
use crate::randomness::{PartySeeds, SessionId};
use masque_template::FixedPointRule;
use masque_template::matcher::{DecisionRule, EyeMode, IrisGallery, IrisQuery, Matcher};
use masque_template::synth::IrisPopulation;
use masque_template::synth::iris::IrisModel;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TIMEOUT: Duration = Duration::from_millis(1500);
static SESSIONS: AtomicU64 = AtomicU64::new(1);

fn next_session() -> SessionId {
    SessionId(SESSIONS.fetch_add(1, Ordering::Relaxed))
}

fn options() -> TlsOptions {
    TlsOptions {
        reconnect_max: Duration::from_millis(200),
        ..TlsOptions::with_timeout(TIMEOUT)
    }
}

/// Addresses, keys and the first listeners of a three-party loopback network.
struct World {
    config: NetworkConfig,
    keys: Vec<PartyKey>,
    listeners: Vec<Option<std::net::TcpListener>>,
}

impl World {
    fn new() -> Self {
        let (config, keys, listeners) = loopback_config().unwrap();
        Self {
            config,
            keys,
            listeners: listeners.into_iter().map(Some).collect(),
        }
    }

    /// Starts party `p`: on its first listener, then by binding its address again
    /// (retried while a dropped node's socket is still closing).
    fn start(&mut self, p: PartyId) -> TlsNode {
        let config = self.config.clone();
        start_as(
            &config,
            p,
            &self.keys[p.index()],
            self.listeners[p.index()].take(),
        )
    }

    /// The config with `p`'s certificate replaced by a fresh one, and its key.
    fn impostor(&self, p: PartyId) -> (NetworkConfig, PartyKey) {
        let (key, certificate) = identity::generate(p).unwrap();
        let mut entries = PartyId::ALL.map(|q| self.config.party(q).clone());
        entries[p.index()].certificate = certificate;
        (NetworkConfig::new(entries).unwrap(), key)
    }
}

fn start_as(
    config: &NetworkConfig,
    p: PartyId,
    key: &PartyKey,
    listener: Option<std::net::TcpListener>,
) -> TlsNode {
    if listener.is_some() {
        return TlsNode::start_with(config, p, key, options(), listener).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TlsNode::start(config, p, key, options()) {
            Err(TlsError::Io { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50))
            }
            started => return started.unwrap(),
        }
    }
}

/// Three single-eye engines with two enrolled records, three probes and the plaintext
/// matcher's answers for them.
struct Fixture {
    engines: [PartyEngine; 3],
    probes: [Vec<Vec<QueryShare>>; 3],
    expected: Vec<bool>,
}

fn fixture() -> Fixture {
    let rule = FixedPointRule::from_threshold(0.345);
    let pop = IrisPopulation::generate(&IrisModel::default(), 21, 3, 2, &|| {});
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let seeds = PartySeeds::deal_seeded(&mut rng);
    let mut engines = PartyId::ALL.map(|p| {
        PartyEngine::new(
            p,
            seeds[p.index()].clone(),
            masque_template::matcher::EyeMode::SingleEye,
            rule,
        )
    });
    let mut plain = IrisGallery::new(EyeMode::SingleEye);
    for (i, person) in pop.persons.iter().enumerate().take(2) {
        let eye = &person.captures[0].left;
        for (e, share) in engines
            .iter_mut()
            .zip(enrolment_shares_seeded(eye, &mut rng))
        {
            e.insert(RecordId(i as u64), &[share]).unwrap();
        }
        plain
            .insert_eye(masque_template::matcher::RecordId(i as u64), eye)
            .unwrap();
    }
    let mut probes: [Vec<Vec<QueryShare>>; 3] = Default::default();
    let matcher = Matcher::new(DecisionRule::FixedPoint(rule));
    let mut expected = Vec::new();
    for person in &pop.persons {
        let eye = &person.captures[1].left;
        for (p, share) in query_shares_seeded(eye, &mut rng).into_iter().enumerate() {
            probes[p].push(vec![share]);
        }
        let found = matcher.search(&plain, &IrisQuery::single(eye)).unwrap();
        expected.push(found.is_match);
    }
    assert!(expected.contains(&true) && expected.contains(&false));
    Fixture {
        engines,
        probes,
        expected,
    }
}

/// Runs `f` for the three parties on their own threads.
fn parties<T: Send>(f: impl Fn(PartyId) -> T + Sync) -> Vec<T> {
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = PartyId::ALL
            .map(|p| scope.spawn(move || f(p)))
            .into_iter()
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// A 1:N query of every probe on `nodes`; asserts every party opens the expected bits.
fn good_query(fx: &Fixture, nodes: &[TlsNode; 3]) {
    for node in nodes {
        node.wait_connected(Duration::from_secs(10)).unwrap();
    }
    let sid = next_session();
    let got = parties(|p| {
        let mut s = nodes[p.index()].session(sid).unwrap();
        fx.engines[p.index()].search(&mut s, sid, &fx.probes[p.index()])
    });
    for g in got {
        assert_eq!(g.unwrap(), fx.expected);
    }
}

/// A transport that crashes its node after `sends` messages.
struct CrashAfter<'n> {
    session: TlsSession,
    node: &'n std::sync::Mutex<Option<TlsNode>>,
    sends: usize,
}

impl Transport for CrashAfter<'_> {
    fn party(&self) -> PartyId {
        self.session.party()
    }
    fn send(&mut self, to: PartyId, message: Vec<u8>) -> Result<(), NetError> {
        if self.sends == 0 {
            drop(self.node.lock().unwrap().take());
            return Err(NetError::Disconnected { peer: self.party() });
        }
        self.sends -= 1;
        self.session.send(to, message)
    }
    fn recv(&mut self, from: PartyId) -> Result<Vec<u8>, NetError> {
        self.session.recv(from)
    }
    fn bytes_sent(&self) -> u64 {
        self.session.bytes_sent()
    }
}

#[test]
fn a_peer_that_crashes_mid_query_fails_it_everywhere_and_the_next_query_works() {
    let fx = fixture();
    let mut world = World::new();
    let [n0, n1, n2] = PartyId::ALL.map(|p| world.start(p));
    n0.wait_connected(Duration::from_secs(10)).unwrap();
    n1.wait_connected(Duration::from_secs(10)).unwrap();
    let crashing = std::sync::Mutex::new(Some(n2));
    let sid = next_session();
    let got = parties(|p| {
        let q = &fx.probes[p.index()];
        let engine = &fx.engines[p.index()];
        match p {
            PartyId::P2 => {
                let node = crashing.lock().unwrap();
                let session = node.as_ref().unwrap().session(sid).unwrap();
                drop(node);
                let mut net = CrashAfter {
                    session,
                    node: &crashing,
                    sends: 3,
                };
                engine.search(&mut net, sid, q)
            }
            _ => engine.search(&mut [&n0, &n1][p.index()].session(sid).unwrap(), sid, q),
        }
    });
    assert!(crashing.lock().unwrap().is_none(), "P2 crashed");
    // P1 waits on P2 and sees the crash at once; P0 sees it when it sends to P2, or,
    // waiting on P1, learns at once that P1 left the query.
    assert_eq!(
        got[1],
        Err(EngineError::Net(NetError::Disconnected {
            peer: PartyId::P2
        }))
    );
    assert!(
        matches!(
            got[0],
            Err(EngineError::Net(NetError::Disconnected {
                peer: PartyId::P2
            })) | Err(EngineError::Net(NetError::PeerLeft { peer: PartyId::P1 }))
        ),
        "{:?}",
        got[0]
    );
    // P2 restarts on the same address with the same key; the links come back.
    let n2 = world.start(PartyId::P2);
    good_query(&fx, &[n0, n1, n2]);
}

#[test]
fn a_peer_that_stalls_times_the_query_out_and_the_next_query_works() {
    let fx = fixture();
    let mut world = World::new();
    let nodes = PartyId::ALL.map(|p| world.start(p));
    good_query(&fx, &nodes);
    let sid = next_session();
    let started = Instant::now();
    let got = parties(|p| match p {
        // P2 is up but never takes part in this query.
        PartyId::P2 => None,
        _ => {
            let mut s = nodes[p.index()].session(sid).unwrap();
            Some(fx.engines[p.index()].search(&mut s, sid, &fx.probes[p.index()]))
        }
    });
    let elapsed = started.elapsed();
    // P1 waits on P2 and times out. P0 waits on P2 too (every session opens with the
    // gallery digests from both peers) or on P1: it times out, or learns first that P1
    // left the query (whichever of their deadlines comes first).
    assert_eq!(
        got[1],
        Some(Err(EngineError::Net(NetError::Timeout {
            peer: PartyId::P2,
            timeout: TIMEOUT
        })))
    );
    assert!(
        matches!(
            got[0],
            Some(Err(EngineError::Net(
                NetError::PeerLeft { peer: PartyId::P1 }
                    | NetError::Timeout {
                        peer: PartyId::P1 | PartyId::P2,
                        ..
                    }
            )))
        ),
        "{:?}",
        got[0]
    );
    assert!(elapsed >= TIMEOUT, "{elapsed:?}");
    good_query(&fx, &nodes);
}

/// P0's side of a connection to P1, speaking raw bytes after the hello.
async fn rogue_p0(world: &World) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let config = &world.config;
    let client = client_config(config, PartyId::P0, &world.keys[0], PartyId::P1).unwrap();
    let tcp = tokio::net::TcpStream::connect(&config.party(PartyId::P1).address)
        .await
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(client);
    let mut tls = connector
        .connect(server_name(PartyId::P1), tcp)
        .await
        .unwrap();
    tls.write_all(&hello(PartyId::P0)).await.unwrap();
    let mut answer = [0u8; 13];
    tls.read_exact(&mut answer).await.unwrap();
    assert_eq!(answer, hello(PartyId::P1));
    tls
}

#[test]
fn malformed_frames_fail_the_session_drop_the_connection_and_the_next_query_works() {
    let fx = fixture();
    let mut world = World::new();
    let n1 = world.start(PartyId::P1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let max = options().max_frame_len;
    // An oversized header, and a frame cut short by the connection closing.
    let oversized = encode_header(SessionId(0), max + 1).to_vec();
    let mut truncated = encode(SessionId(0), &[7; 100]).unwrap();
    truncated.truncate(60);
    for (bad, why) in [(oversized, "exceeds the limit"), (truncated, "truncated")] {
        let sid = next_session();
        let mut session = n1.session(sid).unwrap();
        rt.block_on(async {
            let mut tls = rogue_p0(&world).await;
            tls.write_all(&encode(sid, b"fine").unwrap()).await.unwrap();
            // Rewrite the session id of the bad frame to this session's.
            let mut bad = bad;
            bad[4..12].copy_from_slice(&sid.0.to_be_bytes());
            tls.write_all(&bad).await.unwrap();
            tls.flush().await.unwrap();
            if why == "truncated" {
                tls.shutdown().await.unwrap();
            }
            // The acceptor drops the connection on the oversized header.
            let mut rest = Vec::new();
            let _ = tokio::time::timeout(TIMEOUT, tls.read_to_end(&mut rest)).await;
        });
        assert_eq!(session.recv(PartyId::P0).unwrap(), b"fine");
        match session.recv(PartyId::P0) {
            Err(NetError::Malformed {
                peer: PartyId::P0,
                reason,
            }) => {
                assert!(reason.contains(why), "{reason}")
            }
            other => panic!("expected a malformed-frame error, got {other:?}"),
        }
    }
    // The real P0 connects and queries work.
    let n0 = world.start(PartyId::P0);
    let n2 = world.start(PartyId::P2);
    good_query(&fx, &[n0, n1, n2]);
}

#[test]
fn oversized_messages_are_refused_before_sending() {
    let mut world = World::new();
    let config = world.config.clone();
    let small = TlsOptions {
        max_frame_len: 8,
        ..options()
    };
    let nodes: Vec<TlsNode> = PartyId::ALL
        .into_iter()
        .map(|p| {
            let listener = world.listeners[p.index()].take();
            TlsNode::start_with(&config, p, &world.keys[p.index()], small.clone(), listener)
                .unwrap()
        })
        .collect();
    nodes[0].wait_connected(Duration::from_secs(10)).unwrap();
    let sid = next_session();
    let mut a = nodes[0].session(sid).unwrap();
    let mut b = nodes[1].session(sid).unwrap();
    assert_eq!(
        a.send(PartyId::P1, vec![0; 9]),
        Err(NetError::TooLarge {
            peer: PartyId::P1,
            len: 9,
            max: 8
        })
    );
    assert_eq!(a.bytes_sent(), 0);
    a.send(PartyId::P1, vec![1; 8]).unwrap();
    assert_eq!(b.recv(PartyId::P0).unwrap(), vec![1; 8]);
    assert_eq!(a.bytes_sent(), 8);
    assert_eq!(a.send(PartyId::P0, vec![]), Err(NetError::SelfMessage));
    assert_eq!(
        nodes[0].session(sid).unwrap_err(),
        NetError::SessionInUse { session: sid.0 }
    );
}

#[test]
fn certificates_that_are_not_pinned_are_refused_both_ways() {
    let fx = fixture();
    let mut world = World::new();
    let n1 = world.start(PartyId::P1);
    let n2 = world.start(PartyId::P2);
    // A P0 with an unpinned certificate: P1 and P2 refuse it, and it learns why.
    let (fake_config, fake_key) = world.impostor(PartyId::P0);
    let fake0 = start_as(&fake_config, PartyId::P0, &fake_key, None);
    match fake0.wait_connected(TIMEOUT) {
        Err(NetError::Tls { reason, .. }) => assert!(reason.contains("refused"), "{reason}"),
        other => panic!("expected a refused handshake, got {other:?}"),
    }
    match n1.wait_connected(TIMEOUT) {
        Err(NetError::Tls {
            peer: PartyId::P0,
            reason,
        }) => {
            assert!(reason.contains("not the one pinned for P0"), "{reason}")
        }
        other => panic!("expected P1 to refuse P0's certificate, got {other:?}"),
    }
    drop(fake0);
    // An impostor P2 on P2's address: the real P0 and P1 refuse its certificate.
    drop(n2);
    let (fake_config, fake_key) = world.impostor(PartyId::P2);
    let fake2 = start_as(&fake_config, PartyId::P2, &fake_key, None);
    let n0 = world.start(PartyId::P0);
    match n0.wait_connected(TIMEOUT) {
        Err(NetError::Tls {
            peer: PartyId::P2,
            reason,
        }) => {
            assert!(reason.contains("not the one pinned for P2"), "{reason}")
        }
        other => panic!("expected P0 to refuse the impostor, got {other:?}"),
    }
    assert!(!fake2.is_connected(PartyId::P0) && !fake2.is_connected(PartyId::P1));
    drop(fake2);
    // With the real P2 back, queries work.
    let n2 = world.start(PartyId::P2);
    good_query(&fx, &[n0, n1, n2]);
}
