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
    #[error("unknown key_value_stores label {label:?} for component {component:?}")]
    UnknownLabel { label: String, component: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum StoreConfig {
    /// Spin's SQLite store; without a `path` Spin keeps it in memory.
    Spin {
        #[serde(default)]
        path: Option<PathBuf>,
    },
    Redis {
        url: String,
    },
    /// wws-host only (tests): Spin refuses this type.
    Memory,
}

/// Spin refuses keys it does not use, so a misspelt table cannot silently
/// leave an app on the default store.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    #[serde(default)]
    key_value_store: BTreeMap<String, StoreConfig>,
}

impl RuntimeConfig {
    /// Reads the file; a relative SQLite `path` is taken from the file's
    /// folder, as Spin takes it.
    pub fn load(path: &Path) -> Result<Self, RuntimeConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| RuntimeConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config: Self =
            toml::from_str(&text).map_err(|source| RuntimeConfigError::Parse {
                path: path.to_path_buf(),
                source: Box::new(source),
            })?;
        let folder = path.parent().unwrap_or(Path::new("."));
        for store in config.key_value_store.values_mut() {
            if let StoreConfig::Spin { path: Some(file) } = store
                && file.is_relative()
            {
                *file = folder.join(&*file);
            }
        }
        Ok(config)
    }

    /// The store behind `label`, by Spin's rules: a configured label as
    /// configured (SQLite without a path in memory); `default` unconfigured
    /// is SQLite in `state_dir`; any other unconfigured label is an error.
    pub fn store(
        &self,
        label: &str,
        component: &str,
        state_dir: &Path,
    ) -> Result<StoreConfig, RuntimeConfigError> {
        match self.key_value_store.get(label) {
            Some(StoreConfig::Spin { path: None }) => Ok(StoreConfig::Memory),
            Some(config) => Ok(config.clone()),
            None if label == "default" => Ok(StoreConfig::Spin {
                path: Some(state_dir.join(DEFAULT_SQLITE_FILE)),
            }),
            None => Err(RuntimeConfigError::UnknownLabel {
                label: label.to_string(),
                component: component.to_string(),
            }),
        }
    }
}

/// Spin's default store file in its state folder (`.spin/`).
pub const DEFAULT_SQLITE_FILE: &str = "sqlite_key_value.db";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chooses_stores_by_spins_rules() {
        let config: RuntimeConfig = toml::from_str(
            r#"
[key_value_store.default]
type = "redis"
url = "redis://127.0.0.1:6379"
[key_value_store.local]
type = "spin"
path = "/data/data.db"
[key_value_store.volatile]
type = "spin"
[key_value_store.test]
type = "memory"
"#,
        )
        .unwrap();
        let state = Path::new("/srv/.spin");
        let store = |label| config.store(label, "wws", state);
        assert_eq!(
            store("default").unwrap(),
            StoreConfig::Redis {
                url: "redis://127.0.0.1:6379".into()
            }
        );
        assert_eq!(
            store("local").unwrap(),
            StoreConfig::Spin {
                path: Some("/data/data.db".into())
            }
        );
        assert_eq!(store("volatile").unwrap(), StoreConfig::Memory);
        assert_eq!(store("test").unwrap(), StoreConfig::Memory);
        assert_eq!(
            store("other").unwrap_err().to_string(),
            "unknown key_value_stores label \"other\" for component \"wws\""
        );
        let none = RuntimeConfig::default();
        assert_eq!(
            none.store("default", "wws", state).unwrap(),
            StoreConfig::Spin {
                path: Some("/srv/.spin/sqlite_key_value.db".into())
            }
        );
    }

    #[test]
    fn relative_paths_follow_the_file_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("runtime-config.toml");
        std::fs::write(
            &file,
            "[key_value_store.default]\ntype = \"spin\"\npath = \".spin/kv.db\"\n",
        )
        .unwrap();
        let config = RuntimeConfig::load(&file).unwrap();
        assert_eq!(
            config
                .store("default", "wws", Path::new("/elsewhere"))
                .unwrap(),
            StoreConfig::Spin {
                path: Some(dir.path().join(".spin/kv.db"))
            }
        );
        std::fs::write(&file, "[key_value_stores.default]\ntype = \"spin\"\n").unwrap();
        assert!(RuntimeConfig::load(&file).is_err());
    }
}
