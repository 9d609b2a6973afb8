//! Token budgets: requests are admitted against an estimate and charged the
//! provider's reported usage, for plain and streamed completions alike.

use serde_json::{Value, json};
use wws_tests::gateway::{Env, Store, header, unique_token, wait_for_window_with};
use wws_tests::provider::Step;

const BUDGET: &str = r#"{"tokens": {"per_minute": 1000}}"#;
/// Requests here set no `max_tokens`: a small default bound keeps each
/// reservation inside the 1000-token budget, so settlement is what is tested.
const SMALL_BOUND: (&str, &str) = ("default_max_tokens", "100");

fn chat(stream: bool) -> Value {
    json!({ "messages": [{ "role": "user", "content": "hi" }], "stream": stream })
}

/// Two answers of 500 tokens fill a 1000-token budget; the third request is
/// refused before it reaches a provider.
async fn usage_exhausts_the_budget(stream: bool) {
    let env = Env::start_with(&[("rate_limits", BUDGET), SMALL_BOUND], Store::Sqlite).await;
    env.primary_script.report_usage(500);
    wait_for_window_with(10).await;
    let token = unique_token("tokens");
    for _ in 0..2 {
        let response = env
            .send_json("/v1/chat/completions", Some(&token), &chat(stream))
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "x-ratelimit-limit-tokens"), "1000");
        let body = response.text().await.unwrap();
        if stream {
            assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
            assert!(!body.contains("usage"), "usage chunk not asked for: {body}");
        }
    }
    let refused = env
        .send_json("/v1/chat/completions", Some(&token), &chat(stream))
        .await;
    assert_eq!(refused.status(), 429);
    let retry_after: u32 = header(&refused, "retry-after").parse().unwrap();
    assert!(retry_after >= 1);
    assert_eq!(header(&refused, "x-ratelimit-remaining-tokens"), "0");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["type"], "tokens_exceeded");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tokens-per-minute"),
        "{body}"
    );
    assert_eq!(env.primary.count(), 2);
    if stream {
        assert_eq!(
            env.primary.requests()[0].json()["stream_options"]["include_usage"],
            true
        );
    }

    let other = env
        .send_json(
            "/v1/chat/completions",
            Some(&unique_token("other")),
            &chat(stream),
        )
        .await;
    assert_eq!(other.status(), 200, "another principal has its own budget");
}

#[tokio::test]
async fn reported_usage_exhausts_the_budget() {
    usage_exhausts_the_budget(false).await;
}

#[tokio::test]
async fn streamed_usage_exhausts_the_budget() {
    usage_exhausts_the_budget(true).await;
}

#[tokio::test]
async fn a_client_that_asks_for_usage_still_gets_it() {
    let env = Env::start().await;
    let mut body = chat(true);
    body["stream_options"] = json!({ "include_usage": true });
    let response = env
        .send_json("/v1/chat/completions", Some(&unique_token("u")), &body)
        .await;
    let text = response.text().await.unwrap();
    assert!(text.contains("\"total_tokens\":15"), "{text}");
}

#[tokio::test]
async fn small_answers_are_refunded_below_the_estimate() {
    let env = Env::start_with(&[("rate_limits", BUDGET)], Store::Memory).await;
    env.primary_script.report_usage(10);
    wait_for_window_with(10).await;
    let token = unique_token("refund");
    // Each request holds about 700 tokens (max_tokens) but is charged 10.
    let mut body = chat(false);
    body["max_tokens"] = json!(700);
    for _ in 0..5 {
        let response = env
            .send_json("/v1/chat/completions", Some(&token), &body)
            .await;
        assert_eq!(response.status(), 200);
    }
}

#[tokio::test]
async fn a_request_larger_than_the_budget_is_refused_with_a_reason() {
    let env = Env::start_with(&[("rate_limits", BUDGET)], Store::Memory).await;
    let mut body = chat(false);
    body["max_tokens"] = json!(5000);
    let response = env
        .send_json("/v1/chat/completions", Some(&unique_token("big")), &body)
        .await;
    assert_eq!(response.status(), 429);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than the tokens-per-minute budget"),
        "{body}"
    );
    assert_eq!(env.primary.count(), 0);
}

/// A budget of 100,000 tokens/min, eight concurrent requests without
/// `max_tokens`, each answered with 40,000 tokens: the gateway bounds each
/// completion at `default_max_tokens` (sent to the provider as `max_tokens`)
/// and reserves that bound, so only two fit, as with a client-set bound.
#[tokio::test]
async fn unbounded_completions_are_reserved_at_the_default_bound() {
    let budget = r#"{"tokens": {"per_minute": 100000}}"#;
    let env = Env::start_with(
        &[("rate_limits", budget), ("default_max_tokens", "40000")],
        Store::Sqlite,
    )
    .await;
    env.primary_script.report_usage(40_000);
    wait_for_window_with(15).await;
    let token = unique_token("unbounded");
    let body = chat(false);
    let calls = (0..8).map(|_| env.send_json("/v1/chat/completions", Some(&token), &body));
    let statuses: Vec<u16> = futures_util::future::join_all(calls)
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect();
    let admitted = statuses.iter().filter(|status| **status == 200).count();
    println!(
        "budget 100000 tokens/min: {admitted} of 8 admitted, {} tokens used",
        admitted * 40_000
    );
    assert_eq!(admitted, 2, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|status| **status == 429).count(), 6);
    assert_eq!(env.primary.requests()[0].json()["max_tokens"], 40_000);
}

/// A provider that streams past the bound it was sent cannot spend more
/// than the principal's budget: the stream is cut where the budget runs out,
/// ends with `finish_reason: "length"` and an error event naming the budget,
/// and the delivered part is what is charged.
#[tokio::test]
async fn a_stream_is_cut_off_where_the_budget_runs_out() {
    let env = Env::start_with(&[("rate_limits", BUDGET)], Store::Sqlite).await;
    let words: Vec<String> = (0..1200)
        .map(|_| {
            let chunk = json!({ "choices": [{ "index": 0, "delta": { "content": "word " } }] });
            format!("data: {chunk}\n\n")
        })
        .collect();
    env.primary_script.push(Step::Raw {
        content_type: "text/event-stream",
        chunks: words,
        gap: std::time::Duration::ZERO,
        then_fail: false,
    });
    wait_for_window_with(10).await;
    let token = unique_token("cut");
    let mut body = chat(true);
    body["max_tokens"] = json!(10);
    let response = env
        .send_json("/v1/chat/completions", Some(&token), &body)
        .await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let delivered = text.matches("word ").count();
    assert!(text.contains(r#""finish_reason":"length""#), "{text}");
    assert!(text.contains("event: error\n") && text.contains("tokens-per-minute"));
    assert!(text.ends_with("data: [DONE]\n\n"));
    // Four characters to a token: 1,000 tokens less the prompt's hold about
    // 790 five-character words; the provider sent 1,200.
    let delivered_tokens = (delivered * 5).div_ceil(4);
    println!("budget 1000 tokens: cut after {delivered} words, about {delivered_tokens} tokens");
    assert!((700..1000).contains(&delivered_tokens), "{delivered} words");

    // A small request would fit had only the stream's hold been charged.
    let mut small = chat(false);
    small["max_tokens"] = json!(10);
    let refused = env
        .send_json("/v1/chat/completions", Some(&token), &small)
        .await;
    assert_eq!(refused.status(), 429, "the cut-off stream spent the budget");
}
