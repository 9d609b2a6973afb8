//! The AI path: streaming pass-through, routing and the response cache.

use std::time::Duration;

use serde_json::{Value, json};
use wws_tests::gateway::{ALICE, BOB, Env, Store};

fn deterministic() -> Value {
    json!({ "messages": [{ "role": "user", "content": "2+2?" }], "temperature": 0 })
}

#[tokio::test]
async fn streamed_completions_arrive_as_server_sent_events() {
    let env = Env::start().await;
    let response = env
        .post("/v1/chat/completions", Some(ALICE))
        .json(&json!({ "messages": [{ "role": "user", "content": "hi" }], "stream": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["x-wws-cache"], "BYPASS");
    let body = response.text().await.unwrap();
    let events: Vec<&str> = body
        .split("\n\n")
        .filter(|event| !event.is_empty())
        .collect();
    assert!(events.len() > 2, "{body}");
    assert!(
        events.iter().all(|event| event.starts_with("data: ")),
        "{body}"
    );
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    assert_eq!(
        env.primary.requests()[0].header("accept"),
        Some("text/event-stream")
    );
}

#[tokio::test]
async fn explicit_models_outside_the_catalogue_are_rejected() {
    let env = Env::start().await;
    let response = env
        .post("/v1/chat/completions", Some(ALICE))
        .json(&json!({ "model": "gpt-4", "messages": [{ "role": "user", "content": "hi" }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "model_not_found");

    let models: Value = env
        .get("/v1/models", Some(ALICE))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"glm-4-long") && ids.contains(&"hf:moonshotai/Kimi-K2-Thinking"),
        "{ids:?}"
    );
    assert_eq!(env.primary.count(), 0);
}

#[tokio::test]
async fn malformed_bodies_get_400_and_reach_no_provider() {
    let env = Env::start().await;
    for body in ["{", "[]", r#"{"messages": "hi"}"#] {
        let response = env
            .post("/v1/chat/completions", Some(ALICE))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["type"], "invalid_request_error");
    }
    assert_eq!(env.primary.count(), 0);
}

#[tokio::test]
async fn deterministic_answers_are_cached_per_principal() {
    let env = Env::start().await;
    let first = env
        .send_json("/v1/chat/completions", Some(ALICE), &deterministic())
        .await;
    assert_eq!(first.headers()["x-wws-cache"], "MISS");
    let first_body = first.text().await.unwrap();

    // Same request with other key order and spacing: same entry.
    let reordered = r#"{ "temperature": 0, "messages": [{ "content": "2+2?", "role": "user" }] }"#;
    let hit = env
        .post("/v1/chat/completions", Some(ALICE))
        .header("content-type", "application/json")
        .body(reordered)
        .send()
        .await
        .unwrap();
    assert_eq!(hit.status(), 200);
    assert_eq!(hit.headers()["x-wws-cache"], "HIT");
    assert!(hit.headers().contains_key("age"));
    assert_eq!(hit.text().await.unwrap(), first_body);
    assert_eq!(env.primary.count(), 1);

    let other_user = env
        .send_json("/v1/chat/completions", Some(BOB), &deterministic())
        .await;
    assert_eq!(
        other_user.headers()["x-wws-cache"],
        "MISS",
        "user B must not get user A's entry"
    );

    let no_store = env
        .post("/v1/chat/completions", Some(ALICE))
        .header("cache-control", "no-store")
        .json(&deterministic())
        .send()
        .await
        .unwrap();
    assert_eq!(no_store.headers()["x-wws-cache"], "BYPASS");
    assert_eq!(env.primary.count(), 3);
}

#[tokio::test]
async fn stale_entries_are_served_and_revalidated_in_the_background() {
    let env = Env::start_with(&[("cache_fresh_secs", "0")], Store::Memory).await;
    let miss = env
        .send_json("/v1/chat/completions", Some(ALICE), &deterministic())
        .await;
    assert_eq!(miss.headers()["x-wws-cache"], "MISS");
    let stale = env
        .send_json("/v1/chat/completions", Some(ALICE), &deterministic())
        .await;
    assert_eq!(stale.headers()["x-wws-cache"], "STALE");
    assert_eq!(stale.status(), 200);
    // The revalidation runs after the stale answer was sent.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while env.primary.count() < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(env.primary.count(), 2);
}
