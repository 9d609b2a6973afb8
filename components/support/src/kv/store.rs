//! What every store gives the components: plain reads and writes of
//! sessions, keys and cache entries. Counters live behind [`Counters`]
//! (`super::counters`), which may be another store altogether.
//!
//! Spin KV has no expiry: callers store their own deadlines inside values.

#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("key-value store unavailable: {0}")]
    Store(String),
}

/// A key-value store with Spin's semantics. The components' decisions take
/// `&impl Kv`, so the WASI store serves them in a component and
/// `MemoryKv` (feature `memory`) in their native unit tests.
///
/// [`Counters`]: super::Counters
pub trait Kv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;

    /// The values of `keys`, in their order: one host call where the store
    /// has a batch read, one `get` per key otherwise.
    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, KvError> {
        keys.iter().map(|key| self.get(key)).collect()
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError>;

    fn delete(&self, key: &str) -> Result<(), KvError>;

    /// Every key in the store.
    fn keys(&self) -> Result<Vec<String>, KvError>;
}

/// A borrowed store is a store, so a caller can lend one it keeps.
impl<T: Kv + ?Sized> Kv for &T {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        (**self).get(key)
    }

    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, KvError> {
        (**self).get_many(keys)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        (**self).set(key, value)
    }

    fn delete(&self, key: &str) -> Result<(), KvError> {
        (**self).delete(key)
    }

    fn keys(&self) -> Result<Vec<String>, KvError> {
        (**self).keys()
    }
}

/// A store with atomic operations, as Spin's SQLite and Redis stores have
/// them (`wasi:keyvalue/atomics`); what the counters plug for such hosts
/// builds [`Counters`] on.
///
/// [`Counters`]: super::Counters
pub trait AtomicKv: Kv {
    /// Atomically adds `delta`; a missing key counts as zero.
    fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError>;

    /// Writes `value` only if the key still holds `expected` (`None`: the
    /// key is absent); false when somebody changed it in between.
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> Result<bool, KvError>;
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
