//! The project's JWKS, kept in KV so every instance shares one copy.
//!
//! It is refreshed after `jwks_refresh_secs`. A token with an unknown `kid`
//! (a rotated key) may force one early refetch, but forced refetches are
//! spaced by `jwks_refetch_secs`, so a flood of made-up key ids cannot turn
//! into a flood of JWKS downloads.

use jsonwebtoken::jwk::JwkSet;
use serde::{Deserialize, Serialize};
use wasip2::http::types::Method;
use wws_guest::digest::sha256_hex;
use wws_guest::http;
use wws_guest::kv::{Counters, Kv, SharedCounters};

use crate::settings::{identity_deadline, identity_timeouts};

const MAX_JWKS_BYTES: usize = 256 * 1024;

#[derive(Serialize, Deserialize)]
struct Cached {
    fetched_at: u64,
    forced_at: u64,
    jwks: JwkSet,
}

pub struct Jwks<'a> {
    pub url: &'a str,
    pub refresh_secs: u64,
    pub refetch_secs: u64,
}

impl Jwks<'_> {
    fn key(&self) -> String {
        format!("auth:jwks:{}", &sha256_hex(self.url)[..16])
    }

    fn load(&self, store: Option<&impl Kv>) -> Option<Cached> {
        let bytes = store?.get(&self.key()).ok()??;
        serde_json::from_slice(&bytes).ok()
    }

    fn save(&self, store: Option<&impl Kv>, cached: &Cached) {
        if let (Some(store), Ok(bytes)) = (store, serde_json::to_vec(cached)) {
            let _ = store.set(&self.key(), &bytes);
        }
    }

    /// The key set to verify with: cached while fresh, else downloaded. A
    /// failed download falls back to the old copy, if there is one.
    pub fn current(&self, store: Option<&impl Kv>, now: u64) -> Option<JwkSet> {
        let cached = self.load(store);
        if let Some(cached) = &cached
            && now.saturating_sub(cached.fetched_at) < self.refresh_secs
        {
            return Some(cached.jwks.clone());
        }
        let forced_at = cached.as_ref().map_or(0, |c| c.forced_at);
        match fetch(self.url) {
            Some(jwks) => {
                self.save(
                    store,
                    &Cached {
                        fetched_at: now,
                        forced_at,
                        jwks: jwks.clone(),
                    },
                );
                Some(jwks)
            }
            None => cached.map(|cached| cached.jwks),
        }
    }

    /// An early download for an unknown key id, if none happened lately.
    pub fn refetch(&self, store: Option<&impl Kv>, now: u64) -> Option<JwkSet> {
        if let Some(cached) = self.load(store)
            && now.saturating_sub(cached.forced_at) < self.refetch_secs
        {
            return None;
        }
        // Many instances may see the same unknown key id at once: one claim
        // per period, taken atomically, lets exactly one of them download.
        // Counters that fail do not block the refetch; a period of 0 means
        // refetches are not spaced at all.
        if self.refetch_secs > 0
            && let Ok(false) = SharedCounters.claim_period(
                &format!("{}:refetch", self.key()),
                now / self.refetch_secs,
                u32::try_from(self.refetch_secs).unwrap_or(u32::MAX),
            )
        {
            return None;
        }
        let jwks = fetch(self.url)?;
        self.save(
            store,
            &Cached {
                fetched_at: now,
                forced_at: now,
                jwks: jwks.clone(),
            },
        );
        Some(jwks)
    }
}

fn fetch(url: &str) -> Option<JwkSet> {
    let request = http::Request {
        method: Method::Get,
        url,
        headers: vec![("accept".into(), b"application/json".to_vec())],
        body: http::Body::Bytes(&[]),
    };
    let deadline = identity_deadline();
    let response = match http::send(request, identity_timeouts()) {
        Ok(response) if response.status == 200 => response,
        Ok(response) => {
            eprintln!("auth: JWKS answered {}", response.status);
            return None;
        }
        Err(error) => {
            eprintln!("auth: JWKS fetch failed: {error}");
            return None;
        }
    };
    let body = response.read_all_by(MAX_JWKS_BYTES, deadline).ok()?;
    match serde_json::from_slice(&body) {
        Ok(jwks) => Some(usable(jwks)),
        Err(_) => {
            eprintln!("auth: JWKS is not a valid key set");
            None
        }
    }
}

/// The set without keys that cannot verify anything (members that do not
/// decode): kept, such a key would refuse every token naming its `kid` until
/// the next scheduled refresh; dropped, its `kid` is unknown, which allows
/// the spaced early refetch that picks up a repaired set.
fn usable(mut jwks: JwkSet) -> JwkSet {
    let before = jwks.keys.len();
    jwks.keys
        .retain(|jwk| jsonwebtoken::DecodingKey::from_jwk(jwk).is_ok());
    if jwks.keys.len() < before {
        eprintln!(
            "auth: JWKS has {} unusable key(s); ignoring them",
            before - jwks.keys.len()
        );
    }
    jwks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_do_not_decode_are_dropped() {
        let jwks: JwkSet = serde_json::from_value(serde_json::json!({ "keys": [
            { "kty": "EC", "crv": "P-256", "kid": "bad", "x": "!!", "y": "??" },
            { "kty": "oct", "kid": "secret", "k": "c2VjcmV0" },
        ] }))
        .unwrap();
        let kept: Vec<_> = usable(jwks)
            .keys
            .into_iter()
            .filter_map(|jwk| jwk.common.key_id)
            .collect();
        assert_eq!(kept, ["secret"]);
    }
}
