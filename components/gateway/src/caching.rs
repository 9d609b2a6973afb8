//! The Cache Manager around an upstream call, shared by the AI routes and
//! origin GETs: fresh hits, stale-while-revalidate with one revalidation,
//! single flight on misses, and stale-if-error.

use std::time::{Duration, Instant};

use wasip2::http::types::ResponseOutparam;

use crate::bindings::mylder::wws::cache::{self, CachedResponse, Freshness, Hit};
use crate::context::Context;
use crate::head::Head;
use crate::reply;

/// How often a request waiting for another's fill looks for the entry.
const FILL_POLL: Duration = Duration::from_millis(25);

pub enum Found {
    /// Serve `hit` now. With `revalidate`, this request holds the fill lease:
    /// it refreshes the entry after responding, then releases the lease.
    Serve { hit: Hit, revalidate: bool },
    /// Go upstream. A `leader` holds the fill lease and stores the answer;
    /// `fallback` is an entry to serve if the upstream fails.
    Fetch { leader: bool, fallback: Option<Hit> },
}

/// Decides between serving from the cache and fetching. `max_age` is the
/// client's `Cache-Control: max-age`: only entries at most that old serve it.
pub fn find(key: &str, max_age: Option<u64>, context: &mut Context) -> Found {
    let hit = context.timing.measure("cache", || cache::lookup(key));
    match hit {
        Some(hit) if max_age.is_some_and(|max| hit.age_secs <= max) => Found::Serve {
            hit,
            revalidate: false,
        },
        Some(hit) if max_age.is_none() && hit.freshness == Freshness::Fresh => Found::Serve {
            hit,
            revalidate: false,
        },
        Some(hit) if max_age.is_none() && hit.freshness == Freshness::Stale => {
            let revalidate = cache::claim_fill(key);
            Found::Serve { hit, revalidate }
        }
        fallback => {
            if cache::claim_fill(key) {
                return Found::Fetch {
                    leader: true,
                    fallback,
                };
            }
            match wait_for_fill(key) {
                Some(hit) => Found::Serve {
                    hit,
                    revalidate: false,
                },
                None => Found::Fetch {
                    leader: false,
                    fallback,
                },
            }
        }
    }
}

/// Another request is fetching this key: wait up to `cache_fill_wait_ms`
/// for its answer to land rather than asking the upstream again. A leader
/// that released its lease without storing (an answer that may not be
/// cached) ends the wait at once: nothing is coming.
fn wait_for_fill(key: &str) -> Option<Hit> {
    let deadline = Instant::now()
        + Duration::from_millis(wws_guest::config::get_u64("cache_fill_wait_ms", 10_000));
    let fresh = || cache::lookup(key).filter(|hit| hit.freshness == Freshness::Fresh);
    while Instant::now() < deadline {
        std::thread::sleep(FILL_POLL);
        if let Some(hit) = fresh() {
            return Some(hit);
        }
        if !cache::fill_pending(key) {
            // The leader may have stored its answer and released the lease
            // between the two calls above: one more look tells that apart
            // from a leader that stored nothing.
            return fresh();
        }
    }
    None
}

/// `X-WWS-Cache` for a hit.
pub fn label(hit: &Hit) -> &'static str {
    match hit.freshness {
        Freshness::Fresh => "HIT",
        Freshness::Stale | Freshness::ErrorOnly => "STALE",
    }
}

/// Sends a cached response (or a reshaped copy of it) with `Age` and
/// `X-WWS-Cache`.
pub fn serve(
    response: &CachedResponse,
    age_secs: u64,
    label: &str,
    context: &Context,
    out: ResponseOutparam,
) {
    let mut head = Head::new(response.status);
    head.extend(&response.headers);
    head.set("age", age_secs.to_string());
    head.set("x-wws-cache", label);
    head.extend(&context.headers());
    reply::send(out, head, &response.body);
}
