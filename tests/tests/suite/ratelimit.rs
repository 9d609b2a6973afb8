//! The rate limiter under real concurrency: many parallel requests, and two
//! hosts sharing one Redis, never admit more than the limit.

use futures_util::future::join_all;
use serde_json::json;
use wws_tests::gateway::{
    ALICE, Env, Gateway, Store, header, redis_url, unique_token, variables_for,
    wait_for_window_with,
};

const CHAT_LIMIT: usize = 60;

/// Sends `requests` chat requests at once, spread over `clients`; returns
/// how many were admitted and how many limited.
pub(crate) async fn burst(
    clients: &[(reqwest::Client, String)],
    token: &str,
    requests: usize,
) -> (usize, usize) {
    let body = json!({ "messages": [{ "role": "user", "content": "hi" }] });
    let calls = (0..requests).map(|n| {
        let (client, base) = &clients[n % clients.len()];
        client
            .post(format!("{base}/api/ai/chat"))
            .bearer_auth(token)
            .json(&body)
            .send()
    });
    let statuses: Vec<u16> = join_all(calls)
        .await
        .into_iter()
        .map(|response| response.expect("gateway answers").status().as_u16())
        .collect();
    let admitted = statuses.iter().filter(|status| **status == 200).count();
    let limited = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!(
        admitted + limited,
        requests,
        "unexpected statuses: {statuses:?}"
    );
    (admitted, limited)
}

async fn exactly_the_limit_under_concurrency(store: Store) {
    let env = Env::start_with(&[], store).await;
    let clients = vec![(reqwest::Client::new(), env.gateway.url.clone())];
    for round in 0..3 {
        wait_for_window_with(20).await;
        let token = unique_token("burst");
        let (admitted, limited) = burst(&clients, &token, 100).await;
        assert_eq!((admitted, limited), (CHAT_LIMIT, 40), "round {round}");
    }
    let (admitted, _) = burst(&clients, &unique_token("other"), 10).await;
    assert_eq!(admitted, 10, "another principal is unaffected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_requests_admit_exactly_the_limit_on_sqlite() {
    exactly_the_limit_under_concurrency(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_requests_admit_exactly_the_limit_on_redis() {
    exactly_the_limit_under_concurrency(Store::Redis(redis_url())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hosts_sharing_redis_enforce_one_global_limit() {
    let env = Env::start_with(&[], Store::Redis(redis_url())).await;
    let variables = variables_for(&env.primary, &env.fallback, &env.supabase, &env.origin);
    let second = Gateway::start(variables, Store::Redis(redis_url()))
        .await
        .expect("second host starts");
    let clients = vec![
        (reqwest::Client::new(), env.gateway.url.clone()),
        (reqwest::Client::new(), second.url.clone()),
    ];
    wait_for_window_with(20).await;
    let (admitted, limited) = burst(&clients, &unique_token("shared"), 100).await;
    assert_eq!((admitted, limited), (CHAT_LIMIT, 40));
}

fn chat() -> serde_json::Value {
    json!({ "messages": [{ "role": "user", "content": "hi" }] })
}

#[tokio::test]
async fn headers_are_right_at_the_boundary() {
    let env = Env::start_with(&[("rate_limits", r#"{"/api/ai/chat": 3}"#)], Store::Sqlite).await;
    wait_for_window_with(10).await;
    let token = unique_token("boundary");
    for remaining in ["2", "1", "0"] {
        let response = env.send_json("/api/ai/chat", Some(&token), &chat()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "x-ratelimit-limit"), "3");
        assert_eq!(header(&response, "x-ratelimit-remaining"), remaining);
        assert_eq!(
            header(&response, "ratelimit-policy"),
            "\"api-ai-chat\";q=3;w=60"
        );
        let reset: u32 = header(&response, "x-ratelimit-reset").parse().unwrap();
        assert!((1..=60).contains(&reset));
        assert_eq!(
            header(&response, "ratelimit"),
            format!("\"api-ai-chat\";r={remaining};t={reset}")
        );
    }
    let limited = env.send_json("/api/ai/chat", Some(&token), &chat()).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(header(&limited, "x-ratelimit-remaining"), "0");
    let retry_after: u32 = header(&limited, "retry-after").parse().unwrap();
    // The full window must end, then a third of it fade (limit 3).
    assert!((21..=81).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_exceeded");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("/api/ai/chat") && message.contains('3'),
        "{message}"
    );
    assert_eq!(
        env.primary.count(),
        3,
        "rejected requests never reach a provider"
    );
}

#[tokio::test]
async fn the_limit_comes_back_after_the_window() {
    let limits = r#"{"/api/ai/chat": {"requests": 5, "window_secs": 2}}"#;
    let env = Env::start_with(&[("rate_limits", limits)], Store::Sqlite).await;
    let clients = vec![(reqwest::Client::new(), env.gateway.url.clone())];
    let token = unique_token("reset");
    let window_start = next_boundary(2_000).await;
    assert_eq!(burst(&clients, &token, 10).await, (5, 5));
    assert_eq!(burst(&clients, &token, 3).await, (0, 3), "still limited");
    // Two windows on, nothing of the burst is carried over any more.
    tokio::time::sleep_until(window_start + std::time::Duration::from_millis(4_000)).await;
    assert_eq!(burst(&clients, &token, 10).await, (5, 5));
}

/// Sleeps until just after the next multiple of `millis` in Unix time.
async fn next_boundary(millis: u64) -> tokio::time::Instant {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64;
    let wait = millis - now % millis + 20;
    let start = tokio::time::Instant::now() + std::time::Duration::from_millis(wait);
    tokio::time::sleep_until(start).await;
    start
}

#[tokio::test]
async fn roles_get_their_own_limits() {
    use sha2::Digest;
    let key = "wws-test-service-key";
    let digest = hex::encode(sha2::Sha256::digest(key.as_bytes()));
    let api_keys = json!([{ "sha256": digest, "principal": "n8n", "role": "service" }]).to_string();
    let limits = r#"{"/api/ai/chat": 2, "roles": {"service": {"/api/ai/chat": 5}}}"#;
    let env = Env::start_with(
        &[("rate_limits", limits), ("api_keys", &api_keys)],
        Store::Memory,
    )
    .await;
    wait_for_window_with(10).await;
    let clients = vec![(reqwest::Client::new(), env.gateway.url.clone())];
    assert_eq!(burst(&clients, &unique_token("user"), 6).await, (2, 4));
    assert_eq!(burst(&clients, key, 6).await, (5, 1));
}

#[tokio::test]
async fn anonymous_traffic_is_limited_per_client_address() {
    let env = Env::start_with(&[("rate_limits", r#"{"default": 3}"#)], Store::Memory).await;
    wait_for_window_with(10).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let response = env.get("/api/wws/health", None).send().await.unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    let spoofed = env
        .get("/api/wws/health", None)
        .header("x-user-id", "someone-else")
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(spoofed.status(), 429, "client headers are not an identity");
}

#[tokio::test]
async fn store_failures_follow_the_configured_policy() {
    let open = Env::start_with(&[], Store::Memory).await;
    open.gateway.faults.fail(true);
    let response = open.send_json("/api/ai/chat", Some(ALICE), &chat()).await;
    assert_eq!(response.status(), 200, "fails open by default");
    open.gateway.faults.fail(false);

    let closed = Env::start_with(
        &[("rate_limits", r#"{"on_store_error": "closed"}"#)],
        Store::Memory,
    )
    .await;
    closed.gateway.faults.fail(true);
    let response = closed.send_json("/api/ai/chat", Some(ALICE), &chat()).await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limiter_unavailable");
    assert_eq!(closed.primary.count(), 0);

    closed.gateway.faults.fail(false);
    let response = closed.send_json("/api/ai/chat", Some(ALICE), &chat()).await;
    assert_eq!(response.status(), 200, "recovers with the store");
}

/// A store that answers reads but fails every increment (a platform without
/// `wasi:keyvalue/atomics`) can never count a request: the limiter refuses,
/// even with the default fail-open policy, and the health check says why.
#[tokio::test]
async fn a_store_without_atomics_is_refused_not_silently_unlimited() {
    let env = Env::start_with(&[], Store::Memory).await;
    env.gateway.faults.fail_atomics(true);
    let response = env.send_json("/api/ai/chat", Some(ALICE), &chat()).await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limiter_unavailable");
    assert_eq!(
        env.primary.count(),
        0,
        "nothing reached a provider uncounted"
    );

    let health: serde_json::Value = env
        .get("/api/wws/health", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["kv"]["reachable"], true, "{health}");
    assert_eq!(health["kv"]["atomics"], false, "{health}");
    assert_eq!(health["status"], "degraded", "{health}");

    env.gateway.faults.fail_atomics(false);
    let response = env.send_json("/api/ai/chat", Some(ALICE), &chat()).await;
    assert_eq!(response.status(), 200);
}
