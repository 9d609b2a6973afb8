//! Minting test tokens: HS256 with a shared secret, ES256 with a generated
//! P-256 key published as a JWK.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use p256::ecdsa::SigningKey;
use p256::pkcs8::EncodePrivateKey;
use serde_json::{Value, json};

pub const JWT_SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters";

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or_default()
}

/// Supabase-shaped claims for `sub`, expiring `expires_in` seconds from now.
pub fn claims(issuer: &str, sub: &str, expires_in: i64) -> Value {
    json!({
        "sub": sub,
        "aud": "authenticated",
        "iss": issuer,
        "exp": now() + expires_in,
        "iat": now(),
        "email": format!("{sub}@example.com"),
        "role": "authenticated",
    })
}

pub fn hs256(secret: &str, claims: &Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 token")
}

/// A header and payload with `alg: none` and no signature.
pub fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims.to_string()))
}

pub struct EcKey {
    pub kid: String,
    signing: SigningKey,
}

impl EcKey {
    pub fn generate(kid: &str) -> Self {
        Self {
            kid: kid.to_string(),
            signing: SigningKey::random(&mut rand_core::OsRng),
        }
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(Algorithm::ES256, claims)
    }

    /// Signs with this key but claims `algorithm` in the header.
    pub fn sign_as(&self, algorithm: Algorithm, claims: &Value) -> String {
        let der = self.signing.to_pkcs8_der().expect("pkcs8");
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        let token = encode(&header, claims, &EncodingKey::from_ec_der(der.as_bytes()))
            .expect("ES256 token");
        if algorithm == Algorithm::ES256 {
            return token;
        }
        header.alg = algorithm;
        let (_, payload_and_signature) = token.split_once('.').expect("three parts");
        let relabelled = serde_json::to_vec(&header).expect("header");
        format!(
            "{}.{payload_and_signature}",
            URL_SAFE_NO_PAD.encode(relabelled)
        )
    }

    pub fn jwk(&self) -> Value {
        let point = self.signing.verifying_key().to_encoded_point(false);
        json!({
            "kty": "EC",
            "crv": "P-256",
            "alg": "ES256",
            "use": "sig",
            "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(point.x().expect("x")),
            "y": URL_SAFE_NO_PAD.encode(point.y().expect("y")),
        })
    }
}

pub fn jwks(keys: &[&EcKey]) -> Value {
    json!({ "keys": keys.iter().map(|key| key.jwk()).collect::<Vec<_>>() })
}
