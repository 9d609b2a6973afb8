//! Shared counters, as the components use them: the `mylder:wws/counters`
//! contract in Rust terms. [`CountersOnKv`](super::CountersOnKv) implements
//! it on a store with atomics (the plug for self-hosted Spin and wws-host,
//! and the components' unit tests); the edge build's plug implements the
//! same contract on Redis.

use super::store::KvError;

/// One amount added to a counter; `ttl_secs` 0 keeps its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addition {
    pub key: String,
    pub delta: i64,
    pub ttl_secs: u32,
}

/// The counters contract. Every operation is one round trip to the store
/// behind it on Redis; on a key-value store `add_then_read` takes one call
/// per addition and one for the reads.
pub trait Counters {
    /// Adds each amount, then reads `keys` (zero for missing ones), which
    /// see every addition.
    fn add_then_read(&self, additions: &[Addition], keys: &[String]) -> Result<Vec<i64>, KvError>;

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
