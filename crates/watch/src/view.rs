//! What the explorer page and `masque watch` show: the watcher's state as JSON
//! documents (the explorer's `/api/...` answers). Nothing here is secret: it is all
//! derived from the public log.

use serde::{Deserialize, Serialize};

/// `GET /api/status`: where the watcher stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusView {
    /// The log's origin line (its name).
    pub origin: String,
    /// Entries verified and replayed so far (the size of the last verified checkpoint).
    pub size: u64,
    /// That checkpoint's root hash, base64.
    pub root: String,
    /// That checkpoint as signed and cosigned (the note text).
    pub checkpoint_note: String,
    /// The witnesses whose cosignatures verified on it.
    pub cosigners: Vec<CosignerView>,
    /// The witnesses the policy lists (cosigned or not).
    pub witnesses: Vec<String>,
    /// When the watcher last polled the log (Unix seconds), if it has.
    pub last_poll: Option<u64>,
    /// The error of the last poll, if it failed (the log unreachable, say).
    pub last_error: Option<String>,
    /// Log size over time, one point per poll that saw growth (at most a few thousand,
    /// thinned evenly).
    pub growth: Vec<GrowthPoint>,
    /// Alerts raised so far, by severity.
    pub alerts: AlertCounts,
}

/// A witness cosignature on the current checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CosignerView {
    /// The witness's name in the policy.
    pub name: String,
    /// The cosignature's timestamp (Unix seconds).
    pub timestamp: u64,
}

/// One point of the log's growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrowthPoint {
    /// When (Unix seconds).
    pub unix: u64,
    /// The log's size then.
    pub size: u64,
}

/// Alerts by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertCounts {
    /// The log or a custodian broke the protocol (fork, bad signature, rule broken).
    pub critical: u64,
    /// A detector's statistical anomaly.
    pub warning: u64,
}

/// `GET /api/alerts`: one alert, newest first in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertView {
    /// Stable id (`<rule>-<index>`), the argument of `masque watch evidence`.
    pub id: String,
    /// The rule or detector (`no-consent`, `fork`, `duplicate-harvesting`, ...).
    pub rule: String,
    /// `critical` or `warning`.
    pub severity: String,
    /// What happened, in plain words.
    pub summary: String,
    /// The station concerned, if any.
    pub station: Option<String>,
    /// The service concerned, if any.
    pub service: Option<String>,
    /// The hour of the (last) entry behind it (Unix seconds).
    pub hour: u64,
    /// The indexes of the log entries behind it.
    pub entries: Vec<u64>,
    /// The log size at which it was raised.
    pub raised_at_size: u64,
}

/// `GET /api/entries?from=N&limit=M`: a page of entries, as they are in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntriesPage {
    /// Index of the first entry in `entries`.
    pub from: u64,
    /// The verified log size (entries at and past it are not served).
    pub size: u64,
    /// The entries, in order from `from`.
    pub entries: Vec<EntryView>,
}

/// One log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryView {
    /// Its index in the log.
    pub index: u64,
    /// The entry's JSON, as logged (custodian signatures included).
    pub entry: serde_json::Value,
}

/// `GET /api/activity`: operations per station and hour, for the explorer's plots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityView {
    /// One series per station (entries without a station are under `(none)`).
    pub stations: Vec<StationActivity>,
}

/// One station's activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationActivity {
    /// The station's pseudonym.
    pub station: String,
    /// Its declared rate (operations per hour), if the network declares one.
    pub declared_per_hour: Option<u32>,
    /// Counts per hour, oldest first, only hours with activity (at most the last 14
    /// days).
    pub hours: Vec<HourCounts>,
}

/// One station's operations in one hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourCounts {
    /// The hour (Unix seconds, a multiple of 3600).
    pub hour: u64,
    /// Enrolments that stored a new record.
    pub enrolled: u32,
    /// Enrolments refused as duplicates.
    pub duplicate: u32,
    /// 1:1 checks (match or no match).
    pub verify: u32,
    /// Refused requests.
    pub refused: u32,
    /// Everything else (deletions, consents, issuance).
    pub other: u32,
}
