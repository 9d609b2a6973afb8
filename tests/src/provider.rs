//! Provider mock: answers OpenAI chat completions and, at `.../v1/messages`,
//! Anthropic Messages (JSON or SSE), and can be scripted to fail.

pub mod anthropic;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::mock::{self, Body, MockServer, Recorded};

pub const SYNTHETIC_KEY: &str = "sk-synthetic-test";
pub const ZAI_KEY: &str = "sk-zai-test";

/// What the next request gets; once the script is empty, a normal answer.
#[derive(Debug, Clone)]
pub enum Step {
    /// An answer with this status and JSON body.
    Status(u16, serde_json::Value),
    /// The same, with extra headers such as `Retry-After`.
    StatusWith(u16, Vec<(&'static str, String)>, serde_json::Value),
    /// The normal answer, its head held back this long.
    Delay(std::time::Duration),
    /// An answer with this status and JSON body, held back this long.
    DelayedStatus(std::time::Duration, u16, serde_json::Value),
    /// A 200 event stream that sends this many content events, then breaks
    /// the connection.
    BreakStreamAfter(usize),
    /// A 200 labelled `content_type` whose body is `chunks`, sent `gap`
    /// apart; with `then_fail` the connection breaks after the last chunk
    /// instead of the body ending: garbage, truncation, wrong labels.
    Raw {
        content_type: &'static str,
        chunks: Vec<String>,
        gap: std::time::Duration,
        then_fail: bool,
    },
    /// The normal answer, its SSE events (or, for a plain request, two
    /// halves of its JSON) `gap` apart: a slow provider that keeps talking.
    Drip(std::time::Duration),
}

/// z.ai's 429 body for one of its error codes.
pub fn zai_error(code: &str) -> serde_json::Value {
    json!({ "error": { "code": code, "message": format!("z.ai error {code}") } })
}

#[derive(Clone, Default)]
pub struct Script {
    steps: Arc<Mutex<VecDeque<Step>>>,
    total_tokens: Arc<Mutex<Option<u64>>>,
    /// Keys accepted besides the one the mock was started with (a pool).
    more_keys: Arc<Mutex<Vec<String>>>,
}

/// Tokens reported in `usage` unless [`Script::report_usage`] says otherwise.
pub const DEFAULT_TOTAL_TOKENS: u64 = 15;

impl Script {
    pub fn push(&self, step: Step) {
        self.steps.lock().expect("script").push_back(step);
    }

    /// Accepts `keys` as well, as a provider does each key of a pool.
    pub fn accept_keys(&self, keys: &[&str]) {
        let mut more = self.more_keys.lock().expect("script");
        more.extend(keys.iter().map(|key| key.to_string()));
    }

    fn accepts(&self, presented: Option<&str>, api_key: &str) -> bool {
        presented.is_some_and(|presented| {
            presented == api_key
                || self
                    .more_keys
                    .lock()
                    .expect("script")
                    .iter()
                    .any(|k| k == presented)
        })
    }

    /// Makes every later answer report `total` tokens used.
    pub fn report_usage(&self, total: u64) {
        *self.total_tokens.lock().expect("script") = Some(total);
    }

    fn usage(&self) -> serde_json::Value {
        let (prompt, completion) = self.usage_parts();
        json!({ "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion })
    }

    /// The reported total split into prompt (input) and completion (output).
    fn usage_parts(&self) -> (u64, u64) {
        let total = self
            .total_tokens
            .lock()
            .expect("script")
            .unwrap_or(DEFAULT_TOTAL_TOKENS);
        let prompt = total * 2 / 3;
        (prompt, total - prompt)
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
    let messages = anthropic::is_messages(request);
    if messages && !script.accepts(request.header("x-api-key"), api_key) {
        return mock::json(401, anthropic::unauthorized());
    }
    let bearer = request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer "));
    if !script.accepts(bearer, api_key) {
        return mock::json(401, json!({ "error": { "message": "bad key" } }));
    }
    let delay = match script.next() {
        None => None,
        Some(Step::Status(status, body)) => return mock::json(status, body),
        Some(Step::StatusWith(status, headers, body)) => {
            let mut response = mock::json(status, body);
            for (name, value) in headers {
                let value = value.parse().expect("valid header value");
                response.headers_mut().insert(name, value);
            }
            return response;
        }
        Some(Step::Delay(delay)) => Some(delay),
        Some(Step::DelayedStatus(delay, status, body)) => {
            let mut response = mock::json(status, body);
            response.extensions_mut().insert(mock::Delay(delay));
            return response;
        }
        Some(Step::Raw {
            content_type,
            chunks,
            gap,
            then_fail,
        }) => return streamed(content_type, mock::chunked(chunks, gap, then_fail)),
        Some(Step::Drip(gap)) => return dripped(name, script, request, gap),
        Some(Step::BreakStreamAfter(count)) => {
            let events = if messages {
                let usage = script.usage_parts();
                anthropic::stream_events(name, "broken", usage, Some(count))
            } else {
                content_events(name, "broken")
                    .into_iter()
                    .take(count)
                    .collect()
            };
            let body = mock::chunked(events, std::time::Duration::from_millis(30), true);
            return streamed("text/event-stream", body);
        }
    };
    let mut response = normal_answer(name, script, request);
    if let Some(delay) = delay {
        response.extensions_mut().insert(mock::Delay(delay));
    }
    response
}

/// One `data:` event per word of the answer.
fn content_events(name: &str, model: &str) -> Vec<String> {
    format!("{name} answers with {model}")
        .split(' ')
        .map(|word| {
            let chunk = json!({
                "object": "chat.completion.chunk",
                "model": model,
                "choices": [{ "index": 0, "delta": { "content": format!("{word} ") } }],
            });
            format!("data: {chunk}\n\n")
        })
        .collect()
}

fn streamed(content_type: &str, body: Body) -> hyper::Response<Body> {
    hyper::Response::builder()
        .status(200)
        .header("content-type", content_type)
        .body(body)
        .expect("valid mock response")
}

fn normal_answer(name: &str, script: &Script, request: &Recorded) -> hyper::Response<Body> {
    let body = request.json();
    let model = body["model"].as_str().unwrap_or("unknown").to_string();
    if anthropic::is_messages(request) {
        let usage = script.usage_parts();
        if body["stream"] == json!(true) {
            let events = anthropic::stream_events(name, &model, usage, None);
            return mock::full(200, "text/event-stream", events.concat());
        }
        return mock::json(200, anthropic::message(name, &model, usage));
    }
    if body["stream"] == json!(true) {
        return mock::full(
            200,
            "text/event-stream",
            stream_events(name, script, &body).concat(),
        );
    }
    mock::json(200, completion(name, script, &model))
}

/// The normal answer sent in pieces, `gap` apart.
fn dripped(
    name: &str,
    script: &Script,
    request: &Recorded,
    gap: std::time::Duration,
) -> hyper::Response<Body> {
    let body = request.json();
    if body["stream"] == json!(true) {
        let events = stream_events(name, script, &body);
        return streamed("text/event-stream", mock::chunked(events, gap, false));
    }
    let model = body["model"].as_str().unwrap_or("unknown");
    let whole = completion(name, script, model).to_string();
    let (head, tail) = whole.split_at(whole.len() / 2);
    let halves = vec![head.to_string(), tail.to_string()];
    streamed("application/json", mock::chunked(halves, gap, false))
}

/// The SSE events of a streamed answer: content, usage if asked, `[DONE]`.
fn stream_events(name: &str, script: &Script, body: &serde_json::Value) -> Vec<String> {
    let model = body["model"].as_str().unwrap_or("unknown");
    let mut events = content_events(name, model);
    if body["stream_options"]["include_usage"] == json!(true) {
        let chunk = json!({
            "object": "chat.completion.chunk",
            "model": model,
            "choices": [],
            "usage": script.usage(),
        });
        events.push(format!("data: {chunk}\n\n"));
    }
    events.push("data: [DONE]\n\n".to_string());
    events
}

/// The normal plain answer.
fn completion(name: &str, script: &Script, model: &str) -> serde_json::Value {
    json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "model": model,
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": format!("{name} answers with {model}") },
            "finish_reason": "stop",
        }],
        "usage": script.usage(),
    })
}
