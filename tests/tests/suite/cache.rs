//! The Cache Manager end to end: freshness windows, single flight, stream
//! replay, principal isolation, origin GETs and purges.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};
use wws_tests::gateway::{ALICE, BOB, Env, Store};
use wws_tests::provider::Step;

fn deterministic(stream: bool) -> Value {
    json!({ "messages": [{ "role": "user", "content": "2+2?" }], "temperature": 0, "stream": stream })
}

fn label(response: &reqwest::Response) -> String {
    response.headers()["x-wws-cache"]
        .to_str()
        .unwrap()
        .to_string()
}

async fn ask(env: &Env, token: &str, body: &Value) -> (String, String) {
    let response = env
        .send_json("/v1/chat/completions", Some(token), body)
        .await;
    assert_eq!(response.status(), 200);
    (label(&response), response.text().await.unwrap())
}

fn policy(json: &str) -> [(&str, &str); 1] {
    [("cache_policy", json)]
}

#[tokio::test]
async fn fresh_hits_are_per_principal_and_ignore_json_formatting() {
    let env = Env::start().await;
    let (first, body) = ask(&env, ALICE, &deterministic(false)).await;
    assert_eq!(first, "MISS");
    let reordered = r#"{ "stream": false, "temperature": 0, "messages": [{ "content": "2+2?", "role": "user" }] }"#;
    let hit = env
        .post("/v1/chat/completions", Some(ALICE))
        .header("content-type", "application/json")
        .body(reordered)
        .send()
        .await
        .unwrap();
    assert_eq!(label(&hit), "HIT");
    assert!(hit.headers().contains_key("age"));
    assert_eq!(hit.text().await.unwrap(), body);
    assert_eq!(env.primary.count(), 1);

    let (other_user, _) = ask(&env, BOB, &deterministic(false)).await;
    assert_eq!(other_user, "MISS", "user B must not get user A's entry");

    let no_store = env
        .post("/v1/chat/completions", Some(ALICE))
        .header("cache-control", "no-store")
        .json(&deterministic(false))
        .send()
        .await
        .unwrap();
    assert_eq!(label(&no_store), "BYPASS");
    assert_eq!(env.primary.count(), 3);
}

#[tokio::test]
async fn a_stale_hit_triggers_exactly_one_revalidation() {
    let env = Env::start_with(&policy(r#"{"default": {"fresh_secs": 1}}"#), Store::Sqlite).await;
    assert_eq!(ask(&env, ALICE, &deterministic(false)).await.0, "MISS");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    // A slow revalidation: all six arrive while it runs, however busy the
    // machine is.
    env.primary_script
        .push(Step::Delay(Duration::from_millis(600)));
    let body = deterministic(false);
    let labels: Vec<String> = join_all((0..6).map(|_| ask(&env, ALICE, &body)))
        .await
        .into_iter()
        .map(|(label, _)| label)
        .collect();
    assert!(labels.iter().all(|label| label == "STALE"), "{labels:?}");
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        env.primary.count(),
        2,
        "one revalidation for six stale hits"
    );
    assert_eq!(ask(&env, ALICE, &deterministic(false)).await.0, "HIT");
}

#[tokio::test]
async fn entries_past_the_stale_window_are_fetched_again() {
    let windows = r#"{"default": {"fresh_secs": 1, "stale_secs": 1, "stale_if_error_secs": 0}}"#;
    let env = Env::start_with(&policy(windows), Store::Memory).await;
    assert_eq!(ask(&env, ALICE, &deterministic(false)).await.0, "MISS");
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(ask(&env, ALICE, &deterministic(false)).await.0, "MISS");
    assert_eq!(env.primary.count(), 2);
}

#[tokio::test]
async fn stale_if_error_covers_a_provider_outage() {
    let windows = r#"{"default": {"fresh_secs": 1, "stale_secs": 0, "stale_if_error_secs": 60}}"#;
    let env = Env::start_with(&policy(windows), Store::Memory).await;
    let (_, original) = ask(&env, ALICE, &deterministic(false)).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    env.primary_script.push(Step::Status(500, json!({})));
    env.fallback_script.push(Step::Status(503, json!({})));
    let (label, body) = ask(&env, ALICE, &deterministic(false)).await;
    assert_eq!((label.as_str(), body), ("STALE", original));
}

#[tokio::test]
async fn a_recorded_stream_replays_as_sse_and_as_json() {
    let env = Env::start().await;
    let (first, streamed) = ask(&env, ALICE, &deterministic(true)).await;
    assert_eq!(first, "MISS");
    assert!(streamed.ends_with("data: [DONE]\n\n"));

    let (label, replayed) = ask(&env, ALICE, &deterministic(true)).await;
    assert_eq!(
        (label.as_str(), replayed.as_str()),
        ("HIT", streamed.as_str())
    );

    let (label, assembled) = ask(&env, ALICE, &deterministic(false)).await;
    assert_eq!(label, "HIT");
    let completion: Value = serde_json::from_str(&assembled).unwrap();
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(
        completion["choices"][0]["message"]["content"],
        "primary answers with hf:moonshotai/Kimi-K2-Thinking "
    );
    assert_eq!(env.primary.count(), 1);
}

#[tokio::test]
async fn a_plain_entry_replays_as_a_stream() {
    let env = Env::start().await;
    ask(&env, ALICE, &deterministic(false)).await;
    let (label, stream) = ask(&env, ALICE, &deterministic(true)).await;
    assert_eq!(label, "HIT");
    assert!(stream.starts_with("data: {"), "{stream}");
    assert!(stream.contains("primary answers with"), "{stream}");
    assert!(stream.ends_with("data: [DONE]\n\n"), "{stream}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_make_one_upstream_call() {
    let env = Env::start_with(&[], Store::Sqlite).await;
    env.primary_script
        .push(Step::Delay(Duration::from_millis(500)));
    let body = deterministic(false);
    let answers = join_all((0..8).map(|_| ask(&env, ALICE, &body))).await;
    let mut labels: Vec<&str> = answers.iter().map(|(label, _)| label.as_str()).collect();
    labels.sort_unstable();
    assert_eq!(
        labels,
        ["HIT", "HIT", "HIT", "HIT", "HIT", "HIT", "HIT", "MISS"]
    );
    assert!(answers.iter().all(|(_, body)| *body == answers[0].1));
    assert_eq!(env.primary.count(), 1);
}

#[tokio::test]
async fn an_entry_too_large_for_the_store_is_passed_through() {
    let env = Env::start().await;
    let big = json!({
        "object": "chat.completion",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": "x".repeat(1_200_000) } }],
    });
    env.primary_script.push(Step::Status(200, big.clone()));
    env.primary_script.push(Step::Status(200, big));
    for _ in 0..2 {
        let (label, body) = ask(&env, ALICE, &deterministic(false)).await;
        assert_eq!(label, "BYPASS");
        assert!(body.len() > 1_200_000);
    }
    assert_eq!(env.primary.count(), 2);
}

#[tokio::test]
async fn clients_may_opt_in_with_max_age() {
    let env = Env::start().await;
    let creative =
        json!({ "messages": [{ "role": "user", "content": "a poem" }], "temperature": 0.9 });
    let send = || {
        env.post("/v1/chat/completions", Some(ALICE))
            .header("cache-control", "max-age=60")
            .json(&creative)
            .send()
    };
    assert_eq!(label(&send().await.unwrap()), "MISS");
    assert_eq!(label(&send().await.unwrap()), "HIT");
    let without = env
        .send_json("/v1/chat/completions", Some(ALICE), &creative)
        .await;
    assert_eq!(label(&without), "BYPASS");
}

#[tokio::test]
async fn origin_gets_are_cached_only_when_the_origin_allows() {
    let env = Env::start().await;
    let get = |path: &'static str, token: &'static str| env.get(path, Some(token)).send();
    assert_eq!(label(&get("/cacheable/page", ALICE).await.unwrap()), "MISS");
    let hit = get("/cacheable/page", ALICE).await.unwrap();
    assert_eq!(label(&hit), "HIT");
    assert_eq!(hit.headers()["cache-control"], "public, max-age=60");
    assert_eq!(label(&get("/cacheable/page", BOB).await.unwrap()), "MISS");
    assert_eq!(env.origin.count(), 2);

    assert_eq!(label(&get("/private/page", ALICE).await.unwrap()), "BYPASS");
    assert_eq!(label(&get("/private/page", ALICE).await.unwrap()), "BYPASS");
    assert_eq!(label(&get("/plain", ALICE).await.unwrap()), "BYPASS");
    assert_eq!(env.origin.count(), 5);

    let no_store = env
        .get("/cacheable/page", Some(ALICE))
        .header("cache-control", "no-store")
        .send()
        .await
        .unwrap();
    assert_eq!(label(&no_store), "BYPASS");
    assert_eq!(env.origin.count(), 6);
}

#[tokio::test]
async fn admins_purge_by_route() {
    use sha2::Digest;
    let admin_key = "wws-test-admin-key";
    let digest = hex::encode(sha2::Sha256::digest(admin_key.as_bytes()));
    let api_keys = json!([{ "sha256": digest, "principal": "ops", "role": "admin" }]).to_string();
    let env = Env::start_with(&[("api_keys", &api_keys)], Store::Sqlite).await;
    ask(&env, ALICE, &deterministic(false)).await;
    ask(&env, BOB, &deterministic(false)).await;
    assert_eq!(ask(&env, ALICE, &deterministic(false)).await.0, "HIT");

    let purge = json!({ "route": "/v1/chat/completions" });
    let refused = env
        .send_json("/api/wws/cache/purge", Some(ALICE), &purge)
        .await;
    assert_eq!(refused.status(), 403);
    let purged = env
        .send_json("/api/wws/cache/purge", Some(admin_key), &purge)
        .await;
    assert_eq!(purged.status(), 200);
    assert_eq!(purged.json::<Value>().await.unwrap()["purged"], 2);
    assert_eq!(ask(&env, ALICE, &deterministic(false)).await.0, "MISS");

    let bad = env
        .send_json("/api/wws/cache/purge", Some(admin_key), &json!({}))
        .await;
    assert_eq!(bad.status(), 400);
}

/// The leader's answer cannot be stored (a 400): the followers must stop
/// waiting the moment its lease is released and ask on their own, instead
/// of polling for the whole `cache_fill_wait_ms` (10 s by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn followers_stop_waiting_when_the_fill_is_abandoned() {
    let env = Env::start_with(&[], Store::Sqlite).await;
    let refusal = json!({ "error": { "message": "bad request" } });
    // The first answer is held back so the others find its lease.
    env.primary_script.push(Step::DelayedStatus(
        Duration::from_millis(400),
        400,
        refusal.clone(),
    ));
    for _ in 0..2 {
        env.primary_script.push(Step::Status(400, refusal.clone()));
    }
    let body = deterministic(false);
    let started = std::time::Instant::now();
    let statuses = join_all((0..3).map(|_| async {
        let response = env
            .send_json("/v1/chat/completions", Some(ALICE), &body)
            .await;
        (response.status().as_u16(), started.elapsed())
    }))
    .await;
    assert!(
        statuses.iter().all(|(status, _)| *status == 400),
        "{statuses:?}"
    );
    let slowest = statuses.iter().map(|(_, took)| *took).max().unwrap();
    println!("leader and followers answered after {statuses:?} (the leader's answer took 400 ms)");
    assert!(
        slowest < Duration::from_secs(3),
        "followers waited {slowest:?}"
    );
    assert_eq!(env.primary.count(), 3);
}

/// An anonymous `no-cache` gets a fresh answer, but the shared entry stays:
/// otherwise anyone could replace it on demand (issue 22).
#[tokio::test]
async fn an_anonymous_no_cache_never_refills_the_shared_entry() {
    let env = Env::start_with(
        &[
            ("public_routes", "/cacheable/docs"),
            ("cache_policy", r#"{"/cacheable": {"public": true}}"#),
        ],
        Store::Memory,
    )
    .await;
    let get = |cache_control: Option<&'static str>| {
        let request = env.get("/cacheable/docs", None);
        let request = match cache_control {
            Some(value) => request.header("cache-control", value),
            None => request,
        };
        request.send()
    };
    let first = get(None).await.unwrap();
    assert_eq!(label(&first), "MISS");
    let stored = first.text().await.unwrap();
    let refill = get(Some("no-cache")).await.unwrap();
    assert_eq!(label(&refill), "BYPASS", "answered fresh, not stored");
    assert_eq!(env.origin.count(), 2);
    let next = get(None).await.unwrap();
    assert_eq!(label(&next), "HIT");
    assert_eq!(next.text().await.unwrap(), stored, "the first answer stays");
    assert_eq!(env.origin.count(), 2);
}
