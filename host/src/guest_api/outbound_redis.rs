//! `fermyon:spin/redis@2.0.0` for guests: Spin's outbound Redis, answered as
//! Spin 4.0.2 answers it (`crates/factor-outbound-redis/src/host.rs`):
//!
//! - `open` checks the address against `allowed_outbound_hosts` first
//!   (refused: `invalid-address`, which is also the answer for an address
//!   the Redis client cannot read), then opens one multiplexed connection,
//!   with the client's defaults (no timeouts of its own: the request's
//!   deadline bounds a silent Redis, as under Spin);
//! - at most [`MAX_CONNECTIONS`] are open at once per instance, the size
//!   of Spin's connection table; past it the new connection is dropped and
//!   the guest gets `too-many-connections`;
//! - every command's failure is `other` with the client's message, except
//!   that `sadd` reports a type error as `type-error`, as only it does in
//!   Spin;
//! - `get` and `execute` refuse replies larger than Spin's host buffer
//!   limit, and `execute` flattens its reply as [`super::redis_reply`]
//!   describes.
//!
//! `rediss://` connects over TLS (rustls, with the web's root certificates),
//! as managed Redis services require.

use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use wasmtime::component::Resource;

use super::bindings::fermyon::spin::redis::{self as wit, Error, Payload, RedisParameter};
use super::redis_reply::{self, MAX_HOST_BUFFERED_BYTES};
use super::resources::RedisConnection;
use crate::state::WwsState;

/// Open connections per instance: Spin's table for them holds 1024.
pub const MAX_CONNECTIONS: u32 = 1024;

fn other(error: impl std::fmt::Display) -> Error {
    Error::Other(error.to_string())
}

fn over_buffer_limit() -> Error {
    Error::Other(format!(
        "query result exceeds limit of {MAX_HOST_BUFFERED_BYTES} bytes"
    ))
}

impl WwsState {
    /// The connection behind `handle`, for one command (counted).
    fn redis(
        &mut self,
        handle: &Resource<RedisConnection>,
    ) -> wasmtime::Result<MultiplexedConnection> {
        self.calls.redis_command();
        Ok(self.table.get(handle)?.connection.clone())
    }
}

impl wit::Host for WwsState {}

impl wit::HostConnection for WwsState {
    async fn open(
        &mut self,
        address: String,
    ) -> wasmtime::Result<Result<Resource<RedisConnection>, Error>> {
        if let Err(reason) = self.outbound.allowed.allows_address(&address, "redis") {
            tracing::warn!("blocked Redis connection: {reason}");
            return Ok(Err(Error::InvalidAddress));
        }
        // The address as the guest gave it: one the check read only with
        // `redis://` put in front is still refused by the client, as in Spin.
        let client = match redis::Client::open(address.as_str()) {
            Ok(client) => client,
            Err(_) => return Ok(Err(Error::InvalidAddress)),
        };
        let connection = match client.get_multiplexed_async_connection().await {
            Ok(connection) => connection,
            Err(error) => return Ok(Err(other(error))),
        };
        // Spin connects before it finds its table full; so does this.
        if self.redis_connections >= MAX_CONNECTIONS {
            return Ok(Err(Error::TooManyConnections));
        }
        let handle = self.table.push(RedisConnection { connection })?;
        self.redis_connections += 1;
        Ok(Ok(handle))
    }

    async fn publish(
        &mut self,
        connection: Resource<RedisConnection>,
        channel: String,
        payload: Payload,
    ) -> wasmtime::Result<Result<(), Error>> {
        let mut connection = self.redis(&connection)?;
        Ok(connection
            .publish::<_, _, ()>(&channel, &payload)
            .await
            .map_err(other))
    }

    async fn get(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Payload>, Error>> {
        let mut connection = self.redis(&connection)?;
        let value = match connection.get::<_, Option<Vec<u8>>>(&key).await {
            Ok(value) => value,
            Err(error) => return Ok(Err(other(error))),
        };
        let held = std::mem::size_of::<Option<Vec<u8>>>() + value.as_ref().map_or(0, Vec::len);
        if held > MAX_HOST_BUFFERED_BYTES {
            return Ok(Err(over_buffer_limit()));
        }
        Ok(Ok(value))
    }

    async fn set(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
        value: Payload,
    ) -> wasmtime::Result<Result<(), Error>> {
        let mut connection = self.redis(&connection)?;
        Ok(connection
            .set::<_, _, ()>(&key, &value)
            .await
            .map_err(other))
    }

    /// `INCRBY key 1`, as Spin sends it.
    async fn incr(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
    ) -> wasmtime::Result<Result<i64, Error>> {
        let mut connection = self.redis(&connection)?;
        Ok(connection.incr(&key, 1).await.map_err(other))
    }

    async fn del(
        &mut self,
        connection: Resource<RedisConnection>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<u32, Error>> {
        let mut connection = self.redis(&connection)?;
        Ok(connection.del(&keys).await.map_err(other))
    }

    async fn sadd(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> wasmtime::Result<Result<u32, Error>> {
        let mut connection = self.redis(&connection)?;
        Ok(connection
            .sadd(&key, &values)
            .await
            .map_err(|error| match error.kind() {
                redis::ErrorKind::TypeError => Error::TypeError,
                _ => other(error),
            }))
    }

    async fn smembers(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
    ) -> wasmtime::Result<Result<Vec<String>, Error>> {
        let mut connection = self.redis(&connection)?;
        Ok(connection.smembers(&key).await.map_err(other))
    }

    async fn srem(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> wasmtime::Result<Result<u32, Error>> {
        let mut connection = self.redis(&connection)?;
        Ok(connection.srem(&key, &values).await.map_err(other))
    }

    async fn execute(
        &mut self,
        connection: Resource<RedisConnection>,
        command: String,
        arguments: Vec<RedisParameter>,
    ) -> wasmtime::Result<Result<Vec<wit::RedisResult>, Error>> {
        let mut connection = self.redis(&connection)?;
        let mut cmd = redis::cmd(&command);
        for argument in arguments {
            match argument {
                RedisParameter::Int64(number) => cmd.arg(number),
                RedisParameter::Binary(bytes) => cmd.arg(bytes),
            };
        }
        let reply = match cmd.query_async::<redis::Value>(&mut connection).await {
            Ok(reply) => reply,
            Err(error) => return Ok(Err(other(error))),
        };
        let results = match redis_reply::flatten(reply) {
            Ok(results) => results,
            Err(error) => return Ok(Err(other(error))),
        };
        if redis_reply::buffered_bytes(&results) > MAX_HOST_BUFFERED_BYTES {
            return Ok(Err(over_buffer_limit()));
        }
        Ok(Ok(results))
    }

    async fn drop(&mut self, connection: Resource<RedisConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        self.redis_connections = self.redis_connections.saturating_sub(1);
        Ok(())
    }
}
