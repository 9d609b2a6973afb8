//! The configured store, whichever kind it is: SQLite, Redis or memory.

use std::path::Path;

use super::error::KvError;
use super::memory::MemoryStore;
use super::redis_store::RedisStore;
use super::sqlite::{Costs as SqliteCosts, SqliteStore};
use crate::runtime_config::{DEFAULT_SQLITE_FILE, StoreConfig};

/// How long start-up waits for a configured Redis.
const REDIS_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// One configured store. An enum rather than a trait object: three closed
/// variants, and async calls stay free of boxing.
#[derive(Clone)]
pub enum KvStore {
    Sqlite(SqliteStore),
    Redis(RedisStore),
    Memory(MemoryStore),
}

impl KvStore {
    /// Opens the store `config` describes; relative SQLite paths are taken
    /// from `state_dir` (Spin's `.spin/` next to the manifest).
    pub async fn open(
        config: &StoreConfig,
        state_dir: &Path,
        sqlite_costs: SqliteCosts,
    ) -> anyhow::Result<Self> {
        Ok(match config {
            StoreConfig::Spin { path } => {
                let path = match path {
                    Some(path) => path.clone(),
                    None => state_dir.join(DEFAULT_SQLITE_FILE),
                };
                KvStore::Sqlite(SqliteStore::open(&path, sqlite_costs)?)
            }
            StoreConfig::Redis { url } => {
                // The client retries a refused connection forever; at start-up
                // an unreachable Redis is a configuration error to report.
                let connecting = RedisStore::connect(url);
                match tokio::time::timeout(REDIS_CONNECT_TIMEOUT, connecting).await {
                    Ok(store) => KvStore::Redis(store?),
                    Err(_) => anyhow::bail!(
                        "Redis at {} did not answer within {REDIS_CONNECT_TIMEOUT:?}",
                        crate::summary::without_credentials(url)
                    ),
                }
            }
            StoreConfig::Memory => KvStore::Memory(MemoryStore::default()),
        })
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        match self {
            KvStore::Sqlite(store) => store.get(key),
            KvStore::Redis(store) => store.get(key).await,
            KvStore::Memory(store) => store.get(key),
        }
    }

    /// The keys found, with their values: one statement on SQLite (one
    /// lock, one blocking call under Spin's costs, as Spin's `get-many` is),
    /// one `MGET` on Redis.
    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, KvError> {
        let values = match self {
            KvStore::Sqlite(store) => store.get_many(keys)?,
            KvStore::Redis(store) => store.get_many(keys).await?,
            KvStore::Memory(store) => keys
                .iter()
                .map(|key| store.get(key))
                .collect::<Result<_, _>>()?,
        };
        Ok(keys
            .iter()
            .zip(values)
            .filter_map(|(key, value)| Some((key.clone(), value?)))
            .collect())
    }

    pub async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        match self {
            KvStore::Sqlite(store) => store.set(key, value),
            KvStore::Redis(store) => store.set(key, value).await,
            KvStore::Memory(store) => store.set(key, value),
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), KvError> {
        match self {
            KvStore::Sqlite(store) => store.delete(key),
            KvStore::Redis(store) => store.delete(key).await,
            KvStore::Memory(store) => store.delete(key),
        }
    }

    pub async fn exists(&self, key: &str) -> Result<bool, KvError> {
        Ok(self.get(key).await?.is_some())
    }

    pub async fn keys(&self) -> Result<Vec<String>, KvError> {
        match self {
            KvStore::Sqlite(store) => store.keys(),
            KvStore::Redis(store) => store.keys().await,
            KvStore::Memory(store) => store.keys(),
        }
    }

    /// Atomically adds `delta` and returns the new value; absent counts as 0.
    pub async fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        match self {
            KvStore::Sqlite(store) => store.increment(key, delta),
            KvStore::Redis(store) => store.increment(key, delta).await,
            KvStore::Memory(store) => store.increment(key, delta),
        }
    }

    /// Writes `value` only if the key still holds `expected` (`None`: absent).
    pub async fn swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> Result<bool, KvError> {
        match self {
            KvStore::Sqlite(store) => store.swap(key, expected, value),
            KvStore::Redis(store) => store.swap(key, expected, value).await,
            KvStore::Memory(store) => store.swap(key, expected, value),
        }
    }
}
