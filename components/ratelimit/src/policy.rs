//! Which limits apply: the seed's table unless the `rate_limits` variable
//! says otherwise.
//!
//! `rate_limits` is a JSON object. Keys that start with `/` are endpoint
//! classes (a path matches an entry equal to it or below it), `default` covers
//! every other path; each takes a number of requests per minute or
//! `{"requests": N, "window_secs": S}`. `tokens` sets the token budgets
//! (`{"per_minute": N, "per_day": M}`, either may be `null` to switch it
//! off), `roles` holds per-role objects of the same shape laid over the rest
//! (e.g. a higher tier for API keys), and `on_store_error` is `"open"`
//! (admit and log, the default) or `"closed"` (answer 503).
//!
//! ```json
//! {"/api/ai/chat": 60, "default": 100, "tokens": {"per_minute": 200000},
//!  "roles": {"service": {"/api/ai/chat": 600}}, "on_store_error": "open"}
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("rate_limits is not a JSON object")]
    NotAnObject,
    #[error("rate_limits entry {0:?} is not a valid limit")]
    InvalidEntry(String),
    #[error("rate_limits.on_store_error must be \"open\" or \"closed\"")]
    InvalidStorePolicy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub limit: u32,
    pub window_secs: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct TokenBudgets {
    pub per_minute: Option<u64>,
    pub per_day: Option<u64>,
}

/// What to do when the store cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnStoreError {
    #[default]
    Open,
    Closed,
}

/// The limits one principal is held to.
#[derive(Debug, Clone)]
pub struct Limits {
    routes: Vec<Rule>,
    default: Rule,
    pub tokens: TokenBudgets,
}

#[derive(Debug, Clone, Default)]
pub struct Policies {
    base: Limits,
    roles: BTreeMap<String, Limits>,
    pub on_store_error: OnStoreError,
}

const MINUTE: u32 = 60;

/// Large enough for one long-context request (about 1M tokens of prompt)
/// while still bounding what a leaked credential can spend.
const DEFAULT_TOKENS_PER_MINUTE: u64 = 1_500_000;

impl Default for Limits {
    fn default() -> Self {
        Self {
            routes: vec![
                rule("/api/ai/chat", 60, MINUTE),
                rule("/api/ai/generate", 20, MINUTE),
                rule("/v1/chat/completions", 60, MINUTE),
                rule("/v1/messages", 60, MINUTE),
            ],
            default: rule("default", 100, MINUTE),
            tokens: TokenBudgets {
                per_minute: Some(DEFAULT_TOKENS_PER_MINUTE),
                per_day: None,
            },
        }
    }
}

fn rule(name: &str, limit: u32, window_secs: u32) -> Rule {
    Rule {
        name: name.into(),
        limit,
        window_secs: window_secs.max(1),
    }
}

impl Limits {
    /// Every endpoint class's rule, the default's last.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.routes.iter().chain(std::iter::once(&self.default))
    }

    pub fn for_path(&self, path: &str) -> &Rule {
        self.routes
            .iter()
            .filter(|rule| {
                path == rule.name
                    || path
                        .strip_prefix(rule.name.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .max_by_key(|rule| rule.name.len())
            .unwrap_or(&self.default)
    }

    /// Lays the endpoint and token entries of `table` over these limits.
    fn overlay(&mut self, table: &Map<String, Value>) -> Result<(), PolicyError> {
        for (name, value) in table {
            match name.as_str() {
                "roles" | "on_store_error" => {}
                "tokens" => {
                    self.tokens = serde_json::from_value(value.clone())
                        .map_err(|_| PolicyError::InvalidEntry(name.clone()))?;
                }
                "default" => self.default = parse_rule(name, value)?,
                _ if name.starts_with('/') => {
                    let parsed = parse_rule(name, value)?;
                    match self.routes.iter_mut().find(|rule| rule.name == *name) {
                        Some(existing) => *existing = parsed,
                        None => self.routes.push(parsed),
                    }
                }
                _ => return Err(PolicyError::InvalidEntry(name.clone())),
            }
        }
        Ok(())
    }
}

fn parse_rule(name: &str, value: &Value) -> Result<Rule, PolicyError> {
    #[derive(Deserialize)]
    struct Detailed {
        requests: u32,
        #[serde(default = "minute")]
        window_secs: u32,
    }
    fn minute() -> u32 {
        MINUTE
    }
    let invalid = || PolicyError::InvalidEntry(name.to_string());
    let detailed = match value {
        Value::Number(number) => Detailed {
            requests: number
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(invalid)?,
            window_secs: MINUTE,
        },
        _ => serde_json::from_value(value.clone()).map_err(|_| invalid())?,
    };
    Ok(rule(name, detailed.requests, detailed.window_secs))
}

impl Policies {
    pub fn from_json(json: &str) -> Result<Self, PolicyError> {
        let Ok(Value::Object(table)) = serde_json::from_str::<Value>(json) else {
            return Err(PolicyError::NotAnObject);
        };
        let mut policies = Policies::default();
        policies.base.overlay(&table)?;
        if let Some(roles) = table.get("roles") {
            let roles = roles
                .as_object()
                .ok_or_else(|| PolicyError::InvalidEntry("roles".into()))?;
            for (role, overrides) in roles {
                let overrides = overrides
                    .as_object()
                    .ok_or_else(|| PolicyError::InvalidEntry(format!("roles.{role}")))?;
                let mut limits = policies.base.clone();
                limits.overlay(overrides)?;
                policies.roles.insert(role.clone(), limits);
            }
        }
        policies.on_store_error = match table.get("on_store_error").map(Value::as_str) {
            None | Some(Some("open")) => OnStoreError::Open,
            Some(Some("closed")) => OnStoreError::Closed,
            Some(_) => return Err(PolicyError::InvalidStorePolicy),
        };
        Ok(policies)
    }

    pub fn for_role(&self, role: &str) -> &Limits {
        self.roles.get(role).unwrap_or(&self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_limits_by_default() {
        let limits = Policies::default().base;
        assert_eq!(limits.for_path("/api/ai/chat").limit, 60);
        assert_eq!(limits.for_path("/api/ai/generate").limit, 20);
        assert_eq!(limits.for_path("/api/projects").limit, 100);
        assert_eq!(limits.for_path("/api/ai/chatty").name, "default");
        assert_eq!(limits.tokens.per_minute, Some(DEFAULT_TOKENS_PER_MINUTE));
    }

    #[test]
    fn json_overrides_and_extends_the_table() {
        let policies = Policies::from_json(
            r#"{"/api/ai/chat": 5, "/api/upload": {"requests": 2, "window_secs": 10}, "default": 7}"#,
        )
        .unwrap();
        let limits = policies.for_role("authenticated");
        assert_eq!(limits.for_path("/api/ai/chat").limit, 5);
        assert_eq!(
            limits.for_path("/api/upload/big"),
            &rule("/api/upload", 2, 10)
        );
        assert_eq!(limits.for_path("/").limit, 7);
        assert_eq!(policies.on_store_error, OnStoreError::Open);
    }

    #[test]
    fn roles_lay_their_own_limits_over_the_base() {
        let policies = Policies::from_json(
            r#"{"/api/ai/chat": 5, "tokens": {"per_minute": 1000, "per_day": 5000},
                "roles": {"service": {"/api/ai/chat": 500, "tokens": {"per_minute": null}}}}"#,
        )
        .unwrap();
        let service = policies.for_role("service");
        assert_eq!(service.for_path("/api/ai/chat").limit, 500);
        assert_eq!(service.for_path("/api/ai/generate").limit, 20);
        assert_eq!(service.tokens.per_minute, None);
        let user = policies.for_role("authenticated");
        assert_eq!(user.for_path("/api/ai/chat").limit, 5);
        assert_eq!(user.tokens.per_day, Some(5000));
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        assert_eq!(
            Policies::from_json("[1,2]").unwrap_err(),
            PolicyError::NotAnObject
        );
        assert!(Policies::from_json(r#"{"/x": -1}"#).is_err());
        assert!(Policies::from_json(r#"{"chat": 5}"#).is_err());
        assert_eq!(
            Policies::from_json(r#"{"on_store_error": "maybe"}"#).unwrap_err(),
            PolicyError::InvalidStorePolicy
        );
        let closed = Policies::from_json(r#"{"on_store_error": "closed"}"#).unwrap();
        assert_eq!(closed.on_store_error, OnStoreError::Closed);
    }
}
