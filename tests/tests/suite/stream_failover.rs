//! Failover after the first byte: a stream that breaks or stalls once
//! content reached the client is continued by the next provider from the
//! text already sent (an assistant prefill), spliced into the same response
//! and ended with a notice naming both; the gap the client saw is logged.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wws_tests::gateway::{ALICE, Env, Store, header};
use wws_tests::provider::Step;

fn chat() -> Value {
    json!({ "messages": [{ "role": "user", "content": "count" }], "stream": true })
}

/// The data of every `data:` event, in order, `[DONE]` included.
fn data_events(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter_map(|event| event.lines().find_map(|line| line.strip_prefix("data: ")))
        .map(str::to_string)
        .collect()
}

/// The text the client assembles from a chat stream's deltas.
fn chat_text(body: &str) -> String {
    data_events(body)
        .iter()
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .filter_map(|chunk| {
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

#[tokio::test]
async fn a_chat_stream_that_breaks_midway_is_continued_by_the_fallback() {
    let env = Env::start().await;
    env.primary_script.push(Step::BreakStreamAfter(2));
    let started = Instant::now();
    let response = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat())
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "x-wws-provider"),
        "primary",
        "who began it"
    );
    let body = response.text().await.unwrap();
    eprintln!("spliced chat stream in {:?}", started.elapsed());

    assert!(!body.contains("event: error"), "{body}");
    assert_eq!(
        chat_text(&body),
        "primary answers fallback answers with glm-4-plus "
    );
    let events = data_events(&body);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"), "{body}");
    let notice: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(
        notice["wws_continued"],
        json!({ "from": "primary", "to": "fallback" })
    );
    assert_eq!(body.matches("[DONE]").count(), 1, "{body}");

    // The fallback was asked to continue what the client already had.
    let continuation = env.fallback.requests()[0].json();
    let messages = continuation["messages"].as_array().unwrap();
    assert_eq!(
        messages.last().unwrap(),
        &json!({ "role": "assistant", "content": "primary answers " })
    );
    assert_eq!(continuation["stream"], true);
}

#[tokio::test]
async fn a_chat_stream_that_stalls_is_continued_within_the_gap_timeout() {
    let env = Env::start_with(&[("between_bytes_timeout_ms", "300")], Store::Memory).await;
    let word = |word: &str| {
        let chunk = json!({ "choices": [{ "index": 0, "delta": { "content": word } }] });
        format!("data: {chunk}\n\n")
    };
    env.primary_script.push(Step::Raw {
        content_type: "text/event-stream",
        chunks: vec![word("one "), word("two "), "data: [DONE]\n\n".into()],
        gap: Duration::from_secs(3),
        then_fail: false,
    });
    let started = Instant::now();
    let response = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat())
        .await;
    let body = response.text().await.unwrap();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "not held by the stalled primary: {took:?}"
    );
    assert_eq!(chat_text(&body), "one fallback answers with glm-4-plus ");
    assert!(!body.contains("two"), "{body}");
    assert!(body.contains("wws_continued"), "{body}");
}

#[tokio::test]
async fn a_stream_with_a_tool_call_in_flight_is_not_continued() {
    let env = Env::start().await;
    let call = json!({ "choices": [{ "index": 0, "delta": { "tool_calls": [{ "index": 0, "function": { "name": "f" } }] } }] });
    env.primary_script.push(Step::Raw {
        content_type: "text/event-stream",
        chunks: vec![format!("data: {call}\n\n")],
        gap: Duration::from_millis(20),
        then_fail: true,
    });
    let response = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat())
        .await;
    let body = response.text().await.unwrap();
    assert!(body.contains("event: error"), "{body}");
    assert_eq!(env.fallback.count(), 0, "a tool call cannot be prefilled");
}

#[tokio::test]
async fn a_messages_stream_is_spliced_into_one_message() {
    let env = Env::start().await;
    env.primary_script.push(Step::BreakStreamAfter(2));
    let response = env
        .client
        .post(env.gateway.at("/v1/messages"))
        .header("x-api-key", ALICE)
        .json(&json!({ "max_tokens": 64, "stream": true,
                       "messages": [{ "role": "user", "content": "count" }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    let names: Vec<&str> = body
        .split("\n\n")
        .filter_map(|event| event.lines().find_map(|line| line.strip_prefix("event: ")))
        .collect();
    assert_eq!(
        names
            .iter()
            .filter(|name| **name == "message_start")
            .count(),
        1,
        "{body}"
    );
    assert_eq!(
        names
            .iter()
            .filter(|name| **name == "content_block_start")
            .count(),
        1,
        "{body}"
    );
    assert_eq!(
        &names[names.len() - 2..],
        ["wws_continued", "message_stop"],
        "{body}"
    );
    assert!(!names.contains(&"error"), "{body}");
    let continuation = env.fallback.requests()[0].json();
    assert_eq!(
        continuation["messages"].as_array().unwrap().last().unwrap(),
        &json!({ "role": "assistant", "content": "primary answers" }),
        "the Messages API refuses a prefill ending in whitespace"
    );
}

/// The official `openai` package reads a spliced stream as one answer: the
/// notice is a chunk without choices, which it passes over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_sdk_reads_a_spliced_stream_as_one_answer() {
    let env = Env::start().await;
    env.primary_script.push(Step::BreakStreamAfter(2));
    let script = r#"
import sys, openai
client = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key=sys.argv[2], max_retries=0)
stream = client.chat.completions.create(messages=[{"role": "user", "content": "count"}], model="auto", stream=True)
print("".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices))
"#;
    let args = vec![
        "-c".into(),
        script.into(),
        env.gateway.url.clone(),
        ALICE.into(),
    ];
    let stdout = wws_tests::python::run(args).await;
    assert_eq!(
        stdout.trim(),
        "primary answers fallback answers with glm-4-plus"
    );
}

/// A principal's token budget spans both streams: a continuation that runs
/// past what is left is cut like the first stream would have been.
#[tokio::test]
async fn the_token_budget_spans_the_continuation() {
    let env = Env::start_with(
        &[("rate_limits", r#"{"tokens": {"per_minute": 1000}}"#)],
        Store::Sqlite,
    )
    .await;
    env.primary_script.push(Step::BreakStreamAfter(2));
    let word = json!({ "choices": [{ "index": 0, "delta": { "content": "word " } }] });
    env.fallback_script.push(Step::Raw {
        content_type: "text/event-stream",
        chunks: vec![format!("data: {word}\n\n"); 1200],
        gap: Duration::ZERO,
        then_fail: false,
    });
    let mut body = chat();
    body["max_tokens"] = json!(10);
    let response = env
        .send_json("/v1/chat/completions", Some(ALICE), &body)
        .await;
    let text = response.text().await.unwrap();
    assert!(text.contains("wws_continued"), "{text}");
    assert!(text.contains(r#""finish_reason":"length""#), "{text}");
    assert!(text.contains("tokens-per-minute"), "{text}");
    assert_eq!(text.matches("[DONE]").count(), 1, "{text}");
    let delivered = text.matches("word ").count();
    assert!((700..800).contains(&delivered), "{delivered} words");
}
