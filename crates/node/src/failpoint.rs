//! Crash points for the crash-safety tests.
//!
//! When the environment variable `MASQUE_FAILPOINT` names a point, the process aborts
//! there (no destructor runs, no buffer is flushed: as close to a power cut or SIGKILL
//! as a process can make itself). The end-to-end tests start a custodian with it set to
//! kill it at each step of the all-or-nothing protocol and check what the three
//! custodians agree on after its restart. Unset (always, in a deployment), a check is one
//! comparison with `None`.
//!
//! The points, in protocol order:
//!
//! | point | where |
//! | --- | --- |
//! | `peer-before-prepare` | P1/P2 got the run order, before running it |
//! | `peer-after-prepare` | P1/P2 wrote its prepared record, before voting |
//! | `coordinator-after-prepare` | P0 prepared and has the votes, before deciding |
//! | `coordinator-after-decide` | P0 recorded commit, before applying it |
//! | `coordinator-after-commit` | P0 applied the commit, before appending the entry and telling the peers |
//! | `peer-before-commit` | P1/P2 got the commit, before applying it |

use std::sync::OnceLock;

/// The environment variable.
pub const VARIABLE: &str = "MASQUE_FAILPOINT";

/// Aborts the process if `MASQUE_FAILPOINT` is `point`.
pub fn hit(point: &str) {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    let armed = ARMED.get_or_init(|| std::env::var(VARIABLE).ok());
    if armed.as_deref() == Some(point) {
        eprintln!("failpoint {point}: aborting the process");
        std::process::abort();
    }
}
