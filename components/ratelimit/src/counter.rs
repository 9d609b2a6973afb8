//! One sliding-window counter in the store: add, decide, take back.

use wws_guest::kv::{Kv, KvError};

use crate::sweep;
use crate::window::{self, Counts, Outcome, Window};

/// A principal's counter for one limit, in the window `now_millis` falls in.
pub struct Counter {
    pub window: Window,
    pub key: String,
    previous_key: String,
}

impl Counter {
    pub fn new(principal_digest: &str, name: &str, window_secs: u32, now_millis: u64) -> Self {
        let window = Window::containing(now_millis, window_secs);
        Self {
            window,
            key: window.key(principal_digest, name),
            previous_key: window.back(1).key(principal_digest, name),
        }
    }

    /// Adds `amount` and decides; a rejected amount is taken back at once so
    /// it does not count against the principal.
    pub fn charge(
        &self,
        store: &impl Kv,
        amount: u64,
        limit: u64,
        now_millis: u64,
    ) -> Result<Outcome, KvError> {
        let delta = to_delta(amount);
        let current = store.increment(&self.key, delta)?;
        // The previous window is only read: no write, and no key created.
        let previous = store.counter(&self.previous_key)?;
        if current == delta {
            sweep::after_window_opened(store, self.window, &self.key, now_millis);
        }
        let counts = Counts {
            previous: previous.max(0) as u64,
            current: current.max(0) as u64,
        };
        let outcome = window::admit(counts, amount, limit, self.window, now_millis);
        if !outcome.allowed {
            store.increment(&self.key, -delta)?;
        }
        Ok(outcome)
    }
}

pub fn to_delta(amount: u64) -> i64 {
    i64::try_from(amount).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use wws_guest::kv::MemoryKv;

    use super::*;

    /// 10:00 into a minute window, so the previous window weighs nothing
    /// at the end of this one and fully at its start.
    const START: u64 = 600_000;

    #[test]
    fn admits_up_to_the_limit_and_takes_a_refusal_back() {
        let store = MemoryKv::default();
        let counter = Counter::new("abc", "/v1", 60, START);
        for _ in 0..3 {
            assert!(counter.charge(&store, 1, 3, START).expect("charge").allowed);
        }
        assert!(!counter.charge(&store, 1, 3, START).expect("charge").allowed);
        assert_eq!(
            store.counter(&counter.key).expect("read"),
            3,
            "the refusal is not counted"
        );
    }

    #[test]
    fn the_previous_window_weighs_on_the_next() {
        let store = MemoryKv::default();
        let first = Counter::new("abc", "/v1", 60, START);
        assert!(first.charge(&store, 3, 3, START).expect("charge").allowed);
        // At the very start of the next window the previous one counts whole.
        let next = Counter::new("abc", "/v1", 60, START + 60_000);
        assert!(
            !next
                .charge(&store, 1, 3, START + 60_000)
                .expect("charge")
                .allowed
        );
        // Near its end the previous window has all but faded.
        assert!(
            next.charge(&store, 1, 3, START + 119_000)
                .expect("charge")
                .allowed
        );
    }

    #[test]
    fn opening_a_window_deletes_the_counter_two_windows_back() {
        let store = MemoryKv::default();
        let old = Counter::new("abc", "/v1", 60, START);
        old.charge(&store, 1, 10, START).expect("charge");
        let later = START + 2 * 60_000;
        let new = Counter::new("abc", "/v1", 60, later);
        new.charge(&store, 1, 10, later).expect("charge");
        let counters: Vec<String> = store
            .key_list()
            .into_iter()
            .filter(|key| key.starts_with("rl:abc:"))
            .collect();
        assert_eq!(counters, [new.key.as_str()]);
    }
}
