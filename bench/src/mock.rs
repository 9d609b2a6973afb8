//! The upstream every scenario talks to: an OpenAI-compatible provider,
//! Supabase's `/auth/v1/user` and an origin serving `GET /site/...`, on
//! loopback, answering after a fixed latency. Streams send `chunks` events
//! `chunk_gap` apart.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;

pub const PROVIDER_KEY: &str = "bench-provider-key";
pub const USER_TOKEN: &str = "bench-user-token";
/// Supabase accepts every token with this prefix as a user of its own, so
/// the soak can act as many principals.
pub const USER_PREFIX: &str = "bench-user-";
/// Origin pages that a shared cache may keep, and ones it may not.
pub const CACHEABLE_PAGE: &str = "/site/static/";
pub const UNCACHEABLE_PAGE: &str = "/site/live/";

#[derive(Clone, Copy)]
pub struct Shape {
    pub latency: Duration,
    pub chunks: usize,
    pub chunk_gap: Duration,
}

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

pub async fn start(shape: Shape) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let service = hyper::service::service_fn(move |request| async move {
                Ok::<_, Infallible>(answer(request, shape).await)
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
    Ok(addr)
}

async fn answer(request: hyper::Request<Incoming>, shape: Shape) -> hyper::Response<Body> {
    let path = request.uri().path().to_string();
    let is_get = request.method() == hyper::Method::GET;
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if !shape.latency.is_zero() {
        tokio::time::sleep(shape.latency).await;
    }
    if path == "/auth/v1/user" {
        let Some(user) = authorization
            .strip_prefix("Bearer ")
            .filter(|token| token.starts_with(USER_PREFIX))
        else {
            return full(401, "application/json", r#"{"msg":"invalid JWT"}"#.into());
        };
        let user = json!({ "id": user, "email": "bench@example.com", "role": "authenticated" });
        return full(200, "application/json", user.to_string().into());
    }
    if is_get && path.starts_with("/site/") {
        return page(&path);
    }
    if authorization != format!("Bearer {PROVIDER_KEY}") {
        return full(
            401,
            "application/json",
            r#"{"error":{"message":"bad key"}}"#.into(),
        );
    }
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if request["stream"] == json!(true) {
        return stream(shape);
    }
    let completion = json!({
        "id": "chatcmpl-bench", "object": "chat.completion", "model": request["model"],
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": "benchmark answer" }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14 },
    });
    full(200, "application/json", completion.to_string().into())
}

/// The origin: a page naming its path, cacheable or not by its prefix.
fn page(path: &str) -> hyper::Response<Body> {
    let cache_control = if path.starts_with(CACHEABLE_PAGE) {
        "max-age=30"
    } else {
        "no-store"
    };
    hyper::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("cache-control", cache_control)
        .body(Full::new(Bytes::from(json!({ "page": path }).to_string())).boxed())
        .expect("valid response")
}

fn stream(shape: Shape) -> hyper::Response<Body> {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Bytes>(4);
    tokio::spawn(async move {
        for index in 0..shape.chunks {
            let chunk = json!({ "object": "chat.completion.chunk",
                "choices": [{ "index": 0, "delta": { "content": format!("t{index} ") } }] });
            if sender
                .send(Bytes::from(format!("data: {chunk}\n\n")))
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(shape.chunk_gap).await;
        }
        let _ = sender.send(Bytes::from_static(b"data: [DONE]\n\n")).await;
    });
    hyper::Response::builder()
        .status(200)
        .header("content-type", "text/event-stream")
        .body(frames(receiver).boxed())
        .expect("valid response")
}

/// A body that sends each chunk the moment it is produced.
fn frames(
    receiver: tokio::sync::mpsc::Receiver<Bytes>,
) -> impl hyper::body::Body<Data = Bytes, Error = Infallible> + Send + 'static {
    struct Frames(tokio::sync::mpsc::Receiver<Bytes>);
    impl hyper::body::Body for Frames {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            context: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            self.0
                .poll_recv(context)
                .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
        }
    }
    Frames(receiver)
}

fn full(status: u16, content_type: &str, body: Bytes) -> hyper::Response<Body> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(body).boxed())
        .expect("valid response")
}

/// Points the app at the mock; limits high enough never to refuse the load.
pub fn variables(upstream: &str) -> Vec<(String, String)> {
    let limits = json!({ "default": 1_000_000_000u64, "/v1/chat/completions": 1_000_000_000u64,
                         "tokens": { "per_minute": 1_000_000_000_000u64 } });
    variables_with_limits(upstream, &limits)
}

/// The variables that send providers and Supabase to the mock at
/// `upstream`, with `rate_limits` set to `limits`.
pub fn variables_with_limits(upstream: &str, limits: &serde_json::Value) -> Vec<(String, String)> {
    [
        ("synthetic_api_key", PROVIDER_KEY.to_string()),
        ("zai_api_key", PROVIDER_KEY.to_string()),
        ("primary_url", upstream.to_string()),
        ("fallback_url", upstream.to_string()),
        ("supabase_url", upstream.to_string()),
        ("supabase_anon_key", "bench-anon-key".to_string()),
        ("rate_limits", limits.to_string()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect()
}
