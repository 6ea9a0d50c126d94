//! Helpers shared by the integration tests.
// Each test crate includes this module and uses a subset of it.
#![allow(dead_code)]

use masque_mpc::PartyId;
use masque_mpc::net::Transport;
use masque_mpc::net::local::LocalNetwork;
use masque_mpc::randomness::SessionId;
use masque_template::IrisCode;
use rand_chacha::ChaCha20Rng;
use std::time::Duration;

/// Each party's shares of a person's eyes, dealt by `deal` (`enrolment_shares` or
/// `query_shares`), indexed by party.
pub fn share_person<S>(
    eyes: &[&IrisCode],
    rng: &mut ChaCha20Rng,
    deal: fn(&IrisCode, &mut ChaCha20Rng) -> [S; 3],
) -> [Vec<S>; 3] {
    let mut out: [Vec<S>; 3] = Default::default();
    for eye in eyes {
        for (i, s) in deal(eye, rng).into_iter().enumerate() {
            out[i].push(s);
        }
    }
    out
}

/// Runs `f` for the three parties (engine `engines[i]` is party `Pi`) on their own
/// threads over a fresh in-process network with receive timeout `timeout`, all in
/// session `session`; returns each party's result, indexed by party.
pub fn on_three<E: Sync, T: Send>(
    engines: &[E; 3],
    session: SessionId,
    timeout: Duration,
    f: impl Fn(PartyId, &E, &mut dyn Transport, SessionId) -> T + Sync,
) -> Vec<T> {
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = engines
            .iter()
            .zip(LocalNetwork::connect(timeout))
            .enumerate()
            .map(|(i, (e, mut net))| scope.spawn(move || f(PartyId::ALL[i], e, &mut net, session)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}
