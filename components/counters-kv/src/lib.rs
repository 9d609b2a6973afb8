//! The counters plug for hosts whose key-value store has atomics
//! (self-hosted Spin with its SQLite or Redis store, and wws-host): the
//! shared counters live in the `default` store next to everything else, as
//! `wws_guest::kv::CountersOnKv` keeps them. `cargo xtask build` plugs it in.

mod bindings;

use wws_guest::kv::{CountersOnKv, Store};

struct CountersPlug;

fn open() -> Result<CountersOnKv<Store>, String> {
    Store::open_default()
        .map(CountersOnKv::new)
        .map_err(|error| error.to_string())
}

wws_guest::export_counters!(CountersPlug, bindings, open);
