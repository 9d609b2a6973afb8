//! Cache Manager component: WIT glue around [`policy`], [`key`], [`entry`],
//! [`fill`] and [`purge`]. Spin KV has no expiry: entries carry their own
//! deadlines and are deleted by the lookup that finds them useless.

mod bindings;
mod entry;
mod fill;
mod key;
mod policy;
mod purge;
mod sweep;

/// The `cache_policy` parser and the cache keys, for the fuzz targets in
/// `fuzz/`, which build this crate natively; the component exports nothing
/// but its WIT world.
#[cfg(not(target_family = "wasm"))]
#[doc(hidden)]
pub mod fuzzing {
    pub mod key {
        pub use crate::key::{Parts, derive, path_of};
    }
    pub mod policy {
        pub use crate::policy::{Policies, Policy};
    }
}

use bindings::exports::mylder::wws::cache::{
    CachedResponse, Freshness, Guest, Hit, KeyInput, Lifetimes, Policy,
};
use bindings::mylder::wws::types::StoreOperations;
use wws_guest::kv::Kv;
use wws_guest::{config, kv, time};

/// Spin's default store refuses values over 1 MB; larger entries are not
/// cached (the gateway then passes the answer through as BYPASS).
const MAX_ENTRY_BYTES: usize = 1024 * 1024;

/// The configured policies; an invalid `cache_policy` is ignored (a
/// [problem](config::problems)) and the defaults apply.
fn policies() -> policy::Policies {
    config::parsed("cache_policy", policy::Policies::from_json).unwrap_or_default()
}

struct CacheManager;

impl Guest for CacheManager {
    fn policy_for(path: String) -> Policy {
        let policy = policies().for_path(&path);
        Policy {
            enabled: policy.enabled,
            public: policy.public,
            lifetimes: Lifetimes {
                fresh_secs: policy.fresh_secs,
                stale_secs: policy.stale_secs,
                stale_if_error_secs: policy.stale_if_error_secs,
            },
        }
    }

    fn operations() -> StoreOperations {
        wws_guest::store_operations!(StoreOperations)
    }

    fn settings_problems() -> Vec<String> {
        policies();
        config::problems()
    }

    fn key(input: KeyInput) -> String {
        key::derive(&key::Parts {
            scope: input.scope.as_deref(),
            method: &input.method,
            path: &input.path,
            query: &input.query,
            body: &input.body,
        })
    }

    fn lookup(key: String) -> Option<Hit> {
        let store = kv::Store::open_default().ok()?;
        let bytes = store.get(&key).ok()??;
        let now = time::now_millis();
        let state = entry::decode(&bytes).and_then(|stored| Some((stored.state(now)?, stored)));
        let Some((state, stored)) = state else {
            let _ = store.delete(&key);
            return None;
        };
        Some(Hit {
            freshness: match state {
                entry::State::Fresh => Freshness::Fresh,
                entry::State::Stale => Freshness::Stale,
                entry::State::ErrorOnly => Freshness::ErrorOnly,
            },
            age_secs: now.saturating_sub(stored.stored_at) / 1000,
            response: CachedResponse {
                status: stored.status,
                headers: stored.headers,
                body: stored.body,
            },
        })
    }

    fn store(key: String, response: CachedResponse, lifetimes: Lifetimes) -> bool {
        let now = time::now_millis();
        // Saturating: a huge max-age or cache_policy value means "for ever",
        // never a deadline that wrapped into the past.
        let after = |start: u64, secs: u64| start.saturating_add(secs.saturating_mul(1000));
        let fresh_until = after(now, lifetimes.fresh_secs);
        let stale_until = after(fresh_until, lifetimes.stale_secs);
        let stored = entry::Entry {
            stored_at: now,
            fresh_until,
            stale_until,
            error_until: after(stale_until, lifetimes.stale_if_error_secs),
            status: response.status,
            headers: response.headers,
            body: response.body,
        };
        let bytes = entry::encode(&stored);
        if bytes.len() > MAX_ENTRY_BYTES {
            return false;
        }
        let written =
            kv::Store::open_default().and_then(|store| store.set(&key, &bytes).map(|()| store));
        match written {
            Ok(store) => {
                sweep::if_due(&store, &kv::SharedCounters, now);
                true
            }
            Err(error) => {
                eprintln!("cache: write failed: {error}");
                false
            }
        }
    }

    fn claim_fill(key: String) -> bool {
        let claimed = fill::claim(&kv::SharedCounters, &key, time::now_millis());
        // Without the counters there is nothing to coordinate: everyone fetches.
        claimed.unwrap_or(true)
    }

    fn release_fill(key: String) {
        let _ = fill::release(&kv::SharedCounters, &key);
    }

    fn fill_pending(key: String) -> bool {
        // Without the counters nobody can be filling for us.
        fill::is_held(&kv::SharedCounters, &key, time::now_millis()).unwrap_or(false)
    }

    fn purge(path_prefix: String) -> u32 {
        match kv::Store::open_default()
            .and_then(|store| purge::by_path_prefix(&store, &path_prefix))
        {
            Ok(purged) => purged,
            Err(error) => {
                eprintln!("cache: purge failed: {error}");
                0
            }
        }
    }
}

bindings::export!(CacheManager with_types_in bindings);
