//! Counters and phase timings served at `/metrics` in the Prometheus text format.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Time spent in one phase of the requests, as a Prometheus summary without quantiles
/// (the sum and the count; a scraper's rate of the two is the mean).
#[derive(Debug, Default)]
pub struct Timing {
    micros: AtomicU64,
    count: AtomicU64,
}

impl Timing {
    /// Adds one observation.
    pub fn record(&self, elapsed: Duration) {
        self.micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs `work` and records how long it took.
    pub fn time<T>(&self, work: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = work();
        self.record(start.elapsed());
        out
    }

    /// Seconds in total and observations.
    pub fn get(&self) -> (f64, u64) {
        (
            self.micros.load(Ordering::Relaxed) as f64 / 1e6,
            self.count.load(Ordering::Relaxed),
        )
    }
}

/// The node's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Requests accepted (signed, well-formed) and parked.
    pub requests_accepted: Counter,
    /// Requests refused before running (4xx).
    pub requests_rejected: Counter,
    /// Requests committed.
    pub commits: Counter,
    /// Requests aborted.
    pub aborts: Counter,
    /// Log entries appended (P0).
    pub entries_appended: Counter,
    /// Batches of two or more enrolments run together (P0).
    pub batches: Counter,
    /// Enrolments that ran in those batches (P0).
    pub batched: Counter,
    /// The MPC checks of one request (validation, gate, comparison).
    pub mpc: Timing,
    /// P0: one request from its run order to the decision applied and told to the peers.
    pub round: Timing,
    /// Waiting for the witnesses' cosignature and building the receipt.
    pub receipt: Timing,
}

impl Metrics {
    /// The Prometheus text exposition, with gauges passed in.
    pub fn render(&self, party: &str, gallery_records: usize, parked: usize) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            out.push_str(&format!(
                "# HELP masque_node_{name} {help}\n# TYPE masque_node_{name} counter\nmasque_node_{name}{{custodian=\"{party}\"}} {value}\n"
            ));
        };
        counter(
            "requests_accepted_total",
            "Signed, well-formed requests parked to run.",
            self.requests_accepted.get(),
        );
        counter(
            "requests_rejected_total",
            "Requests refused before running.",
            self.requests_rejected.get(),
        );
        counter(
            "commits_total",
            "Requests committed at all three custodians.",
            self.commits.get(),
        );
        counter(
            "aborts_total",
            "Requests aborted (nothing stored).",
            self.aborts.get(),
        );
        counter(
            "log_entries_appended_total",
            "Entries this custodian appended.",
            self.entries_appended.get(),
        );
        counter(
            "enrolment_batches_total",
            "Batches of two or more enrolments run as one computation (P0).",
            self.batches.get(),
        );
        counter(
            "batched_enrolments_total",
            "Enrolments that ran in those batches (P0).",
            self.batched.get(),
        );
        out.push_str("# HELP masque_node_phase_seconds Time per phase of the requests: mpc (the checks on shares), round (P0: run order to the decision applied and told), receipt (the witnesses' cosignature and the proof).\n# TYPE masque_node_phase_seconds summary\n");
        for (phase, timing) in [
            ("mpc", &self.mpc),
            ("round", &self.round),
            ("receipt", &self.receipt),
        ] {
            let (sum, count) = timing.get();
            out.push_str(&format!(
                "masque_node_phase_seconds_sum{{custodian=\"{party}\",phase=\"{phase}\"}} {sum:.6}\nmasque_node_phase_seconds_count{{custodian=\"{party}\",phase=\"{phase}\"}} {count}\n"
            ));
        }
        out.push_str(&format!(
            "# HELP masque_node_gallery_records Records in the in-memory gallery.\n# TYPE masque_node_gallery_records gauge\nmasque_node_gallery_records{{custodian=\"{party}\"}} {gallery_records}\n"
        ));
        out.push_str(&format!(
            "# HELP masque_node_parked_requests Requests waiting for their run order.\n# TYPE masque_node_parked_requests gauge\nmasque_node_parked_requests{{custodian=\"{party}\"}} {parked}\n"
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_timings_are_summaries_a_scraper_can_divide() {
        let metrics = Metrics::default();
        metrics.mpc.record(Duration::from_millis(30));
        metrics.mpc.record(Duration::from_millis(10));
        assert_eq!(metrics.round.time(|| 7), 7);
        let text = metrics.render("P0", 3, 0);
        assert!(
            text.contains(
                "masque_node_phase_seconds_sum{custodian=\"P0\",phase=\"mpc\"} 0.040000\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("masque_node_phase_seconds_count{custodian=\"P0\",phase=\"mpc\"} 2\n")
        );
        assert!(
            text.contains("masque_node_phase_seconds_count{custodian=\"P0\",phase=\"round\"} 1\n")
        );
        assert!(
            text.contains(
                "masque_node_phase_seconds_count{custodian=\"P0\",phase=\"receipt\"} 0\n"
            )
        );
        assert!(text.contains("# TYPE masque_node_phase_seconds summary\n"));
    }
}
