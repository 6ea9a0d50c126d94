//! Helpers shared by the integration tests.

use masque_template::IrisCode;
use rand_chacha::ChaCha20Rng;

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
