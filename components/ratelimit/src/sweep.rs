//! Keeping counters bounded in a store without expiry.
//!
//! Where the counters forget by themselves (Redis, on the edge build) none
//! of this runs. Spin KV has no TTL, so there the limiter retires its own
//! keys: when a request
//! opens a new window for a counter, it deletes that counter's key from two
//! windows back (the previous one is still read for the sliding weight). A
//! principal that goes quiet leaves at most two keys per counter behind; those
//! are found by a sweep over the store that runs at most once a minute across
//! all instances, claimed by whichever request first increments that minute's
//! marker. Live keys are therefore bounded by the principals active in the
//! last two windows, plus one marker.

use wws_guest::kv::{Counters, Kv, KvError};

use crate::window::Window;

/// A sweep deletes at most this many keys; any rest waits for the next one,
/// so the request that runs it stays fast.
const MAX_DELETIONS: usize = 10_000;

const SWEEP_EVERY_SECS: u32 = 60;

/// Called after a request opened window `opened` of the counter `key`.
pub fn after_window_opened(
    store: &impl Kv,
    counters: &impl Counters,
    (opened, key): (Window, &str),
    now_millis: u64,
) {
    if let Some(stale_key) = key_in_window(key, opened.back(2)) {
        let _ = counters.remove(&[stale_key]);
    }
    if let Err(error) = sweep_if_first(store, counters, now_millis) {
        eprintln!("ratelimit: sweep failed: {error}");
    }
}

/// The counters on a key-value store live in that store, so its key list
/// finds the expired ones.
fn sweep_if_first(
    store: &impl Kv,
    counters: &impl Counters,
    now_millis: u64,
) -> Result<(), KvError> {
    let minute = Window::containing(now_millis, SWEEP_EVERY_SECS);
    let marker = format!("rl:sweep:{}:{}", minute.length_secs(), minute.index());
    if !counters.claim(&marker, SWEEP_EVERY_SECS * 2)? {
        return Ok(());
    }
    let expired: Vec<String> = store
        .keys()?
        .into_iter()
        .filter(|key| is_expired(key, now_millis))
        .take(MAX_DELETIONS)
        .collect();
    counters.remove(&expired)
}

/// `counter_key` with its window index replaced by `window`'s.
fn key_in_window(counter_key: &str, window: Window) -> Option<String> {
    let (prefix, _) = counter_key.rsplit_once(':')?;
    Some(format!("{prefix}:{}", window.index()))
}

/// A limiter key older than the previous window of its own length.
fn is_expired(key: &str, now_millis: u64) -> bool {
    let Some(rest) = key.strip_prefix("rl:") else {
        return false;
    };
    let mut fields = rest.rsplitn(3, ':');
    let (Some(index), Some(length), Some(_)) = (fields.next(), fields.next(), fields.next()) else {
        return false;
    };
    let (Ok(index), Ok(length)) = (index.parse::<u64>(), length.parse::<u32>()) else {
        return false;
    };
    index + 1 < Window::containing(now_millis, length).index()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_limiter_keys_older_than_the_previous_window_expire() {
        let now = 600_000; // minute 10
        assert!(is_expired("rl:abc:/api/ai/chat:60:8", now));
        assert!(!is_expired("rl:abc:/api/ai/chat:60:9", now));
        assert!(!is_expired("rl:abc:/api/ai/chat:60:10", now));
        assert!(is_expired("rl:sweep:60:3", now));
        assert!(!is_expired("rl:abc:tokens:86400:0", now));
        assert!(!is_expired("cache:abc", now));
        assert!(!is_expired("rl:garbage", now));
    }

    #[test]
    fn finds_the_same_counter_in_another_window() {
        let window = Window::containing(600_000, 60);
        assert_eq!(
            key_in_window("rl:abc:/v1:60:10", window.back(2)).as_deref(),
            Some("rl:abc:/v1:60:8")
        );
    }

    #[test]
    fn the_sweep_runs_once_a_minute_and_deletes_only_expired_keys() {
        let counters = wws_guest::kv::CountersOnKv::new(wws_guest::kv::MemoryKv::default());
        let store = counters.store();
        let now = 600_000;
        for key in ["rl:gone:/v1:60:5", "rl:live:/v1:60:9", "cache:x"] {
            store.set(key, b"1").expect("set");
        }
        sweep_if_first(store, &counters, now).expect("sweep");
        let keys = store.key_list();
        assert!(!keys.contains(&"rl:gone:/v1:60:5".to_string()), "{keys:?}");
        assert!(keys.contains(&"rl:live:/v1:60:9".to_string()));
        assert!(keys.contains(&"cache:x".to_string()));

        store.set("rl:gone:/v1:60:6", b"1").expect("set");
        sweep_if_first(store, &counters, now + 1_000).expect("sweep");
        assert!(
            store.key_list().contains(&"rl:gone:/v1:60:6".to_string()),
            "a second sweep in the same minute does nothing"
        );
    }
}
