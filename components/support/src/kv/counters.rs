//! Shared counters, as the components use them: the `mylder:wws/counters`
//! contract in Rust terms. [`CountersOnKv`](super::CountersOnKv) implements
//! it on a store with atomics (the plug for self-hosted Spin and wws-host,
//! and the components' unit tests); the edge build's plug implements the
//! same contract on Redis.

use super::store::KvError;

/// One amount charged against a sliding-window limit: the current window's
/// counter plus the previous one, weighted by how much of it still lies
/// within the last window length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub key: String,
    pub previous: String,
    pub overlap_millis: u64,
    pub length_millis: u64,
    pub amount: i64,
    pub limit: i64,
    /// After this the counter is no longer read and may be forgotten.
    pub ttl_secs: u32,
}

/// What one charge saw: the current count (the charge included) and the
/// previous window's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Charged {
    pub current: i64,
    pub previous: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeOutcome {
    /// All charges held, or none.
    pub admitted: bool,
    /// One per charge tried, in order; when refused the last one is the
    /// charge that did not fit.
    pub tried: Vec<Charged>,
}

impl Charge {
    /// The usage a decision sees: the current count plus the previous
    /// window's share, rounded up so a burst straddling a window boundary
    /// is never under-counted. The Redis plug's script computes the same.
    pub fn weighted_total(&self, seen: Charged) -> u64 {
        let carried = (u128::from(seen.previous.max(0) as u64) * u128::from(self.overlap_millis))
            .div_ceil(u128::from(self.length_millis.max(1)));
        (seen.current.max(0) as u64).saturating_add(carried.min(u128::from(u64::MAX)) as u64)
    }

    pub fn fits(&self, seen: Charged) -> bool {
        self.weighted_total(seen) <= self.limit.max(0) as u64
    }
}

/// The counters contract. Every operation is one round trip to the store
/// behind it on Redis; on a key-value store `charge_all` takes a few.
pub trait Counters {
    /// Adds each charge, in order, stopping at the first that does not fit
    /// ([`Charge::fits`]); then every charge is taken back.
    fn charge_all(&self, charges: &[Charge]) -> Result<ChargeOutcome, KvError>;

    /// Adds `delta` (a missing counter is zero); `ttl_secs` 0 keeps it.
    fn add(&self, key: &str, delta: i64, ttl_secs: u32) -> Result<i64, KvError>;

    /// The counters' values, zero for missing ones.
    fn read(&self, keys: &[String]) -> Result<Vec<i64>, KvError>;

    /// True for exactly one caller per key until it is forgotten.
    fn claim(&self, key: &str, ttl_secs: u32) -> Result<bool, KvError>;

    /// A small record kept with the counters (a lease, a key's rest).
    fn record(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;

    /// Writes `value` only if the record still holds `expected`.
    fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
        ttl_secs: u32,
    ) -> Result<bool, KvError>;

    fn remove(&self, keys: &[String]) -> Result<(), KvError>;

    /// Whether the store forgets keys after their ttl by itself, so callers
    /// need not remove or sweep them.
    fn forgets(&self) -> bool;

    /// One counter's value.
    fn counter(&self, key: &str) -> Result<i64, KvError> {
        Ok(self.read(&[key.to_string()])?.first().copied().unwrap_or(0))
    }

    /// Writes `update(current)` only if nobody changed the record in
    /// between; `update` returning `None` leaves it alone. Retries a few
    /// times under contention, then reports `Ok(false)`.
    fn swap_if(
        &self,
        key: &str,
        ttl_secs: u32,
        mut update: impl FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
    ) -> Result<bool, KvError> {
        const ATTEMPTS: usize = 4;
        for _ in 0..ATTEMPTS {
            let current = self.record(key)?;
            let Some(value) = update(current.as_deref()) else {
                return Ok(false);
            };
            if self.compare_and_set(key, current.as_deref(), &value, ttl_secs)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Claims `{prefix}:{period}` (periods `period_secs` long) for the
    /// caller: true for exactly one caller across every instance sharing the
    /// store. Where the store does not forget, the marker of two periods
    /// back, which can no longer be claimed, is removed, so markers stay
    /// bounded. For once-a-period chores such as sweeping expired entries.
    fn claim_period(&self, prefix: &str, period: u64, period_secs: u32) -> Result<bool, KvError> {
        let ttl_secs = period_secs.saturating_mul(2).max(1);
        if !self.claim(&format!("{prefix}:{period}"), ttl_secs)? {
            return Ok(false);
        }
        if !self.forgets() {
            let _ = self.remove(&[format!("{prefix}:{}", period.saturating_sub(2))]);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(overlap_millis: u64, limit: i64) -> Charge {
        Charge {
            key: "k".into(),
            previous: "p".into(),
            overlap_millis,
            length_millis: 60_000,
            amount: 1,
            limit,
            ttl_secs: 120,
        }
    }

    #[test]
    fn the_previous_window_weighs_by_its_overlap_rounded_up() {
        let seen = Charged {
            current: 2,
            previous: 10,
        };
        assert_eq!(charge(60_000, 100).weighted_total(seen), 12);
        assert_eq!(charge(30_000, 100).weighted_total(seen), 7);
        assert_eq!(
            charge(1, 100).weighted_total(seen),
            3,
            "a sliver still counts"
        );
        assert_eq!(charge(0, 100).weighted_total(seen), 2);
        assert!(charge(30_000, 7).fits(seen));
        assert!(!charge(30_000, 6).fits(seen));
    }

    #[test]
    fn negative_counts_weigh_nothing() {
        let seen = Charged {
            current: -4,
            previous: -9,
        };
        assert_eq!(charge(60_000, 0).weighted_total(seen), 0);
        assert!(charge(60_000, 0).fits(seen));
    }
}
