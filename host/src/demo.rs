//! `wws-host up --demo`: built-in loopback stand-ins for the AI providers and
//! Supabase, so the whole pipeline can be tried without any account or key.
//!
//! The provider answers OpenAI-style chat completions and Anthropic-style
//! messages (JSON, or SSE when `stream: true`) by echoing the last user
//! message; the identity provider accepts exactly one token, [`DEMO_TOKEN`].

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

pub const DEMO_TOKEN: &str = "demo-token";
const DEMO_KEY: &str = "demo-key";

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// Starts the stand-ins and returns the variables that point WWS at them.
pub async fn start() -> anyhow::Result<HashMap<String, String>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = hyper::service::service_fn(|request| async {
                Ok::<_, Infallible>(answer(request).await)
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
    Ok(HashMap::from([
        ("synthetic_api_key".into(), DEMO_KEY.into()),
        ("zai_api_key".into(), DEMO_KEY.into()),
        ("primary_url".into(), base.clone()),
        ("primary_openai_path".into(), "/primary/v1".into()),
        ("fallback_url".into(), base.clone()),
        ("fallback_openai_path".into(), "/fallback/v4".into()),
        ("supabase_url".into(), base),
        ("supabase_anon_key".into(), DEMO_KEY.into()),
    ]))
}

async fn answer(request: hyper::Request<Incoming>) -> hyper::Response<Body> {
    let path = request.uri().path().to_string();
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if path == "/auth/v1/user" {
        return if authorization == format!("Bearer {DEMO_TOKEN}") {
            json_response(
                200,
                json!({ "id": "demo-user", "email": "demo@example.com", "role": "authenticated" }),
            )
        } else {
            json_response(401, json!({ "msg": "invalid JWT" }))
        };
    }
    let messages_api = path.ends_with("/v1/messages");
    if !(path.ends_with("/chat/completions") || messages_api)
        || authorization != format!("Bearer {DEMO_KEY}")
    {
        return json_response(404, json!({ "error": { "message": "not found" } }));
    }
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = body["model"].as_str().unwrap_or("demo").to_string();
    let said = body["messages"]
        .as_array()
        .and_then(|messages| messages.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|message| message["content"].as_str())
        .unwrap_or("")
        .to_string();
    let text = format!("Demo answer from {model}: you said \"{said}\"");
    let (input, output) = (said.len() / 4 + 1, text.len() / 4 + 1);
    let streamed = body["stream"] == json!(true);
    if messages_api {
        if streamed {
            return stream(message_events(&model, &text, input, output));
        }
        return json_response(
            200,
            json!({
                "id": "msg_demo", "type": "message", "role": "assistant", "model": model,
                "content": [{ "type": "text", "text": text }],
                "stop_reason": "end_turn", "stop_sequence": null,
                "usage": { "input_tokens": input, "output_tokens": output },
            }),
        );
    }
    if streamed {
        return stream(chunk_events(&model, &text));
    }
    json_response(
        200,
        json!({
            "id": "chatcmpl-demo",
            "object": "chat.completion",
            "model": model,
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output },
        }),
    )
}

/// A chat completion stream: one chunk per word, then `[DONE]`.
fn chunk_events(model: &str, text: &str) -> Vec<String> {
    let mut events: Vec<String> = text
        .split_inclusive(' ')
        .map(|word| {
            let chunk = json!({ "object": "chat.completion.chunk", "model": model, "choices": [{ "index": 0, "delta": { "content": word } }] });
            format!("data: {chunk}\n\n")
        })
        .collect();
    events.push("data: [DONE]\n\n".into());
    events
}

/// A Messages API stream: its named events, one text delta per word.
fn message_events(model: &str, text: &str, input: usize, output: usize) -> Vec<String> {
    let event = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    let mut events = vec![
        event(
            "message_start",
            json!({ "type": "message_start", "message": { "id": "msg_demo", "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": { "input_tokens": input, "output_tokens": 1 } } }),
        ),
        event(
            "content_block_start",
            json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "text", "text": "" } }),
        ),
    ];
    events.extend(text.split_inclusive(' ').map(|word| {
        event(
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": word } }),
        )
    }));
    events.push(event(
        "content_block_stop",
        json!({ "type": "content_block_stop", "index": 0 }),
    ));
    events.push(event(
        "message_delta",
        json!({ "type": "message_delta", "delta": { "stop_reason": "end_turn", "stop_sequence": null }, "usage": { "output_tokens": output } }),
    ));
    events.push(event("message_stop", json!({ "type": "message_stop" })));
    events
}

/// The events 50 ms apart, like a model typing.
fn stream(events: Vec<String>) -> hyper::Response<Body> {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(4);
    tokio::spawn(async move {
        for event in events {
            if sender
                .send(Ok(Frame::data(Bytes::from(event))))
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let body = StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(receiver));
    hyper::Response::builder()
        .header("content-type", "text/event-stream")
        .body(BodyExt::boxed(body))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new()).boxed()))
}

fn json_response(status: u16, value: Value) -> hyper::Response<Body> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(value.to_string())).boxed())
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new()).boxed()))
}
