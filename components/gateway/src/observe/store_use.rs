//! What the whole request asked of the key-value store and the shared
//! counters: the gateway's own operations and each core function's, which
//! each counts in its own instance and reports through its contract.

use wws_guest::kv::Operations;

use crate::bindings::mylder::wws::types::StoreOperations;
use crate::bindings::mylder::wws::{auth, cache, ratelimit};

pub fn of_request() -> Operations {
    [
        auth::operations(),
        ratelimit::operations(),
        cache::operations(),
    ]
    .into_iter()
    .map(reported)
    .fold(wws_guest::kv::operations(), |total, one| total + one)
}

fn reported(operations: StoreOperations) -> Operations {
    Operations {
        kv_reads: operations.kv_reads,
        kv_writes: operations.kv_writes,
        counter_calls: operations.counter_calls,
    }
}
