//! One sliding-window counter in the store: add, decide, take back.

use wws_guest::kv::{KvError, Store};

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
        store: &Store,
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
