//! Cache Manager component: WIT glue around [`key`] and [`entry`].
//!
//! An entry is fresh for `cache_fresh_secs` (60) and may be served stale up
//! to `cache_stale_secs` (300) while the gateway revalidates it; older
//! entries are deleted on lookup, since Spin KV has no expiry of its own.

mod entry;
mod key;

wit_bindgen::generate!({
    path: "../../wit",
    world: "mylder:wws/cache-manager",
    with: {
        "wasi:keyvalue/store@0.2.0-draft2": wws_guest::bindings::wasi::keyvalue::store,
        "wasi:config/store@0.2.0-draft-2024-09-27": wws_guest::bindings::wasi::config::store,
    },
});

use exports::mylder::wws::cache::{CachedResponse, Freshness, Guest, Hit, KeyInput};
use wws_guest::{config, kv, time};

/// Spin's default store refuses values over 1 MB; larger entries are skipped.
const MAX_ENTRY_BYTES: usize = 1024 * 1024;

struct CacheManager;

impl Guest for CacheManager {
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
        let windows = windows();
        let now = time::now_secs();
        let Some(stored) = entry::decode(&bytes) else {
            let _ = store.delete(&key);
            return None;
        };
        let age = now.saturating_sub(stored.stored_at);
        let freshness = match windows.classify(age) {
            Some(entry::State::Fresh) => Freshness::Fresh,
            Some(entry::State::Stale) => Freshness::Stale,
            None => {
                let _ = store.delete(&key);
                return None;
            }
        };
        Some(Hit {
            response: CachedResponse {
                status: stored.status,
                headers: stored.headers,
                body: stored.body,
            },
            freshness,
            age_secs: age,
        })
    }

    fn store(key: String, response: CachedResponse) {
        let stored = entry::Entry {
            stored_at: time::now_secs(),
            status: response.status,
            headers: response.headers,
            body: response.body,
        };
        let bytes = entry::encode(&stored);
        if bytes.len() > MAX_ENTRY_BYTES {
            return;
        }
        if let Err(error) = kv::Store::open_default().and_then(|store| store.set(&key, &bytes)) {
            eprintln!("cache: write failed: {error}");
        }
    }
}

fn windows() -> entry::Windows {
    entry::Windows {
        fresh_secs: config::get_u64("cache_fresh_secs", 60),
        stale_secs: config::get_u64("cache_stale_secs", 300),
    }
}

export!(CacheManager);
