//! Issue 9: the shared Redis store lost mid-run — killed and started again
//! (empty) on the same port, or frozen. While it is gone the rate limiter
//! follows `on_store_error`, sessions are checked with Supabase again, the
//! cache is bypassed, and no request waits long; once it is back the same
//! gateway, not restarted, remembers sessions, caches and counts again.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wws_tests::gateway::{Env, Store, unique_token};
use wws_tests::redis_process::RedisProcess;

/// Hour-long windows: no window boundary falls inside a test.
const LIMITS: &str = r#"{"/api/ai/chat": {"requests": 5, "window_secs": 3600}}"#;
/// What a request may take while Redis is gone: one store timeout at most.
const BOUND: Duration = Duration::from_millis(2_500);

struct Reply {
    status: u16,
    auth: String,
    cache: String,
    remaining: String,
    error_type: String,
    took: Duration,
}

async fn send(env: &Env, path: &str, token: &str, body: &Value) -> Reply {
    let started = Instant::now();
    let response = env
        .post(path, Some(token))
        .json(body)
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("the gateway answers");
    let text = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (auth, cache, remaining) = (
        text("x-wws-auth-source"),
        text("x-wws-cache"),
        text("x-ratelimit-remaining"),
    );
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    Reply {
        status,
        auth,
        cache,
        remaining,
        error_type: body["error"]["type"].as_str().unwrap_or_default().into(),
        took: started.elapsed(),
    }
}

fn chat() -> Value {
    json!({ "messages": [{ "role": "user", "content": "hi" }] })
}

fn deterministic() -> Value {
    json!({ "messages": [{ "role": "user", "content": "2+2?" }], "temperature": 0 })
}

async fn start(redis: &RedisProcess, limits: &str) -> Env {
    Env::start_with(&[("rate_limits", limits)], Store::Redis(redis.url())).await
}

/// Asks until a session saved by an earlier request is read back from the
/// store: the store works again. Gives up after five seconds.
async fn wait_until_sessions_are_remembered(env: &Env, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let reply = send(env, "/api/ai/chat", token, &chat()).await;
        assert_eq!(reply.status, 200);
        if reply.auth == "cache" {
            return;
        }
        assert!(Instant::now() < deadline, "the store did not come back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sessions, cache entries and counters all work: asserted on a fresh
/// principal, so nothing from before the outage is counted.
async fn everything_works(env: &Env) {
    let token = unique_token("after");
    for remaining in ["4", "3", "2", "1", "0"] {
        let reply = send(env, "/api/ai/chat", &token, &chat()).await;
        assert_eq!((reply.status, reply.remaining.as_str()), (200, remaining));
    }
    let limited = send(env, "/api/ai/chat", &token, &chat()).await;
    assert_eq!(limited.status, 429, "the limiter counts again");
    assert_eq!(limited.auth, "cache", "the session was remembered");
    let first = send(env, "/v1/chat/completions", &token, &deterministic()).await;
    let second = send(env, "/v1/chat/completions", &token, &deterministic()).await;
    assert_eq!(
        (first.cache.as_str(), second.cache.as_str()),
        ("MISS", "HIT")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_redis_fails_open_and_the_gateway_recovers_when_it_returns() {
    let mut redis = RedisProcess::start();
    let env = start(&redis, LIMITS).await;
    let token = unique_token("kv");
    assert_eq!(
        send(&env, "/api/ai/chat", &token, &chat()).await.auth,
        "origin"
    );
    assert_eq!(
        send(&env, "/api/ai/chat", &token, &chat()).await.auth,
        "cache"
    );
    let cached = send(&env, "/v1/chat/completions", &token, &deterministic()).await;
    assert_eq!(cached.cache, "MISS");

    redis.kill();
    let calls_before = env.primary.count();
    for n in 0..8 {
        let reply = send(&env, "/api/ai/chat", &token, &chat()).await;
        assert_eq!(reply.status, 200, "request {n}: fails open by default");
        assert_eq!(reply.auth, "origin", "request {n}: Supabase decides again");
        assert!(reply.took < BOUND, "request {n}: {:?}", reply.took);
    }
    for _ in 0..2 {
        let reply = send(&env, "/v1/chat/completions", &token, &deterministic()).await;
        assert_eq!(
            (reply.status, reply.cache.as_str()),
            (200, "MISS"),
            "no cache"
        );
        assert!(reply.took < BOUND, "{:?}", reply.took);
    }
    assert_eq!(env.primary.count(), calls_before + 10);

    redis.restart();
    wait_until_sessions_are_remembered(&env, &token).await;
    everything_works(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_on_store_error_closed_a_killed_redis_means_503_until_it_returns() {
    let mut redis = RedisProcess::start();
    let limits =
        r#"{"/api/ai/chat": {"requests": 5, "window_secs": 3600}, "on_store_error": "closed"}"#;
    let env = start(&redis, limits).await;
    let token = unique_token("closed");
    assert_eq!(
        send(&env, "/api/ai/chat", &token, &chat()).await.status,
        200
    );

    redis.kill();
    for n in 0..3 {
        let reply = send(&env, "/api/ai/chat", &token, &chat()).await;
        assert_eq!(
            (reply.status, reply.error_type.as_str()),
            (503, "rate_limiter_unavailable"),
            "request {n}"
        );
        assert!(reply.took < BOUND, "request {n}: {:?}", reply.took);
    }
    assert_eq!(
        env.primary.count(),
        1,
        "nothing unmetered reached a provider"
    );

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(5);
    while send(&env, "/api/ai/chat", &token, &chat()).await.status != 200 {
        assert!(
            Instant::now() < deadline,
            "still refusing after Redis returned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_costs_each_request_at_most_one_store_timeout() {
    let redis = RedisProcess::start();
    let env = start(&redis, LIMITS).await;
    let token = unique_token("frozen");
    assert_eq!(
        send(&env, "/api/ai/chat", &token, &chat()).await.status,
        200
    );

    redis.freeze();
    for n in 0..4 {
        let reply = send(&env, "/api/ai/chat", &token, &chat()).await;
        assert_eq!(reply.status, 200, "request {n}: fails open");
        assert!(reply.took < BOUND, "request {n}: {:?}", reply.took);
    }
    let reply = send(&env, "/v1/chat/completions", &token, &deterministic()).await;
    assert_eq!(reply.status, 200);
    assert!(reply.took < BOUND, "{:?}", reply.took);

    redis.thaw();
    wait_until_sessions_are_remembered(&env, &token).await;
    everything_works(&env).await;
}
