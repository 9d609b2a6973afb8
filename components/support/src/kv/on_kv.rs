//! The counters contract on a key-value store with atomics: what the
//! counters plug exports on self-hosted Spin and wws-host, and what the
//! components' unit tests count on (over `MemoryKv`).

use std::collections::HashMap;

use super::counters::{Addition, Counters};
use super::store::{AtomicKv, KvError, decode_counter};

pub struct CountersOnKv<K> {
    store: K,
}

impl<K: AtomicKv> CountersOnKv<K> {
    pub fn new(store: K) -> Self {
        Self { store }
    }

    pub fn store(&self) -> &K {
        &self.store
    }

    /// A plain read, not `increment(key, 0)`: that would cost a write
    /// transaction on Spin's SQLite store and create the key.
    fn value(&self, key: &str) -> Result<i64, KvError> {
        counter_in(key, self.store.get(key)?.as_deref())
    }
}

fn counter_in(key: &str, bytes: Option<&[u8]>) -> Result<i64, KvError> {
    match bytes {
        None => Ok(0),
        Some(bytes) => decode_counter(bytes)
            .ok_or_else(|| KvError::Store(format!("{key} does not hold a counter"))),
    }
}

impl<K: AtomicKv> Counters for CountersOnKv<K> {
    /// Increments never conflict, so a limiter needs no compare-and-swap
    /// to retry under contention: it adds, then judges what it reads. A
    /// counter added to is answered with the value its increment returned,
    /// as one script on Redis would: read later, it would also hold the
    /// additions of callers who came after and are about to be refused and
    /// take theirs back, and a burst would refuse far more than the limit.
    /// The store does not forget, so ttls are not kept; an addition that
    /// fails leaves the earlier ones in place, as separate `add`s would.
    fn add_then_read(&self, additions: &[Addition], keys: &[String]) -> Result<Vec<i64>, KvError> {
        let mut after_addition: HashMap<&str, i64> = HashMap::new();
        for addition in additions {
            let value = self.store.increment(&addition.key, addition.delta)?;
            after_addition.insert(addition.key.as_str(), value);
        }
        let unread: Vec<String> = keys
            .iter()
            .filter(|key| !after_addition.contains_key(key.as_str()))
            .cloned()
            .collect();
        let mut read = self.read(&unread)?.into_iter();
        keys.iter()
            .map(|key| match after_addition.get(key.as_str()) {
                Some(value) => Ok(*value),
                None => read
                    .next()
                    .ok_or_else(|| KvError::Store(format!("no value read for {key}"))),
            })
            .collect()
    }

    fn add(&self, key: &str, delta: i64, _ttl_secs: u32) -> Result<i64, KvError> {
        self.store.increment(key, delta)
    }

    /// One batch read.
    fn read(&self, keys: &[String]) -> Result<Vec<i64>, KvError> {
        let values = self.store.get_many(keys)?;
        keys.iter()
            .zip(&values)
            .map(|(key, bytes)| counter_in(key, bytes.as_deref()))
            .collect()
    }

    fn claim(&self, key: &str, _ttl_secs: u32) -> Result<bool, KvError> {
        // Claimed already (the common case): a read, not a write.
        if self.value(key)? > 0 {
            return Ok(false);
        }
        Ok(self.store.increment(key, 1)? == 1)
    }

    fn record(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.store.get(key)
    }

    fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
        _ttl_secs: u32,
    ) -> Result<bool, KvError> {
        self.store.compare_and_swap(key, expected, value)
    }

    fn remove(&self, keys: &[String]) -> Result<(), KvError> {
        keys.iter().try_for_each(|key| self.store.delete(key))
    }

    fn forgets(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::kv::{Kv, MemoryKv};

    fn counters() -> CountersOnKv<MemoryKv> {
        CountersOnKv::new(MemoryKv::default())
    }

    fn addition(key: &str, delta: i64) -> Addition {
        Addition {
            key: key.into(),
            delta,
            ttl_secs: 120,
        }
    }

    fn keys(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|key| key.to_string()).collect()
    }

    #[test]
    fn the_reads_see_every_addition_and_missing_counters_are_zero() {
        let counters = counters();
        let both = [addition("minute", 5), addition("day", 3)];
        let seen = counters
            .add_then_read(&both, &keys(&["minute", "day", "never"]))
            .expect("add then read");
        assert_eq!(seen, [5, 3, 0]);
        let again = counters
            .add_then_read(&[addition("minute", -1)], &keys(&["day", "minute"]))
            .expect("again");
        assert_eq!(again, [3, 4], "in the order asked, the earlier adds kept");
        assert_eq!(
            counters.add_then_read(&[], &[]).expect("nothing"),
            Vec::<i64>::new()
        );
    }

    #[test]
    fn a_key_that_holds_no_counter_is_an_error() {
        let counters = counters();
        counters.store().set("text", b"hello").expect("set");
        assert!(counters.add_then_read(&[], &keys(&["text"])).is_err());
        assert!(
            counters
                .add_then_read(&[addition("text", 1)], &keys(&["other"]))
                .is_err()
        );
        assert!(counters.read(&keys(&["text"])).is_err());
    }

    /// A store that counts its reads, to hold the reads to one batch, and
    /// can play another caller adding to `a` between the additions and the
    /// batch read.
    #[derive(Default)]
    struct Counting {
        store: MemoryKv,
        gets: Cell<u32>,
        batches: Cell<u32>,
        added_by_another_caller: Cell<i64>,
    }

    impl Kv for Counting {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
            self.gets.set(self.gets.get() + 1);
            self.store.get(key)
        }

        fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, KvError> {
            self.batches.set(self.batches.get() + 1);
            let interleaved = self.added_by_another_caller.take();
            if interleaved != 0 {
                self.store.increment("a", interleaved)?;
            }
            self.store.get_many(keys)
        }

        fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
            self.store.set(key, value)
        }

        fn delete(&self, key: &str) -> Result<(), KvError> {
            self.store.delete(key)
        }

        fn keys(&self) -> Result<Vec<String>, KvError> {
            self.store.keys()
        }
    }

    impl AtomicKv for Counting {
        fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
            self.store.increment(key, delta)
        }

        fn compare_and_swap(
            &self,
            key: &str,
            expected: Option<&[u8]>,
            value: &[u8],
        ) -> Result<bool, KvError> {
            self.store.compare_and_swap(key, expected, value)
        }
    }

    #[test]
    fn the_reads_are_one_batch() {
        let counters = CountersOnKv::new(Counting::default());
        let seen = counters
            .add_then_read(&[addition("a", 2)], &keys(&["a", "b", "c"]))
            .expect("add then read");
        assert_eq!(seen, [2, 0, 0]);
        assert_eq!(counters.store().batches.get(), 1);
        assert_eq!(counters.store().gets.get(), 0);
    }

    /// Read after the fact, `a` would be 9 and this caller, one of the
    /// first two in, could be refused a limit of 5.
    #[test]
    fn a_counter_added_to_is_seen_as_the_addition_left_it() {
        let counters = CountersOnKv::new(Counting::default());
        counters.store().added_by_another_caller.set(7);
        let seen = counters
            .add_then_read(&[addition("a", 2)], &keys(&["b", "a"]))
            .expect("add then read");
        assert_eq!(seen, [0, 2]);
        assert_eq!(counters.read(&keys(&["a"])).expect("read"), [9]);
    }

    #[test]
    fn a_claim_goes_to_one_caller_and_old_periods_are_removed() {
        let counters = counters();
        assert!(counters.claim_period("sweep", 7, 60).expect("claim"));
        assert!(!counters.claim_period("sweep", 7, 60).expect("again"));
        assert!(counters.claim_period("sweep", 9, 60).expect("later"));
        assert_eq!(counters.store().key_list(), ["sweep:9"]);
    }

    #[test]
    fn records_swap_only_from_what_was_read() {
        let counters = counters();
        assert!(counters.compare_and_set("r", None, b"a", 0).expect("set"));
        assert!(!counters.compare_and_set("r", None, b"b", 0).expect("taken"));
        assert!(
            counters
                .swap_if("r", 0, |current| {
                    (current == Some(&b"a"[..])).then(|| b"c".to_vec())
                })
                .expect("swap")
        );
        assert_eq!(
            counters.record("r").expect("read").as_deref(),
            Some(&b"c"[..])
        );
        counters.remove(&["r".into()]).expect("remove");
        assert_eq!(counters.store().get("r").expect("get"), None);
    }

    #[test]
    fn a_store_without_atomics_fails_and_leaves_nothing_held() {
        let counters = counters();
        counters.store().break_atomics();
        assert!(
            counters
                .add_then_read(&[addition("k", 1)], &keys(&["k"]))
                .is_err()
        );
        assert!(counters.add("k", 1, 0).is_err());
        assert_eq!(counters.counter("k").expect("plain reads work"), 0);
    }
}
