//! A store in memory with the WASI store's semantics, for the components'
//! native unit tests (feature `memory`): counters are kept as Spin's SQLite
//! store keeps them, 8 little-endian bytes, and a store can be made to fail
//! its atomic operations as a platform without working atomics does.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use super::store::{AtomicKv, Kv, KvError, decode_counter};

#[derive(Default)]
pub struct MemoryKv {
    entries: RefCell<BTreeMap<String, Vec<u8>>>,
    atomics_fail: Cell<bool>,
}

impl MemoryKv {
    /// From now on, increments and swaps fail while plain reads work.
    pub fn break_atomics(&self) {
        self.atomics_fail.set(true);
    }

    /// Every key, sorted: what a test expects the store to hold.
    pub fn key_list(&self) -> Vec<String> {
        self.entries.borrow().keys().cloned().collect()
    }

    fn atomics(&self) -> Result<(), KvError> {
        if self.atomics_fail.get() {
            return Err(KvError::Store("atomics unsupported".into()));
        }
        Ok(())
    }
}

impl Kv for MemoryKv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.entries.borrow().get(key).cloned())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.entries
            .borrow_mut()
            .insert(key.to_string(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), KvError> {
        self.entries.borrow_mut().remove(key);
        Ok(())
    }

    fn keys(&self) -> Result<Vec<String>, KvError> {
        Ok(self.key_list())
    }
}

impl AtomicKv for MemoryKv {
    fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        self.atomics()?;
        let mut entries = self.entries.borrow_mut();
        let current = match entries.get(key) {
            None => 0,
            Some(bytes) => decode_counter(bytes)
                .ok_or_else(|| KvError::Store(format!("{key} does not hold a counter")))?,
        };
        let next = current.saturating_add(delta);
        entries.insert(key.to_string(), next.to_le_bytes().to_vec());
        Ok(next)
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> Result<bool, KvError> {
        self.atomics()?;
        if self.get(key)?.as_deref() != expected {
            return Ok(false);
        }
        self.set(key, value).map(|()| true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_kept_as_spins_sqlite_store_keeps_them() {
        let store = MemoryKv::default();
        assert_eq!(store.increment("c", 5).expect("add"), 5);
        assert_eq!(store.increment("c", -2).expect("take back"), 3);
        assert_eq!(
            store.get("c").expect("read"),
            Some(3i64.to_le_bytes().to_vec())
        );
        store.set("text", b"hello").expect("set");
        assert!(store.increment("text", 1).is_err());
    }

    #[test]
    fn broken_atomics_leave_plain_reads_working() {
        let store = MemoryKv::default();
        store.set("k", b"v").expect("set");
        store.break_atomics();
        assert!(store.increment("c", 1).is_err());
        assert!(store.compare_and_swap("k", Some(b"v"), b"w").is_err());
        assert_eq!(store.get("k").expect("get").as_deref(), Some(&b"v"[..]));
    }
}
