//! Where a party's query time goes: per-phase timers behind `masque bench mpc`.
//!
//! The engine marks its steps with `timer`: query preparation, the dot products, the
//! PRF draws, the bit-plane transposes, the rest of the threshold circuits (local share
//! arithmetic and bit-plane gates) and the transport (sending, and waiting to receive).
//! Timers nest: a phase started inside another pauses the outer one until it ends, so
//! every nanosecond of a thread counts towards exactly one phase (exclusive times; the
//! PRF draws of an AND round count as PRF, not as threshold).
//!
//! Off by default: a disabled timer is one relaxed atomic load. The counters are
//! process-wide (the three parties of the benchmark run in one process and their times
//! add up); they hold durations only, never data. Wall-clock time of the thread that
//! runs the step: for the dot products that is the party thread waiting for its rayon
//! tasks, for the transport it includes waiting for a slower peer.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// A step of a query session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Rotating the query shares into kernel rows and packing them for the kernel.
    QueryPreparation,
    /// The matrix products (queries × stored eyes) and laying their results out per
    /// comparison.
    DotProducts,
    /// Drawing PRF output (zero-sharings, masks shared with a neighbour).
    Prf,
    /// Bit-plane transposes (values to bit-sliced planes).
    Transposes,
    /// The threshold circuits' local work: share arithmetic, AND-gate shares, XORs,
    /// the OR/AND trees, packing of messages (everything of the threshold layer that is
    /// not PRF, transposes or transport).
    Threshold,
    /// Sending messages and waiting for the peers' messages.
    Transport,
}

impl Phase {
    /// Every phase, in report order.
    pub const ALL: [Phase; 6] = [
        Phase::DotProducts,
        Phase::QueryPreparation,
        Phase::Prf,
        Phase::Transposes,
        Phase::Threshold,
        Phase::Transport,
    ];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Phase::QueryPreparation => "query preparation",
            Phase::DotProducts => "dot products",
            Phase::Prf => "PRF",
            Phase::Transposes => "transposes",
            Phase::Threshold => "threshold rounds (local)",
            Phase::Transport => "transport",
        }
    }

    fn index(self) -> usize {
        match self {
            Phase::QueryPreparation => 0,
            Phase::DotProducts => 1,
            Phase::Prf => 2,
            Phase::Transposes => 3,
            Phase::Threshold => 4,
            Phase::Transport => 5,
        }
    }
}

static ENABLED: AtomicBool = AtomicBool::new(false);
static NANOS: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];

thread_local! {
    /// The phase this thread is timing and since when (its time so far is already
    /// counted).
    static CURRENT: Cell<Option<(Phase, Instant)>> = const { Cell::new(None) };
}

/// Turns the timers on or off for the whole process.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Zeroes the counters.
pub fn reset() {
    NANOS.iter().for_each(|n| n.store(0, Ordering::Relaxed));
}

/// The counters now.
pub fn snapshot() -> Profile {
    Profile {
        nanos: core::array::from_fn(|i| NANOS[i].load(Ordering::Relaxed)),
    }
}

/// Seconds per phase, summed over every thread that ran a timed step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Profile {
    nanos: [u64; 6],
}

impl Profile {
    /// Seconds spent in `phase`.
    pub fn seconds(&self, phase: Phase) -> f64 {
        self.nanos[phase.index()] as f64 * 1e-9
    }

    /// Seconds in all phases together.
    pub fn total_seconds(&self) -> f64 {
        Phase::ALL.iter().map(|&p| self.seconds(p)).sum()
    }

    /// The counts accumulated since `earlier`.
    pub fn since(&self, earlier: &Profile) -> Profile {
        Profile {
            nanos: core::array::from_fn(|i| self.nanos[i].saturating_sub(earlier.nanos[i])),
        }
    }
}

fn add(phase: Phase, since: Instant) {
    let ns = since.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
    NANOS[phase.index()].fetch_add(ns, Ordering::Relaxed);
}

/// Times `phase` until the returned guard is dropped (pausing the phase this thread was
/// timing, which resumes then). Does nothing while the timers are off.
pub(crate) fn timer(phase: Phase) -> Timer {
    if !ENABLED.load(Ordering::Relaxed) {
        return Timer {
            outer: None,
            on: false,
        };
    }
    let now = Instant::now();
    let outer = CURRENT.with(|c| c.replace(Some((phase, now))));
    if let Some((outer_phase, since)) = outer {
        add(outer_phase, since);
    }
    Timer {
        outer: outer.map(|(p, _)| p),
        on: true,
    }
}

/// Stops a phase when dropped; see [`timer`].
pub(crate) struct Timer {
    outer: Option<Phase>,
    on: bool,
}

impl Drop for Timer {
    fn drop(&mut self) {
        if !self.on {
            return;
        }
        let outer = self.outer;
        CURRENT.with(|c| {
            if let Some((phase, since)) = c.take() {
                add(phase, since);
            }
            c.set(outer.map(|p| (p, Instant::now())));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_phases_are_counted_once() {
        set_enabled(true);
        let before = snapshot();
        let spin = |ms| {
            let t = Instant::now();
            while t.elapsed().as_millis() < ms {
                std::hint::spin_loop();
            }
        };
        let started = Instant::now();
        {
            let _outer = timer(Phase::Threshold);
            spin(5);
            {
                let _inner = timer(Phase::Transposes);
                spin(5);
            }
            spin(5);
        }
        let wall = started.elapsed().as_secs_f64();
        let p = snapshot().since(&before);
        // Other tests may time phases concurrently; this thread's own share is at least
        // what it spun, and the nesting never counts a span twice on this thread.
        assert!(p.seconds(Phase::Transposes) >= 0.005);
        assert!(p.seconds(Phase::Threshold) >= 0.010);
        assert!(CURRENT.with(Cell::get).is_none(), "the outer phase ended");
        assert!(wall >= 0.015);
    }
}
