//! Issue 3: the Auth Guard's paths — local JWT (HS256, ES256 via JWKS),
//! session cache, negative cache, Supabase, API keys — and what it refuses.

use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use sha2::Digest;
use wws_tests::gateway::{Env, Store};
use wws_tests::supabase::{jwks_calls, user_calls};
use wws_tests::tokens::{self, EcKey, JWT_SECRET};

fn chat() -> Value {
    json!({ "messages": [{ "role": "user", "content": "hi" }] })
}

fn issuer(env: &Env) -> String {
    format!("{}/auth/v1", env.supabase.url())
}

async fn local_env() -> Env {
    Env::start_with(
        &[("supabase_jwt_secret", JWT_SECRET), ("jwt_jwks", "true")],
        Store::Memory,
    )
    .await
}

async fn status_and_source(env: &Env, token: &str) -> (u16, String) {
    let response = env
        .send_json("/v1/chat/completions", Some(token), &chat())
        .await;
    let source = response
        .headers()
        .get("x-wws-auth-source")
        .map(|value| value.to_str().unwrap().to_string())
        .unwrap_or_default();
    (response.status().as_u16(), source)
}

#[tokio::test]
async fn valid_hs256_and_es256_tokens_are_accepted_without_supabase() {
    let env = local_env().await;
    let key = EcKey::generate("key-1");
    env.supabase_keys.publish(tokens::jwks(&[&key]));

    let hs = tokens::hs256(JWT_SECRET, &tokens::claims(&issuer(&env), "user-hs", 600));
    assert_eq!(status_and_source(&env, &hs).await, (200, "jwt".into()));
    let es = key.sign(&tokens::claims(&issuer(&env), "user-es", 600));
    assert_eq!(status_and_source(&env, &es).await, (200, "jwt".into()));
    assert_eq!(status_and_source(&env, &es).await, (200, "cache".into()));
    assert_eq!(user_calls(&env.supabase), 0);
    assert_eq!(jwks_calls(&env.supabase), 1);
}

#[tokio::test]
async fn invalid_tokens_are_rejected_locally() {
    let env = local_env().await;
    let key = EcKey::generate("key-1");
    env.supabase_keys.publish(tokens::jwks(&[&key]));
    let iss = issuer(&env);
    let mut not_yet = tokens::claims(&iss, "u", 600);
    not_yet["nbf"] = json!(tokens::now() + 600);
    let mut wrong_audience = tokens::claims(&iss, "u", 600);
    wrong_audience["aud"] = json!("anon");
    let mut wrong_issuer = tokens::claims(&iss, "u", 600);
    wrong_issuer["iss"] = json!("https://evil.example/auth/v1");
    let cases = [
        (
            "expired",
            tokens::hs256(JWT_SECRET, &tokens::claims(&iss, "u", -3600)),
        ),
        ("not yet valid", tokens::hs256(JWT_SECRET, &not_yet)),
        (
            "wrong signature",
            tokens::hs256(
                "another-secret-of-sufficient-length!!",
                &tokens::claims(&iss, "u", 600),
            ),
        ),
        ("wrong audience", tokens::hs256(JWT_SECRET, &wrong_audience)),
        ("wrong issuer", tokens::hs256(JWT_SECRET, &wrong_issuer)),
        (
            "alg none",
            tokens::unsigned(&tokens::claims(&iss, "u", 600)),
        ),
        ("garbage", "abc.def.ghi".to_string()),
        (
            "RS256 header on an EC key",
            key.sign_as(Algorithm::RS256, &tokens::claims(&iss, "u", 600)),
        ),
        (
            "ES256 signed by a stranger",
            EcKey::generate("key-1").sign(&tokens::claims(&iss, "u", 600)),
        ),
    ];
    for (case, token) in cases {
        let response = env
            .send_json("/v1/chat/completions", Some(&token), &chat())
            .await;
        assert_eq!(response.status(), 401, "{case}");
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.contains("invalid_token"), "{case}: {challenge}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "authentication_error", "{case}");
    }
    assert_eq!(
        user_calls(&env.supabase),
        0,
        "local checks decide without Supabase"
    );
    assert_eq!(env.primary.count(), 0);
}

#[tokio::test]
async fn hs256_tokens_are_never_checked_against_public_keys() {
    // Only JWKS is configured: an HS256 token (here signed with the EC
    // key's public coordinates as HMAC secret) cannot be verified locally and
    // goes to Supabase, which refuses it.
    let env = Env::start_with(&[("jwt_jwks", "true")], Store::Memory).await;
    let key = EcKey::generate("key-1");
    env.supabase_keys.publish(tokens::jwks(&[&key]));
    let forged = tokens::hs256(
        &key.jwk()["x"].as_str().unwrap().repeat(2),
        &tokens::claims(&issuer(&env), "u", 600),
    );
    assert_eq!(status_and_source(&env, &forged).await.0, 401);
    assert_eq!(user_calls(&env.supabase), 1);
}

#[tokio::test]
async fn a_rotated_key_is_accepted_after_one_refetch() {
    let env = local_env().await;
    let old = EcKey::generate("old");
    env.supabase_keys.publish(tokens::jwks(&[&old]));
    let iss = issuer(&env);
    assert_eq!(
        status_and_source(&env, &old.sign(&tokens::claims(&iss, "a", 600)))
            .await
            .0,
        200
    );
    assert_eq!(jwks_calls(&env.supabase), 1);

    let new = EcKey::generate("new");
    env.supabase_keys.publish(tokens::jwks(&[&old, &new]));
    assert_eq!(
        status_and_source(&env, &new.sign(&tokens::claims(&iss, "b", 600))).await,
        (200, "jwt".into())
    );
    assert_eq!(jwks_calls(&env.supabase), 2, "one refetch for the new kid");

    let unknown = EcKey::generate("made-up");
    assert_eq!(
        status_and_source(&env, &unknown.sign(&tokens::claims(&iss, "c", 600)))
            .await
            .0,
        401
    );
    assert_eq!(jwks_calls(&env.supabase), 2, "refetches are spaced out");
    assert_eq!(user_calls(&env.supabase), 0);
}

#[tokio::test]
async fn rejected_tokens_are_remembered() {
    let env = Env::start().await;
    for _ in 0..5 {
        assert_eq!(status_and_source(&env, "not-a-valid-token").await.0, 401);
    }
    assert_eq!(
        user_calls(&env.supabase),
        1,
        "the negative cache answers repeats"
    );
}

#[tokio::test]
async fn supabase_down_means_503_not_200() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let env = Env::start_with(&[("supabase_url", &url)], Store::Memory).await;
    let response = env
        .send_json("/v1/chat/completions", Some("token-someone"), &chat())
        .await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "auth_unavailable");
    assert_eq!(env.primary.count(), 0);
}

#[tokio::test]
async fn api_keys_are_matched_by_digest() {
    let key = "n8n-live-key-0123456789";
    let digest = hex::encode(sha2::Sha256::digest(key));
    let api_keys = json!([{ "sha256": digest, "principal": "n8n", "role": "service" }]).to_string();
    let env = Env::start_with(&[("api_keys", &api_keys)], Store::Memory).await;
    assert_eq!(status_and_source(&env, key).await, (200, "api-key".into()));
    assert_eq!(status_and_source(&env, "n8n-live-key-wrong").await.0, 401);
    assert_eq!(
        user_calls(&env.supabase),
        1,
        "only the wrong key reached Supabase"
    );
}

#[tokio::test]
async fn the_store_never_holds_a_raw_token() {
    let env = Env::start_with(&[("supabase_jwt_secret", JWT_SECRET)], Store::Sqlite).await;
    let jwt = tokens::hs256(JWT_SECRET, &tokens::claims(&issuer(&env), "stored", 600));
    let opaque = "token-opaque-user";
    let rejected = "definitely-not-valid";
    assert_eq!(status_and_source(&env, &jwt).await.0, 200);
    assert_eq!(status_and_source(&env, opaque).await.0, 401);
    assert_eq!(status_and_source(&env, rejected).await.0, 401);

    let db =
        rusqlite::Connection::open(env.gateway.state_dir().join("sqlite_key_value.db")).unwrap();
    let mut statement = db.prepare("SELECT key, value FROM spin_key_value").unwrap();
    let rows: Vec<(String, Vec<u8>)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        rows.iter().any(|(key, _)| key.starts_with("auth:session:")),
        "{rows:?}"
    );
    for (key, value) in &rows {
        let value = String::from_utf8_lossy(value);
        for secret in [jwt.as_str(), opaque, rejected, JWT_SECRET] {
            assert!(
                !key.contains(secret) && !value.contains(secret),
                "{key} holds a secret"
            );
        }
    }
}

/// 40 concurrent tokens whose `kid` is unknown, on several instances' worth
/// of requests: one early refetch is claimed per `jwks_refetch_secs` period,
/// so the JWKS is downloaded once more, not 40 times.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_unknown_key_ids_cause_one_refetch() {
    let env = local_env().await;
    let known = EcKey::generate("known");
    env.supabase_keys.publish(tokens::jwks(&[&known]));
    let iss = issuer(&env);
    let first = known.sign(&tokens::claims(&iss, "a", 600));
    assert_eq!(status_and_source(&env, &first).await.0, 200);
    assert_eq!(jwks_calls(&env.supabase), 1);
    let forged: Vec<String> = (0..40)
        .map(|n| EcKey::generate(&format!("made-up-{n}")).sign(&tokens::claims(&iss, "x", 600)))
        .collect();
    let statuses =
        futures_util::future::join_all(forged.iter().map(|token| status_and_source(&env, token)))
            .await;
    assert!(
        statuses.iter().all(|(status, _)| *status == 401),
        "{statuses:?}"
    );
    assert_eq!(jwks_calls(&env.supabase), 2, "one refetch for all of them");
}
