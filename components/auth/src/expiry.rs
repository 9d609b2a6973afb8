//! A JWT's `exp` claim, read without verifying the signature.
//!
//! Used only to shorten how long a session is cached after Supabase has
//! accepted the token; it never grants access by itself.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn unverified_expiry(token: &str) -> Option<u64> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp")?.as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_with(payload: &str) -> String {
        format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn reads_exp_from_the_payload() {
        assert_eq!(
            unverified_expiry(&token_with(r#"{"exp":1700000000}"#)),
            Some(1_700_000_000)
        );
    }

    #[test]
    fn opaque_or_broken_tokens_have_no_expiry() {
        assert_eq!(unverified_expiry("opaque-token"), None);
        assert_eq!(unverified_expiry("a.!!!.c"), None);
        assert_eq!(unverified_expiry(&token_with(r#"{"exp":"soon"}"#)), None);
    }
}
