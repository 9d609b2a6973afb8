//! Spin's runtime configuration file, `[key_value_store.<label>]` tables:
//! `type = "spin"` (SQLite, optional `path`), `type = "redis"` (`url`), and
//! `type = "memory"` (wws-host only; for tests).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeConfigError {
    #[error("cannot read runtime config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid runtime config {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum StoreConfig {
    Spin {
        #[serde(default)]
        path: Option<PathBuf>,
    },
    Redis {
        url: String,
    },
    Memory,
}

#[derive(Debug, Default, Deserialize)]
pub struct RuntimeConfig {
    #[serde(default)]
    pub key_value_store: BTreeMap<String, StoreConfig>,
}

impl RuntimeConfig {
    pub fn load(path: &Path) -> Result<Self, RuntimeConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| RuntimeConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| RuntimeConfigError::Parse {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    }

    /// The configured store for `label`; Spin's default is SQLite.
    pub fn store(&self, label: &str) -> StoreConfig {
        self.key_value_store
            .get(label)
            .cloned()
            .unwrap_or(StoreConfig::Spin { path: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spin_redis_and_memory_stores() {
        let config: RuntimeConfig = toml::from_str(
            r#"
[key_value_store.default]
type = "redis"
url = "redis://127.0.0.1:6379"
[key_value_store.local]
type = "spin"
path = "data.db"
[key_value_store.test]
type = "memory"
"#,
        )
        .unwrap();
        assert_eq!(
            config.store("default"),
            StoreConfig::Redis {
                url: "redis://127.0.0.1:6379".into()
            }
        );
        assert_eq!(
            config.store("local"),
            StoreConfig::Spin {
                path: Some("data.db".into())
            }
        );
        assert_eq!(config.store("test"), StoreConfig::Memory);
        assert_eq!(config.store("other"), StoreConfig::Spin { path: None });
    }
}
