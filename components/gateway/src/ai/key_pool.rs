//! Several API keys per provider (`synthetic_api_key = "k1,k2,k3"`):
//! synthetic.new allows one concurrent request per model per key, so a pool
//! multiplies what one provider slot can carry.
//!
//! Each call leases the key with the fewest requests in flight, counted in
//! the shared store so every instance (and every host on one Redis) sees
//! the same load; ties go round-robin by time so quiet traffic still uses
//! every key. A key that answers 429 or 401/403 is set aside for its
//! `Retry-After` (else a default) and the call is retried with the next key
//! before the provider counts as failing. In-flight counters live in
//! per-minute keys, so a count an instance never released (it was killed
//! mid-call) is forgotten within two minutes. Keys are never logged or put
//! in a store key: only their index in the pool is.
//!
//! A provider with one key skips all of this: no store calls are added.

use std::cell::RefCell;
use std::collections::BTreeMap;

use wws_guest::kv::{Counters, SharedCounters};

/// Set aside this long when a 429 names no `Retry-After`.
const RATE_LIMITED_SECS: u64 = 30;
/// A key the provider refuses (401/403) is likely revoked: longer.
const REFUSED_SECS: u64 = 300;

/// A key's in-flight counter is read in its minute and the next.
const COUNTER_TTL_SECS: u32 = 180;

/// The index of the key to use: fewest in flight among those `available`
/// (`None` = set aside or tried already), ties broken from `start` on.
pub fn choose(in_flight: &[Option<i64>], start: usize) -> Option<usize> {
    let count = in_flight.len();
    (0..count)
        .map(|offset| (start + offset) % count.max(1))
        .filter_map(|index| Some((index, in_flight[index]?)))
        .min_by_key(|(_, load)| *load)
        .map(|(index, _)| index)
}

/// How long a key is set aside after answering `status`.
pub fn set_aside_secs(status: u16, retry_after: Option<&str>) -> Option<u64> {
    match status {
        429 => Some(
            retry_after
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(RATE_LIMITED_SECS),
        ),
        401 | 403 => Some(REFUSED_SECS),
        _ => None,
    }
}

/// A key held for one call; dropping it releases its in-flight count.
pub struct Lease {
    pub index: usize,
    pub key: String,
    counter: Option<String>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(counter) = &self.counter {
            let _ = SharedCounters.add(counter, -1, 0);
        }
    }
}

thread_local! {
    /// Leases whose answer is still going out; an instance serves one request.
    static HELD: RefCell<Vec<Lease>> = const { RefCell::new(Vec::new()) };
}

/// Keeps `lease` in flight until [`release`], when the response is done.
pub fn hold(lease: Lease) {
    HELD.with_borrow_mut(|held| held.push(lease));
}

/// Releases every held lease: called once the handler has answered.
pub fn release() {
    drop(HELD.take());
}

fn counter_key(provider: &str, index: usize, minute: u64) -> String {
    format!("kp:{provider}:{index}:{minute}")
}

fn aside_key(provider: &str) -> String {
    format!("kp:{provider}:aside")
}

/// Leases a key of `provider`'s pool that is not in `tried`; `None` when
/// every key is set aside or tried.
pub fn lease(provider: &str, keys: &[String], tried: &[usize]) -> Option<Lease> {
    if keys.len() <= 1 {
        let key = keys.first().filter(|_| tried.is_empty())?;
        return Some(Lease {
            index: 0,
            key: key.clone(),
            counter: None,
        });
    }
    let now_ms = wws_guest::time::now_millis();
    let minute = now_ms / 60_000;
    let counters = SharedCounters;
    let aside = set_aside(&counters, provider, now_ms);
    // Both minutes of every key in one read: one round trip on Redis.
    let windows: Vec<String> = (0..keys.len())
        .flat_map(|index| {
            [minute, minute.saturating_sub(1)].map(|minute| counter_key(provider, index, minute))
        })
        .collect();
    let counts = counters.read(&windows).unwrap_or_default();
    let in_flight: Vec<Option<i64>> = (0..keys.len())
        .map(|index| {
            if tried.contains(&index) || aside.contains_key(&index) {
                return None;
            }
            let count = |slot: usize| counts.get(2 * index + slot).copied().unwrap_or(0);
            Some(count(0) + count(1))
        })
        .collect();
    let start = (now_ms % keys.len() as u64) as usize;
    let index = choose(&in_flight, start)?;
    let key = counter_key(provider, index, minute);
    let counter = counters.add(&key, 1, COUNTER_TTL_SECS).ok().map(|_| key);
    Some(Lease {
        index,
        key: keys[index].clone(),
        counter,
    })
}

/// Sets the leased key aside for `secs`.
pub fn put_aside(provider: &str, lease: &Lease, secs: u64) {
    let now_ms = wws_guest::time::now_millis();
    let until = now_ms.saturating_add(secs.saturating_mul(1000));
    let key = aside_key(provider);
    let ttl_secs = u32::try_from(secs.saturating_add(1)).unwrap_or(u32::MAX);
    let _ = SharedCounters.swap_if(&key, ttl_secs, |current| {
        let mut aside = current.map(parse_aside).unwrap_or_default();
        aside.retain(|_, until| *until > now_ms);
        aside.insert(lease.index, until);
        serde_json::to_vec(&aside).ok()
    });
    eprintln!(
        "gateway: {provider}'s key #{} set aside for {secs} s",
        lease.index
    );
}

/// The keys set aside now, by index, with when each comes back.
fn set_aside(counters: &impl Counters, provider: &str, now_ms: u64) -> BTreeMap<usize, u64> {
    let mut aside = counters
        .record(&aside_key(provider))
        .ok()
        .flatten()
        .map(|bytes| parse_aside(&bytes))
        .unwrap_or_default();
    aside.retain(|_, until| *until > now_ms);
    aside
}

fn parse_aside(bytes: &[u8]) -> BTreeMap<usize, u64> {
    serde_json::from_slice(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_loaded_available_key_is_chosen() {
        assert_eq!(choose(&[Some(2), Some(0), Some(1)], 0), Some(1));
        assert_eq!(choose(&[None, Some(5), Some(5)], 0), Some(1));
        assert_eq!(choose(&[None, None], 0), None);
        assert_eq!(choose(&[], 0), None);
    }

    #[test]
    fn ties_rotate_from_the_start_index() {
        let idle = [Some(0), Some(0), Some(0)];
        let picks: Vec<_> = (0..3).filter_map(|start| choose(&idle, start)).collect();
        assert_eq!(picks, [0, 1, 2]);
        assert_eq!(choose(&[Some(0), None, Some(0)], 1), Some(2));
    }

    #[test]
    fn refusals_and_rate_limits_set_a_key_aside() {
        assert_eq!(set_aside_secs(429, Some("12")), Some(12));
        assert_eq!(set_aside_secs(429, Some("soon")), Some(RATE_LIMITED_SECS));
        assert_eq!(set_aside_secs(429, None), Some(RATE_LIMITED_SECS));
        assert_eq!(set_aside_secs(401, None), Some(REFUSED_SECS));
        assert_eq!(set_aside_secs(500, Some("1")), None);
    }
}
