//! The request normalisation and estimates, table-tested.

use super::*;

#[test]
fn seed_chat_context_becomes_a_system_message() {
    let request = ChatRequest::parse(
        "/api/ai/chat",
        br#"{"messages":[{"role":"user","content":"hi"}],"context":"repo"}"#,
    )
    .unwrap();
    let body: Value = serde_json::from_slice(&request.provider_body("m")).unwrap();
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["content"], "hi");
    assert_eq!(body["model"], "m");
    assert!(body.get("context").is_none());
}

#[test]
fn generate_prompt_becomes_messages() {
    let request = ChatRequest::parse(
        "/api/ai/generate",
        br#"{"prompt":"write","task_type":"code"}"#,
    )
    .unwrap();
    assert_eq!(request.task_type().as_deref(), Some("code"));
    let body: Value = serde_json::from_slice(&request.provider_body("m")).unwrap();
    assert_eq!(body["messages"][0]["content"], "write");
    assert!(body.get("task_type").is_none());
}

#[test]
fn streams_always_ask_the_provider_for_usage() {
    let request = ChatRequest::parse(
        "/v1/chat/completions",
        br#"{"messages":[{"role":"user","content":"x"}],"stream":true}"#,
    )
    .unwrap();
    assert!(!request.asks_for_usage());
    let body: Value = serde_json::from_slice(&request.provider_body("m")).unwrap();
    assert_eq!(body["stream_options"]["include_usage"], true);
    let plain = ChatRequest::parse(
        "/v1/chat/completions",
        br#"{"messages":[{"role":"user","content":"x"}]}"#,
    )
    .unwrap();
    let body: Value = serde_json::from_slice(&plain.provider_body("m")).unwrap();
    assert!(body.get("stream_options").is_none());
}

#[test]
fn rejects_bodies_that_are_not_chat_requests() {
    let parse = |body: &[u8]| ChatRequest::parse("/v1/chat/completions", body).unwrap_err();
    assert_eq!(parse(b"{"), BodyError::NotJson);
    assert_eq!(parse(b"[]"), BodyError::NotObject);
    assert!(matches!(
        parse(br#"{"messages":[]}"#),
        BodyError::Invalid(_)
    ));
    assert!(matches!(
        parse(br#"{"messages":[{"role":"user","content":"x"}],"model":5}"#),
        BodyError::WrongType { field: "model", .. }
    ));
    assert!(matches!(
        ChatRequest::parse("/api/ai/generate", br#"{"prompt":1}"#).unwrap_err(),
        BodyError::Invalid(_)
    ));
}

#[test]
fn estimates_context_with_a_safety_margin() {
    let text = "x".repeat(300_000);
    let body = format!(r#"{{"messages":[{{"role":"user","content":"{text}"}}]}}"#);
    let request = ChatRequest::parse("/v1/chat/completions", body.as_bytes()).unwrap();
    assert!(request.context_tokens() > 100_000);
    let explicit = ChatRequest::parse(
        "/v1/chat/completions",
        br#"{"messages":[{"role":"user","content":"x"}],"context_length":200000}"#,
    )
    .unwrap();
    assert_eq!(explicit.context_tokens(), 200_000);
}

#[test]
fn huge_max_tokens_saturate_the_estimate() {
    // Caught by the canonical_json fuzz target (a seed with the largest
    // max_tokens): the sum overflowed.
    for max_tokens in ["18446744073709551615", "4294967301"] {
        let body = format!(
            r#"{{"messages":[{{"role":"user","content":"hi"}}],"max_tokens":{max_tokens}}}"#
        );
        let request = ChatRequest::parse("/v1/chat/completions", body.as_bytes()).unwrap();
        assert_eq!(request.context_tokens(), u32::MAX, "{max_tokens}");
    }
}

#[test]
fn caches_deterministic_or_opted_in_requests() {
    let parse = |body: &[u8]| ChatRequest::parse("/v1/chat/completions", body).unwrap();
    let cc = CacheControl::parse;
    let deterministic = parse(br#"{"messages":[{"role":"user","content":"x"}],"temperature":0}"#);
    assert!(deterministic.is_cacheable(&cc("")));
    assert!(!deterministic.is_cacheable(&cc("no-store")));
    assert!(!deterministic.is_cacheable(&cc("max-age=60, No-Cache")));
    let creative = parse(br#"{"messages":[{"role":"user","content":"x"}],"temperature":0.7}"#);
    assert!(!creative.is_cacheable(&cc("")));
    assert!(creative.is_cacheable(&cc("max-age=60")));
    let streamed =
        parse(br#"{"messages":[{"role":"user","content":"x"}],"temperature":0,"stream":true}"#);
    assert!(streamed.is_cacheable(&cc("")));
    assert_eq!(streamed.cache_body("m"), deterministic.cache_body("m"));
    assert_ne!(deterministic.cache_body("m"), deterministic.cache_body("n"));
}

#[test]
fn fields_the_gateway_acts_on_must_have_their_types() {
    for (body, field) in [
        (r#""stream":"true""#, "stream"),
        (r#""stream":1"#, "stream"),
        (r#""stream_options":true"#, "stream_options"),
        (r#""max_tokens":-1"#, "max_tokens"),
        (r#""max_tokens":"10""#, "max_tokens"),
        (r#""context_length":1.5"#, "context_length"),
        (r#""temperature":"0""#, "temperature"),
        (r#""task_type":7"#, "task_type"),
        (r#""model":["a"]"#, "model"),
    ] {
        let text = format!(r#"{{"messages":[{{"role":"user","content":"x"}}],{body}}}"#);
        let error = ChatRequest::parse("/v1/chat/completions", text.as_bytes()).unwrap_err();
        assert!(
            matches!(error, BodyError::WrongType { field: f, .. } if f == field),
            "{body}: {error}"
        );
    }
}

#[test]
fn a_small_context_length_cannot_shrink_the_estimate() {
    let prompt = "x".repeat(30_000);
    let text =
        format!(r#"{{"messages":[{{"role":"user","content":"{prompt}"}}],"context_length":1}}"#);
    let request = ChatRequest::parse("/v1/chat/completions", text.as_bytes()).unwrap();
    assert!(
        request.context_tokens() >= 10_000,
        "{}",
        request.context_tokens()
    );
}

fn parse(body: &[u8]) -> ChatRequest {
    ChatRequest::parse("/v1/chat/completions", body).unwrap()
}

#[test]
fn an_unbounded_completion_is_bounded_by_the_allowance() {
    let mut request = parse(br#"{"messages":[{"role":"user","content":"hi"}]}"#);
    let before = request.context_tokens();
    request.bound_completion(40_000);
    assert_eq!(request.context_tokens(), before + 40_000);
    let body: Value = serde_json::from_slice(&request.provider_body("m")).unwrap();
    assert_eq!(body["max_tokens"], 40_000);
    let mut bounded = parse(br#"{"messages":[{"role":"user","content":"hi"}],"max_tokens":5}"#);
    bounded.bound_completion(40_000);
    let body: Value = serde_json::from_slice(&bounded.provider_body("m")).unwrap();
    assert_eq!(body["max_tokens"], 5);
}

fn messages(body: &[u8]) -> ChatRequest {
    ChatRequest::parse("/v1/messages", body).unwrap()
}

#[test]
fn a_messages_request_counts_its_system_prompt_and_keeps_its_own_shape() {
    let system = "s".repeat(3_000);
    let text = format!(
        r#"{{"system":"{system}","messages":[{{"role":"user","content":"x"}}],"stream":true}}"#
    );
    let request = messages(text.as_bytes());
    assert_eq!(request.dialect(), Dialect::Anthropic);
    assert!(
        request.prompt_tokens() >= 1_000,
        "{}",
        request.prompt_tokens()
    );
    let body: Value = serde_json::from_slice(&request.provider_body("m")).unwrap();
    assert!(body.get("stream_options").is_none(), "not an OpenAI field");
    assert_eq!(body["system"], system);
    let plain = messages(br#"{"messages":[{"role":"user","content":"x"}]}"#);
    assert_ne!(
        request.cache_body("m"),
        plain.cache_body("m"),
        "shape is in the key"
    );
}

#[test]
fn a_messages_system_must_be_text_or_blocks_and_only_its_headers_pass() {
    let error = ChatRequest::parse(
        "/v1/messages",
        br#"{"system":5,"messages":[{"role":"user","content":"x"}]}"#,
    )
    .unwrap_err();
    assert!(matches!(
        error,
        BodyError::WrongType {
            field: "system",
            ..
        }
    ));
    let mut request =
        messages(br#"{"system":[{"type":"text","text":"be brief"}],"messages":[{"role":"user","content":"x"}]}"#);
    request.pass_header("anthropic-beta", "tools-2024");
    request.pass_header("x-api-key", "secret");
    assert_eq!(
        request.passed_headers(),
        [("anthropic-beta", "tools-2024".to_string())]
    );
    let mut chat = parse(br#"{"messages":[{"role":"user","content":"hi"}]}"#);
    chat.pass_header("anthropic-beta", "x");
    assert!(chat.passed_headers().is_empty());
}

#[test]
fn a_prefill_continues_the_assistants_answer() {
    let request = parse(br#"{"messages":[{"role":"user","content":"count"}],"stream":true}"#);
    let body: Value =
        serde_json::from_slice(&request.with_prefill("one two ").provider_body("m")).unwrap();
    assert_eq!(
        body["messages"][1],
        json!({ "role": "assistant", "content": "one two " })
    );
    assert_eq!(body["stream"], true);
    let message = messages(br#"{"messages":[{"role":"user","content":"count"}]}"#);
    let body: Value =
        serde_json::from_slice(&message.with_prefill("one two ").provider_body("m")).unwrap();
    assert_eq!(body["messages"][1]["content"], "one two");
}
