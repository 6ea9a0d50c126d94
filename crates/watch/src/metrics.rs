//! The watcher's Prometheus metrics (text format 0.0.4).

use std::fmt::Write;

use crate::alert::{Alert, Rule};
use crate::store::WatchState;

/// Renders the metrics from the committed state and the alerts raised.
pub fn render(state: &WatchState, alerts: &[Alert]) -> String {
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, value: String| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    };
    gauge(
        "masque_watch_log_size",
        "Entries verified and replayed.",
        state.frontier.size().to_string(),
    );
    gauge(
        "masque_watch_last_poll_timestamp_seconds",
        "When the log was last polled (Unix seconds).",
        state.last_poll.unwrap_or(0).to_string(),
    );
    gauge(
        "masque_watch_last_poll_failed",
        "1 if the last poll failed (log unreachable, bad checkpoint, fork).",
        u8::from(state.last_error.is_some()).to_string(),
    );
    gauge(
        "masque_watch_checkpoint_cosigners",
        "Witness cosignatures on the last verified checkpoint.",
        state.cosigners.len().to_string(),
    );
    let _ = writeln!(
        out,
        "# HELP masque_watch_alerts_total Alerts raised, by rule and severity.\n\
         # TYPE masque_watch_alerts_total counter"
    );
    for rule in Rule::ALL {
        let count = alerts.iter().filter(|a| a.rule == rule).count();
        let severity = match rule.severity() {
            crate::alert::Severity::Critical => "critical",
            crate::alert::Severity::Warning => "warning",
        };
        let _ = writeln!(
            out,
            "masque_watch_alerts_total{{rule=\"{}\",severity=\"{severity}\"}} {count}",
            rule.name()
        );
    }
    out
}
