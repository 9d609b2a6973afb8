//! Deciding locally, without Supabase, when the configuration allows it.

use jsonwebtoken::jwk::JwkSet;
use wws_guest::kv::Kv;

use crate::jwks::Jwks;
use crate::jwt::{self, Claims, Expectations, Needs, Outcome};
use crate::settings::Verification;

pub enum Local {
    Verified(Claims),
    Rejected(String),
    /// No local method applies: Supabase decides.
    Undecided,
}

pub fn verify(
    token: &str,
    verification: &Verification,
    store: Option<&impl Kv>,
    now: u64,
) -> Local {
    let configured = verification.jwt_secret.is_some() || verification.jwks_url.is_some();
    if !configured {
        return Local::Undecided;
    }
    let expect = Expectations {
        audience: verification.audience.as_deref(),
        issuer: verification.issuer.as_deref(),
    };
    let (algorithm, needs) = match jwt::inspect(token) {
        Ok(inspected) => inspected,
        Err(outcome) => return decided(Err(outcome)),
    };
    match needs {
        Needs::Secret => match &verification.jwt_secret {
            Some(secret) => decided(jwt::verify_with_secret(token, secret, &expect)),
            None => Local::Undecided,
        },
        Needs::Jwks { kid } => {
            let Some(url) = verification.jwks_url.as_deref() else {
                return Local::Undecided;
            };
            let jwks = Jwks {
                url,
                refresh_secs: verification.jwks_refresh_secs,
                refetch_secs: verification.jwks_refetch_secs,
            };
            let Some(keys) = jwks.current(store, now) else {
                return Local::Undecided;
            };
            let with = |keys: &JwkSet| {
                jwt::verify_with_jwks(token, algorithm, kid.as_deref(), keys, &expect)
            };
            match with(&keys) {
                Err(Outcome::UnknownKey) => match jwks.refetch(store, now) {
                    Some(keys) => decided(with(&keys)),
                    None => Local::Rejected("unknown signing key".into()),
                },
                other => decided(other),
            }
        }
    }
}

fn decided(result: Result<Claims, Outcome>) -> Local {
    match result {
        Ok(claims) => Local::Verified(claims),
        Err(Outcome::UnknownKey) => Local::Rejected("unknown signing key".into()),
        Err(Outcome::Invalid(reason)) => Local::Rejected(reason),
    }
}
