//! The counters as a component sees them: the `mylder:wws/counters` import,
//! which the composition fills with the platform's plug.

use super::counters::{Addition, Counters};
use super::store::KvError;
use super::tally;
use crate::bindings::mylder::wws::counters as wit;

/// The plugged-in counters. Holds nothing: the plug keeps its own
/// connection for the instance.
#[derive(Debug, Default, Clone, Copy)]
pub struct SharedCounters;

fn failed(message: String) -> KvError {
    KvError::Store(message)
}

impl Counters for SharedCounters {
    fn add_then_read(&self, additions: &[Addition], keys: &[String]) -> Result<Vec<i64>, KvError> {
        tally::counter_call();
        let additions: Vec<wit::Addition> = additions
            .iter()
            .map(|addition| wit::Addition {
                key: addition.key.clone(),
                delta: addition.delta,
                ttl_secs: addition.ttl_secs,
            })
            .collect();
        wit::add_then_read(&additions, keys).map_err(failed)
    }

    fn add(&self, key: &str, delta: i64, ttl_secs: u32) -> Result<i64, KvError> {
        tally::counter_call();
        wit::add(key, delta, ttl_secs).map_err(failed)
    }

    fn read(&self, keys: &[String]) -> Result<Vec<i64>, KvError> {
        tally::counter_call();
        wit::read(keys).map_err(failed)
    }

    fn claim(&self, key: &str, ttl_secs: u32) -> Result<bool, KvError> {
        tally::counter_call();
        wit::claim(key, ttl_secs).map_err(failed)
    }

    fn record(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        tally::counter_call();
        wit::get(key).map_err(failed)
    }

    fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
        ttl_secs: u32,
    ) -> Result<bool, KvError> {
        tally::counter_call();
        wit::compare_and_set(key, expected, value, ttl_secs).map_err(failed)
    }

    fn remove(&self, keys: &[String]) -> Result<(), KvError> {
        tally::counter_call();
        wit::remove(keys).map_err(failed)
    }

    fn forgets(&self) -> bool {
        wit::forgets()
    }
}
