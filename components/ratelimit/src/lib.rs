//! Rate Limiter component: WIT glue around [`admission`], [`policy`],
//! [`window`] and [`counter`]. Requests are counted per (principal, endpoint
//! class) and tokens per principal, on sliding-window counters in the
//! shared counters; a request and its minute's tokens share one counter
//! ([`lanes`]).

mod admission;
mod bindings;
mod counter;
mod failure;
mod lanes;
mod policy;
mod sweep;
mod tokens;
mod window;

/// The `rate_limits` parser, for the fuzz targets in `fuzz/`, which build
/// this crate natively; the component exports nothing but its WIT world.
#[cfg(not(target_family = "wasm"))]
#[doc(hidden)]
pub mod fuzzing {
    pub mod policy {
        pub use crate::policy::{Limits, OnStoreError, Policies, PolicyError, Rule};
    }
}

use bindings::exports::mylder::wws::ratelimit::{Admission, Guest, Reservation};
use bindings::mylder::wws::types::{Principal, StoreOperations};
use wws_guest::kv::{Counters, SharedCounters, Store};
use wws_guest::{config, digest, time};

use admission::Request;
use counter::to_delta;
use failure::StoreFailure;
use lanes::Lane;
use policy::Policies;

fn policies() -> Policies {
    config::parsed("rate_limits", Policies::from_json).unwrap_or_default()
}

struct RateLimiter;

impl Guest for RateLimiter {
    fn operations() -> StoreOperations {
        wws_guest::store_operations!(StoreOperations)
    }

    fn settings_problems() -> Vec<String> {
        policies();
        config::problems()
    }

    fn admit(principal: Principal, path: String, tokens: Option<u64>) -> Admission {
        let policies = policies();
        let principal_digest = digest::sha256_hex(&principal.id);
        let request = Request {
            limits: policies.for_role(&principal.role),
            principal_digest: &principal_digest,
            path: &path,
            tokens,
            now_millis: time::now_millis(),
        };
        admission::admit(&SharedCounters, Store::open_default, &request).unwrap_or_else(|error| {
            let failure = StoreFailure::diagnose(&SharedCounters, error);
            admission::without_counters(&request, failure.verdict(policies.on_store_error))
        })
    }

    fn settle_tokens(reservation: Reservation, actual: u64) {
        let delta = to_delta(actual) - to_delta(reservation.tokens);
        if delta == 0 || reservation.counters.is_empty() {
            return;
        }
        // Zero ttl: the counter keeps the expiry its reservation gave it.
        let settled = reservation.counters.iter().try_for_each(|key| {
            SharedCounters
                .add(key, Lane::Tokens.delta(delta), 0)
                .map(drop)
        });
        if let Err(error) = settled {
            eprintln!("ratelimit: could not settle token usage: {error}");
        }
    }
}

bindings::export!(RateLimiter with_types_in bindings);
