//! Rate Limiter component: WIT glue around [`policy`], [`window`] and
//! [`counter`]. Requests are counted per (principal, endpoint class), tokens
//! per principal, each on a sliding-window counter in the `default` store.

mod bindings;
mod counter;
mod failure;
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

use bindings::exports::mylder::wws::ratelimit::{
    Decision, Guest, Reservation, TokenDecision, Verdict,
};
use bindings::mylder::wws::types::{Principal, StoreOperations};
use wws_guest::kv::{Counters, KvError, SharedCounters, Store};
use wws_guest::{config, digest, time};

use counter::{Charging, Counter, to_delta};
use failure::StoreFailure;
use policy::Policies;
use window::Outcome;

fn policies() -> Policies {
    config::parsed("rate_limits", Policies::from_json).unwrap_or_default()
}

fn verdict(outcome: &Outcome) -> Verdict {
    if outcome.allowed {
        Verdict::Admitted
    } else {
        Verdict::Limited
    }
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

    fn check(principal: Principal, path: String) -> Decision {
        let policies = policies();
        let rule = policies.for_role(&principal.role).for_path(&path).clone();
        let now = time::now_millis();
        let counter = Counter::new(
            &digest::sha256_hex(&principal.id),
            &rule.name,
            rule.window_secs,
            now,
        );
        let limit = u64::from(rule.limit);
        let charging = Charging {
            counter: &counter,
            amount: 1,
            limit,
        };
        let decided =
            counter::charge_all(&SharedCounters, Store::open_default, &[charging], now)
                .and_then(|admission| {
                    admission.outcomes.into_iter().next().ok_or_else(|| {
                        KvError::Store("a charge came back without its counts".into())
                    })
                })
                .map_err(|error| StoreFailure::diagnose(&SharedCounters, error));
        let (verdict, outcome) = match decided {
            Ok(outcome) => (verdict(&outcome), outcome),
            Err(failure) => (failure.verdict(policies.on_store_error), unlimited(limit)),
        };
        Decision {
            verdict,
            limit: rule.limit,
            remaining: outcome.remaining.min(limit) as u32,
            reset_secs: counter.window.seconds_left(now),
            window_secs: rule.window_secs,
            retry_after_secs: outcome.retry_after_secs,
            policy: rule.name,
        }
    }

    fn reserve_tokens(principal: Principal, estimate: u64) -> TokenDecision {
        let policies = policies();
        let budgets = policies.for_role(&principal.role).tokens;
        let now = time::now_millis();
        let principal_digest = digest::sha256_hex(&principal.id);
        let budgets = tokens::budgets(&budgets, &principal_digest, now);
        match tokens::reserve(&SharedCounters, Store::open_default, budgets, estimate, now) {
            Ok(decision) => decision,
            Err(error) => {
                let failure = StoreFailure::diagnose(&SharedCounters, error);
                token_store_failed(&policies, &failure, estimate)
            }
        }
    }

    fn settle_tokens(reservation: Reservation, actual: u64) {
        let delta = to_delta(actual) - to_delta(reservation.tokens);
        if delta == 0 || reservation.counters.is_empty() {
            return;
        }
        // Zero ttl: the counter keeps the expiry its reservation gave it.
        let settled = reservation
            .counters
            .iter()
            .try_for_each(|key| SharedCounters.add(key, delta, 0).map(drop));
        if let Err(error) = settled {
            eprintln!("ratelimit: could not settle token usage: {error}");
        }
    }
}

fn unlimited(limit: u64) -> Outcome {
    Outcome {
        allowed: true,
        remaining: limit,
        retry_after_secs: 0,
    }
}

fn token_store_failed(policies: &Policies, failure: &StoreFailure, estimate: u64) -> TokenDecision {
    let verdict = failure.verdict(policies.on_store_error);
    TokenDecision {
        verdict,
        reservation: (verdict == Verdict::Admitted).then(|| Reservation {
            tokens: estimate,
            counters: Vec::new(),
        }),
        ..tokens::unbudgeted(Reservation {
            tokens: estimate,
            counters: Vec::new(),
        })
    }
}

bindings::export!(RateLimiter with_types_in bindings);
