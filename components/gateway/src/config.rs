//! The gateway's Spin variables.

use std::time::Duration;

use wws_guest::config;
use wws_guest::http::Timeouts;

use crate::dialect::Dialect;

/// Large enough for a 128K-token prompt with room to spare.
const DEFAULT_MAX_BODY_BYTES: u64 = 4 * 1024 * 1024;

/// A provider as configured, if it has a key: one origin serving an
/// OpenAI-compatible API and an Anthropic-compatible one under two paths.
pub struct Provider {
    pub base_url: String,
    pub anthropic_base_url: String,
    /// One key or a pool of them (`k1,k2`): see `ai/key_pool.rs`.
    pub api_keys: Vec<String>,
}

impl Provider {
    /// The base the dialect's path is appended to.
    pub fn base_url_for(&self, dialect: Dialect) -> &str {
        match dialect {
            Dialect::OpenAi => &self.base_url,
            Dialect::Anthropic => &self.anthropic_base_url,
        }
    }
}

/// The variables that configure one provider slot.
pub struct ProviderVariables {
    /// `scheme://host[:port]`, the entry `allowed_outbound_hosts` is built from.
    pub url: &'static str,
    pub openai_path: &'static str,
    pub default_openai_path: &'static str,
    pub anthropic_path: &'static str,
    pub default_anthropic_path: &'static str,
    pub api_key: &'static str,
}

impl ProviderVariables {
    /// The variable holding the dialect's API path on `url`.
    pub fn path_for(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::OpenAi => self.openai_path,
            Dialect::Anthropic => self.anthropic_path,
        }
    }
}

/// The provider slots the router's targets name, in the order operators
/// read them: synthetic.new first, z.ai as its fallback.
pub const PROVIDERS: [&str; 2] = [PRIMARY, FALLBACK];
const PRIMARY: &str = "primary";
const FALLBACK: &str = "fallback";

pub fn provider_variables(name: &str) -> Option<ProviderVariables> {
    match name {
        PRIMARY => Some(ProviderVariables {
            url: "primary_url",
            openai_path: "primary_openai_path",
            default_openai_path: "/openai/v1",
            anthropic_path: "primary_anthropic_path",
            default_anthropic_path: "/anthropic",
            api_key: "synthetic_api_key",
        }),
        FALLBACK => Some(ProviderVariables {
            url: "fallback_url",
            openai_path: "fallback_openai_path",
            default_openai_path: "/api/paas/v4",
            anthropic_path: "fallback_anthropic_path",
            default_anthropic_path: "/api/anthropic",
            api_key: "zai_api_key",
        }),
        _ => None,
    }
}

pub fn provider(name: &str) -> Option<Provider> {
    let variables = provider_variables(name)?;
    let origin = config::upstream(variables.url)?;
    let path = |name, default: &str| config::get(name).unwrap_or_else(|| default.to_string());
    let openai = path(variables.openai_path, variables.default_openai_path);
    let anthropic = path(variables.anthropic_path, variables.default_anthropic_path);
    Some(Provider {
        base_url: join(&origin, &openai),
        anthropic_base_url: join(&origin, &anthropic),
        api_keys: api_keys(&config::get(variables.api_key)?)?,
    })
}

/// A key variable's keys: one, or several separated by commas.
fn api_keys(value: &str) -> Option<Vec<String>> {
    let keys: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .map(str::to_string)
        .collect();
    (!keys.is_empty()).then_some(keys)
}

/// How many keys `name`'s pool holds (0: not configured).
pub fn key_count(name: &str) -> usize {
    provider_variables(name)
        .and_then(|variables| config::get(variables.api_key))
        .and_then(|value| api_keys(&value))
        .map_or(0, |keys| keys.len())
}

/// Upstream variables whose value Spin cannot turn into an
/// `allowed_outbound_hosts` entry (which makes every outgoing request of the
/// app fail there), each with what is wrong; values are never quoted.
fn upstream_problems() -> Vec<String> {
    ["primary_url", "fallback_url", "origin_url", "supabase_url"]
        .into_iter()
        .filter_map(|name| {
            let value = wws_guest::config::get(name)?;
            origin_problem(&value).map(|problem| format!("{name} {problem}"))
        })
        .collect()
}

/// Every problem with the gateway's own settings: upstream variables that
/// are not origins, and numbers that do not parse (their defaults apply).
pub fn problems() -> Vec<String> {
    default_max_tokens();
    max_body_bytes();
    upstream_timeouts();
    let mut problems = upstream_problems();
    problems.extend(wws_guest::config::problems());
    problems
}

/// What keeps `value` from being a `scheme://host[:port]` origin.
fn origin_problem(value: &str) -> Option<&'static str> {
    let value = value.trim();
    let Some((scheme, rest)) = value.split_once("://") else {
        return Some("must start with http:// or https://");
    };
    if !matches!(scheme, "http" | "https") {
        return Some("must start with http:// or https://");
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() {
        return Some("has no host");
    }
    if authority.contains(['/', '?', '#']) {
        return Some("must not have a path: put the API path in its *_path variable");
    }
    if authority.contains('@') {
        return Some("must not carry credentials");
    }
    None
}

/// `origin` + `path`, with exactly one `/` between them.
fn join(origin: &str, path: &str) -> String {
    let path = path.trim().trim_matches('/');
    if path.is_empty() {
        origin.to_string()
    } else {
        format!("{origin}/{path}")
    }
}

pub fn origin_url() -> Option<String> {
    config::upstream("origin_url")
}

/// The completion bound for requests without `max_tokens`, so a token
/// budget reserves the whole answer (SECURITY.md: the worst case).
pub fn default_max_tokens() -> u64 {
    config::get_u64("default_max_tokens", 16_384)
}

pub fn max_body_bytes() -> usize {
    config::get_u64("max_body_bytes", DEFAULT_MAX_BODY_BYTES) as usize
}

/// How long a request may run before its streams are ended in-band: set
/// below the platform's own limit (30 s on the managed edge) so the gateway
/// still has time to say so; 0 or unset: no limit (self-hosted).
pub fn request_deadline() -> Option<Duration> {
    Some(config::get_u64("request_deadline_ms", 0))
        .filter(|millis| *millis > 0)
        .map(Duration::from_millis)
}

pub fn upstream_timeouts() -> Timeouts {
    let millis = |name, default| Duration::from_millis(config::get_u64(name, default));
    Timeouts {
        connect: millis("connect_timeout_ms", 5_000),
        first_byte: millis("first_byte_timeout_ms", 60_000),
        between_bytes: millis("between_bytes_timeout_ms", 30_000),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn upstream_values_must_be_origins() {
        use super::origin_problem;
        assert_eq!(origin_problem("https://api.z.ai"), None);
        assert_eq!(origin_problem("http://127.0.0.1:9/"), None);
        assert_eq!(origin_problem("http://self"), None);
        assert!(
            origin_problem("https://api.synthetic.new/openai/v1")
                .is_some_and(|p| p.contains("path"))
        );
        assert!(origin_problem("api.z.ai").is_some());
        assert!(origin_problem("ftp://x").is_some());
        assert!(origin_problem("https://").is_some());
        assert!(origin_problem("https://u:p@host").is_some());
    }

    #[test]
    fn a_key_variable_holds_one_key_or_a_pool() {
        assert_eq!(super::api_keys("sk-1"), Some(vec!["sk-1".to_string()]));
        assert_eq!(
            super::api_keys(" sk-1, sk-2 ,"),
            Some(vec!["sk-1".to_string(), "sk-2".to_string()])
        );
        assert_eq!(super::api_keys(" , "), None);
    }

    #[test]
    fn base_urls_join_origin_and_path() {
        assert_eq!(
            super::join("https://api.z.ai", "/api/paas/v4/"),
            "https://api.z.ai/api/paas/v4"
        );
        assert_eq!(
            super::join("http://127.0.0.1:9", "v1"),
            "http://127.0.0.1:9/v1"
        );
        assert_eq!(super::join("http://127.0.0.1:9", ""), "http://127.0.0.1:9");
    }
}
