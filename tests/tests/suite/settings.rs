//! Settings that are set but do not parse: ignored so a typo cannot take
//! the app down, and named in `/api/wws/health` by the component that owns
//! them, so an operator under `spin up` sees them (`wws-host check` fails on
//! them; see host/tests/binary/cli.rs).

use serde_json::{Value, json};
use wws_tests::gateway::{ALICE, Env, Store};

#[tokio::test]
async fn health_names_every_setting_that_does_not_parse_and_requests_still_flow() {
    let env = Env::start_with(
        &[
            ("routing", r#"{"rutes": {"default": ["glm-4-plus"]}}"#),
            ("rate_limits", r#"{"default": "sixty"}"#),
            ("cache_policy", r#"{"/v1/chat/completions": 5}"#),
            ("session_ttl_secs", "an hour"),
            ("default_max_tokens", "lots"),
        ],
        Store::Memory,
    )
    .await;
    let response = env.get("/api/wws/health", None).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "degraded", "{body}");
    let problems: Vec<&str> = body["config"]["problems"]
        .as_array()
        .expect("a list of problems")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for expected in [
        "default_max_tokens is invalid and ignored",
        "auth: session_ttl_secs is invalid and ignored",
        "ratelimit: rate_limits is invalid and ignored",
        "router: routing is invalid and ignored",
        "cache: cache_policy is invalid and ignored",
    ] {
        assert!(
            problems.iter().any(|problem| problem.starts_with(expected)),
            "{expected:?} missing from {problems:?}"
        );
    }
    assert_eq!(problems.len(), 5, "{problems:?}");

    let chat = json!({ "messages": [{ "role": "user", "content": "hello" }] });
    let answer = env
        .send_json("/v1/chat/completions", Some(ALICE), &chat)
        .await;
    assert_eq!(answer.status(), 200, "the defaults apply meanwhile");
}

#[tokio::test]
async fn valid_settings_leave_the_problem_list_empty() {
    let env = Env::start_with(
        &[
            (
                "routing",
                r#"{"routes": {"code": ["glm-4-flash"], "reasoning": ["glm-4-plus"]}}"#,
            ),
            ("session_ttl_secs", "600"),
        ],
        Store::Memory,
    )
    .await;
    let body: Value = env
        .get("/api/wws/health", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["config"]["problems"], json!([]), "{body}");
    assert_eq!(body["status"], "ok", "{body}");
}
