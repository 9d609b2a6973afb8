//! An in-process store for tests; lost when the host stops.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::error::{KvError, decode_counter};

#[derive(Clone, Default)]
pub struct MemoryStore {
    entries: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl MemoryStore {
    fn with<T>(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, Vec<u8>>) -> Result<T, KvError>,
    ) -> Result<T, KvError> {
        let mut entries = self.entries.lock().map_err(|_| KvError::Poisoned)?;
        f(&mut entries)
    }

    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.with(|entries| Ok(entries.get(key).cloned()))
    }

    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.with(|entries| {
            entries.insert(key.to_string(), value.to_vec());
            Ok(())
        })
    }

    pub fn delete(&self, key: &str) -> Result<(), KvError> {
        self.with(|entries| {
            entries.remove(key);
            Ok(())
        })
    }

    pub fn keys(&self) -> Result<Vec<String>, KvError> {
        self.with(|entries| Ok(entries.keys().cloned().collect()))
    }

    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        self.with(|entries| {
            let current = match entries.get(key) {
                Some(bytes) => decode_counter(key, bytes)?,
                None => 0,
            };
            let next = current.wrapping_add(delta);
            entries.insert(key.to_string(), next.to_le_bytes().to_vec());
            Ok(next)
        })
    }

    pub fn swap(&self, key: &str, expected: Option<&[u8]>, value: &[u8]) -> Result<bool, KvError> {
        self.with(|entries| {
            if entries.get(key).map(Vec::as_slice) != expected {
                return Ok(false);
            }
            entries.insert(key.to_string(), value.to_vec());
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_cas() {
        let store = MemoryStore::default();
        assert_eq!(store.increment("n", 2).unwrap(), 2);
        assert_eq!(store.increment("n", -1).unwrap(), 1);
        assert_eq!(store.get("n").unwrap(), Some(1i64.to_le_bytes().to_vec()));
        assert!(store.swap("k", None, b"a").unwrap());
        assert!(!store.swap("k", None, b"b").unwrap());
        assert!(store.swap("k", Some(b"a"), b"c").unwrap());
        assert_eq!(store.get("k").unwrap().as_deref(), Some(&b"c"[..]));
    }
}
