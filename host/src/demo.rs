//! `wws-host up --demo`: built-in loopback stand-ins for the AI providers and
//! Supabase, so the whole pipeline can be tried without any account or key.
//!
//! The provider answers OpenAI-style chat completions (JSON, or SSE when
//! `stream: true`) by echoing the last user message; the identity provider
//! accepts exactly one token, [`DEMO_TOKEN`].

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
    if !path.ends_with("/chat/completions") || authorization != format!("Bearer {DEMO_KEY}") {
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
    if body["stream"] == json!(true) {
        return stream(model, text);
    }
    json_response(
        200,
        json!({
            "id": "chatcmpl-demo",
            "object": "chat.completion",
            "model": model,
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": said.len() / 4 + 1, "completion_tokens": text.len() / 4 + 1, "total_tokens": (said.len() + text.len()) / 4 + 2 },
        }),
    )
}

/// One SSE event per word, 50 ms apart, like a model typing.
fn stream(model: String, text: String) -> hyper::Response<Body> {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(4);
    tokio::spawn(async move {
        for word in text.split_inclusive(' ') {
            let chunk = json!({ "object": "chat.completion.chunk", "model": model, "choices": [{ "index": 0, "delta": { "content": word } }] });
            let event = Frame::data(Bytes::from(format!("data: {chunk}\n\n")));
            if sender.send(Ok(event)).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = sender
            .send(Ok(Frame::data(Bytes::from_static(b"data: [DONE]\n\n"))))
            .await;
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
