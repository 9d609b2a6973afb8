//! Counting what the gateway keeps in its store, by key family (the part
//! before the first `:`: `cache`, `fill`, `rl`, `auth`, `cb`).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use anyhow::{Context, Result};

pub enum Store {
    /// Spin's table in the host's state dir.
    Sqlite(PathBuf),
    Redis(redis::Client),
}

impl Store {
    pub fn sqlite(state_dir: &std::path::Path) -> Self {
        Self::Sqlite(state_dir.join("sqlite_key_value.db"))
    }

    pub fn redis(url: &str) -> Result<Self> {
        Ok(Self::Redis(redis::Client::open(url)?))
    }

    /// Key count per family. Blocking: call it off the async workers.
    pub fn families(&self) -> Result<BTreeMap<String, u64>> {
        let keys = match self {
            Self::Sqlite(path) => {
                let connection = rusqlite::Connection::open(path)
                    .with_context(|| format!("opening {}", path.display()))?;
                connection.busy_timeout(std::time::Duration::from_secs(5))?;
                let mut statement =
                    connection.prepare("SELECT key FROM spin_key_value WHERE store = 'default'")?;
                statement
                    .query_map([], |row| row.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?
            }
            Self::Redis(client) => {
                let mut connection = client.get_connection()?;
                // SCAN may return a key twice while Redis rehashes.
                let keys: HashSet<String> =
                    redis::Commands::scan::<String>(&mut connection)?.collect();
                keys.into_iter().collect()
            }
        };
        let mut families = BTreeMap::new();
        for key in keys {
            let family = key.split(':').next().unwrap_or_default().to_string();
            *families.entry(family).or_default() += 1;
        }
        Ok(families)
    }
}
