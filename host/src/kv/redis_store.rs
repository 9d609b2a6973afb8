//! A shared Redis store, for several hosts enforcing one set of limits.
//! Counters are Redis integers (decimal text), as in Spin's Redis store.
//!
//! Redis going away must cost a request a bounded wait, never a hang: every
//! round trip and every connection attempt has a timeout, a lost connection
//! is re-established by the next operation (one attempt each, without the
//! connection manager's own back-off, whose sleeps grow to a minute and hold
//! every operation behind them), and once Redis has been found unreachable
//! operations fail at once for [`REST`] instead of each waiting out a
//! timeout. The gateway then follows its store-failure policy (rate limiter
//! open or closed, cache bypassed, sessions checked with Supabase) and is
//! back on Redis within [`REST`] of its return, without a restart.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, RedisError, RedisResult, Script};

use super::error::KvError;

/// Longest wait for one reply; Redis answers in well under a millisecond.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest wait to (re)connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Keys asked for per `SCAN` round trip: each one keeps Redis busy briefly.
const SCAN_PAGE: usize = 1000;
/// How long operations fail at once after Redis was unreachable or silent.
const REST: Duration = Duration::from_millis(500);

/// Compare-and-swap in one server-side step: the script runs atomically, so
/// no other client can write between the comparison and the `SET`.
const SWAP_SCRIPT: &str = r#"
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
"#;

#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    swap: Script,
    /// Until when operations fail without trying Redis.
    resting_until: Arc<Mutex<Option<Instant>>>,
}

impl RedisStore {
    /// Connects once, failing at once if Redis is not there; after that the
    /// connection is re-established as needed.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(RESPONSE_TIMEOUT)
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_number_of_retries(0);
        let connection = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self {
            connection,
            swap: Script::new(SWAP_SCRIPT),
            resting_until: Arc::default(),
        })
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.run(self.connection.clone().get(key)).await
    }

    /// Each key's value, in order, in one `MGET`.
    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, KvError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut command = redis::cmd("MGET");
        command.arg(keys);
        let mut connection = self.connection.clone();
        self.run(async move { command.query_async(&mut connection).await })
            .await
    }

    pub async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.run(self.connection.clone().set(key, value)).await
    }

    pub async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.run(self.connection.clone().del(key)).await
    }

    /// Every key, as Spin's `list-keys` answers, but read with `SCAN` a page
    /// at a time: `KEYS` blocks a shared Redis for the whole keyspace.
    pub async fn keys(&self) -> Result<Vec<String>, KvError> {
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, page): (u64, Vec<String>) = self
                .run(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("COUNT")
                        .arg(SCAN_PAGE)
                        .query_async(&mut self.connection.clone()),
                )
                .await?;
            keys.extend(page);
            if next == 0 {
                // SCAN may return a key twice while Redis rehashes.
                keys.sort_unstable();
                keys.dedup();
                return Ok(keys);
            }
            cursor = next;
        }
    }

    pub async fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        self.run(self.connection.clone().incr(key, delta)).await
    }

    pub async fn swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> Result<bool, KvError> {
        let mut connection = self.connection.clone();
        let swapped: i32 = self
            .run(
                self.swap
                    .key(key)
                    .arg(if expected.is_some() { "1" } else { "0" })
                    .arg(expected.unwrap_or_default())
                    .arg(value)
                    .invoke_async(&mut connection),
            )
            .await?;
        Ok(swapped == 1)
    }

    /// Runs one operation unless Redis is resting; an I/O failure (refused,
    /// dropped, timed out) starts a rest.
    async fn run<T>(&self, operation: impl Future<Output = RedisResult<T>>) -> Result<T, KvError> {
        if self.is_resting() {
            return Err(KvError::Redis(RedisError::from((
                redis::ErrorKind::IoError,
                "Redis was unreachable moments ago; not retried yet",
            ))));
        }
        let result = operation.await;
        if let Err(error) = &result
            && error.is_io_error()
            && let Ok(mut until) = self.resting_until.lock()
        {
            *until = Some(Instant::now() + REST);
        }
        Ok(result?)
    }

    fn is_resting(&self) -> bool {
        self.resting_until
            .lock()
            .is_ok_and(|until| until.is_some_and(|until| Instant::now() < until))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_are_listed_whole_past_the_first_scan_page() {
        let url = std::env::var("WWS_TEST_REDIS_URL")
            .expect("WWS_TEST_REDIS_URL is not set: run the suite with `cargo xtask test`");
        let store = RedisStore::connect(&url).await.expect("Redis answers");
        let prefix = format!("scan-test:{}:", std::process::id());
        let written: Vec<String> = (0..SCAN_PAGE * 2 + 500)
            .map(|n| format!("{prefix}{n}"))
            .collect();
        for key in &written {
            store.set(key, b"1").await.expect("set");
        }
        let mut listed: Vec<String> = store
            .keys()
            .await
            .expect("keys")
            .into_iter()
            .filter(|key| key.starts_with(&prefix))
            .collect();
        for key in &written {
            store.delete(key).await.expect("delete");
        }
        listed.sort_unstable();
        let mut expected = written;
        expected.sort_unstable();
        assert_eq!(listed, expected);
    }
}
