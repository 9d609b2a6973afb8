//! Per-route cache policy from the `cache_policy` variable.
//!
//! JSON keyed by path prefix (the longest match wins) plus `default`; each
//! entry may set `enabled`, `public`, `fresh_secs`, `stale_secs` and
//! `stale_if_error_secs`, the rest coming from `default`:
//!
//! ```json
//! {"default": {"fresh_secs": 60, "stale_secs": 300},
//!  "/api/docs": {"public": true, "fresh_secs": 600},
//!  "/api/ai/generate": {"enabled": false}}
//! ```
//!
//! The seed's defaults: fresh for 60 s, then served stale for up to 300 s
//! more while one revalidation runs, then for up to 300 s more only when the
//! upstream fails (`stale-if-error`).

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub enabled: bool,
    pub public: bool,
    pub fresh_secs: u64,
    pub stale_secs: u64,
    pub stale_if_error_secs: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            enabled: true,
            public: false,
            fresh_secs: 60,
            stale_secs: 300,
            stale_if_error_secs: 300,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Overrides {
    enabled: Option<bool>,
    public: Option<bool>,
    fresh_secs: Option<u64>,
    stale_secs: Option<u64>,
    stale_if_error_secs: Option<u64>,
}

impl Overrides {
    fn over(self, base: Policy) -> Policy {
        Policy {
            enabled: self.enabled.unwrap_or(base.enabled),
            public: self.public.unwrap_or(base.public),
            fresh_secs: self.fresh_secs.unwrap_or(base.fresh_secs),
            stale_secs: self.stale_secs.unwrap_or(base.stale_secs),
            stale_if_error_secs: self.stale_if_error_secs.unwrap_or(base.stale_if_error_secs),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Policies {
    default: Policy,
    routes: Vec<(String, Policy)>,
}

impl Policies {
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        let mut table: BTreeMap<String, Overrides> = serde_json::from_str(json)?;
        let default = table
            .remove("default")
            .unwrap_or_default()
            .over(Policy::default());
        let routes = table
            .into_iter()
            .map(|(prefix, overrides)| (prefix, overrides.over(default)))
            .collect();
        Ok(Self { default, routes })
    }

    pub fn for_path(&self, path: &str) -> Policy {
        self.routes
            .iter()
            .filter(|(prefix, _)| wws_guest::path::covers(prefix, path))
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(self.default, |(_, policy)| *policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_defaults_everywhere() {
        let policy = Policies::default().for_path("/v1/chat/completions");
        assert_eq!(policy, Policy::default());
        assert!(policy.enabled && !policy.public);
    }

    #[test]
    fn the_longest_prefix_wins_over_the_default() {
        let policies = Policies::from_json(
            r#"{"default": {"fresh_secs": 10}, "/api/docs": {"public": true},
                "/api/docs/private": {"public": false, "enabled": false}}"#,
        )
        .unwrap();
        let docs = policies.for_path("/api/docs/intro");
        assert!(docs.public);
        assert_eq!(docs.fresh_secs, 10);
        assert!(!policies.for_path("/api/docs/private/x").enabled);
        assert_eq!(policies.for_path("/other").fresh_secs, 10);
        assert!(Policies::from_json(r#"{"default": {"fresh": 1}}"#).is_err());
    }
}
