//! Keeping the session cache bounded in a store without expiry.
//!
//! Session and deny entries are otherwise deleted only when the same token
//! comes back after their deadline, so every login and every rejected token
//! would stay for ever. Once a minute (claimed across all instances by
//! whichever write first increments that minute's marker) one write also
//! deletes the entries past their deadline.

use wws_guest::kv::{KvError, Store};

use crate::{refusals, session};

/// Entries read per sweep at most, so the request that runs it stays fast.
const MAX_READS: usize = 2_000;

/// One claim a minute: `auth-sweep:<minute>`.
const MARKER: &str = "auth-sweep";

/// Called after a session or deny entry was written; `now` in seconds.
pub fn if_due(store: &Store, now: u64) {
    if let Err(error) = sweep_if_first(store, now) {
        eprintln!("auth: sweep failed: {error}");
    }
}

fn sweep_if_first(store: &Store, now: u64) -> Result<(), KvError> {
    if !store.claim_period(MARKER, now / 60)? {
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
        .take(MAX_READS);
    for key in ours {
        if let Some(dead) = refusals::is_dead(&key, now) {
            if dead {
                store.delete(&key)?;
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
