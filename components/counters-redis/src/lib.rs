//! The counters plug for the managed edge (Akamai Functions, Fermyon
//! Cloud), whose key-value store has no atomics and allows 50 writes a
//! second per app: the shared counters live in Redis, reached through
//! Spin's outbound Redis (`fermyon:spin/redis@2.0.0`) at `redis_address`,
//! with `redis_password`, every key under `redis_key_prefix` (default
//! `wws:`). `cargo xtask build --platform akamai` plugs it in.

mod address;
#[cfg(test)]
mod against_redis;
mod bindings;
mod on_redis;
mod scripts;

use std::cell::RefCell;
use std::rc::Rc;

use wws_guest::bindings::fermyon::spin::redis::Connection;
use wws_guest::config;

use on_redis::CountersOnRedis;

thread_local! {
    /// One connection per instance; a failed open is tried again by the
    /// next call.
    static CONNECTION: RefCell<Option<Rc<Connection>>> = const { RefCell::new(None) };
}

struct CountersPlug;

const DEFAULT_PREFIX: &str = "wws:";

fn open() -> Result<CountersOnRedis, String> {
    let prefix = config::get("redis_key_prefix").unwrap_or_else(|| DEFAULT_PREFIX.into());
    if let Some(connection) = CONNECTION.with_borrow(Clone::clone) {
        return Ok(CountersOnRedis::new(connection, prefix));
    }
    let url = address::connection_url(
        config::get("redis_address").as_deref(),
        config::get("redis_password").as_deref(),
    )
    .map_err(|error| error.to_string())?;
    let connection = Rc::new(Connection::open(&url).map_err(|error| on_redis::describe(&error))?);
    CONNECTION.set(Some(connection.clone()));
    Ok(CountersOnRedis::new(connection, prefix))
}

wws_guest::export_counters!(CountersPlug, bindings, open);
