//! Local JWT verification: HS256 with the project's shared secret, ES256 and
//! RS256 with keys from its JWKS. The algorithm comes from the token header
//! but the key family is fixed by where the key came from, so an HS256 token
//! is never checked against a public key (algorithm confusion) and `none`
//! is not an algorithm at all.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

/// Seconds of clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Asymmetric token whose key id is not in the JWKS we hold.
    UnknownKey,
    Invalid(String),
}

pub struct Expectations<'a> {
    pub audience: Option<&'a str>,
    pub issuer: Option<&'a str>,
}

/// What the header asks for, read before choosing a key.
pub enum Needs {
    Secret,
    Jwks { kid: Option<String> },
}

pub fn inspect(token: &str) -> Result<(Algorithm, Needs), Outcome> {
    let header = decode_header(token).map_err(|_| Outcome::Invalid("malformed token".into()))?;
    match header.alg {
        Algorithm::HS256 => Ok((header.alg, Needs::Secret)),
        Algorithm::ES256 | Algorithm::RS256 => Ok((header.alg, Needs::Jwks { kid: header.kid })),
        other => Err(Outcome::Invalid(format!(
            "algorithm {other:?} is not accepted"
        ))),
    }
}

pub fn verify_with_secret(
    token: &str,
    secret: &str,
    expect: &Expectations<'_>,
) -> Result<Claims, Outcome> {
    check(
        token,
        Algorithm::HS256,
        &DecodingKey::from_secret(secret.as_bytes()),
        expect,
    )
}

pub fn verify_with_jwks(
    token: &str,
    algorithm: Algorithm,
    kid: Option<&str>,
    jwks: &JwkSet,
    expect: &Expectations<'_>,
) -> Result<Claims, Outcome> {
    let jwk = match kid {
        Some(kid) => jwks.find(kid),
        None if jwks.keys.len() == 1 => jwks.keys.first(),
        None => None,
    }
    .ok_or(Outcome::UnknownKey)?;
    let key =
        DecodingKey::from_jwk(jwk).map_err(|_| Outcome::Invalid("unusable signing key".into()))?;
    check(token, algorithm, &key, expect)
}

fn check(
    token: &str,
    algorithm: Algorithm,
    key: &DecodingKey,
    expect: &Expectations<'_>,
) -> Result<Claims, Outcome> {
    let mut validation = Validation::new(algorithm);
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "sub"]);
    match expect.audience {
        Some(audience) => validation.set_audience(&[audience]),
        None => validation.validate_aud = false,
    }
    if let Some(issuer) = expect.issuer {
        validation.set_issuer(&[issuer]);
    }
    decode::<Claims>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|error| Outcome::Invalid(reason(&error)))
}

/// A short reason for the client; never includes the token.
fn reason(error: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::ExpiredSignature => "token expired",
        ErrorKind::ImmatureSignature => "token not yet valid",
        ErrorKind::InvalidAudience => "wrong audience",
        ErrorKind::InvalidIssuer => "wrong issuer",
        ErrorKind::InvalidSignature => "invalid signature",
        ErrorKind::InvalidAlgorithm => "algorithm does not match the key",
        ErrorKind::MissingRequiredClaim(_) => "required claim missing",
        _ => "malformed token",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    const SECRET: &str = "test-secret-with-enough-length-0123456789";

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    fn hs256(claims: serde_json::Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    fn expect() -> Expectations<'static> {
        Expectations {
            audience: Some("authenticated"),
            issuer: Some("https://p.supabase.co/auth/v1"),
        }
    }

    fn claims(exp_offset: i64) -> serde_json::Value {
        json!({
            "sub": "user-1", "aud": "authenticated", "iss": "https://p.supabase.co/auth/v1",
            "exp": (now() as i64 + exp_offset), "email": "a@b.c", "role": "authenticated",
        })
    }

    #[test]
    fn accepts_a_valid_hs256_token() {
        let claims = verify_with_secret(&hs256(claims(600)), SECRET, &expect()).unwrap();
        assert_eq!(claims.sub, "user-1");
        assert_eq!(claims.email.as_deref(), Some("a@b.c"));
    }

    #[test]
    fn rejects_expired_future_wrong_audience_and_wrong_secret() {
        let invalid =
            |token: &str, secret: &str| verify_with_secret(token, secret, &expect()).unwrap_err();
        assert_eq!(
            invalid(&hs256(claims(-120)), SECRET),
            Outcome::Invalid("token expired".into())
        );
        let mut future = claims(600);
        future["nbf"] = json!(now() + 300);
        assert_eq!(
            invalid(&hs256(future), SECRET),
            Outcome::Invalid("token not yet valid".into())
        );
        let mut wrong_aud = claims(600);
        wrong_aud["aud"] = json!("anon");
        assert_eq!(
            invalid(&hs256(wrong_aud), SECRET),
            Outcome::Invalid("wrong audience".into())
        );
        assert_eq!(
            invalid(&hs256(claims(600)), "other-secret"),
            Outcome::Invalid("invalid signature".into())
        );
    }

    #[test]
    fn leeway_tolerates_small_clock_skew() {
        assert!(verify_with_secret(&hs256(claims(-10)), SECRET, &expect()).is_ok());
    }

    #[test]
    fn alg_none_and_garbage_are_invalid() {
        let none = format!(
            "{}.{}.",
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                r#"{"alg":"none","typ":"JWT"}"#
            ),
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                claims(600).to_string()
            ),
        );
        assert!(matches!(inspect(&none), Err(Outcome::Invalid(_))));
        assert!(matches!(inspect("garbage"), Err(Outcome::Invalid(_))));
        assert!(matches!(
            inspect(&hs256(claims(600))),
            Ok((Algorithm::HS256, Needs::Secret))
        ));
    }

    #[test]
    fn unknown_kids_are_reported_for_a_refetch() {
        let jwks: JwkSet = serde_json::from_value(json!({ "keys": [] })).unwrap();
        let outcome = verify_with_jwks("a.b.c", Algorithm::ES256, Some("kid-1"), &jwks, &expect());
        assert_eq!(outcome.unwrap_err(), Outcome::UnknownKey);
    }
}
