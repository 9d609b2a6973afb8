//! `GET /api/wws/health`: public, and safe to poll from a load balancer or
//! a container health check. It says which upstreams are configured (never
//! their keys) and whether the key-value store and the shared counters
//! answer, since the rate limiter and the circuit breakers depend on them.
//! `kv.atomics` is the counters' answer: the store's atomics, or Redis on
//! the edge build (`"counters": "redis"`).
//!
//! Settings that are set but unusable are listed under `config.problems`:
//! upstream variables that are not `scheme://host[:port]`, and any variable
//! of the gateway or of the four core functions (each asked through its
//! `settings-problems`) that does not parse and is ignored. Under `spin up`
//! that is how an operator learns why every outgoing request is refused or
//! why a `routing` table is not the one in use; `wws-host check` fails on
//! them.
//!
//! A store that does not answer makes the status `degraded`, not an error
//! status: every instance shares the store, so taking instances out of
//! rotation would not help, and requests still flow under the documented
//! fail-open/closed policy.

use serde_json::json;
use wasip2::http::types::ResponseOutparam;
use wws_guest::kv::{Counters, Kv, SharedCounters, Store};

use crate::bindings::mylder::wws::{auth, cache, ratelimit, router};
use crate::config;
use crate::context::Context;
use crate::reply;

pub const PATH: &str = "/api/wws/health";

/// The key read to prove the store answers; it is never written.
const PROBE_KEY: &str = "health:probe";
/// The counter added 0 to, to prove the counters work.
const ATOMICS_KEY: &str = "health:atomics";

struct StoreHealth {
    reachable: bool,
    atomics: bool,
}

fn probe_store() -> StoreHealth {
    let reachable = Store::open_default()
        .and_then(|store| store.get(PROBE_KEY))
        .inspect_err(|error| eprintln!("gateway: health: {error}"))
        .is_ok();
    // Asked on their own: on the edge build they are another store.
    let atomics = SharedCounters
        .add(ATOMICS_KEY, 0, 60)
        .inspect_err(|error| eprintln!("gateway: health: counters: {error}"))
        .is_ok();
    StoreHealth { reachable, atomics }
}

/// The gateway's own problems, then each core function's, named by it.
fn all_settings_problems() -> Vec<String> {
    let mut problems = config::problems();
    let components = [
        ("auth", auth::settings_problems()),
        ("ratelimit", ratelimit::settings_problems()),
        ("router", router::settings_problems()),
        ("cache", cache::settings_problems()),
    ];
    for (component, found) in components {
        problems.extend(
            found
                .into_iter()
                .map(|problem| format!("{component}: {problem}")),
        );
    }
    problems
}

pub fn check(out: ResponseOutparam, context: &Context) {
    let store = probe_store();
    let problems = all_settings_problems();
    let healthy = store.reachable && store.atomics && problems.is_empty();
    let body = json!({
        "status": if healthy { "ok" } else { "degraded" },
        "service": "wws",
        "version": env!("CARGO_PKG_VERSION"),
        "providers": config::PROVIDERS
            .iter()
            .map(|name| (name.to_string(), json!(config::provider(name).is_some())))
            .collect::<serde_json::Map<_, _>>(),
        "origin": config::origin_url().is_some(),
        "kv": { "reachable": store.reachable, "atomics": store.atomics },
        "counters": if SharedCounters.forgets() { "redis" } else { "kv" },
        "config": { "problems": problems },
    });
    let mut head = context.head(200);
    head.set("content-type", "application/json");
    head.set("cache-control", "no-store");
    reply::send(out, head, body.to_string().as_bytes());
}
