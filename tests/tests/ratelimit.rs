//! The rate limiter under real concurrency: many parallel requests, and two
//! hosts sharing one Redis, never admit more than the limit.

use futures_util::future::join_all;
use serde_json::json;
use wws_tests::gateway::{
    Env, Gateway, Store, redis_url, unique_token, variables_for, wait_for_window_with,
};

const CHAT_LIMIT: usize = 60;

async fn burst(
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
