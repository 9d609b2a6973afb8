//! The edge build (`target/wws-akamai.wasm`, `spin-akamai.toml`) on wws-host
//! standing in for Akamai Functions: only the platform's interfaces linked,
//! its quotas enforced, the counters in the suite's real Redis through
//! Spin's outbound Redis. The suite's core again, each case ending with no
//! quota exceeded.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use wws_tests::gateway::{
    ALICE, BOB, Env, Gateway, Platform, Store, edge_manifest, header, manifest, redis_url,
    unique_token, variables_for, wait_for_window_with,
};
use wws_tests::provider::Step;

use crate::ratelimit::burst;

fn chat(stream: bool) -> Value {
    json!({ "messages": [{ "role": "user", "content": "hi" }], "stream": stream })
}

fn assert_within_quotas(gateway: &Gateway) {
    assert_eq!(
        gateway.quota_breaches(),
        0,
        "quotas exceeded: {:?}",
        gateway.quota_breaches_by_quota()
    );
}

#[tokio::test]
async fn the_self_hosted_build_does_not_instantiate_there_and_the_edge_build_does() {
    let mut variables = HashMap::new();
    variables.insert("redis_address".to_string(), redis_url());
    let refused = Gateway::start_on(
        Platform::Akamai,
        manifest(),
        variables.clone(),
        Store::Memory,
    )
    .await
    .err()
    .expect("target/wws.wasm imports atomics, which Akamai Functions lacks");
    assert!(
        format!("{refused:#}").contains("wasi:keyvalue/atomics"),
        "{refused:#}"
    );

    let env = Env::start_edge(&[]).await;
    let health: Value = env
        .get("/api/wws/health", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["counters"], "redis", "{health}");
    assert_eq!(
        health["kv"]["atomics"], true,
        "the counters answer: {health}"
    );
    assert_within_quotas(&env.gateway);
}

#[tokio::test]
async fn auth_streaming_and_failover_work_on_the_edge() {
    let env = Env::start_edge(&[("breaker_failures", "1000")]).await;
    let missing = env
        .send_json("/v1/chat/completions", None, &chat(false))
        .await;
    assert_eq!(missing.status(), 401);
    let plain = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat(false))
        .await;
    assert_eq!(plain.status(), 200);
    assert_eq!(header(&plain, "x-wws-provider"), "primary");
    let again = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat(false))
        .await;
    assert_eq!(
        header(&again, "x-wws-auth-source"),
        "cache",
        "the session is kept in KV"
    );

    let streamed = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat(true))
        .await;
    assert_eq!(streamed.status(), 200);
    assert!(streamed.text().await.unwrap().ends_with("data: [DONE]\n\n"));

    env.primary_script
        .push(Step::Status(500, json!({ "error": { "message": "down" } })));
    let failed_over = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat(false))
        .await;
    assert_eq!(failed_over.status(), 200);
    assert_eq!(header(&failed_over, "x-wws-provider"), "fallback");
    assert_eq!(header(&failed_over, "x-wws-attempts"), "2");

    let origin: Value = env
        .get("/dashboard/page", Some(ALICE))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(origin["origin"], true, "{origin}");
    assert_within_quotas(&env.gateway);
}

/// The limiter's one script per decision keeps two edge hosts on one Redis
/// exact: 100 parallel requests admit the limit, not one more.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_edge_hosts_on_one_redis_admit_exactly_the_limit() {
    let shared = format!("{}:", unique_token("edge-shared"));
    let env = Env::start_edge(&[("redis_key_prefix", &shared)]).await;
    let mut variables = variables_for(&env.primary, &env.fallback, &env.supabase, &env.origin);
    variables.insert("redis_address".into(), redis_url());
    variables.insert("redis_key_prefix".into(), shared.clone());
    let second = Gateway::start_on(Platform::Akamai, edge_manifest(), variables, Store::Memory)
        .await
        .expect("second edge host starts");
    wait_for_window_with(20).await;
    let token = unique_token("edge-burst");
    let clients = [
        (reqwest::Client::new(), env.gateway.url.clone()),
        (reqwest::Client::new(), second.url.clone()),
    ];
    // One request per host first, so each keeps the session: 100 new
    // sessions in one second would be 100 KV writes, twice the quota.
    for client in &clients {
        assert_eq!(burst(std::slice::from_ref(client), &token, 1).await, (1, 0));
    }
    let (admitted, limited) = burst(&clients, &token, 100).await;
    assert_eq!((admitted, limited), (58, 42));
    assert_within_quotas(&env.gateway);
    assert_within_quotas(&second);
}

#[tokio::test]
async fn cached_answers_stay_with_their_principal_on_the_edge() {
    let env = Env::start_edge(&[]).await;
    let deterministic =
        json!({ "messages": [{ "role": "user", "content": "2+2?" }], "temperature": 0 });
    let ask = |token: &'static str| {
        let request = env.send_json("/v1/chat/completions", Some(token), &deterministic);
        async move { header(&request.await, "x-wws-cache").to_string() }
    };
    assert_eq!(ask(ALICE).await, "MISS");
    assert_eq!(ask(ALICE).await, "HIT");
    assert_eq!(ask(BOB).await, "MISS", "B never gets A's entry");
    assert_eq!(env.primary.count(), 2);
    assert_within_quotas(&env.gateway);
}

#[tokio::test]
async fn token_budgets_are_reserved_and_settled_in_redis() {
    let limits = r#"{"tokens": {"per_minute": 50}}"#;
    let env = Env::start_edge(&[("rate_limits", limits), ("default_max_tokens", "20")]).await;
    wait_for_window_with(10).await;
    let token = unique_token("edge-tokens");
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = env
            .send_json("/v1/chat/completions", Some(&token), &chat(false))
            .await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses[0], 200, "{statuses:?}");
    assert_eq!(
        statuses.last(),
        Some(&429),
        "the budget runs out: {statuses:?}"
    );
    assert_within_quotas(&env.gateway);
}

/// Near the platform's 30 s a stream is ended by the gateway, in band,
/// not cut by the platform.
#[tokio::test]
async fn a_stream_still_open_at_the_deadline_ends_with_the_error_event() {
    let env = Env::start_edge(&[("request_deadline_ms", "1200")]).await;
    env.primary_script
        .push(Step::Drip(Duration::from_millis(700)));
    let started = std::time::Instant::now();
    let response = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat(true))
        .await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(body.contains("\"deadline_exceeded\""), "{body}");
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    assert_eq!(
        env.fallback.count(),
        0,
        "no continuation after the deadline"
    );
    assert_within_quotas(&env.gateway);
}
