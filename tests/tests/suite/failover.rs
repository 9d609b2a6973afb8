//! Provider failover on each real failure mode, with scripted mocks.

use std::time::Duration;

use serde_json::{Value, json};
use wws_tests::gateway::{ALICE, Env, Store, header};
use wws_tests::provider::{Step, zai_error};

fn chat(stream: bool) -> Value {
    json!({ "messages": [{ "role": "user", "content": "hi" }], "stream": stream })
}

/// Many failures in one test must not open the primary's circuit.
const NO_BREAKER: (&str, &str) = ("breaker_failures", "1000");

async fn answered_by(env: &Env, stream: bool) -> (String, String, String) {
    let response = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat(stream))
        .await;
    assert_eq!(response.status(), 200);
    let provider = header(&response, "x-wws-provider").to_string();
    let attempts = header(&response, "x-wws-attempts").to_string();
    (provider, attempts, response.text().await.unwrap())
}

#[tokio::test]
async fn a_refused_connection_fails_over() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let env = Env::start_with(&[("primary_url", &dead)], Store::Memory).await;
    let (provider, attempts, _) = answered_by(&env, false).await;
    assert_eq!((provider.as_str(), attempts.as_str()), ("fallback", "2"));
}

#[tokio::test]
async fn a_first_byte_timeout_fails_over() {
    let env = Env::start_with(&[("first_byte_timeout_ms", "300")], Store::Memory).await;
    env.primary_script.push(Step::Delay(Duration::from_secs(3)));
    let started = std::time::Instant::now();
    let (provider, _, _) = answered_by(&env, false).await;
    assert_eq!(provider, "fallback");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "did not wait for the slow primary"
    );
}

#[tokio::test]
async fn server_errors_and_zai_429_codes_fail_over_without_retrying() {
    let env = Env::start_with(&[NO_BREAKER], Store::Memory).await;
    let retry_soon = vec![("retry-after", "1".to_string())];
    let failures = [
        Step::Status(500, json!({ "error": { "message": "boom" } })),
        Step::Status(503, json!({ "error": { "message": "down" } })),
        Step::StatusWith(429, retry_soon.clone(), zai_error("1302")),
        Step::StatusWith(429, retry_soon.clone(), zai_error("1305")),
        Step::StatusWith(429, retry_soon, zai_error("1113")),
    ];
    for (n, failure) in failures.into_iter().enumerate() {
        env.primary_script.push(failure.clone());
        let (provider, attempts, _) = answered_by(&env, false).await;
        assert_eq!(
            (provider.as_str(), attempts.as_str()),
            ("fallback", "2"),
            "{failure:?}"
        );
        assert_eq!(
            env.primary.count(),
            n + 1,
            "no retry of the same target: {failure:?}"
        );
    }
}

#[tokio::test]
async fn balance_exhausted_opens_the_circuit_at_once() {
    let env = Env::start().await;
    env.primary_script
        .push(Step::Status(429, zai_error("1113")));
    assert_eq!(answered_by(&env, false).await.0, "fallback");
    let (provider, attempts, _) = answered_by(&env, false).await;
    assert_eq!((provider.as_str(), attempts.as_str()), ("fallback", "1"));
    assert_eq!(env.primary.count(), 1, "the primary is skipped while open");
}

#[tokio::test]
async fn a_short_retry_after_is_waited_out_on_the_same_target() {
    let env = Env::start().await;
    let retry = vec![("retry-after", "1".to_string())];
    env.primary_script
        .push(Step::StatusWith(429, retry, json!({ "error": {} })));
    let started = std::time::Instant::now();
    let (provider, attempts, _) = answered_by(&env, false).await;
    assert_eq!((provider.as_str(), attempts.as_str()), ("primary", "2"));
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(env.fallback.count(), 0);
}

#[tokio::test]
async fn a_context_length_error_re_routes_to_the_long_context_model() {
    let env = Env::start().await;
    env.primary_script.push(Step::Status(
        400,
        json!({ "error": { "code": "context_length_exceeded", "message": "maximum context length is 128000 tokens" } }),
    ));
    let response = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat(false))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-wws-model"), "glm-4-long");
    assert_eq!(env.fallback.requests()[0].json()["model"], "glm-4-long");
}

#[tokio::test]
async fn other_client_errors_go_back_unchanged() {
    let env = Env::start().await;
    let refusal = json!({ "error": { "message": "temperature must be <= 2", "type": "invalid_request_error" } });
    env.primary_script.push(Step::Status(400, refusal.clone()));
    let response = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat(false))
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(header(&response, "x-wws-provider"), "primary");
    assert_eq!(response.json::<Value>().await.unwrap(), refusal);
    assert_eq!(env.fallback.count(), 0);
}

#[tokio::test]
async fn a_stream_that_fails_before_its_first_byte_falls_back() {
    let env = Env::start().await;
    env.primary_script.push(Step::BreakStreamAfter(0));
    let (provider, _, body) = answered_by(&env, true).await;
    assert_eq!(provider, "fallback");
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    assert!(!body.contains("event: error"), "{body}");
}

/// When no target can continue a stream that broke midway (see
/// stream_failover.rs for one that can), it ends with the in-band error.
#[tokio::test]
async fn a_stream_that_fails_midway_and_cannot_be_continued_ends_with_an_error_event() {
    let env = Env::start().await;
    env.primary_script.push(Step::BreakStreamAfter(2));
    env.fallback_script
        .push(Step::Status(500, json!({ "error": { "message": "down" } })));
    let (provider, _, body) = answered_by(&env, true).await;
    assert_eq!(provider, "primary");
    let events: Vec<&str> = body.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.len(), 3, "{body}");
    assert!(events[0].starts_with("data: ") && events[1].starts_with("data: "));
    assert!(events[2].starts_with("event: error"), "{body}");
    assert_eq!(
        env.fallback.count(),
        1,
        "the fallback was asked to continue"
    );
}

#[tokio::test]
async fn the_circuit_opens_and_recovers_after_a_probe() {
    let env = Env::start_with(
        &[("breaker_failures", "2"), ("breaker_cooldown_secs", "1")],
        Store::Sqlite,
    )
    .await;
    for _ in 0..2 {
        env.primary_script
            .push(Step::Status(500, json!({ "error": {} })));
        assert_eq!(answered_by(&env, false).await.0, "fallback");
    }
    let (provider, attempts, _) = answered_by(&env, false).await;
    assert_eq!((provider.as_str(), attempts.as_str()), ("fallback", "1"));
    assert_eq!(env.primary.count(), 2, "open: the primary is skipped");

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        answered_by(&env, false).await.0,
        "primary",
        "the probe succeeds"
    );
    assert_eq!(answered_by(&env, false).await.0, "primary", "closed again");
}

#[tokio::test]
async fn with_every_circuit_open_the_answer_is_503_with_retry_after() {
    let env = Env::start_with(
        &[("breaker_failures", "1"), ("breaker_cooldown_secs", "30")],
        Store::Memory,
    )
    .await;
    env.primary_script.push(Step::Status(500, json!({})));
    env.fallback_script.push(Step::Status(500, json!({})));
    let failed = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat(false))
        .await;
    assert_eq!(failed.status(), 502);
    let refused = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat(false))
        .await;
    assert_eq!(refused.status(), 503);
    let retry_after: u64 = header(&refused, "retry-after").parse().unwrap();
    assert!((1..=30).contains(&retry_after));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["type"], "provider_unavailable");
    assert_eq!((env.primary.count(), env.fallback.count()), (1, 1));
}

#[tokio::test]
async fn a_provider_refusing_the_gateways_key_or_redirecting_fails_over_with_our_own_words() {
    let env = Env::start_with(&[NO_BREAKER], Store::Memory).await;
    let leak = json!({ "error": { "message": "invalid api key sk-named-in-body" } });
    for step in [
        Step::Status(401, leak.clone()),
        Step::Status(403, leak.clone()),
        Step::Status(307, json!({})),
    ] {
        env.primary_script.push(step);
        let (provider, attempts, _) = answered_by(&env, false).await;
        assert_eq!((provider.as_str(), attempts.as_str()), ("fallback", "2"));
    }
    // Both refuse: a 502 of the gateway's own, never the provider's text or a 401.
    env.primary_script.push(Step::Status(401, leak.clone()));
    env.fallback_script.push(Step::Status(307, json!({})));
    let response = env
        .send_json(
            "/v1/chat/completions",
            Some(ALICE),
            &json!({ "messages": [{ "role": "user", "content": "hi" }] }),
        )
        .await;
    assert_eq!(response.status(), 502);
    let body = response.text().await.unwrap();
    assert!(
        !body.contains("sk-named-in-body") && !body.contains("invalid api key"),
        "{body}"
    );
    assert!(body.contains("upstream_error"), "{body}");
}

/// One tenant's slow prompts time out on both providers again and again;
/// a timeout may be the prompt's doing, so it counts once per caller and
/// the next tenant still gets an answer instead of an open circuit.
#[tokio::test]
async fn one_callers_timeouts_do_not_open_the_circuit_for_everyone() {
    let env = Env::start_with(
        &[("first_byte_timeout_ms", "200"), ("breaker_failures", "3")],
        Store::Memory,
    )
    .await;
    for _ in 0..5 {
        env.primary_script
            .push(Step::Delay(Duration::from_millis(800)));
        env.fallback_script
            .push(Step::Delay(Duration::from_millis(800)));
        let response = env
            .send_json("/v1/chat/completions", Some(ALICE), &chat(false))
            .await;
        assert_eq!(response.status(), 504);
    }
    let response = env
        .send_json(
            "/v1/chat/completions",
            Some(wws_tests::gateway::BOB),
            &chat(false),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}
