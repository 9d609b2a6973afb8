//! Several keys per provider: each call leases the key with the fewest
//! requests in flight (counted in the shared store), a key the provider
//! limits or refuses is set aside and the next key tried, and only key
//! indexes ever show (in `/api/wws/stats`).

use std::time::Duration;

use serde_json::{Value, json};
use wws_tests::gateway::{ALICE, Env, Store};
use wws_tests::operator;
use wws_tests::provider::Step;

const KEY_A: &str = "sk-pool-a";
const KEY_B: &str = "sk-pool-b";
async fn pooled() -> Env {
    let pool = format!("{KEY_A}, {KEY_B}");
    let env = Env::start_with(
        &[
            ("synthetic_api_key", &pool),
            ("api_keys", &operator::api_keys()),
        ],
        Store::Sqlite,
    )
    .await;
    env.primary_script.accept_keys(&[KEY_A, KEY_B]);
    env
}

fn chat() -> Value {
    json!({ "messages": [{ "role": "user", "content": "hi" }] })
}

/// The key each request to the primary carried, in order.
fn keys_used(env: &Env) -> Vec<String> {
    env.primary
        .requests()
        .iter()
        .filter_map(|request| request.header("authorization"))
        .map(|value| value.trim_start_matches("Bearer ").to_string())
        .collect()
}

#[tokio::test]
async fn a_rate_limited_key_is_set_aside_and_the_next_key_answers() {
    let env = pooled().await;
    env.primary_script.push(Step::StatusWith(
        429,
        vec![("retry-after", "60".into())],
        json!({ "error": { "message": "one request per key" } }),
    ));
    let response = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat())
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["x-wws-provider"],
        "primary",
        "the pool answered; no failover to the fallback"
    );
    assert_eq!(env.fallback.count(), 0);
    let used = keys_used(&env);
    assert_eq!(used.len(), 2, "{used:?}");
    assert_ne!(used[0], used[1], "the second call used the other key");
    let limited = used[0].clone();

    for _ in 0..4 {
        let response = env
            .send_json("/v1/chat/completions", Some(ALICE), &chat())
            .await;
        assert_eq!(response.status(), 200);
    }
    let later = &keys_used(&env)[2..];
    assert!(
        later.iter().all(|key| *key != limited),
        "the limited key rests for its Retry-After: {later:?}"
    );

    let stats = operator::provider_stats(&env).await;
    let keys = &stats["primary"]["keys"];
    let calls: Vec<u64> = keys
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(calls.iter().sum::<u64>(), 6, "{stats}");
    let text = stats.to_string();
    assert!(!text.contains(KEY_A) && !text.contains(KEY_B), "{text}");
}

#[tokio::test]
async fn concurrent_calls_spread_over_the_pool_by_load() {
    let env = pooled().await;
    for _ in 0..16 {
        env.primary_script
            .push(Step::Delay(Duration::from_millis(300)));
    }
    let body = chat();
    let calls = (0..16).map(|_| env.send_json("/v1/chat/completions", Some(ALICE), &body));
    let statuses: Vec<u16> = futures_util::future::join_all(calls)
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect();
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    let used = keys_used(&env);
    let on_a = used.iter().filter(|key| *key == KEY_A).count();
    let on_b = used.len() - on_a;
    println!("key pool of 2, 16 concurrent calls: {on_a} on key #0, {on_b} on key #1");
    assert!(on_a >= 4 && on_b >= 4, "{on_a} / {on_b}");
}

#[tokio::test]
async fn every_key_refused_fails_over_to_the_next_provider() {
    let env = pooled().await;
    for _ in 0..2 {
        env.primary_script.push(Step::Status(
            401,
            json!({ "error": { "message": "revoked" } }),
        ));
    }
    let response = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat())
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-wws-provider"], "fallback");
    assert_eq!(keys_used(&env).len(), 2, "each key tried once");
}
