//! Anthropic's Messages API at `/v1/messages`: the same pipeline as chat
//! completions (auth by `x-api-key` or Bearer, routing, failover, cache,
//! token budgets), sent to each provider's Anthropic-compatible endpoint and
//! answered in Anthropic's shapes. The official SDK runs in sdk.rs.

use serde_json::{Value, json};
use wws_tests::gateway::{ALICE, Env, Store, header, unique_token, wait_for_window_with};
use wws_tests::provider::{SYNTHETIC_KEY, Step, ZAI_KEY};

fn message(stream: bool) -> Value {
    json!({
        "model": "glm-4-plus",
        "max_tokens": 64,
        "system": "Be brief.",
        "messages": [{ "role": "user", "content": "hi" }],
        "stream": stream,
    })
}

/// A request as Anthropic's SDKs send it: the key in `x-api-key`.
async fn send(env: &Env, key: &str, body: &Value) -> reqwest::Response {
    env.client
        .post(env.gateway.at("/v1/messages"))
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "prompt-caching-2024-07-31")
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The named events of an SSE body, in order.
fn event_names(body: &str) -> Vec<&str> {
    body.split("\n\n")
        .filter_map(|event| event.lines().find_map(|line| line.strip_prefix("event: ")))
        .collect()
}

#[tokio::test]
async fn a_plain_message_goes_to_the_providers_messages_endpoint_with_its_headers() {
    let env = Env::start().await;
    let response = send(&env, ALICE, &message(false)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-wws-provider"), "fallback");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "message");
    assert_eq!(body["content"][0]["type"], "text");
    assert_eq!(body["usage"]["input_tokens"], 10);

    let sent = &env.fallback.requests()[0];
    assert_eq!(sent.path_and_query, "/api/anthropic/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(ZAI_KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        sent.header("anthropic-beta"),
        Some("prompt-caching-2024-07-31")
    );
    let upstream = sent.json();
    assert_eq!(upstream["system"], "Be brief.");
    assert!(upstream.get("stream_options").is_none(), "{upstream}");
}

#[tokio::test]
async fn a_streamed_message_arrives_as_anthropics_named_events() {
    let env = Env::start().await;
    let response = send(&env, ALICE, &message(true)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "text/event-stream");
    let body = response.text().await.unwrap();
    let names = event_names(&body);
    assert_eq!(names.first(), Some(&"message_start"), "{body}");
    assert_eq!(names.last(), Some(&"message_stop"), "{body}");
    assert!(names.contains(&"content_block_delta") && names.contains(&"message_delta"));
    assert!(!body.contains("[DONE]"), "no OpenAI marker: {body}");
}

#[tokio::test]
async fn a_claude_model_name_is_routed_by_task_and_unknown_models_are_refused() {
    let env = Env::start().await;
    let mut body = message(false);
    body["model"] = json!("claude-sonnet-4-5");
    let response = send(&env, ALICE, &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-wws-provider"), "primary");
    let sent = env.primary.requests()[0].json();
    assert_eq!(sent["model"], "hf:moonshotai/Kimi-K2-Thinking");
    assert_eq!(
        env.primary.requests()[0].header("x-api-key"),
        Some(SYNTHETIC_KEY)
    );

    body["model"] = json!("gpt-unknown");
    let refused = send(&env, ALICE, &body).await;
    assert_eq!(refused.status(), 400);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["error"]["type"], "model_not_found");
}

#[tokio::test]
async fn the_x_api_key_is_the_credential_and_a_wrong_one_is_refused() {
    let env = Env::start().await;
    let refused = send(&env, "not-a-token", &message(false)).await;
    assert_eq!(refused.status(), 401);
    let missing = env
        .client
        .post(env.gateway.at("/v1/messages"))
        .json(&message(false))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    let bearer = env
        .send_json("/v1/messages", Some(ALICE), &message(false))
        .await;
    assert_eq!(bearer.status(), 200, "Authorization: Bearer works as well");
    assert_eq!(env.fallback.count(), 1);
}

#[tokio::test]
async fn a_failing_primary_fails_over_to_the_fallbacks_messages_endpoint() {
    let env = Env::start().await;
    env.primary_script.push(Step::Status(
        529,
        json!({ "type": "error", "error": { "type": "overloaded_error", "message": "busy" } }),
    ));
    let mut body = message(false);
    body.as_object_mut().unwrap().remove("model");
    let response = send(&env, ALICE, &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-wws-provider"), "fallback");
    assert_eq!(header(&response, "x-wws-attempts"), "2");
    assert_eq!(
        env.fallback.requests()[0].path_and_query,
        "/api/anthropic/v1/messages"
    );
}

#[tokio::test]
async fn a_stream_that_breaks_midway_and_cannot_be_continued_ends_with_anthropics_error_event() {
    let env = Env::start().await;
    env.primary_script.push(Step::BreakStreamAfter(2));
    env.fallback_script.push(Step::Status(
        529,
        json!({ "type": "error", "error": { "type": "overloaded_error", "message": "busy" } }),
    ));
    let mut body = message(true);
    body.as_object_mut().unwrap().remove("model");
    let response = send(&env, ALICE, &body).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let names = event_names(&text);
    assert_eq!(names.last(), Some(&"error"), "{text}");
    let data = text
        .split("\n\n")
        .filter(|event| event.starts_with("event: error"))
        .find_map(|event| event.lines().find_map(|line| line.strip_prefix("data: ")))
        .unwrap();
    let error: Value = serde_json::from_str(data).unwrap();
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "api_error");
}

#[tokio::test]
async fn deterministic_messages_are_cached_per_shape() {
    let env = Env::start().await;
    let mut body = message(false);
    body["temperature"] = json!(0);
    let first = send(&env, ALICE, &body).await;
    assert_eq!(header(&first, "x-wws-cache"), "MISS");
    let first: Value = first.json().await.unwrap();
    let second = send(&env, ALICE, &body).await;
    assert_eq!(header(&second, "x-wws-cache"), "HIT");
    assert_eq!(second.json::<Value>().await.unwrap(), first);

    body["stream"] = json!(true);
    let streamed = send(&env, ALICE, &body).await;
    assert_eq!(header(&streamed, "x-wws-cache"), "MISS", "another shape");
    let recorded = streamed.text().await.unwrap();
    let replayed = send(&env, ALICE, &body).await;
    assert_eq!(header(&replayed, "x-wws-cache"), "HIT");
    assert_eq!(header(&replayed, "content-type"), "text/event-stream");
    assert_eq!(replayed.text().await.unwrap(), recorded);
    assert_eq!(env.fallback.count(), 2);
}

/// Streamed and plain answers are charged their `input_tokens` plus
/// `output_tokens`: two answers of 500 fill a 1000-token budget.
#[tokio::test]
async fn messages_are_charged_their_reported_input_and_output_tokens() {
    for stream in [false, true] {
        let env = Env::start_with(
            &[
                ("rate_limits", r#"{"tokens": {"per_minute": 1000}}"#),
                ("default_max_tokens", "100"),
            ],
            Store::Sqlite,
        )
        .await;
        env.fallback_script.report_usage(500);
        wait_for_window_with(10).await;
        let token = unique_token("messages");
        for _ in 0..2 {
            let response = send(&env, &token, &message(stream)).await;
            assert_eq!(response.status(), 200, "stream: {stream}");
            response.text().await.unwrap();
        }
        let refused = send(&env, &token, &message(stream)).await;
        assert_eq!(refused.status(), 429, "stream: {stream}");
        assert_eq!(header(&refused, "x-ratelimit-remaining-tokens"), "0");
        assert_eq!(env.fallback.count(), 2);
    }
}

#[tokio::test]
async fn token_counting_is_answered_by_the_gateway() {
    let env = Env::start().await;
    let response = env
        .client
        .post(env.gateway.at("/v1/messages/count_tokens"))
        .header("x-api-key", ALICE)
        .json(
            &json!({ "model": "claude-sonnet-4-5", "system": "s".repeat(300),
                       "messages": [{ "role": "user", "content": "hi" }] }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let tokens = body["input_tokens"].as_u64().unwrap();
    assert!((100..200).contains(&tokens), "{body}");
    assert_eq!(
        env.primary.count() + env.fallback.count(),
        0,
        "no provider call"
    );
    let refused = env
        .client
        .post(env.gateway.at("/v1/messages/count_tokens"))
        .json(&json!({ "messages": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401, "authenticated like every AI route");
}
