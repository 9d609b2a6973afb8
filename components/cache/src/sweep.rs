//! Keeping the cache bounded in a store without expiry.
//!
//! An entry is otherwise deleted only when the same key is looked up after
//! its last deadline, so every prompt or page asked once would stay for
//! ever. Once a minute (claimed across all instances by whichever write first
//! claims that minute in the shared counters) one write also reads cache entries and
//! deletes those past their stale-if-error deadline, and any it cannot decode.

use wws_guest::kv::{Counters, Kv, KvError};

use crate::{entry, key};

/// Entries read (and so at most deleted) per sweep unless `sweep_max_reads`
/// says otherwise, so the write that runs it stays fast; the rest wait for
/// the next minute. The edge manifest sets it within the platform's KV
/// quotas.
const MAX_READS: u64 = 2_000;

const SWEEP_EVERY_MILLIS: u64 = 60_000;

/// One claim a minute: `cache-sweep:<minute>`.
const MARKER: &str = "cache-sweep";

/// Called after an entry was written.
pub fn if_due(store: &impl Kv, counters: &impl Counters, now_millis: u64) {
    let max_reads = wws_guest::config::get_u64("sweep_max_reads", MAX_READS) as usize;
    if let Err(error) = sweep_if_first(store, counters, now_millis, max_reads) {
        eprintln!("cache: sweep failed: {error}");
    }
}

fn sweep_if_first(
    store: &impl Kv,
    counters: &impl Counters,
    now_millis: u64,
    max_reads: usize,
) -> Result<(), KvError> {
    let minute = now_millis / SWEEP_EVERY_MILLIS;
    if !counters.claim_period(MARKER, minute, (SWEEP_EVERY_MILLIS / 1000) as u32)? {
        return Ok(());
    }
    let entries = store
        .keys()?
        .into_iter()
        .filter(|stored| key::path_of(stored).is_some())
        .take(max_reads);
    for stored in entries {
        let Some(bytes) = store.get(&stored)? else {
            continue;
        };
        if is_dead(&bytes, now_millis) {
            store.delete(&stored)?;
        }
    }
    Ok(())
}

/// Past every deadline (not even servable on upstream errors), or garbage.
fn is_dead(bytes: &[u8], now_millis: u64) -> bool {
    entry::decode(bytes).is_none_or(|stored| stored.state(now_millis).is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(error_until: u64) -> Vec<u8> {
        entry::encode(&entry::Entry {
            stored_at: 0,
            fresh_until: 10,
            stale_until: 20,
            error_until,
            status: 200,
            headers: Vec::new(),
            body: b"{}".to_vec(),
        })
    }

    #[test]
    fn only_entries_past_their_last_deadline_die() {
        assert!(!is_dead(&stored(1_000), 999));
        assert!(is_dead(&stored(1_000), 1_001));
        assert!(is_dead(b"not an entry", 0));
    }

    fn entry_key(body: &[u8]) -> String {
        key::derive(&key::Parts {
            scope: None,
            method: "POST",
            path: "/v1/chat/completions",
            query: "",
            body,
        })
    }

    #[test]
    fn a_claimed_sweep_deletes_dead_and_undecodable_entries_only() {
        let counters = wws_guest::kv::CountersOnKv::new(wws_guest::kv::MemoryKv::default());
        let store = counters.store();
        let live = entry_key(b"live");
        let dead = entry_key(b"dead");
        let garbage = entry_key(b"garbage");
        store.set(&live, &stored(10_000_000)).expect("set");
        store.set(&dead, &stored(1_000)).expect("set");
        store.set(&garbage, b"not an entry").expect("set");
        store.set("auth:session:x", b"{}").expect("set");
        sweep_if_first(store, &counters, 5_000_000, 2_000).expect("sweep");
        let keys = store.key_list();
        assert!(keys.contains(&live), "{keys:?}");
        assert!(
            !keys.contains(&dead) && !keys.contains(&garbage),
            "{keys:?}"
        );
        assert!(
            keys.contains(&"auth:session:x".to_string()),
            "other families stay"
        );
    }
}
