//! Auth Guard component: WIT glue around the checks, in this order:
//! public route, API key, KV session cache (keyed by the token's SHA-256,
//! never the token), negative cache, local JWT verification, and only then
//! Supabase `GET /auth/v1/user`.

mod api_keys;
mod bearer;
mod bindings;
mod expiry;
mod jwks;
mod jwt;
mod local;
mod refusals;
mod session;
mod settings;
mod supabase;
mod sweep;

/// The pure parsers and checks, for the fuzz targets in `fuzz/`, which build
/// this crate natively; the component exports nothing but its WIT world.
#[cfg(not(target_family = "wasm"))]
#[doc(hidden)]
pub mod fuzzing {
    pub mod api_keys {
        pub use crate::api_keys::{ApiKey, find, parse};
    }
    pub mod bearer {
        pub use crate::bearer::{BearerError, token};
    }
    pub mod expiry {
        pub use crate::expiry::unverified_expiry;
    }
    pub mod jwt {
        pub use crate::jwt::{
            Claims, Expectations, LEEWAY_SECS, Needs, Outcome, inspect, verify_with_jwks,
            verify_with_secret,
        };
    }
}

use bindings::exports::mylder::wws::auth::{AuthError, AuthSource, Guest, Identity};
use bindings::mylder::wws::types::{Principal, RequestInfo, StoreOperations};
use settings::{Settings, Verification};
use wws_guest::{config, digest, kv, time};

struct AuthGuard;

impl Guest for AuthGuard {
    fn operations() -> StoreOperations {
        wws_guest::store_operations!(StoreOperations)
    }

    fn settings_problems() -> Vec<String> {
        api_keys(&Settings::load());
        Verification::load();
        config::problems()
    }

    fn authenticate(request: RequestInfo) -> Result<Identity, AuthError> {
        let settings = Settings::load();
        if settings.is_public(&request.method, &request.path) {
            return Ok(identity(
                anonymous(request.client_addr.as_deref()),
                AuthSource::Public,
            ));
        }
        let token =
            bearer::token(request.authorization.as_deref()).map_err(|error| match error {
                bearer::BearerError::Missing => AuthError::MissingCredentials,
                bearer::BearerError::Malformed => {
                    AuthError::InvalidToken("malformed Authorization header".into())
                }
            })?;
        let token_digest = digest::sha256_hex(token);
        if let Some(principal) = api_key(&settings, &token_digest) {
            return Ok(identity(principal, AuthSource::ApiKey));
        }

        let store = kv::Store::open_default().ok();
        let now = time::now_secs();
        if let Some(store) = &store {
            if let Some(principal) = session::load(store, &token_digest, now) {
                return Ok(identity(principal, AuthSource::Cache));
            }
            if session::is_denied(store, &token_digest, now) {
                return Err(AuthError::InvalidToken("token rejected".into()));
            }
        }

        let verification = Verification::load();
        let cache = |principal: &Principal, token_expiry: Option<u64>| {
            if let (Some(store), Some(until)) = (
                store.as_ref(),
                session::cache_until(now, verification.session_ttl_secs, token_expiry),
            ) && session::save(store, &token_digest, principal, until)
            {
                sweep::if_due(store, &kv::SharedCounters, now);
            }
        };
        match local::verify(token, &verification, store.as_ref(), now) {
            local::Local::Verified(claims) => {
                let principal = Principal {
                    id: claims.sub,
                    email: claims.email,
                    role: claims.role.unwrap_or_else(|| "authenticated".into()),
                    expires_at: Some(claims.exp),
                };
                cache(&principal, Some(claims.exp));
                return Ok(identity(principal, AuthSource::Jwt));
            }
            local::Local::Rejected(reason) => return Err(AuthError::InvalidToken(reason)),
            local::Local::Undecided => {}
        }

        let client_ip = request
            .client_addr
            .as_deref()
            .map_or_else(|| "unknown".to_string(), wws_guest::client::ip);
        if let Some(retry_after) = refusals::throttled(
            &kv::SharedCounters,
            &client_ip,
            verification.failed_login_limit,
            now,
        ) {
            return Err(AuthError::Throttled(retry_after as u32));
        }
        match supabase::verify(token, verification.supabase_url.as_deref()) {
            Ok(principal) => {
                let token_expiry = expiry::unverified_expiry(token);
                let principal = Principal {
                    expires_at: token_expiry,
                    ..principal
                };
                cache(&principal, token_expiry);
                Ok(identity(principal, AuthSource::Origin))
            }
            Err(AuthError::InvalidToken(reason)) => {
                if let Some(store) = &store
                    && session::deny(store, &token_digest, now + verification.negative_ttl_secs)
                {
                    sweep::if_due(store, &kv::SharedCounters, now);
                }
                refusals::record(&kv::SharedCounters, &client_ip, now);
                Err(AuthError::InvalidToken(reason))
            }
            Err(other) => Err(other),
        }
    }
}

fn identity(principal: Principal, source: AuthSource) -> Identity {
    Identity { principal, source }
}

/// The configured API keys; invalid `api_keys` are ignored (a
/// [problem](config::problems)): no key is accepted then.
fn api_keys(settings: &Settings) -> Option<Vec<api_keys::ApiKey>> {
    match api_keys::parse(settings.api_keys.as_deref()?) {
        Ok(keys) => Some(keys),
        Err(error) => {
            config::report(format!("api_keys is invalid and ignored: {error}"));
            None
        }
    }
}

fn api_key(settings: &Settings, token_digest: &str) -> Option<Principal> {
    let keys = api_keys(settings)?;
    let key = api_keys::find(&keys, token_digest)?;
    Some(Principal {
        id: format!("api-key:{}", key.principal),
        email: None,
        role: key.role.clone(),
        expires_at: None,
    })
}

/// Anonymous callers are told apart by IP address alone.
fn anonymous(client_addr: Option<&str>) -> Principal {
    let address = client_addr.map_or_else(|| "unknown".to_string(), wws_guest::client::ip);
    Principal {
        id: format!("anon:{address}"),
        email: None,
        role: "anon".into(),
        expires_at: None,
    }
}

bindings::export!(AuthGuard with_types_in bindings);
