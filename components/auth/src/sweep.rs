//! Keeping the session cache bounded in a store without expiry.
//!
//! Session and deny entries are otherwise deleted only when the same token
//! comes back after their deadline, so every login and every rejected token
//! would stay for ever. Once a minute (claimed across all instances by
//! whichever write first claims that minute in the shared counters) one
//! write also deletes the entries past their deadline, and the refusal
//! counters where the counters live in this store.

use wws_guest::kv::{Counters, Kv, KvError};

use crate::{refusals, session};

/// Entries read (and so at most deleted) per sweep unless `sweep_max_reads`
/// says otherwise, so the request that runs it stays fast; the edge
/// manifest sets it within the platform's KV quotas.
const MAX_READS: u64 = 2_000;

/// One claim a minute: `auth-sweep:<minute>`.
const MARKER: &str = "auth-sweep";

/// Called after a session or deny entry was written; `now` in seconds.
pub fn if_due(store: &impl Kv, counters: &impl Counters, now: u64) {
    let max_reads = wws_guest::config::get_u64("sweep_max_reads", MAX_READS) as usize;
    if let Err(error) = sweep_if_first(store, counters, now, max_reads) {
        eprintln!("auth: sweep failed: {error}");
    }
}

fn sweep_if_first(
    store: &impl Kv,
    counters: &impl Counters,
    now: u64,
    max_reads: usize,
) -> Result<(), KvError> {
    if !counters.claim_period(MARKER, now / 60, 60)? {
        return Ok(());
    }
    let ours = store
        .keys()?
        .into_iter()
        .filter(|key| {
            key.starts_with("auth:session:")
                || key.starts_with("auth:deny:")
                || refusals::is_counter(key)
        })
        .take(max_reads);
    for key in ours {
        if let Some(dead) = refusals::is_dead(&key, now) {
            if dead {
                counters.remove(&[key])?;
            }
            continue;
        }
        let Some(bytes) = store.get(&key)? else {
            continue;
        };
        if session::is_dead(&key, &bytes, now) == Some(true) {
            store.delete(&key)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use wws_guest::kv::{CountersOnKv, MemoryKv};

    use super::*;
    use crate::bindings::mylder::wws::types::Principal;

    const NOW: u64 = 1_000_000;

    fn principal() -> Principal {
        Principal {
            id: "user".into(),
            email: None,
            role: "authenticated".into(),
            expires_at: None,
        }
    }

    #[test]
    fn a_sweep_deletes_what_is_past_its_deadline_once_a_minute() {
        let counters = CountersOnKv::new(MemoryKv::default());
        let store = counters.store();
        assert!(session::save(store, "live", &principal(), NOW + 60));
        assert!(session::save(store, "dead", &principal(), NOW - 1));
        assert!(session::deny(store, "denied-live", NOW + 60));
        assert!(session::deny(store, "denied-dead", NOW - 1));
        refusals::record(&counters, "192.0.2.1", NOW - 300);
        refusals::record(&counters, "192.0.2.1", NOW);
        store.set("cache:x", b"{}").expect("set");

        sweep_if_first(store, &counters, NOW, 2_000).expect("sweep");
        let keys = store.key_list();
        let left: Vec<&str> = keys
            .iter()
            .map(String::as_str)
            .filter(|key| !key.starts_with(MARKER))
            .collect();
        assert_eq!(
            left,
            [
                "auth:deny:denied-live",
                &format!("auth:refused:192.0.2.1:{}", NOW / 60),
                "auth:session:live",
                "cache:x",
            ]
        );

        assert!(session::save(store, "dead-again", &principal(), NOW - 1));
        sweep_if_first(store, &counters, NOW + 1, 2_000).expect("sweep");
        assert!(
            store
                .key_list()
                .contains(&"auth:session:dead-again".to_string()),
            "one sweep a minute"
        );
    }
}
