//! Rate Limiter component: WIT glue around [`policy`], [`window`] and
//! [`counter`]. Requests are counted per (principal, endpoint class), tokens
//! per principal, each on a sliding-window counter in the `default` store.

mod bindings;
mod counter;
mod failure;
mod policy;
mod sweep;
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
use bindings::mylder::wws::types::Principal;
use wws_guest::kv::{Kv, Store};
use wws_guest::{config, digest, time};

use counter::{Counter, to_delta};
use failure::StoreFailure;
use policy::Policies;
use window::Outcome;

const MINUTE_SECS: u32 = 60;
const DAY_SECS: u32 = 86_400;

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
        let decided = Store::open_default()
            .map_err(StoreFailure::Unreachable)
            .and_then(|store| {
                counter
                    .charge(&store, 1, limit, now)
                    .map_err(|error| StoreFailure::diagnose(&store, error))
            });
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
        let budgets = [
            ("tokens-per-minute", budgets.per_minute, MINUTE_SECS),
            ("tokens-per-day", budgets.per_day, DAY_SECS),
        ];
        let store = match Store::open_default() {
            Ok(store) => store,
            Err(error) => {
                let failure = StoreFailure::Unreachable(error);
                return token_store_failed(&policies, &failure, estimate);
            }
        };
        let mut held: Vec<String> = Vec::new();
        let mut tightest: Option<TokenDecision> = None;
        for (name, limit, window_secs) in budgets {
            let Some(limit) = limit else { continue };
            let counter = Counter::new(&principal_digest, "tokens", window_secs, now);
            let outcome = match counter.charge(&store, estimate, limit, now) {
                Ok(outcome) => outcome,
                Err(error) => {
                    release(&store, &held, estimate);
                    let failure = StoreFailure::diagnose(&store, error);
                    return token_store_failed(&policies, &failure, estimate);
                }
            };
            let decision = TokenDecision {
                verdict: verdict(&outcome),
                budget: name.into(),
                limit,
                remaining: outcome.remaining,
                reset_secs: counter.window.seconds_left(now),
                retry_after_secs: outcome.retry_after_secs,
                reservation: None,
            };
            if !outcome.allowed {
                release(&store, &held, estimate);
                return decision;
            }
            held.push(counter.key);
            if tightest
                .as_ref()
                .is_none_or(|t| decision.remaining < t.remaining)
            {
                tightest = Some(decision);
            }
        }
        let reservation = Reservation {
            tokens: estimate,
            counters: held,
        };
        match tightest {
            Some(decision) => TokenDecision {
                reservation: Some(reservation),
                ..decision
            },
            None => unbudgeted(reservation),
        }
    }

    fn settle_tokens(reservation: Reservation, actual: u64) {
        let delta = to_delta(actual) - to_delta(reservation.tokens);
        if delta == 0 || reservation.counters.is_empty() {
            return;
        }
        let settled = Store::open_default().and_then(|store| {
            reservation
                .counters
                .iter()
                .try_for_each(|key| store.increment(key, delta).map(drop))
        });
        if let Err(error) = settled {
            eprintln!("ratelimit: could not settle token usage: {error}");
        }
    }
}

/// Gives back tokens already held on some counters when a later budget or
/// the store refuses.
fn release(store: &Store, counters: &[String], tokens: u64) {
    for key in counters {
        let _ = store.increment(key, -to_delta(tokens));
    }
}

fn unlimited(limit: u64) -> Outcome {
    Outcome {
        allowed: true,
        remaining: limit,
        retry_after_secs: 0,
    }
}

fn unbudgeted(reservation: Reservation) -> TokenDecision {
    TokenDecision {
        verdict: Verdict::Admitted,
        budget: "none".into(),
        limit: u64::MAX,
        remaining: u64::MAX,
        reset_secs: 0,
        retry_after_secs: 0,
        reservation: Some(reservation),
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
        ..unbudgeted(Reservation {
            tokens: estimate,
            counters: Vec::new(),
        })
    }
}

bindings::export!(RateLimiter with_types_in bindings);
