//! Operations per station and hour, kept for the explorer's plots (the last 14 days of
//! each station's activity).

use std::collections::HashMap;

use masque_protocol::entry::{LogEntry, Operation, Outcome};
use serde::{Deserialize, Serialize};

use crate::view::{ActivityView, HourCounts, StationActivity};

/// Hours kept per station.
const KEEP_HOURS: u64 = 14 * 24;
/// Name of the series for entries without a station.
pub const NO_STATION: &str = "(none)";

/// Per-station hourly counts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Activity {
    stations: HashMap<String, Vec<HourCounts>>,
}

impl Activity {
    /// Counts one entry.
    pub fn count(&mut self, entry: &LogEntry) {
        let b = &entry.body;
        let name = b.station.as_deref().unwrap_or(NO_STATION);
        // Looked up by `&str` first: no allocation for a station already seen.
        if !self.stations.contains_key(name) {
            self.stations.insert(name.to_owned(), Vec::new());
        }
        let Some(hours) = self.stations.get_mut(name) else {
            return;
        };
        let slot = match hours.iter().rposition(|h| h.hour == b.hour) {
            Some(i) => &mut hours[i],
            None => {
                let at = hours.partition_point(|h| h.hour < b.hour);
                hours.insert(
                    at,
                    HourCounts {
                        hour: b.hour,
                        ..Default::default()
                    },
                );
                let newest = hours.last().map_or(0, |h| h.hour);
                hours.retain(|h| h.hour + KEEP_HOURS * 3600 > newest);
                match hours.iter().position(|h| h.hour == b.hour) {
                    Some(i) => &mut hours[i],
                    None => return,
                }
            }
        };
        match (b.op, b.outcome) {
            (_, Outcome::Refused) => slot.refused += 1,
            (Operation::Enrol, Outcome::Enrolled) => slot.enrolled += 1,
            (Operation::Enrol, Outcome::Duplicate) => slot.duplicate += 1,
            (Operation::Verify, _) => slot.verify += 1,
            _ => slot.other += 1,
        }
    }

    /// The explorer's view, stations by name; `rates` are the declared rates.
    pub fn view(&self, rates: &HashMap<String, u32>) -> ActivityView {
        let mut stations: Vec<StationActivity> = self
            .stations
            .iter()
            .map(|(name, hours)| StationActivity {
                station: name.clone(),
                declared_per_hour: rates.get(name).copied(),
                hours: hours.clone(),
            })
            .collect();
        stations.sort_by(|a, b| a.station.cmp(&b.station));
        ActivityView { stations }
    }
}
