//! What a failed count means. Counters that do not answer at all are an
//! outage (the store or the edge build's Redis is down), and
//! `on_store_error` decides (admit or refuse). Counters that still answer a
//! plain read while their additions fail sit on a store without working
//! atomics: no request could ever be counted there, so admitting would
//! silently lift every limit. That is refused whatever the policy, and
//! logged as the configuration error it is.

use wws_guest::kv::{Counters, KvError};

use crate::bindings::exports::mylder::wws::ratelimit::Verdict;
use crate::policy::OnStoreError;

/// A key read only to learn whether plain reads still work.
const PROBE_KEY: &str = "rl:probe";

#[derive(Debug)]
pub enum StoreFailure {
    Unreachable(KvError),
    WithoutAtomics(KvError),
}

impl StoreFailure {
    /// Tells an outage from a store without atomics, after `error` came
    /// back from a charge.
    pub fn diagnose(counters: &impl Counters, error: KvError) -> Self {
        match counters.counter(PROBE_KEY) {
            Ok(_) => StoreFailure::WithoutAtomics(error),
            Err(_) => StoreFailure::Unreachable(error),
        }
    }

    /// Logs the failure and returns what the request gets.
    pub fn verdict(&self, policy: OnStoreError) -> Verdict {
        let verdict = verdict_for(self, policy);
        match (self, verdict) {
            (StoreFailure::WithoutAtomics(error), _) => eprintln!(
                "ratelimit: the counters answer reads but their additions fail ({error}); \
                 limits cannot be enforced, refusing. The self-hosted build needs \
                 wasi:keyvalue/atomics (Spin's SQLite or Redis store); the edge build, a Redis \
                 at redis_address that runs scripts"
            ),
            (StoreFailure::Unreachable(error), Verdict::Admitted) => {
                eprintln!("ratelimit: store unavailable, admitting (fail open): {error}")
            }
            (StoreFailure::Unreachable(error), _) => {
                eprintln!("ratelimit: store unavailable, refusing (fail closed): {error}")
            }
        }
        verdict
    }
}

fn verdict_for(failure: &StoreFailure, policy: OnStoreError) -> Verdict {
    match (failure, policy) {
        (StoreFailure::WithoutAtomics(_), _) => Verdict::Unavailable,
        (StoreFailure::Unreachable(_), OnStoreError::Open) => Verdict::Admitted,
        (StoreFailure::Unreachable(_), OnStoreError::Closed) => Verdict::Unavailable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error() -> KvError {
        KvError::Store("down".into())
    }

    #[test]
    fn outages_follow_the_policy() {
        let outage = StoreFailure::Unreachable(error());
        assert_eq!(verdict_for(&outage, OnStoreError::Open), Verdict::Admitted);
        assert_eq!(
            verdict_for(&outage, OnStoreError::Closed),
            Verdict::Unavailable
        );
    }

    #[test]
    fn a_store_without_atomics_is_refused_even_when_failing_open() {
        let no_atomics = StoreFailure::WithoutAtomics(error());
        assert_eq!(
            verdict_for(&no_atomics, OnStoreError::Open),
            Verdict::Unavailable
        );
    }

    #[test]
    fn a_store_that_reads_but_cannot_increment_is_diagnosed_as_without_atomics() {
        let counters = wws_guest::kv::CountersOnKv::new(wws_guest::kv::MemoryKv::default());
        counters.store().break_atomics();
        let Err(error) = counters.add("rl:x", 1, 0) else {
            panic!("the increment should fail");
        };
        assert!(matches!(
            StoreFailure::diagnose(&counters, error),
            StoreFailure::WithoutAtomics(_)
        ));
    }
}
