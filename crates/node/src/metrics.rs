//! Counters served at `/metrics` in the Prometheus text format.

use std::sync::atomic::{AtomicU64, Ordering};

/// One monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// The value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
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
        out.push_str(&format!(
            "# HELP masque_node_gallery_records Records in the in-memory gallery.\n# TYPE masque_node_gallery_records gauge\nmasque_node_gallery_records{{custodian=\"{party}\"}} {gallery_records}\n"
        ));
        out.push_str(&format!(
            "# HELP masque_node_parked_requests Requests waiting for their run order.\n# TYPE masque_node_parked_requests gauge\nmasque_node_parked_requests{{custodian=\"{party}\"}} {parked}\n"
        ));
        out
    }
}
