//! A shared Redis store, for several hosts enforcing one set of limits.
//! Counters are Redis integers (decimal text), as in Spin's Redis store.

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};

use super::KvError;

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
}

impl RedisStore {
    /// Connects once; the manager reconnects by itself after Redis restarts.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let connection = ConnectionManager::new(client).await?;
        Ok(Self {
            connection,
            swap: Script::new(SWAP_SCRIPT),
        })
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.connection.clone().get(key).await?)
    }

    pub async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        Ok(self.connection.clone().set(key, value).await?)
    }

    pub async fn delete(&self, key: &str) -> Result<(), KvError> {
        Ok(self.connection.clone().del(key).await?)
    }

    pub async fn keys(&self) -> Result<Vec<String>, KvError> {
        Ok(self.connection.clone().keys("*").await?)
    }

    pub async fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        Ok(self.connection.clone().incr(key, delta).await?)
    }

    pub async fn swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> Result<bool, KvError> {
        let swapped: i32 = self
            .swap
            .key(key)
            .arg(if expected.is_some() { "1" } else { "0" })
            .arg(expected.unwrap_or_default())
            .arg(value)
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(swapped == 1)
    }
}
