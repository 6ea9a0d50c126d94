//! Request rates per station and per record.
//!
//! Each custodian limits how many requests one station key and one record key may make
//! per minute (GCRA from `governor`, a burst of the whole minute's quota). A request over
//! its rate gets 429 before anything runs; the three custodians count independently, so
//! a station over its rate at one custodian sees the request fail there and the
//! coordinator abort it everywhere.

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;

/// The node's limiters.
pub struct RateLimits {
    stations: DefaultKeyedRateLimiter<[u8; 32]>,
    records: DefaultKeyedRateLimiter<[u8; 32]>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RateLimits")
    }
}

/// Which key is over its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// A station.
    Station,
    /// A record.
    Record,
}

impl RateLimits {
    /// Limits of `per_station` and `per_record` requests per minute (each at least 1).
    pub fn new(per_station: u32, per_record: u32) -> Self {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least one"));
        Self {
            stations: RateLimiter::keyed(quota(per_station)),
            records: RateLimiter::keyed(quota(per_record)),
        }
    }

    /// Counts one request by station `key`.
    pub fn station(&self, key: &[u8; 32]) -> Result<(), Limited> {
        self.stations.check_key(key).map_err(|_| Limited::Station)
    }

    /// Counts one request about record `key`.
    pub fn record(&self, key: &[u8; 32]) -> Result<(), Limited> {
        self.records.check_key(key).map_err(|_| Limited::Record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_gets_its_own_quota() {
        let limits = RateLimits::new(3, 2);
        for _ in 0..3 {
            limits.station(&[1; 32]).unwrap();
        }
        assert_eq!(limits.station(&[1; 32]), Err(Limited::Station));
        limits.station(&[2; 32]).unwrap();
        limits.record(&[1; 32]).unwrap();
        limits.record(&[1; 32]).unwrap();
        assert_eq!(limits.record(&[1; 32]), Err(Limited::Record));
    }
}
