//! An `Authorization` value, or a bare token, from anyone on the internet:
//! the bearer parser, the unverified `exp` read, the header inspection and
//! the HS256/ES256/RS256 checks must refuse garbage without panicking, and
//! never accept a token under an algorithm other than the one it names.
#![no_main]

use std::sync::LazyLock;

use jsonwebtoken::jwk::JwkSet;
use libfuzzer_sys::fuzz_target;
use wws_auth::fuzzing::{bearer, expiry, jwt};

/// The secret and public keys the seed corpus's tokens are signed with, so
/// mutations start from tokens that verify and reach every claim check.
const SECRET: &str = "fuzz-secret-with-enough-length-0123456789";
const KEYS: &str = r#"{"keys":[{"alg":"ES256","crv":"P-256","ext":true,"key_ops":["verify"],"kid":"5b1a6f0e-2c1d-4d8e-9a7b-3f2e1d0c9b8a","kty":"EC","use":"sig","x":"nG1GipVKojrfLyXl__xogp50za7JEJszSC4SmeYHFw8","y":"ngqCsQkR3arlhhm9t5BKIlXAquQlt7Co3kZgDt8JDKg"},{"alg":"RS256","e":"AQAB","kid":"rsa-2024-01","kty":"RSA","n":"yCYJ7zYR3GmlquimRTSV7EPFhk0jeyByxuumTm3XyX5w5LuwrD56WKzuJJv-rRgSZmWgFaTpaIeWxWS122ZlN_7qnOC8iO3yA1gKlgNLjqlhUXL8iLhU6Ra79Jd0_Mqhiv1xxlsfozfEk7raQXmUP2eaDBNlz3y39YmpLURsd9DNErssIpHR-VWgC_EZkAevBa2bZU2M3670WCK7y2cldXAQXRvDVeJZC-fz3-Cu965538kn2PG1ZKcAcQ-oGz_r1HMiMUMS65B5l9P1-x8DLfE_eU2lyQpr5Ab3L7S_zoxFqS4tvG4X0Az3NjOSw6cjY_5LrWO1sCl6vwaaEj--BQ","use":"sig"}]}"#;

static JWKS: LazyLock<JwkSet> =
    LazyLock::new(|| serde_json::from_str(KEYS).expect("the seed key set parses"));

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(token) = bearer::token(Some(text)) {
        assert!(!token.is_empty() && token.len() <= 8192);
        assert!(!token.contains(char::is_whitespace), "{token:?}");
        check(token);
    }
    check(text);
});

fn check(token: &str) {
    let _ = expiry::unverified_expiry(token);
    let expect = jwt::Expectations {
        audience: Some("authenticated"),
        issuer: Some("https://p.supabase.co/auth/v1"),
    };
    let inspected = jwt::inspect(token);
    if let Ok(claims) = jwt::verify_with_secret(token, SECRET, &expect) {
        assert!(
            matches!(
                inspected,
                Ok((jsonwebtoken::Algorithm::HS256, jwt::Needs::Secret))
            ),
            "accepted with the shared secret but does not name HS256"
        );
        assert!(fresh(claims.exp), "accepted an expired token");
    }
    if let Ok((algorithm, jwt::Needs::Jwks { kid })) = inspected
        && let Ok(claims) = jwt::verify_with_jwks(token, algorithm, kid.as_deref(), &JWKS, &expect)
    {
        assert!(fresh(claims.exp), "accepted an expired token");
    }
}

/// Within the leeway at the moment of the check (a second of slack for the
/// clock ticking between the verification and this look).
fn fresh(exp: u64) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    exp.saturating_add(jwt::LEEWAY_SECS + 1) >= now
}
