//! Routing through the composed app: task types, context sizes, the
//! `routing` variable, and the headers that explain the choice.

use serde_json::{Value, json};
use wws_tests::gateway::{ALICE, Env, Store, header};

async fn route(env: &Env, task_header: Option<&str>, body: Value) -> reqwest::Response {
    let mut request = env.post("/v1/chat/completions", Some(ALICE)).json(&body);
    if let Some(task) = task_header {
        request = request.header("x-task-type", task);
    }
    request.send().await.expect("gateway answers")
}

fn ask(content: &str) -> Value {
    json!({ "messages": [{ "role": "user", "content": content }] })
}

#[tokio::test]
async fn task_types_pick_the_seed_models() {
    let env = Env::start().await;
    let code = route(&env, Some("implementation"), ask("fix it")).await;
    assert_eq!(header(&code, "x-wws-provider"), "primary");
    assert_eq!(header(&code, "x-wws-model"), "hf:deepseek-ai/DeepSeek-V3");
    assert_eq!(
        header(&code, "x-wws-route-reason"),
        "task implementation -> code"
    );
    assert_eq!(header(&code, "x-wws-attempts"), "1");

    let mut body = ask("why?");
    body["task_type"] = json!("planning");
    let reasoning = route(&env, None, body).await;
    assert_eq!(
        header(&reasoning, "x-wws-model"),
        "hf:moonshotai/Kimi-K2-Thinking"
    );
    let sent = env.primary.requests();
    assert_eq!(sent[1].json()["model"], "hf:moonshotai/Kimi-K2-Thinking");
    assert!(sent[1].json().get("task_type").is_none());
}

#[tokio::test]
async fn prompts_over_128k_tokens_go_to_the_long_context_model() {
    let env = Env::start().await;
    let long = route(&env, Some("code"), ask(&"word ".repeat(80_000))).await;
    assert_eq!(long.status(), 200);
    assert_eq!(header(&long, "x-wws-model"), "glm-4-long");
    assert!(header(&long, "x-wws-route-reason").contains("exceed 128000"));

    let mut explicit = ask("short");
    explicit["context_length"] = json!(200_000);
    let long = route(&env, None, explicit).await;
    assert_eq!(header(&long, "x-wws-model"), "glm-4-long");

    let mut huge = ask("short");
    huge["context_length"] = json!(5_000_000);
    let refused = route(&env, None, huge).await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["type"], "context_length_exceeded");
    assert_eq!(env.primary.count(), 0);
}

#[tokio::test]
async fn the_routing_variable_replaces_the_table() {
    let routing = r#"{"models": {"glm-4.6": {"provider": "fallback", "context_window": 200000}},
                      "routes": {"code": ["glm-4.6", "hf:deepseek-ai/DeepSeek-V3"],
                                 "reasoning": ["glm-4-plus"]}}"#;
    let env = Env::start_with(&[("routing", routing)], Store::Memory).await;
    let code = route(&env, Some("code"), ask("x")).await;
    assert_eq!(header(&code, "x-wws-model"), "glm-4.6");
    assert_eq!(header(&code, "x-wws-provider"), "fallback");

    let models: Value = env
        .get("/v1/models", Some(ALICE))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let glm46 = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|model| model["id"] == "glm-4.6")
        .expect("configured model listed");
    assert_eq!(glm46["context_window"], 200000);
}

#[tokio::test]
async fn an_invalid_routing_variable_falls_back_to_the_seed_table() {
    let env = Env::start_with(
        &[("routing", r#"{"routes": {"code": ["nope"]}}"#)],
        Store::Memory,
    )
    .await;
    let code = route(&env, Some("code"), ask("x")).await;
    assert_eq!(header(&code, "x-wws-model"), "hf:deepseek-ai/DeepSeek-V3");
}
