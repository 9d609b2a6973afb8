//! Issue 2: the composed app end to end — auth, providers, rate limits,
//! origin pass-through and start-up errors.

use std::collections::HashMap;

use serde_json::{Value, json};
use wws_tests::gateway::{ALICE, BOB, Env, Gateway, Store, wait_for_window_with};
use wws_tests::provider::{self, Step};

fn chat_body() -> Value {
    json!({ "messages": [{ "role": "user", "content": "hello" }] })
}

#[tokio::test]
async fn health_is_public_and_reports_configuration() {
    let env = Env::start().await;
    let response = env.get("/api/wws/health", None).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-wws-auth-source"], "public");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["providers"]["primary"], true);
    assert_eq!(env.supabase.count(), 0);
}

#[tokio::test]
async fn requests_without_or_with_a_bad_token_get_401() {
    let env = Env::start().await;
    let missing = env.send_json("/api/ai/chat", None, &chat_body()).await;
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");

    let bad = env
        .send_json("/api/ai/chat", Some("not-a-user"), &chat_body())
        .await;
    assert_eq!(bad.status(), 401);
    assert!(
        bad.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let text = bad.text().await.unwrap();
    assert!(
        !text.contains("not-a-user"),
        "error body echoes the token: {text}"
    );
    assert_eq!(env.primary.count(), 0);
}

#[tokio::test]
async fn a_valid_token_reaches_the_primary_with_the_provider_key() {
    let env = Env::start().await;
    let response = env
        .post("/api/ai/chat", Some(ALICE))
        .header("x-task-type", "code")
        .json(&chat_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-wws-provider"], "primary");
    assert_eq!(
        response.headers()["x-wws-model"],
        "hf:deepseek-ai/DeepSeek-V3"
    );
    assert_eq!(response.headers()["x-wws-auth-source"], "origin");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "primary answers with hf:deepseek-ai/DeepSeek-V3"
    );

    let upstream = &env.primary.requests()[0];
    assert_eq!(upstream.path_and_query, "/openai/v1/chat/completions");
    assert_eq!(
        upstream.header("authorization"),
        Some(&*format!("Bearer {}", provider::SYNTHETIC_KEY))
    );
    let forwarded = format!(
        "{:?}{}",
        upstream.headers,
        String::from_utf8_lossy(&upstream.body)
    );
    assert!(
        !forwarded.contains(ALICE),
        "the user's token reached the provider"
    );
}

#[tokio::test]
async fn the_second_request_with_a_token_uses_the_session_cache() {
    let env = Env::start().await;
    for expected_source in ["origin", "cache", "cache"] {
        let response = env
            .send_json("/v1/chat/completions", Some(ALICE), &chat_body())
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-wws-auth-source"], expected_source);
    }
    assert_eq!(wws_tests::supabase::user_calls(&env.supabase), 1);
    let supabase_call = &env.supabase.requests()[0];
    assert_eq!(
        supabase_call.header("authorization"),
        Some(&*format!("Bearer {ALICE}"))
    );
}

#[tokio::test]
async fn the_61st_chat_request_in_a_minute_gets_429_with_retry_after() {
    let env = Env::start().await;
    wait_for_window_with(15).await;
    for n in 1..=60 {
        let response = env
            .send_json("/api/ai/chat", Some(ALICE), &chat_body())
            .await;
        assert_eq!(response.status(), 200, "request {n}");
        let remaining = response.headers()["x-ratelimit-remaining"]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(
            remaining,
            (60 - n).to_string(),
            "remaining after request {n}"
        );
    }
    let limited = env
        .send_json("/api/ai/chat", Some(ALICE), &chat_body())
        .await;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // The rest of the window, then one slot's fade (60 s / 60).
    assert!((2..=61).contains(&retry_after), "retry-after {retry_after}");
    assert_eq!(limited.headers()["x-ratelimit-limit"], "60");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_exceeded");
    assert_eq!(env.primary.count(), 60);

    let other_user = env.send_json("/api/ai/chat", Some(BOB), &chat_body()).await;
    assert_eq!(
        other_user.status(),
        200,
        "a second principal has its own limit"
    );
}

#[tokio::test]
async fn other_paths_pass_through_to_the_origin() {
    let env = Env::start().await;
    let response = env
        .post("/api/projects/42?view=full", Some(ALICE))
        .body("payload")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["origin"], true);
    assert_eq!(body["method"], "POST");
    assert_eq!(body["path"], "/api/projects/42?view=full");
    assert_eq!(body["body"], "payload");
    assert_eq!(env.primary.count(), 0);
}

#[tokio::test]
async fn fails_over_to_the_fallback_when_the_primary_errors() {
    let env = Env::start().await;
    env.primary_script
        .push(Step::Status(503, json!({ "error": "overloaded" })));
    let response = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat_body())
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-wws-provider"], "fallback");
    assert_eq!(response.headers()["x-wws-model"], "glm-4-plus");
    let upstream = &env.fallback.requests()[0];
    assert_eq!(upstream.path_and_query, "/api/paas/v4/chat/completions");
    assert_eq!(
        upstream.header("authorization"),
        Some(&*format!("Bearer {}", provider::ZAI_KEY))
    );
}

/// The shipped manifest with one allow-list entry fixed to `literal`, so
/// that variable's value is outside the allow-list.
fn manifest_with_fixed_entry(
    dir: &std::path::Path,
    variable: &str,
    literal: &str,
) -> std::path::PathBuf {
    let root = wws_tests::gateway::manifest();
    let manifest = std::fs::read_to_string(&root)
        .unwrap()
        // The allow-list lines only: `name = "{{ name }}"` must stay.
        .replace(
            &format!("    \"{{{{ {variable} }}}}\",\n"),
            &format!("    \"{literal}\",\n"),
        )
        .replace(
            "source = \"target/wws.wasm\"",
            &format!(
                "source = \"{}\"",
                root.parent().unwrap().join("target/wws.wasm").display()
            ),
        );
    let path = dir.join("spin.toml");
    std::fs::write(&path, manifest).unwrap();
    path
}

#[tokio::test]
async fn outbound_calls_outside_the_allow_list_are_blocked() {
    // The fallback URL points at a live mock, but its host is not allowed:
    // the guest must see an error instead of reaching it.
    let dir = tempfile::tempdir().unwrap();
    let env = Env::start_from(
        manifest_with_fixed_entry(dir.path(), "fallback_url", "https://api.z.ai"),
        &[],
        Store::Memory,
    )
    .await;
    env.primary_script.push(Step::Status(500, json!({})));
    let response = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat_body())
        .await;
    assert_eq!(response.status(), 502);
    assert_eq!(env.fallback.count(), 0);
}

#[tokio::test]
async fn a_denied_host_is_a_configuration_error_not_a_provider_failure() {
    // Only the fallback is configured, and the host refuses its address:
    // every request must name the variable to fix, and the refusals must
    // never open the fallback's circuit (one failure would, here).
    let dir = tempfile::tempdir().unwrap();
    let env = Env::start_from(
        manifest_with_fixed_entry(dir.path(), "fallback_url", "https://api.z.ai"),
        &[("synthetic_api_key", ""), ("breaker_failures", "1")],
        Store::Memory,
    )
    .await;
    for _ in 0..3 {
        let response = env
            .send_json("/v1/chat/completions", Some(ALICE), &chat_body())
            .await;
        assert_eq!(response.status(), 502);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "upstream_not_allowed", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("fallback_url"), "{message}");
    }
    assert_eq!(env.fallback.count(), 0);
}

#[tokio::test]
async fn health_and_check_report_an_upstream_variable_with_a_path() {
    // wws-host refuses such a value at start-up (its allow-list entry is
    // invalid); the component's own check is what `spin up` users see.
    let env = Env::start().await;
    let response = env.get("/api/wws/health", None).send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["config"]["problems"], json!([]), "{body}");
    let dir = tempfile::tempdir().unwrap();
    let loose = Env::start_from(
        manifest_with_fixed_entry(dir.path(), "origin_url", "http://127.0.0.1:9"),
        &[("origin_url", "https://vps.example/api")],
        Store::Memory,
    )
    .await;
    let response = loose.get("/api/wws/health", None).send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "degraded", "{body}");
    let problem = body["config"]["problems"][0].as_str().unwrap_or_default();
    assert!(
        problem.starts_with("origin_url must not have a path"),
        "{body}"
    );
    let refused = Gateway::start_with(
        wws_tests::gateway::manifest(),
        HashMap::from([(
            "origin_url".to_string(),
            "https://vps.example/api".to_string(),
        )]),
        Store::Memory,
    )
    .await
    .err()
    .expect("an origin_url with a path must stop start-up")
    .to_string();
    assert!(
        refused.contains("allowed_outbound_hosts entry \"{{ origin_url }}\"")
            && refused.contains("must not include a path"),
        "{refused}"
    );
}

#[tokio::test]
async fn missing_providers_give_a_clear_error() {
    let env = Env::start_with(
        &[("synthetic_api_key", ""), ("zai_api_key", "")],
        Store::Memory,
    )
    .await;
    let response = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat_body())
        .await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "provider_not_configured");
}

#[tokio::test]
async fn a_missing_required_variable_fails_start_up_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(wws_tests::gateway::manifest())
        .unwrap()
        .replace(
            "origin_url = { default = \"http://self\",",
            "origin_url = { required = true,",
        )
        .replace("source = \"target/wws.wasm\"", "source = \"missing.wasm\"");
    let path = dir.path().join("spin.toml");
    std::fs::write(&path, manifest).unwrap();
    let error = Gateway::start_with(path, Default::default(), Store::Memory)
        .await
        .err()
        .expect("start-up must fail")
        .to_string();
    assert!(error.contains("origin_url"), "{error}");
    assert!(error.contains("SPIN_VARIABLE_ORIGIN_URL"), "{error}");
}

/// Provider front ends may refuse chunked uploads (411): a buffered body
/// goes with its `Content-Length`, never `Transfer-Encoding: chunked`.
#[tokio::test]
async fn provider_requests_carry_a_content_length() {
    let env = Env::start().await;
    let response = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat_body())
        .await;
    assert_eq!(response.status(), 200);
    let sent = &env.primary.requests()[0];
    let length: usize = sent
        .header("content-length")
        .expect("a Content-Length")
        .parse()
        .unwrap();
    assert_eq!(length, sent.body.len());
    assert_eq!(sent.header("transfer-encoding"), None);
}
