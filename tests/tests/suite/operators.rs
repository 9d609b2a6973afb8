//! What operators rely on: the stats endpoint's per-provider counts, the
//! health check's store report, and `X-Request-Id` carried end to end.

use serde_json::{Value, json};
use wws_tests::gateway::{ALICE, Env, Store, header};
use wws_tests::operator::{api_keys, provider_stats};
use wws_tests::provider::Step;

fn chat() -> Value {
    json!({ "messages": [{ "role": "user", "content": "hi" }] })
}

#[tokio::test]
async fn stats_count_requests_errors_and_fallbacks_per_provider() {
    let env = Env::start_with(&[("api_keys", &api_keys())], Store::Sqlite).await;
    let refused = env.get("/api/wws/stats", Some(ALICE)).send().await.unwrap();
    assert_eq!(refused.status(), 403);

    env.primary_script
        .push(Step::Status(500, json!({ "error": "boom" })));
    let failed_over = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat())
        .await;
    assert_eq!(failed_over.status(), 200);
    assert_eq!(header(&failed_over, "x-wws-provider"), "fallback");
    let direct = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat())
        .await;
    assert_eq!(header(&direct, "x-wws-provider"), "primary");

    // Counters are written once a request's answer has gone out, so they
    // may trail the response the client already holds by a moment.
    let expected = json!({
        "primary": { "requests": 2, "errors": 1, "fallbacks": 0 },
        "fallback": { "requests": 1, "errors": 0, "fallbacks": 1 },
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let mut providers = provider_stats(&env).await;
    while providers != expected && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        providers = provider_stats(&env).await;
    }
    assert_eq!(providers, expected);
}

#[tokio::test]
async fn health_reports_the_store_and_never_a_key() {
    let env = Env::start_with(&[], Store::Sqlite).await;
    let response = env.get("/api/wws/health", None).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let health: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["kv"], json!({ "reachable": true, "atomics": true }));
    assert_eq!(
        health["providers"],
        json!({ "primary": true, "fallback": true })
    );
    assert!(!text.contains("sk-"), "{text}");

    env.gateway.faults.fail(true);
    let degraded: Value = env
        .get("/api/wws/health", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(degraded["status"], "degraded", "{degraded}");
    assert_eq!(degraded["kv"]["reachable"], false, "{degraded}");
}

/// A caller's id reaches the provider and the origin and comes back; an id
/// that could carry text into logs or headers is replaced.
#[tokio::test]
async fn request_ids_are_kept_passed_upstream_and_echoed() {
    let env = Env::start().await;
    let answered = env
        .post("/v1/chat/completions", Some(ALICE))
        .header("x-request-id", "client-42")
        .json(&chat())
        .send()
        .await
        .unwrap();
    assert_eq!(header(&answered, "x-request-id"), "client-42");
    let upstream = env.primary.requests();
    assert_eq!(upstream[0].header("x-request-id"), Some("client-42"));

    let proxied = env
        .get("/api/projects", Some(ALICE))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    let generated = header(&proxied, "x-request-id").to_string();
    assert_eq!(generated.len(), 32, "{generated}");
    assert!(generated.bytes().all(|byte| byte.is_ascii_hexdigit()));
    let at_origin = env.origin.requests();
    let seen: Vec<_> = at_origin
        .iter()
        .filter_map(|request| request.header("x-request-id"))
        .collect();
    assert_eq!(seen, vec![generated.as_str()]);
}
