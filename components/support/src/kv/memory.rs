//! A store in memory with the WASI store's semantics, for the components'
//! native unit tests (feature `memory`): counters are kept as Spin's SQLite
//! store keeps them, 8 little-endian bytes, and a store can be made to fail
//! its atomic operations as a platform without working atomics does.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use super::store::{Kv, KvError, decode_counter};

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

    fn swap_if(
        &self,
        key: &str,
        mut update: impl FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
    ) -> Result<bool, KvError> {
        self.atomics()?;
        let current = self.get(key)?;
        match update(current.as_deref()) {
            Some(value) => self.set(key, &value).map(|()| true),
            None => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_claimed_once_and_old_markers_go() {
        let store = MemoryKv::default();
        assert!(store.claim_period("sweep", 7).expect("claim"));
        assert!(!store.claim_period("sweep", 7).expect("second claim"));
        assert!(store.claim_period("sweep", 9).expect("a later period"));
        assert_eq!(store.key_list(), ["sweep:9"], "sweep:7 is two periods back");
    }

    #[test]
    fn counters_read_as_written_and_a_missing_one_is_zero() {
        let store = MemoryKv::default();
        assert_eq!(store.counter("c").expect("read"), 0);
        assert_eq!(store.increment("c", 5).expect("add"), 5);
        assert_eq!(store.increment("c", -2).expect("take back"), 3);
        assert_eq!(store.counter("c").expect("read"), 3);
        store.set("text", b"hello").expect("set");
        assert!(store.counter("text").is_err());
    }

    #[test]
    fn broken_atomics_leave_plain_reads_working() {
        let store = MemoryKv::default();
        store.set("k", b"v").expect("set");
        store.break_atomics();
        assert!(store.increment("c", 1).is_err());
        assert!(store.swap_if("k", |_| Some(b"w".to_vec())).is_err());
        assert_eq!(store.get("k").expect("get").as_deref(), Some(&b"v"[..]));
    }
}
