//! The AI path: streaming pass-through, the catalogue and request validation.

use serde_json::{Value, json};
use wws_tests::gateway::{ALICE, Env};

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
