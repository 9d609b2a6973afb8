//! The KV session cache: principal by token digest, with its own deadline.

use serde::{Deserialize, Serialize};
use wws_guest::kv::Kv;

use crate::bindings::mylder::wws::types::Principal;

#[derive(Serialize, Deserialize)]
struct Session {
    id: String,
    email: Option<String>,
    role: String,
    expires_at: Option<u64>,
    cached_until: u64,
}

const SESSION_PREFIX: &str = "auth:session:";
const DENY_PREFIX: &str = "auth:deny:";

fn key(token_digest: &str) -> String {
    format!("{SESSION_PREFIX}{token_digest}")
}

fn deny_key(token_digest: &str) -> String {
    format!("{DENY_PREFIX}{token_digest}")
}

/// For the sweep: `Some(true)` for a session or deny entry past its
/// deadline (or unreadable), `Some(false)` for a live one, `None` for keys
/// that are not the session cache's.
pub fn is_dead(key: &str, bytes: &[u8], now: u64) -> Option<bool> {
    if key.starts_with(SESSION_PREFIX) {
        let session = serde_json::from_slice::<Session>(bytes).ok();
        Some(session.is_none_or(|session| session.cached_until <= now))
    } else if key.starts_with(DENY_PREFIX) {
        let until = std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| text.parse::<u64>().ok());
        Some(until.is_none_or(|until| until <= now))
    } else {
        None
    }
}

/// Remembers, until `until`, that Supabase rejected this token, so a flood
/// of one bad token is answered here. True when the entry was written.
pub fn deny(store: &impl Kv, token_digest: &str, until: u64) -> bool {
    store
        .set(&deny_key(token_digest), until.to_string().as_bytes())
        .is_ok()
}

pub fn is_denied(store: &impl Kv, token_digest: &str, now: u64) -> bool {
    let key = deny_key(token_digest);
    let Ok(Some(bytes)) = store.get(&key) else {
        return false;
    };
    let until = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| text.parse::<u64>().ok());
    match until {
        Some(until) if until > now => true,
        _ => {
            let _ = store.delete(&key);
            false
        }
    }
}

/// How long a verified session may be cached: min(ttl, exp - now), or not
/// at all when the token is already expired.
pub fn cache_until(now: u64, ttl: u64, token_expiry: Option<u64>) -> Option<u64> {
    let until = match token_expiry {
        Some(exp) => exp.min(now.saturating_add(ttl)),
        None => now.saturating_add(ttl),
    };
    (until > now).then_some(until)
}

/// The cached principal, if present and still within its deadline. Expired
/// entries are deleted so the store does not keep them forever.
pub fn load(store: &impl Kv, token_digest: &str, now: u64) -> Option<Principal> {
    let key = key(token_digest);
    let bytes = store.get(&key).ok()??;
    match serde_json::from_slice::<Session>(&bytes) {
        Ok(session) if session.cached_until > now => Some(Principal {
            id: session.id,
            email: session.email,
            role: session.role,
            expires_at: session.expires_at,
        }),
        _ => {
            let _ = store.delete(&key);
            None
        }
    }
}

/// Best effort: a failed write only costs a later Supabase round trip.
/// True when the entry was written.
pub fn save(store: &impl Kv, token_digest: &str, principal: &Principal, cached_until: u64) -> bool {
    let session = Session {
        id: principal.id.clone(),
        email: principal.email.clone(),
        role: principal.role.clone(),
        expires_at: principal.expires_at,
        cached_until,
    };
    let Ok(bytes) = serde_json::to_vec(&session) else {
        return false;
    };
    match store.set(&key(token_digest), &bytes) {
        Ok(()) => true,
        Err(error) => {
            eprintln!("auth: session cache write failed: {error}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_knows_dead_sessions_and_denials() {
        let session = br#"{"id":"u","email":null,"role":"authenticated","expires_at":null,"cached_until":100}"#;
        assert_eq!(is_dead("auth:session:ab", session, 99), Some(false));
        assert_eq!(is_dead("auth:session:ab", session, 100), Some(true));
        assert_eq!(is_dead("auth:session:ab", b"garbage", 0), Some(true));
        assert_eq!(is_dead("auth:deny:ab", b"50", 49), Some(false));
        assert_eq!(is_dead("auth:deny:ab", b"50", 50), Some(true));
        assert_eq!(is_dead("auth:jwks", b"{}", 0), None);
    }

    #[test]
    fn lifetime_is_the_shorter_of_ttl_and_token_expiry() {
        assert_eq!(cache_until(1_000, 3_600, None), Some(4_600));
        assert_eq!(cache_until(1_000, 3_600, Some(1_060)), Some(1_060));
        assert_eq!(cache_until(1_000, 30, Some(9_999)), Some(1_030));
    }

    #[test]
    fn expired_tokens_are_not_cached() {
        assert_eq!(cache_until(1_000, 3_600, Some(1_000)), None);
        assert_eq!(cache_until(1_000, 3_600, Some(10)), None);
        assert_eq!(cache_until(1_000, 0, None), None);
    }
}
