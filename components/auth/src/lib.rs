//! Auth Guard component: WIT glue around the session cache and Supabase.
//!
//! Order of checks: public route, then the KV session cache (keyed by the
//! token's SHA-256, never the token), then Supabase `GET /auth/v1/user`.

mod bearer;
mod expiry;
mod session;
mod supabase;

wit_bindgen::generate!({
    path: "../../wit",
    world: "mylder:wws/auth-guard",
    with: {
        "wasi:keyvalue/store@0.2.0-draft2": wws_guest::bindings::wasi::keyvalue::store,
        "wasi:config/store@0.2.0-draft-2024-09-27": wws_guest::bindings::wasi::config::store,
    },
});

use exports::mylder::wws::auth::{AuthError, AuthSource, Guest, Identity};
use mylder::wws::types::{Principal, RequestInfo};
use wws_guest::{config, digest, kv, time};

/// Routes reachable without credentials unless `public_routes` says otherwise.
const DEFAULT_PUBLIC_ROUTES: &str = "/api/wws/health";
const DEFAULT_SESSION_TTL_SECS: u64 = 3600;

struct AuthGuard;

impl Guest for AuthGuard {
    fn authenticate(request: RequestInfo) -> Result<Identity, AuthError> {
        if is_public(&request.path) {
            return Ok(Identity {
                principal: anonymous(request.client_addr.as_deref()),
                source: AuthSource::Public,
            });
        }
        let token =
            bearer::token(request.authorization.as_deref()).map_err(|error| match error {
                bearer::BearerError::Missing => AuthError::MissingCredentials,
                bearer::BearerError::Malformed => {
                    AuthError::InvalidToken("malformed Authorization header".into())
                }
            })?;
        let token_digest = digest::sha256_hex(token);
        let store = kv::Store::open_default().ok();
        let now = time::now_secs();

        if let Some(principal) = store
            .as_ref()
            .and_then(|store| session::load(store, &token_digest, now))
        {
            return Ok(Identity {
                principal,
                source: AuthSource::Cache,
            });
        }

        let principal = supabase::verify(token)?;
        let ttl = config::get_u64("session_ttl_secs", DEFAULT_SESSION_TTL_SECS);
        let token_expiry = expiry::unverified_expiry(token);
        if let (Some(store), Some(until)) =
            (store.as_ref(), session::cache_until(now, ttl, token_expiry))
        {
            let principal = Principal {
                expires_at: token_expiry,
                ..principal.clone()
            };
            session::save(store, &token_digest, &principal, until);
        }
        Ok(Identity {
            principal,
            source: AuthSource::Origin,
        })
    }
}

fn is_public(path: &str) -> bool {
    let routes = config::get("public_routes").unwrap_or_else(|| DEFAULT_PUBLIC_ROUTES.into());
    routes
        .split(',')
        .map(str::trim)
        .any(|route| !route.is_empty() && route == path)
}

fn anonymous(client_addr: Option<&str>) -> Principal {
    Principal {
        id: format!("anon:{}", client_addr.unwrap_or("unknown")),
        email: None,
        role: "anon".into(),
        expires_at: None,
    }
}

export!(AuthGuard);
