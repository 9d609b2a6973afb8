//! Single flight: one upstream fetch per key at a time, across instances.
//!
//! The lease is a record in the shared counters holding its expiry, taken
//! with compare-and-set:
//! a request that finds no lease, or an expired one, takes it. A request that
//! crashes while holding it blocks others for at most `LEASE_MILLIS`.

use wws_guest::kv::{Counters, KvError};

/// Longer than a typical completion, short enough that a lost lease heals.
pub const LEASE_MILLIS: u64 = 30_000;

pub fn lease_key(cache_key: &str) -> String {
    format!("fill:{cache_key}")
}

/// True when the caller now holds the lease for `cache_key`.
pub fn claim(counters: &impl Counters, cache_key: &str, now_millis: u64) -> Result<bool, KvError> {
    let expires = (now_millis + LEASE_MILLIS).to_string().into_bytes();
    let ttl_secs = (LEASE_MILLIS / 1000) as u32;
    counters.swap_if(&lease_key(cache_key), ttl_secs, |current| {
        match current.and_then(parse_millis) {
            Some(held_until) if held_until > now_millis => None,
            _ => Some(expires.clone()),
        }
    })
}

/// True while someone holds an unexpired lease for `cache_key`.
pub fn is_held(
    counters: &impl Counters,
    cache_key: &str,
    now_millis: u64,
) -> Result<bool, KvError> {
    let lease = counters.record(&lease_key(cache_key))?;
    Ok(lease
        .as_deref()
        .and_then(parse_millis)
        .is_some_and(|held_until| held_until > now_millis))
}

pub fn release(counters: &impl Counters, cache_key: &str) -> Result<(), KvError> {
    counters.remove(&[lease_key(cache_key)])
}

fn parse_millis(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use wws_guest::kv::{CountersOnKv, MemoryKv};

    use super::*;

    const NOW: u64 = 1_000_000;

    #[test]
    fn one_caller_holds_the_lease_until_it_releases() {
        let store = CountersOnKv::new(MemoryKv::default());
        assert!(claim(&store, "k", NOW).expect("claim"));
        assert!(!claim(&store, "k", NOW + 1).expect("second claim"));
        assert!(is_held(&store, "k", NOW + 1).expect("held"));
        assert!(claim(&store, "other", NOW).expect("other keys are free"));
        release(&store, "k").expect("release");
        assert!(!is_held(&store, "k", NOW + 2).expect("held"));
        assert!(claim(&store, "k", NOW + 2).expect("claim after release"));
    }

    #[test]
    fn a_lease_left_behind_heals_after_its_period() {
        let store = CountersOnKv::new(MemoryKv::default());
        assert!(claim(&store, "k", NOW).expect("claim"));
        let later = NOW + LEASE_MILLIS;
        assert!(!is_held(&store, "k", later).expect("held"));
        assert!(claim(&store, "k", later).expect("claim an expired lease"));
    }

    #[test]
    fn a_store_without_atomics_claims_nothing() {
        let store = CountersOnKv::new(MemoryKv::default());
        store.store().break_atomics();
        assert!(claim(&store, "k", NOW).is_err());
    }
}
