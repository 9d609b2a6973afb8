//! The Auth Guard's Spin variables, read once per request and only as far
//! as the request gets: most requests carry an API key or a token whose
//! session is cached, and need only [`Settings`]; [`Verification`] is read
//! for a token not seen before. Under Spin every variable read is a walk
//! through its providers, so a cached session should not pay for a dozen
//! JWT and Supabase settings it never uses.

use std::time::{Duration, Instant};

use wws_guest::config;
use wws_guest::http::Timeouts;

const DEFAULT_PUBLIC_ROUTES: &str = "/api/wws/health";
const DEFAULT_SESSION_TTL_SECS: u64 = 3600;
const DEFAULT_NEGATIVE_TTL_SECS: u64 = 30;
const DEFAULT_JWKS_REFRESH_SECS: u64 = 600;
const DEFAULT_JWKS_REFETCH_SECS: u64 = 30;
const DEFAULT_AUDIENCE: &str = "authenticated";
const DEFAULT_FAILED_LOGIN_LIMIT: u64 = 20;

/// The longest an identity check waits in each phase of a call to Supabase:
/// far below the providers' defaults, since every request may wait on it.
const MAX_IDENTITY_TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(2),
    first_byte: Duration::from_secs(5),
    between_bytes: Duration::from_secs(5),
};

/// The whole of one call to Supabase, head and body: each gap of a body
/// that trickles in stays under the between-bytes timeout, so only an
/// overall bound decides such a login in time.
const IDENTITY_CALL_LIMIT: Duration = Duration::from_secs(5);

/// When a Supabase call that starts now must be complete.
pub fn identity_deadline() -> Instant {
    Instant::now() + IDENTITY_CALL_LIMIT
}

/// Timeouts for Supabase calls (user and JWKS): the upstream timeouts the
/// operator set (`connect_timeout_ms`, ...), which bound every upstream
/// call, but never more than [`MAX_IDENTITY_TIMEOUTS`].
pub fn identity_timeouts() -> Timeouts {
    let bounded = |name, cap: Duration| {
        let cap_ms = cap.as_millis() as u64;
        Duration::from_millis(config::get_u64(name, cap_ms).min(cap_ms))
    };
    Timeouts {
        connect: bounded("connect_timeout_ms", MAX_IDENTITY_TIMEOUTS.connect),
        first_byte: bounded("first_byte_timeout_ms", MAX_IDENTITY_TIMEOUTS.first_byte),
        between_bytes: bounded(
            "between_bytes_timeout_ms",
            MAX_IDENTITY_TIMEOUTS.between_bytes,
        ),
    }
}

/// What every request needs: which routes are public, and the API keys.
pub struct Settings {
    pub public_routes: String,
    pub api_keys: Option<String>,
}

/// What deciding a token not seen before needs: local JWT checks, Supabase
/// and the session cache's lifetimes.
pub struct Verification {
    pub session_ttl_secs: u64,
    pub negative_ttl_secs: u64,
    pub supabase_url: Option<String>,
    pub jwt_secret: Option<String>,
    /// JWKS location when asymmetric verification is on.
    pub jwks_url: Option<String>,
    pub jwks_refresh_secs: u64,
    pub jwks_refetch_secs: u64,
    pub audience: Option<String>,
    pub issuer: Option<String>,
    /// Tokens Supabase may refuse per client address and minute before that
    /// address's unknown tokens are refused unasked (0: no limit).
    pub failed_login_limit: u64,
}

impl Settings {
    pub fn load() -> Self {
        Self {
            public_routes: config::get("public_routes")
                .unwrap_or_else(|| DEFAULT_PUBLIC_ROUTES.into()),
            api_keys: config::get("api_keys"),
        }
    }

    /// Whether `method path` skips authentication. An entry is `METHOD
    /// /path` or a bare `/path`, which means GET only: public is the route
    /// and method meant, never a way to write to the origin unauthenticated.
    pub fn is_public(&self, method: &str, path: &str) -> bool {
        self.public_routes
            .split(',')
            .map(str::trim)
            .filter(|route| !route.is_empty())
            .any(|route| {
                let (allowed, route) = match route.split_once(' ') {
                    Some((allowed, route)) => (allowed.trim(), route.trim()),
                    None => ("GET", route),
                };
                route == path && allowed.eq_ignore_ascii_case(method)
            })
    }
}

impl Verification {
    pub fn load() -> Self {
        let supabase_url = config::upstream("supabase_url");
        let jwks_url = config::get("supabase_jwks_url").or_else(|| {
            let enabled = config::get("jwt_jwks").is_some_and(|value| value == "true");
            supabase_url
                .as_ref()
                .filter(|_| enabled)
                .map(|base| format!("{base}/auth/v1/.well-known/jwks.json"))
        });
        let issuer = config::get("jwt_issuer")
            .or_else(|| supabase_url.as_ref().map(|base| format!("{base}/auth/v1")));
        let audience = match config::get("jwt_audience") {
            Some(value) if value == "*" => None,
            Some(value) => Some(value),
            None => Some(DEFAULT_AUDIENCE.to_string()),
        };
        Self {
            session_ttl_secs: config::get_u64("session_ttl_secs", DEFAULT_SESSION_TTL_SECS),
            negative_ttl_secs: config::get_u64("negative_cache_secs", DEFAULT_NEGATIVE_TTL_SECS),
            supabase_url,
            jwt_secret: config::get("supabase_jwt_secret"),
            jwks_url,
            jwks_refresh_secs: config::get_u64("jwks_refresh_secs", DEFAULT_JWKS_REFRESH_SECS),
            jwks_refetch_secs: config::get_u64("jwks_refetch_secs", DEFAULT_JWKS_REFETCH_SECS),
            audience,
            issuer,
            failed_login_limit: config::get_u64("failed_login_limit", DEFAULT_FAILED_LOGIN_LIMIT),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(public_routes: &str) -> Settings {
        Settings {
            public_routes: public_routes.into(),
            api_keys: None,
        }
    }

    #[test]
    fn public_means_the_route_and_the_method() {
        let settings = settings("/api/wws/health, POST /api/hooks ,HEAD /api/ping");
        assert!(settings.is_public("GET", "/api/wws/health"));
        for method in ["POST", "PUT", "DELETE", "HEAD", "PATCH"] {
            assert!(!settings.is_public(method, "/api/wws/health"), "{method}");
        }
        assert!(settings.is_public("POST", "/api/hooks"));
        assert!(!settings.is_public("GET", "/api/hooks"));
        assert!(settings.is_public("HEAD", "/api/ping"));
        assert!(!settings.is_public("GET", "/api/wws/health/x"));
    }
}
