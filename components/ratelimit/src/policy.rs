//! Which limit applies to a path: the seed's table unless `rate_limits` is set.
//!
//! `rate_limits` is JSON: `{"/api/ai/chat": 60, "/api/ai/generate": 20, "default": 100}`;
//! a path matches an entry equal to it or below it (`/api/ai/chat/x`).

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub limit: u32,
    pub window_secs: u32,
}

#[derive(Debug, Clone)]
pub struct Policies {
    routes: Vec<Rule>,
    default: Rule,
}

const MINUTE: u32 = 60;

impl Default for Policies {
    fn default() -> Self {
        Self {
            routes: vec![
                rule("/api/ai/chat", 60),
                rule("/api/ai/generate", 20),
                rule("/v1/chat/completions", 60),
            ],
            default: rule("default", 100),
        }
    }
}

fn rule(name: &str, limit: u32) -> Rule {
    Rule {
        name: name.into(),
        limit,
        window_secs: MINUTE,
    }
}

impl Policies {
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        let table: BTreeMap<String, u32> = serde_json::from_str(json)?;
        let mut policies = Policies::default();
        for (name, limit) in table {
            if name == "default" {
                policies.default = rule("default", limit);
            } else if let Some(existing) = policies.routes.iter_mut().find(|r| r.name == name) {
                existing.limit = limit;
            } else {
                policies.routes.push(rule(&name, limit));
            }
        }
        Ok(policies)
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_limits_by_default() {
        let policies = Policies::default();
        assert_eq!(policies.for_path("/api/ai/chat").limit, 60);
        assert_eq!(policies.for_path("/api/ai/generate").limit, 20);
        assert_eq!(policies.for_path("/api/projects").limit, 100);
        assert_eq!(policies.for_path("/api/ai/chatty").name, "default");
    }

    #[test]
    fn json_overrides_and_extends_the_table() {
        let policies =
            Policies::from_json(r#"{"/api/ai/chat": 5, "/api/upload": 2, "default": 7}"#).unwrap();
        assert_eq!(policies.for_path("/api/ai/chat").limit, 5);
        assert_eq!(policies.for_path("/api/upload/big").limit, 2);
        assert_eq!(policies.for_path("/").limit, 7);
        assert!(Policies::from_json("[1,2]").is_err());
    }
}
