//! Sliding-window counters in the shared counters: what an admission
//! charges, in one round trip, and what it tells the client.

use std::collections::BTreeMap;

use wws_guest::kv::{Addition, Counters, Kv, KvError};

use crate::lanes::Lane;
use crate::sweep;
use crate::window::{self, Counts, Outcome, Window};

/// A principal's counter for one limit, in the window `now_millis` falls in.
#[derive(Debug, Clone)]
pub struct Counter {
    pub window: Window,
    pub key: String,
    previous_key: String,
}

/// One limit charged with an amount, held in one lane of `counter`.
#[derive(Debug, Clone)]
pub struct Charging {
    pub counter: Counter,
    pub lane: Lane,
    pub amount: u64,
    pub limit: u64,
    /// Counters of the same window whose lane counts toward the same limit:
    /// a principal's minute token budget is held on the counter of the
    /// endpoint class it spends from, and judged over all of them.
    pub shared_with: Vec<Counter>,
}

impl Charging {
    /// The amount held: a lane holds at most its maximum, and an amount
    /// that large never fits a limit held to the same maximum.
    fn held(&self) -> u64 {
        self.amount.min(self.lane.max())
    }
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
}

/// What `values` (in the order of `keys`) hold for `key`.
struct Seen<'a> {
    keys: &'a [String],
    values: &'a [i64],
}

impl Seen<'_> {
    fn value(&self, key: &str) -> i64 {
        self.keys
            .iter()
            .position(|known| known == key)
            .and_then(|at| self.values.get(at).copied())
            .unwrap_or(0)
    }

    fn counts(&self, charging: &Charging) -> Counts {
        let lane = charging.lane;
        let counters = std::iter::once(&charging.counter).chain(&charging.shared_with);
        let (mut previous, mut current) = (0u64, 0u64);
        for counter in counters {
            previous = previous.saturating_add(lane.count(self.value(&counter.previous_key)));
            current = current.saturating_add(lane.count(self.value(&counter.key)));
        }
        Counts { previous, current }
    }
}

/// Charges every stage's limits in one call to the counters: each amount is
/// added, then every counter the decisions need is read. The first stage
/// with a limit that does not fit is taken back, with every stage after it;
/// the stages before it stay counted. Returns one outcome per charge, by
/// stage. A window an addition opened triggers the limiter's cleanup where
/// the counters do not forget by themselves; `store` opens the key-value
/// store only then.
pub fn charge_stages<K: Kv>(
    counters: &impl Counters,
    store: impl FnOnce() -> Result<K, KvError>,
    stages: &[Vec<Charging>],
    now_millis: u64,
) -> Result<Vec<Vec<Outcome>>, KvError> {
    let charges: Vec<&Charging> = stages.iter().flatten().collect();
    let added = additions(&charges, 1);
    let keys = keys_read(&charges);
    let values = counters.add_then_read(&added, &keys)?;
    let seen = Seen {
        keys: &keys,
        values: &values,
    };
    let outcomes: Vec<Vec<Outcome>> = stages
        .iter()
        .map(|stage| {
            stage
                .iter()
                .map(|charging| {
                    let limit = charging.limit.min(charging.lane.max());
                    let window = charging.counter.window;
                    window::admit(
                        seen.counts(charging),
                        charging.held(),
                        limit,
                        window,
                        now_millis,
                    )
                })
                .collect()
        })
        .collect();
    let refused = outcomes
        .iter()
        .position(|stage| stage.iter().any(|outcome| !outcome.allowed));
    if let Some(first) = refused {
        let taken: Vec<&Charging> = stages[first..].iter().flatten().collect();
        if let Err(error) = counters.add_then_read(&additions(&taken, -1), &[]) {
            eprintln!("ratelimit: a refused charge could not be taken back: {error}");
        }
    }
    let opened: Vec<&Counter> = charges
        .iter()
        .map(|charging| &charging.counter)
        .filter(|counter| {
            added.iter().any(|addition| {
                addition.key == counter.key && seen.value(&counter.key) == addition.delta
            })
        })
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
    Ok(outcomes)
}

/// One addition per counter, the lanes charged to it packed together;
/// `sign` -1 takes them back.
fn additions(charges: &[&Charging], sign: i64) -> Vec<Addition> {
    let mut packed: BTreeMap<&str, (i64, u32)> = BTreeMap::new();
    for charging in charges {
        let delta = charging.lane.delta(to_delta(charging.held())) * sign;
        let entry = packed
            .entry(charging.counter.key.as_str())
            .or_insert((0, charging.counter.ttl_secs()));
        entry.0 = entry.0.saturating_add(delta);
    }
    packed
        .into_iter()
        .map(|(key, (delta, ttl_secs))| Addition {
            key: key.to_string(),
            delta,
            ttl_secs,
        })
        .collect()
}

/// Every counter a decision weighs, current and previous window, once.
fn keys_read(charges: &[&Charging]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for charging in charges {
        for counter in std::iter::once(&charging.counter).chain(&charging.shared_with) {
            for key in [&counter.key, &counter.previous_key] {
                if !keys.contains(key) {
                    keys.push(key.clone());
                }
            }
        }
    }
    keys
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

    fn request(counter: &Counter, limit: u64) -> Charging {
        Charging {
            counter: counter.clone(),
            lane: Lane::Requests,
            amount: 1,
            limit,
            shared_with: Vec::new(),
        }
    }

    fn charge(
        counters: &CountersOnKv<MemoryKv>,
        stages: &[Vec<Charging>],
        now: u64,
    ) -> Vec<Vec<bool>> {
        charge_stages(counters, || Ok::<_, KvError>(counters.store()), stages, now)
            .expect("charge")
            .into_iter()
            .map(|stage| stage.iter().map(|outcome| outcome.allowed).collect())
            .collect()
    }

    fn charge_one(
        counters: &CountersOnKv<MemoryKv>,
        counter: &Counter,
        limit: u64,
        now: u64,
    ) -> bool {
        charge(counters, &[vec![request(counter, limit)]], now)[0][0]
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

    fn tokens(counter: &Counter, amount: u64, limit: u64, shared_with: &[&Counter]) -> Charging {
        Charging {
            counter: counter.clone(),
            lane: Lane::Tokens,
            amount,
            limit,
            shared_with: shared_with
                .iter()
                .map(|counter| (*counter).clone())
                .collect(),
        }
    }

    #[test]
    fn a_request_and_its_tokens_are_one_addition() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let chat = Counter::new("abc", "/v1/chat", 60, START);
        let stages = [
            vec![request(&chat, 10)],
            vec![tokens(&chat, 400, 1000, &[])],
        ];
        assert_eq!(charge(&counters, &stages, START), [[true], [true]]);
        assert_eq!(
            additions(&stages.iter().flatten().collect::<Vec<_>>(), 1).len(),
            1
        );
        let value = counters.counter(&chat.key).expect("read");
        assert_eq!(
            (Lane::Requests.count(value), Lane::Tokens.count(value)),
            (1, 400)
        );
    }

    #[test]
    fn tokens_without_room_are_taken_back_and_the_request_stays_counted() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let chat = Counter::new("abc", "/v1/chat", 60, START);
        let stages = [
            vec![request(&chat, 10)],
            vec![tokens(&chat, 600, 1000, &[])],
        ];
        assert_eq!(charge(&counters, &stages, START), [[true], [true]]);
        assert_eq!(charge(&counters, &stages, START), [[true], [false]]);
        let value = counters.counter(&chat.key).expect("read");
        assert_eq!(
            (Lane::Requests.count(value), Lane::Tokens.count(value)),
            (2, 600)
        );
    }

    #[test]
    fn a_refused_request_holds_no_tokens() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let chat = Counter::new("abc", "/v1/chat", 60, START);
        let stages = [vec![request(&chat, 1)], vec![tokens(&chat, 10, 1000, &[])]];
        assert_eq!(charge(&counters, &stages, START)[0], [true]);
        assert_eq!(charge(&counters, &stages, START)[0], [false]);
        let value = counters.counter(&chat.key).expect("read");
        assert_eq!(
            (Lane::Requests.count(value), Lane::Tokens.count(value)),
            (1, 10)
        );
    }

    #[test]
    fn a_budget_spread_over_classes_is_judged_over_all_of_them() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let chat = Counter::new("abc", "/v1/chat", 60, START);
        let messages = Counter::new("abc", "/v1/messages", 60, START);
        let on_chat = [
            vec![request(&chat, 10)],
            vec![tokens(&chat, 600, 1000, &[&messages])],
        ];
        let on_messages = [
            vec![request(&messages, 10)],
            vec![tokens(&messages, 600, 1000, &[&chat])],
        ];
        assert_eq!(charge(&counters, &on_chat, START)[1], [true]);
        assert_eq!(
            charge(&counters, &on_messages, START)[1],
            [false],
            "600 more than 1000 - 600"
        );
        let previous_window_share = START + 60_000 + 30_000;
        let later = [
            vec![request(
                &Counter::new("abc", "/v1/messages", 60, previous_window_share),
                10,
            )],
            vec![tokens(
                &Counter::new("abc", "/v1/messages", 60, previous_window_share),
                701,
                1000,
                &[&Counter::new("abc", "/v1/chat", 60, previous_window_share)],
            )],
        ];
        // Half-way into the next minute the 600 spent on chat weigh 300.
        assert_eq!(charge(&counters, &later, previous_window_share)[1], [false]);
    }

    #[test]
    fn an_amount_beyond_a_lane_never_spills_into_the_other() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let chat = Counter::new("abc", "/v1/chat", 60, START);
        let stages = [
            vec![request(&chat, 10)],
            vec![tokens(&chat, u64::MAX, u64::MAX, &[])],
        ];
        assert_eq!(charge(&counters, &stages, START), [[true], [true]]);
        let value = counters.counter(&chat.key).expect("read");
        assert_eq!(Lane::Requests.count(value), 1);
        assert_eq!(Lane::Tokens.count(value), Lane::Tokens.max());
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
