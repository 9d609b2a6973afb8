//! The counters contract on a key-value store with atomics: what the
//! counters plug exports on self-hosted Spin and wws-host, and what the
//! components' unit tests count on (over `MemoryKv`).

use super::counters::{Charge, ChargeOutcome, Charged, Counters};
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
        match self.store.get(key)? {
            None => Ok(0),
            Some(bytes) => decode_counter(&bytes)
                .ok_or_else(|| KvError::Store(format!("{key} does not hold a counter"))),
        }
    }

    fn take_back(&self, charges: &[Charge]) {
        for charge in charges {
            let _ = self.store.increment(&charge.key, -charge.amount);
        }
    }
}

impl<K: AtomicKv> Counters for CountersOnKv<K> {
    /// Increments never conflict, so admission needs no compare-and-swap
    /// to retry under contention: an amount is added, then judged, and
    /// taken back when it does not fit.
    fn charge_all(&self, charges: &[Charge]) -> Result<ChargeOutcome, KvError> {
        let mut tried = Vec::with_capacity(charges.len());
        for (index, charge) in charges.iter().enumerate() {
            let current = match self.store.increment(&charge.key, charge.amount) {
                Ok(current) => current,
                Err(error) => {
                    self.take_back(&charges[..index]);
                    return Err(error);
                }
            };
            let previous = match self.value(&charge.previous) {
                Ok(previous) => previous,
                Err(error) => {
                    self.take_back(&charges[..=index]);
                    return Err(error);
                }
            };
            let seen = Charged { current, previous };
            tried.push(seen);
            if !charge.fits(seen) {
                self.take_back(&charges[..=index]);
                return Ok(ChargeOutcome {
                    admitted: false,
                    tried,
                });
            }
        }
        Ok(ChargeOutcome {
            admitted: true,
            tried,
        })
    }

    fn add(&self, key: &str, delta: i64, _ttl_secs: u32) -> Result<i64, KvError> {
        self.store.increment(key, delta)
    }

    fn read(&self, keys: &[String]) -> Result<Vec<i64>, KvError> {
        keys.iter().map(|key| self.value(key)).collect()
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
    use super::*;
    use crate::kv::{Kv, MemoryKv};

    fn counters() -> CountersOnKv<MemoryKv> {
        CountersOnKv::new(MemoryKv::default())
    }

    fn charge(key: &str, amount: i64, limit: i64) -> Charge {
        Charge {
            key: key.into(),
            previous: format!("{key}:before"),
            overlap_millis: 30_000,
            length_millis: 60_000,
            amount,
            limit,
            ttl_secs: 120,
        }
    }

    #[test]
    fn charges_are_held_together_or_not_at_all() {
        let counters = counters();
        let both = [charge("minute", 5, 10), charge("day", 5, 7)];
        let first = counters.charge_all(&both).expect("charge");
        assert!(first.admitted);
        assert_eq!(first.tried.len(), 2);
        let second = counters.charge_all(&both).expect("charge");
        assert!(!second.admitted, "the day budget is spent");
        assert_eq!(second.tried[1].current, 10, "the refused charge's view");
        assert_eq!(counters.counter("minute").expect("read"), 5);
        assert_eq!(counters.counter("day").expect("read"), 5);
    }

    #[test]
    fn the_previous_window_counts_by_its_overlap() {
        let counters = counters();
        counters.add("k:before", 8, 0).expect("add");
        let fits = counters.charge_all(&[charge("k", 6, 10)]).expect("charge");
        assert!(fits.admitted, "6 + 8 / 2 = 10");
        let over = counters.charge_all(&[charge("k", 1, 10)]).expect("charge");
        assert!(!over.admitted, "7 + 8 / 2 = 11");
        assert_eq!(
            over.tried,
            [Charged {
                current: 7,
                previous: 8
            }]
        );
        assert_eq!(counters.counter("k").expect("read"), 6);
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
        assert!(counters.charge_all(&[charge("k", 1, 10)]).is_err());
        assert!(counters.add("k", 1, 0).is_err());
        assert_eq!(counters.counter("k").expect("plain reads work"), 0);
    }
}
