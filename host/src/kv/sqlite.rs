//! Spin's default store: one SQLite file, in Spin's own table layout so the
//! same `.spin/sqlite_key_value.db` works under `spin up` and wws-host.
//!
//! Read-modify-write operations run in `BEGIN IMMEDIATE` transactions, which
//! take SQLite's write lock first, so they are atomic even when several
//! processes share the file.
//!
//! [`Costs::Spin`] opens the file the way Spin 4.0.2's `key-value-spin` does
//! (SQLite's defaults: rollback journal, full sync, so every write commits
//! with its own fsyncs; each call blocks its worker thread), so a benchmark
//! run with it shows what the guest's store calls cost under `spin up`.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::error::{KvError, decode_counter};

const STORE: &str = "default";

/// How the file is run: this host's tuning, or Spin's defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Costs {
    #[default]
    Tuned,
    Spin,
}

#[derive(Clone)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
    costs: Costs,
}

impl SqliteStore {
    pub fn open(path: &Path, costs: Costs) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let connection = Connection::open(path)?;
        connection.busy_timeout(Duration::from_secs(5))?;
        match costs {
            // WAL lets readers proceed during a write; NORMAL sync is durable
            // across process crashes, which is what a cache and counters need.
            Costs::Tuned => {
                connection.pragma_update(None, "journal_mode", "WAL")?;
                connection.pragma_update(None, "synchronous", "NORMAL")?;
            }
            // The journal mode is stored in the file, so a file this host
            // once switched to WAL is switched back to Spin's default.
            Costs::Spin => {
                connection.pragma_update(None, "journal_mode", "DELETE")?;
                connection.pragma_update(None, "synchronous", "FULL")?;
            }
        }
        connection.execute(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                store TEXT NOT NULL,
                key   TEXT NOT NULL,
                value BLOB NOT NULL,
                PRIMARY KEY (store, key)
            )",
            [],
        )?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            costs,
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, KvError>) -> Result<T, KvError> {
        let run = || {
            let mut connection = self.connection.lock().map_err(|_| KvError::Poisoned)?;
            f(&mut connection)
        };
        match self.costs {
            Costs::Tuned => run(),
            Costs::Spin => tokio::task::block_in_place(run),
        }
    }

    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.with(|connection| read(connection, key))
    }

    /// Each key's value, in order, under one lock.
    pub fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, KvError> {
        self.with(|connection| keys.iter().map(|key| read(connection, key)).collect())
    }

    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.with(|connection| write(connection, key, value))
    }

    pub fn delete(&self, key: &str) -> Result<(), KvError> {
        self.with(|connection| {
            connection
                .prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .execute(params![STORE, key])?;
            Ok(())
        })
    }

    pub fn keys(&self) -> Result<Vec<String>, KvError> {
        self.with(|connection| {
            let mut statement =
                connection.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")?;
            let keys = statement
                .query_map(params![STORE], |row| row.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(keys)
        })
    }

    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        self.with(|connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current = match read(&transaction, key)? {
                Some(bytes) => decode_counter(key, &bytes)?,
                None => 0,
            };
            let next = current.wrapping_add(delta);
            write(&transaction, key, &next.to_le_bytes())?;
            transaction.commit()?;
            Ok(next)
        })
    }

    pub fn swap(&self, key: &str, expected: Option<&[u8]>, value: &[u8]) -> Result<bool, KvError> {
        self.with(|connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if read(&transaction, key)?.as_deref() != expected {
                return Ok(false);
            }
            write(&transaction, key, value)?;
            transaction.commit()?;
            Ok(true)
        })
    }
}

fn read(connection: &Connection, key: &str) -> Result<Option<Vec<u8>>, KvError> {
    Ok(connection
        .prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
        .query_row(params![STORE, key], |row| row.get(0))
        .optional()?)
}

fn write(connection: &Connection, key: &str, value: &[u8]) -> Result<(), KvError> {
    connection
        .prepare_cached(
            "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
        )?
        .execute(params![STORE, key, value])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_counters_as_little_endian_across_reopen() {
        let dir = std::env::temp_dir().join(format!("wws-sqlite-{}", std::process::id()));
        let path = dir.join("kv.db");
        {
            let store = SqliteStore::open(&path, Costs::Tuned).unwrap();
            assert_eq!(store.increment("hits", 5).unwrap(), 5);
            assert!(store.swap("k", None, b"v1").unwrap());
            assert!(!store.swap("k", Some(b"other"), b"v2").unwrap());
        }
        // Reopened as Spin opens it: the file leaves WAL for the rollback journal.
        let store = SqliteStore::open(&path, Costs::Spin).unwrap();
        let journal: String = store
            .with(|connection| {
                Ok(connection.query_row("PRAGMA journal_mode", [], |row| row.get(0))?)
            })
            .unwrap();
        assert_eq!(journal, "delete");
        assert_eq!(
            store.get("hits").unwrap(),
            Some(5i64.to_le_bytes().to_vec())
        );
        assert_eq!(store.get("k").unwrap().as_deref(), Some(&b"v1"[..]));
        assert!(store.set("text", b"x").is_ok());
        assert!(matches!(
            store.increment("text", 1),
            Err(KvError::NotACounter(_))
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
