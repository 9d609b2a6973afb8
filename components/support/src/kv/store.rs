//! What every store gives the components: plain reads and writes, atomic
//! increments and compare-and-swap, with the two chores built on them
//! (reading a counter, claiming a period) defined once for every store.
//!
//! Spin KV has no expiry: callers store their own deadlines inside values.
//! Counters are written only through [`Kv::increment`] and read through
//! [`Kv::counter`], because Spin's SQLite and Redis stores encode them
//! differently.

#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("key-value store unavailable: {0}")]
    Store(String),
}

/// A key-value store with Spin's semantics. The components' decisions take
/// `&impl Kv`, so the WASI store serves them in a component and
/// `MemoryKv` (feature `memory`) in their native unit tests.
pub trait Kv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;

    fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError>;

    fn delete(&self, key: &str) -> Result<(), KvError>;

    /// Every key in the store.
    fn keys(&self) -> Result<Vec<String>, KvError>;

    /// Atomically adds `delta`; a missing key counts as zero.
    fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError>;

    /// Compare-and-swap: writes `update(current)` only if nobody changed the
    /// key in between; `update` returning `None` leaves the key alone.
    /// Retries a few times under contention, then reports `Ok(false)`.
    fn swap_if(
        &self,
        key: &str,
        update: impl FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
    ) -> Result<bool, KvError>;

    /// A counter's value without writing it (a missing key is zero).
    /// Reading with `increment(key, 0)` would cost a write transaction on
    /// Spin's SQLite store and create the key; a plain `get` costs a read.
    fn counter(&self, key: &str) -> Result<i64, KvError> {
        match self.get(key)? {
            None => Ok(0),
            Some(bytes) => decode_counter(&bytes)
                .ok_or_else(|| KvError::Store(format!("{key} does not hold a counter"))),
        }
    }

    /// Claims `{prefix}:{period}` for the caller: true for exactly one
    /// caller across every instance sharing the store (the one whose
    /// increment made it 1). The marker of two periods back can no longer
    /// be claimed and is deleted, so markers stay bounded. For
    /// once-a-period chores such as sweeping expired entries.
    fn claim_period(&self, prefix: &str, period: u64) -> Result<bool, KvError> {
        let marker = format!("{prefix}:{period}");
        // Claimed already (the common case): a read, not a write.
        if self.counter(&marker)? > 0 {
            return Ok(false);
        }
        if self.increment(&marker, 1)? != 1 {
            return Ok(false);
        }
        let _ = self.delete(&format!("{prefix}:{}", period.saturating_sub(2)));
        Ok(true)
    }
}

/// A counter as a Spin store keeps it: Redis (`INCRBY`) as decimal text,
/// Spin's SQLite store as 8 little-endian bytes. Eight bytes that are all
/// decimal text are read as text: as little-endian they would exceed 3.4e18,
/// a count no counter reaches.
pub fn decode_counter(bytes: &[u8]) -> Option<i64> {
    let as_text = std::str::from_utf8(bytes)
        .ok()
        .filter(|text| !text.is_empty())
        .and_then(|text| text.parse::<i64>().ok());
    match (as_text, <[u8; 8]>::try_from(bytes)) {
        (Some(value), _) => Some(value),
        (None, Ok(le)) => Some(i64::from_le_bytes(le)),
        (None, Err(_)) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::decode_counter;

    #[test]
    fn counters_decode_in_either_stores_encoding() {
        assert_eq!(decode_counter(&7i64.to_le_bytes()), Some(7));
        assert_eq!(decode_counter(&(-3i64).to_le_bytes()), Some(-3));
        assert_eq!(decode_counter(&0i64.to_le_bytes()), Some(0));
        assert_eq!(decode_counter(b"7"), Some(7));
        assert_eq!(decode_counter(b"-12"), Some(-12));
        assert_eq!(decode_counter(b"12345678"), Some(12_345_678));
        assert_eq!(decode_counter(&10_000i64.to_le_bytes()), Some(10_000));
        assert_eq!(decode_counter(b""), None);
        assert_eq!(decode_counter(b"not a number"), None);
    }
}
