//! What an operator sees of a loaded application before it serves: the
//! component, its stores and its variables, with secrets reduced to whether
//! they are set and credentials cut out of store URLs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::runtime_config::StoreConfig;

/// A component variable as it may be printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    Value(String),
    Secret { set: bool },
}

impl Shown {
    /// Set to something other than the empty string.
    pub fn is_set(&self) -> bool {
        match self {
            Shown::Value(value) => !value.is_empty(),
            Shown::Secret { set } => *set,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Summary {
    pub component: PathBuf,
    /// Store label and where it lives.
    pub stores: Vec<(String, String)>,
    pub variables: BTreeMap<String, Shown>,
}

impl Summary {
    pub fn variable(&self, name: &str) -> Option<&Shown> {
        self.variables.get(name)
    }
}

/// Where a store lives, fit to print.
pub fn describe_store(config: &StoreConfig) -> String {
    match config {
        StoreConfig::Spin { path: Some(path) } => format!("SQLite {}", path.display()),
        StoreConfig::Spin { path: None } | StoreConfig::Memory => {
            "memory (lost on exit)".to_string()
        }
        StoreConfig::Redis { url } => format!("Redis {}", without_credentials(url)),
    }
}

/// `redis://user:password@host:6379/0` as `redis://***@host:6379/0`.
pub fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_lose_their_credentials() {
        assert_eq!(
            without_credentials("redis://:hunter2@cache:6379/1"),
            "redis://***@cache:6379/1"
        );
        assert_eq!(
            without_credentials("rediss://user:pw@host"),
            "rediss://***@host"
        );
        assert_eq!(
            without_credentials("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }

    #[test]
    fn sqlite_stores_name_their_file() {
        let text = describe_store(&StoreConfig::Spin {
            path: Some("/srv/.spin/sqlite_key_value.db".into()),
        });
        assert_eq!(text, "SQLite /srv/.spin/sqlite_key_value.db");
    }

    #[test]
    fn secrets_only_say_whether_they_are_set() {
        assert!(Shown::Secret { set: true }.is_set());
        assert!(!Shown::Value(String::new()).is_set());
    }
}
