//! OpenAI-compatible provider mock: answers chat completions (JSON or SSE)
//! and can be scripted to fail.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::mock::{self, Body, MockServer, Recorded};

pub const SYNTHETIC_KEY: &str = "sk-synthetic-test";
pub const ZAI_KEY: &str = "sk-zai-test";

/// What the next request gets; once the script is empty, a normal answer.
#[derive(Debug, Clone)]
pub enum Step {
    Status(u16, serde_json::Value),
}

#[derive(Clone, Default)]
pub struct Script {
    steps: Arc<Mutex<VecDeque<Step>>>,
    total_tokens: Arc<Mutex<Option<u64>>>,
}

/// Tokens reported in `usage` unless [`Script::report_usage`] says otherwise.
pub const DEFAULT_TOTAL_TOKENS: u64 = 15;

impl Script {
    pub fn push(&self, step: Step) {
        self.steps.lock().expect("script").push_back(step);
    }

    /// Makes every later answer report `total` tokens used.
    pub fn report_usage(&self, total: u64) {
        *self.total_tokens.lock().expect("script") = Some(total);
    }

    fn usage(&self) -> serde_json::Value {
        let total = self
            .total_tokens
            .lock()
            .expect("script")
            .unwrap_or(DEFAULT_TOTAL_TOKENS);
        let prompt = total * 2 / 3;
        json!({ "prompt_tokens": prompt, "completion_tokens": total - prompt, "total_tokens": total })
    }

    fn next(&self) -> Option<Step> {
        self.steps.lock().expect("script").pop_front()
    }
}

/// A provider that requires `api_key` and names itself `name` in answers.
pub async fn start(name: &'static str, api_key: &'static str) -> (MockServer, Script) {
    let script = Script::default();
    let steps = script.clone();
    let server = MockServer::start(Arc::new(move |request| {
        answer(name, api_key, &steps, request)
    }))
    .await;
    (server, script)
}

fn answer(name: &str, api_key: &str, script: &Script, request: &Recorded) -> hyper::Response<Body> {
    if request.header("authorization") != Some(&format!("Bearer {api_key}")) {
        return mock::json(401, json!({ "error": { "message": "bad key" } }));
    }
    if let Some(Step::Status(status, body)) = script.next() {
        return mock::json(status, body);
    }
    let body = request.json();
    let model = body["model"].as_str().unwrap_or("unknown").to_string();
    let content = format!("{name} answers with {model}");
    if body["stream"] == json!(true) {
        let mut events = String::new();
        for word in content.split(' ') {
            let chunk = json!({
                "object": "chat.completion.chunk",
                "model": model,
                "choices": [{ "index": 0, "delta": { "content": format!("{word} ") } }],
            });
            events.push_str(&format!("data: {chunk}\n\n"));
        }
        if body["stream_options"]["include_usage"] == json!(true) {
            let chunk = json!({
                "object": "chat.completion.chunk",
                "model": model,
                "choices": [],
                "usage": script.usage(),
            });
            events.push_str(&format!("data: {chunk}\n\n"));
        }
        events.push_str("data: [DONE]\n\n");
        return mock::full(200, "text/event-stream", events);
    }
    mock::json(
        200,
        json!({
            "id": "chatcmpl-mock",
            "object": "chat.completion",
            "model": model,
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": content },
                "finish_reason": "stop",
            }],
            "usage": script.usage(),
        }),
    )
}
