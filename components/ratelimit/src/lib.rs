//! Rate Limiter component: WIT glue around [`policy`] and [`window`].
//!
//! Counting is a fixed one-minute window per (principal, endpoint class),
//! advanced with the store's atomic `increment`: concurrent requests each
//! get a distinct count, so at most `limit` are admitted per window, on one
//! host or many sharing Redis. The key of the previous window is deleted when
//! a window opens, so at most two keys per principal and class exist.

mod policy;
mod window;

wit_bindgen::generate!({
    path: "../../wit",
    world: "mylder:wws/rate-limiter",
    with: {
        "wasi:keyvalue/store@0.2.0-draft2": wws_guest::bindings::wasi::keyvalue::store,
        "wasi:keyvalue/atomics@0.2.0-draft2": wws_guest::bindings::wasi::keyvalue::atomics,
        "wasi:config/store@0.2.0-draft-2024-09-27": wws_guest::bindings::wasi::config::store,
    },
});

use exports::mylder::wws::ratelimit::{Decision, Guest};
use mylder::wws::types::Principal;
use wws_guest::{config, digest, kv, time};

struct RateLimiter;

impl Guest for RateLimiter {
    fn check(principal: Principal, path: String) -> Decision {
        let policies = config::get("rate_limits")
            .and_then(|json| match policy::Policies::from_json(&json) {
                Ok(policies) => Some(policies),
                Err(error) => {
                    eprintln!("ratelimit: ignoring invalid rate_limits: {error}");
                    None
                }
            })
            .unwrap_or_default();
        let rule = policies.for_path(&path);
        let now = time::now_secs();
        let slot = window::Window::containing(now, rule.window_secs);
        let principal_digest = digest::sha256_hex(&principal.id);
        let key = slot.key(&principal_digest, &rule.name);

        let count = kv::Store::open_default().and_then(|store| {
            let count = store.increment(&key, 1)?;
            if count == 1 {
                // The first request of a window retires the previous one.
                let _ = store.delete(&slot.previous().key(&principal_digest, &rule.name));
            }
            Ok(count)
        });
        let outcome = match count {
            Ok(count) => window::admit(count, rule.limit),
            Err(error) => {
                // Fail open: a KV outage must not take the whole edge down.
                eprintln!("ratelimit: store unavailable, admitting: {error}");
                window::admit(1, rule.limit)
            }
        };
        Decision {
            allowed: outcome.allowed,
            limit: rule.limit,
            remaining: outcome.remaining,
            reset_secs: slot.seconds_left(now),
            window_secs: rule.window_secs,
            policy: rule.name.clone(),
        }
    }
}

export!(RateLimiter);
