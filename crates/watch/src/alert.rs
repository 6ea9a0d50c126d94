//! Alerts: what the watcher raises, with a stable id, the entries behind it and, for a
//! broken rule, what exactly was broken.
//!
//! Ids are derived from the log (`<rule>-<index of the entry that triggered it>`, or the
//! checkpoint size for log-level alerts), so replaying the same log raises the same ids
//! and a restart cannot raise one twice.

use serde::{Deserialize, Serialize};

use crate::view::AlertView;

/// Every rule and detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Two checkpoints of one size with different roots (from the log, a witness or a
    /// peer monitor): the log showed two histories.
    Fork,
    /// A checkpoint that does not verify, or entries that do not hash to the signed root.
    BadLog,
    /// An entry that does not parse as a log entry.
    MalformedEntry,
    /// Some custodians signed the entry and others did not: a rogue or broken custodian.
    RogueCustodian,
    /// No custodian signed the entry: the log accepted an entry nobody vouches for.
    UnsignedEntry,
    /// A 1:1 check without a consent that was granted for that service.
    NoConsent,
    /// A 1:1 check under a consent revoked before it.
    ConsentRevoked,
    /// A 1:1 check after its consent expired.
    ConsentExpired,
    /// An operation on a record after that record's deletion (needs its audit key).
    AfterDeletion,
    /// A station beyond its declared rate in one hour.
    StationRate,
    /// Detector: a station with an unusual share of duplicate enrolments.
    DuplicateHarvesting,
    /// Detector: repeated failing 1:1 checks under one consent.
    Probing,
    /// Detector: a station far above its usual volume.
    Burst,
    /// Detector: a station busy in hours it is never active.
    OffHours,
    /// Detector: refusals clustered on one station.
    RefusalCluster,
}

impl Rule {
    /// Every rule, for metrics and docs.
    pub const ALL: [Rule; 15] = [
        Rule::Fork,
        Rule::BadLog,
        Rule::MalformedEntry,
        Rule::RogueCustodian,
        Rule::UnsignedEntry,
        Rule::NoConsent,
        Rule::ConsentRevoked,
        Rule::ConsentExpired,
        Rule::AfterDeletion,
        Rule::StationRate,
        Rule::DuplicateHarvesting,
        Rule::Probing,
        Rule::Burst,
        Rule::OffHours,
        Rule::RefusalCluster,
    ];

    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Fork => "fork",
            Rule::BadLog => "bad-log",
            Rule::MalformedEntry => "malformed-entry",
            Rule::RogueCustodian => "rogue-custodian",
            Rule::UnsignedEntry => "unsigned-entry",
            Rule::NoConsent => "no-consent",
            Rule::ConsentRevoked => "consent-revoked",
            Rule::ConsentExpired => "consent-expired",
            Rule::AfterDeletion => "after-deletion",
            Rule::StationRate => "station-rate",
            Rule::DuplicateHarvesting => "duplicate-harvesting",
            Rule::Probing => "probing",
            Rule::Burst => "burst",
            Rule::OffHours => "off-hours",
            Rule::RefusalCluster => "refusal-cluster",
        }
    }

    /// Broken protocol rules are critical; detectors' statistical anomalies are warnings.
    pub fn severity(self) -> Severity {
        match self {
            Rule::DuplicateHarvesting
            | Rule::Probing
            | Rule::Burst
            | Rule::OffHours
            | Rule::RefusalCluster => Severity::Warning,
            _ => Severity::Critical,
        }
    }
}

/// How bad an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// The log or a custodian broke the protocol; provable from the log.
    Critical,
    /// A statistical anomaly worth a human look.
    Warning,
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// `<rule>-<index>`.
    pub id: String,
    /// What was broken or detected.
    pub rule: Rule,
    /// Critical or warning.
    pub severity: Severity,
    /// In plain words.
    pub summary: String,
    /// The station concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station: Option<String>,
    /// The service concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Hour of the triggering entry (Unix seconds); 0 for log-level alerts.
    pub hour: u64,
    /// The entries behind it, ascending.
    pub entries: Vec<u64>,
    /// For fork and bad-log alerts: the signed checkpoint notes involved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// For after-deletion alerts: which of the watcher's audit keys (by position).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_key: Option<usize>,
    /// The verified log size when it was raised.
    pub raised_at_size: u64,
}

impl Alert {
    /// An alert of `rule` triggered at `key` (an entry index or a checkpoint size).
    pub fn new(rule: Rule, key: u64, summary: String) -> Self {
        Self {
            id: format!("{}-{key}", rule.name()),
            rule,
            severity: rule.severity(),
            summary,
            station: None,
            service: None,
            hour: 0,
            entries: Vec::new(),
            notes: Vec::new(),
            audit_key: None,
            raised_at_size: 0,
        }
    }

    /// The explorer's view.
    pub fn view(&self) -> AlertView {
        AlertView {
            id: self.id.clone(),
            rule: self.rule.name().into(),
            severity: match self.severity {
                Severity::Critical => "critical",
                Severity::Warning => "warning",
            }
            .into(),
            summary: self.summary.clone(),
            station: self.station.clone(),
            service: self.service.clone(),
            hour: self.hour,
            entries: self.entries.clone(),
            raised_at_size: self.raised_at_size,
        }
    }
}

/// Formats an hour (Unix seconds) as `2026-12-02 14:00 UTC`.
pub fn format_hour(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:00 UTC", unix % 86_400 / 3600)
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_formatted_in_utc() {
        assert_eq!(format_hour(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_hour(1_796_220_000), "2026-12-02 14:00 UTC");
        assert_eq!(format_hour(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn names_round_trip_through_serde_and_ids_are_stable() {
        for rule in Rule::ALL {
            let json = serde_json::to_string(&rule).unwrap();
            assert_eq!(json, format!("\"{}\"", rule.name()));
        }
        assert_eq!(
            Alert::new(Rule::NoConsent, 42, String::new()).id,
            "no-consent-42"
        );
        assert_eq!(Rule::Probing.severity(), Severity::Warning);
        assert_eq!(Rule::Fork.severity(), Severity::Critical);
    }
}
