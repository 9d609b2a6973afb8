//! Sliding-window counters in the shared counters: what a decision charges,
//! and what it tells the client.

use wws_guest::kv::{Charge, Charged, Counters, Kv, KvError};

use crate::sweep;
use crate::window::{self, Counts, Outcome, Window};

/// A principal's counter for one limit, in the window `now_millis` falls in.
pub struct Counter {
    pub window: Window,
    pub key: String,
    previous_key: String,
}

/// One counter charged with an amount against its limit.
pub struct Charging<'a> {
    pub counter: &'a Counter,
    pub amount: u64,
    pub limit: u64,
}

/// What a set of charges came to: admitted together or not at all.
pub struct Admission {
    pub admitted: bool,
    /// One per charge tried; when refused, the last is the one that did not fit.
    pub outcomes: Vec<Outcome>,
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

    /// The counter is read for the sliding weight through the next window,
    /// so it may be forgotten two window lengths after it opened.
    pub fn ttl_secs(&self) -> u32 {
        self.window.length_secs().saturating_mul(2)
    }

    fn charge(&self, amount: u64, limit: u64, now_millis: u64) -> Charge {
        Charge {
            key: self.key.clone(),
            previous: self.previous_key.clone(),
            overlap_millis: self.window.previous_overlap_millis(now_millis),
            length_millis: self.window.length_millis(),
            amount: to_delta(amount),
            limit: to_delta(limit),
            ttl_secs: self.ttl_secs(),
        }
    }
}

/// Charges every counter or none, in one call to the counters (one round
/// trip on Redis). A window a charge opened triggers the limiter's cleanup
/// where the counters do not forget by themselves; `store` opens the
/// key-value store only then.
pub fn charge_all<K: Kv>(
    counters: &impl Counters,
    store: impl FnOnce() -> Result<K, KvError>,
    charges: &[Charging],
    now_millis: u64,
) -> Result<Admission, KvError> {
    let wanted: Vec<Charge> = charges
        .iter()
        .map(|charging| {
            charging
                .counter
                .charge(charging.amount, charging.limit, now_millis)
        })
        .collect();
    let outcome = counters.charge_all(&wanted)?;
    let opened: Vec<&Counter> = charges
        .iter()
        .zip(&outcome.tried)
        .filter(|(charging, seen)| seen.current == to_delta(charging.amount))
        .map(|(charging, _)| charging.counter)
        .collect();
    if !opened.is_empty() && !counters.forgets() {
        match store() {
            Ok(store) => {
                for counter in opened {
                    let opened = (counter.window, counter.key.as_str());
                    sweep::after_window_opened(&store, counters, opened, now_millis);
                }
            }
            Err(error) => eprintln!("ratelimit: no cleanup: {error}"),
        }
    }
    let outcomes = charges
        .iter()
        .zip(&outcome.tried)
        .map(|(charging, seen)| outcome_of(charging, *seen, charging.counter.window, now_millis))
        .collect();
    Ok(Admission {
        admitted: outcome.admitted,
        outcomes,
    })
}

fn outcome_of(charging: &Charging, seen: Charged, window: Window, now_millis: u64) -> Outcome {
    let counts = Counts {
        previous: seen.previous.max(0) as u64,
        current: seen.current.max(0) as u64,
    };
    window::admit(counts, charging.amount, charging.limit, window, now_millis)
}

pub fn to_delta(amount: u64) -> i64 {
    i64::try_from(amount).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use wws_guest::kv::{CountersOnKv, MemoryKv};

    use super::*;

    /// 10:00 into a minute window, so the previous window weighs nothing
    /// at the end of this one and fully at its start.
    const START: u64 = 600_000;

    fn charge_one(
        counters: &CountersOnKv<MemoryKv>,
        counter: &Counter,
        limit: u64,
        now: u64,
    ) -> bool {
        let charging = Charging {
            counter,
            amount: 1,
            limit,
        };
        let charged = charge_all(
            counters,
            || Ok::<_, KvError>(counters.store()),
            &[charging],
            now,
        )
        .expect("charge");
        assert_eq!(charged.admitted, charged.outcomes[0].allowed);
        charged.admitted
    }

    #[test]
    fn admits_up_to_the_limit_and_takes_a_refusal_back() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let counter = Counter::new("abc", "/v1", 60, START);
        for _ in 0..3 {
            assert!(charge_one(&counters, &counter, 3, START));
        }
        assert!(!charge_one(&counters, &counter, 3, START));
        assert_eq!(
            counters.counter(&counter.key).expect("read"),
            3,
            "the refusal is not counted"
        );
    }

    #[test]
    fn the_previous_window_weighs_on_the_next() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let first = Counter::new("abc", "/v1", 60, START);
        for _ in 0..3 {
            assert!(charge_one(&counters, &first, 3, START));
        }
        // At the very start of the next window the previous one counts whole.
        let next = Counter::new("abc", "/v1", 60, START + 60_000);
        assert!(!charge_one(&counters, &next, 3, START + 60_000));
        // Near its end the previous window has all but faded.
        assert!(charge_one(&counters, &next, 3, START + 119_000));
    }

    #[test]
    fn the_counters_decision_is_the_window_arithmetics() {
        let counter = Counter::new("abc", "/v1", 60, START);
        for elapsed in [0, 1, 15_000, 30_000, 59_999] {
            for (previous, current) in [(0, 1), (10, 5), (60, 31), (60, 30), (7, 2)] {
                let now = START + elapsed;
                let charging = Charging {
                    counter: &counter,
                    amount: 1,
                    limit: 30,
                };
                let seen = Charged { current, previous };
                assert_eq!(
                    counter.charge(1, 30, now).fits(seen),
                    outcome_of(&charging, seen, counter.window, now).allowed,
                    "{elapsed} ms in, {previous} then {current}"
                );
            }
        }
    }

    #[test]
    fn opening_a_window_removes_the_counter_two_windows_back() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let old = Counter::new("abc", "/v1", 60, START);
        charge_one(&counters, &old, 10, START);
        let later = START + 2 * 60_000;
        let new = Counter::new("abc", "/v1", 60, later);
        charge_one(&counters, &new, 10, later);
        let left: Vec<String> = counters
            .store()
            .key_list()
            .into_iter()
            .filter(|key| key.starts_with("rl:abc:"))
            .collect();
        assert_eq!(left, [new.key.as_str()]);
    }
}
