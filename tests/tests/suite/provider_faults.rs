//! Issue 9: what a misbehaving provider can do to a request — a body that
//! breaks off, a stream that drips or stalls, 200 answers that are not chat
//! completions, malformed SSE, wrong content types — each answered within
//! the configured timeouts, and the next normal request served as if nothing
//! happened: no poisoned cache entry, no circuit left open.
//!
//! Requests are deterministic (`temperature: 0`) so the cache is involved:
//! whatever a broken answer did, it must not be what the next request gets.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wws_tests::gateway::{ALICE, Env, Store};
use wws_tests::provider::Step;

fn ask(stream: bool) -> Value {
    json!({ "messages": [{ "role": "user", "content": "faults?" }], "temperature": 0, "stream": stream })
}

/// Not cacheable: the answer goes straight through.
fn ask_uncached() -> Value {
    json!({ "messages": [{ "role": "user", "content": "faults?" }], "temperature": 0.7 })
}

const BETWEEN_BYTES: Duration = Duration::from_millis(300);

async fn env() -> Env {
    Env::start_with(
        &[
            ("first_byte_timeout_ms", "2000"),
            ("between_bytes_timeout_ms", "300"),
            // These faults are about bodies; failover.rs covers the breaker.
            ("breaker_failures", "1000"),
        ],
        Store::Memory,
    )
    .await
}

/// Both providers answer with `step`: a plain answer that is broken fails
/// over, so only when every target breaks does the client get the 502.
fn both(env: &Env, step: Step) {
    env.primary_script.push(step.clone());
    env.fallback_script.push(step);
}

/// A 200 from the primary with `chunks` as its body, 50 ms apart.
fn raw(content_type: &'static str, chunks: &[&str], then_fail: bool) -> Step {
    Step::Raw {
        content_type,
        chunks: chunks.iter().map(|chunk| chunk.to_string()).collect(),
        gap: Duration::from_millis(50),
        then_fail,
    }
}

struct Reply {
    status: u16,
    content_type: String,
    cache: String,
    provider: String,
    /// The body, or why it could not be read whole.
    body: Result<String, String>,
    took: Duration,
}

async fn send(env: &Env, body: &Value) -> Reply {
    let started = Instant::now();
    let response = env
        .post("/v1/chat/completions", Some(ALICE))
        .json(body)
        .timeout(Duration::from_secs(10))
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
    let (status, content_type) = (response.status().as_u16(), text("content-type"));
    let (cache, provider) = (text("x-wws-cache"), text("x-wws-provider"));
    let body = response.text().await.map_err(|error| format!("{error:?}"));
    Reply {
        status,
        content_type,
        cache,
        provider,
        body,
        took: started.elapsed(),
    }
}

/// The gateway's own error for a provider that failed after answering.
fn assert_upstream_error(reply: &Reply, case: &str) {
    assert_eq!(reply.status, 502, "{case}: {:?}", reply.body);
    let body: Value = serde_json::from_str(reply.body.as_ref().unwrap()).unwrap();
    assert_eq!(body["error"]["type"], "upstream_error", "{case}");
}

/// After a fault: the same request is a MISS answered whole by the primary
/// (its circuit is closed), and the one after that a HIT of that answer.
async fn next_request_is_served_normally(env: &Env, stream: bool) {
    let first = send(env, &ask(stream)).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.cache, "MISS", "the broken answer was not stored");
    assert_eq!(first.provider, "primary", "no circuit was left open");
    let body = first.body.unwrap();
    if stream {
        assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
        assert!(!body.contains("event: error"), "{body}");
    } else {
        let completion: Value = serde_json::from_str(&body).unwrap();
        let content = completion["choices"][0]["message"]["content"].as_str();
        assert!(content.unwrap().starts_with("primary answers"), "{body}");
    }
    let again = send(env, &ask(stream)).await;
    assert_eq!((again.cache.as_str(), again.body.unwrap()), ("HIT", body));
}

#[tokio::test]
async fn a_plain_answer_that_breaks_off_is_a_502_and_not_stored() {
    let env = env().await;
    let half = r#"{"id":"chatcmpl-x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"half an ans"#;
    for (case, body) in [("cached", ask(false)), ("uncached", ask_uncached())] {
        both(&env, raw("application/json", &[half], true));
        let reply = send(&env, &body).await;
        assert_upstream_error(&reply, case);
        assert!(
            reply.took < Duration::from_secs(1),
            "{case}: {:?}",
            reply.took
        );
    }
    assert_eq!(env.fallback.count(), 2, "a broken plain answer fails over");

    env.primary_script
        .push(raw("application/json", &[half], true));
    let rescued = send(&env, &ask_uncached()).await;
    assert_eq!(
        (rescued.status, rescued.provider.as_str()),
        (200, "fallback")
    );
    next_request_is_served_normally(&env, false).await;
}

#[tokio::test]
async fn a_slow_drip_within_the_gap_timeout_passes_through_complete() {
    let env = env().await;
    // Seven events (five words, usage, [DONE]) 100 ms apart: slow, but
    // never silent for as long as between_bytes_timeout_ms.
    env.primary_script
        .push(Step::Drip(Duration::from_millis(100)));
    let started = Instant::now();
    let mut response = env
        .post("/v1/chat/completions", Some(ALICE))
        .json(&ask(true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut first_chunk = None;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        first_chunk.get_or_insert_with(|| started.elapsed());
        body.extend_from_slice(&chunk);
    }
    let (first_chunk, total) = (first_chunk.unwrap(), started.elapsed());
    let body = String::from_utf8(body).unwrap();
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    assert!(!body.contains("event: error"), "{body}");
    assert!(
        total - first_chunk >= Duration::from_millis(400),
        "passed on as it came, not held until the end: first {first_chunk:?}, all {total:?}"
    );
    let replay = send(&env, &ask(true)).await;
    assert_eq!(
        (replay.cache.as_str(), replay.body.unwrap()),
        ("HIT", body),
        "a complete slow stream is stored like any other"
    );

    env.primary_script
        .push(Step::Drip(Duration::from_millis(100)));
    let plain = send(&env, &ask_uncached()).await;
    assert_eq!(plain.status, 200, "{:?}", plain.body);
    let completion: Value = serde_json::from_str(&plain.body.unwrap()).unwrap();
    assert_eq!(completion["object"], "chat.completion");
}

#[tokio::test]
async fn a_stream_that_stalls_past_the_gap_timeout_ends_with_an_error_event() {
    let env = env().await;
    let word = |word: &str| {
        let chunk = json!({ "object": "chat.completion.chunk", "choices": [{ "index": 0, "delta": { "content": word } }] });
        format!("data: {chunk}\n\n")
    };
    let events = [word("one "), word("two "), "data: [DONE]\n\n".to_string()];
    env.primary_script.push(Step::Raw {
        content_type: "text/event-stream",
        chunks: events.to_vec(),
        gap: Duration::from_secs(3),
        then_fail: false,
    });
    // Nobody can continue it (stream_failover.rs has a fallback that can).
    env.fallback_script
        .push(Step::Status(500, json!({ "error": { "message": "down" } })));
    let reply = send(&env, &ask(true)).await;
    assert_eq!(reply.status, 200, "the head went out with the first event");
    let body = reply.body.unwrap();
    assert!(body.starts_with(&events[0]), "{body}");
    assert!(
        body.trim_end()
            .ends_with("\"provider stream ended unexpectedly\"}}"),
        "{body}"
    );
    assert!(body.contains("event: error\n"), "{body}");
    assert!(!body.contains("two"), "{body}");
    assert!(
        reply.took >= BETWEEN_BYTES && reply.took < Duration::from_millis(2_000),
        "ended by between_bytes_timeout_ms, not by the provider: {:?}",
        reply.took
    );
    next_request_is_served_normally(&env, true).await;
}

#[tokio::test]
async fn a_plain_answer_that_stalls_past_the_gap_timeout_is_a_502() {
    let env = env().await;
    both(
        &env,
        Step::Raw {
            content_type: "application/json",
            chunks: vec![
                r#"{"choices":[{"index":0,"#.into(),
                r#""message":{}}]}"#.into(),
            ],
            gap: Duration::from_secs(3),
            then_fail: false,
        },
    );
    let reply = send(&env, &ask(false)).await;
    assert_upstream_error(&reply, "stalled");
    assert!(
        reply.took >= BETWEEN_BYTES * 2 && reply.took < Duration::from_millis(3_000),
        "{:?}",
        reply.took
    );
    next_request_is_served_normally(&env, false).await;
}

#[tokio::test]
async fn a_200_that_is_not_a_chat_completion_is_a_502_and_not_stored() {
    let env = env().await;
    let cases = [
        (
            "not JSON",
            "application/json",
            "<html>upstream hiccup</html>",
        ),
        (
            "an HTML error page",
            "text/html",
            "<html><body>502 Bad Gateway</body></html>",
        ),
        (
            "truncated JSON",
            "application/json",
            r#"{"id":"x","choices":[{"index":0,"mess"#,
        ),
        (
            "JSON without choices",
            "application/json",
            r#"{"id":"x","object":"chat.completion"}"#,
        ),
        ("an empty body", "application/json", ""),
    ];
    for (case, content_type, body) in cases {
        both(&env, raw(content_type, &[body], false));
        let reply = send(&env, &ask(false)).await;
        assert_upstream_error(&reply, case);
        assert!(
            reply.took < Duration::from_secs(1),
            "{case}: {:?}",
            reply.took
        );
    }
    both(&env, raw("application/json", &["not json"], false));
    assert_upstream_error(&send(&env, &ask_uncached()).await, "uncached");
    env.primary_script
        .push(raw("text/html", &["<html>502</html>"], false));
    let rescued = send(&env, &ask_uncached()).await;
    assert_eq!(
        (rescued.status, rescued.provider.as_str()),
        (200, "fallback"),
        "one provider's garbage is the next one's turn"
    );
    next_request_is_served_normally(&env, false).await;
}

#[tokio::test]
async fn malformed_streams_pass_through_but_are_never_stored() {
    let env = env().await;
    let content = r#"data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}

"#;
    let done = "data: [DONE]\n\n";
    let cases: [(&str, Vec<&str>); 6] = [
        (
            "garbage lines",
            vec!["garbage\nmore garbage\n\n", content, done],
        ),
        (
            "a missing data: prefix",
            vec![
                r#"{"choices":[{"index":0,"delta":{"content":"hi"}}]}"#,
                "\n\n",
                done,
            ],
        ),
        (
            "invalid JSON in data",
            vec![content, "data: {\"choices\": [\n\n", done],
        ),
        ("no [DONE]", vec![content, content]),
        (
            "an in-band provider error",
            vec![
                content,
                "data: {\"error\":{\"message\":\"overloaded\"}}\n\n",
                done,
            ],
        ),
        ("an unterminated last event", vec![content, "data: [DONE]"]),
    ];
    for (case, chunks) in cases {
        env.primary_script
            .push(raw("text/event-stream", &chunks, false));
        let reply = send(&env, &ask(true)).await;
        assert_eq!(reply.status, 200, "{case}");
        assert_eq!(
            reply.body.unwrap(),
            chunks.concat(),
            "{case}: passed on as the provider sent it"
        );
        assert!(
            reply.took < Duration::from_secs(1),
            "{case}: {:?}",
            reply.took
        );
    }
    next_request_is_served_normally(&env, true).await;
}

#[tokio::test]
async fn a_completion_under_the_wrong_content_type_is_served_as_json() {
    let env = env().await;
    let completion = json!({
        "id": "chatcmpl-plain", "object": "chat.completion",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": "labelled text/plain" }, "finish_reason": "stop" }],
    })
    .to_string();
    env.primary_script
        .push(raw("text/plain", &[&completion], false));
    let reply = send(&env, &ask(false)).await;
    assert_eq!(
        (reply.status, reply.content_type.as_str()),
        (200, "application/json")
    );
    assert_eq!(reply.body.as_deref(), Ok(completion.as_str()));
    let hit = send(&env, &ask(false)).await;
    assert_eq!(
        (hit.cache.as_str(), hit.content_type.as_str()),
        ("HIT", "application/json")
    );
    assert_eq!(hit.body.unwrap(), completion);
}

#[tokio::test]
async fn a_stream_under_the_wrong_content_type_is_stored_as_a_stream() {
    let env = env().await;
    let events = concat!(
        r#"data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"mislabelled"}}]}"#,
        "\n\ndata: [DONE]\n\n"
    );
    env.primary_script
        .push(raw("application/json", &[events], false));
    let streamed = send(&env, &ask(true)).await;
    assert_eq!(streamed.body.as_deref(), Ok(events));
    // A plain client asking the same gets the recording as one completion,
    // not the SSE text under the provider's label.
    let plain = send(&env, &ask(false)).await;
    assert_eq!(
        (plain.cache.as_str(), plain.content_type.as_str()),
        ("HIT", "application/json")
    );
    let completion: Value = serde_json::from_str(&plain.body.unwrap()).unwrap();
    assert_eq!(
        completion["choices"][0]["message"]["content"],
        "mislabelled"
    );
}

#[tokio::test]
async fn a_plain_answer_to_a_stream_request_passes_through_but_is_not_stored() {
    let env = env().await;
    let completion = json!({
        "object": "chat.completion",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": "ignored stream: true" } }],
    })
    .to_string();
    env.primary_script
        .push(raw("application/json", &[&completion], false));
    let reply = send(&env, &ask(true)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.as_deref(), Ok(completion.as_str()));
    next_request_is_served_normally(&env, true).await;
}
