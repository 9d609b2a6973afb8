//! A loopback HTTP server that records every request and answers with a
//! handler, the base of every mock upstream.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A mock's response body; an error frame aborts the connection mid-body.
pub type Body = BoxBody<Bytes, BodyError>;
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// Put in a response's extensions to hold its head back this long.
#[derive(Debug, Clone, Copy)]
pub struct Delay(pub std::time::Duration);

/// One request as the mock saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path_and_query: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

pub type Handler = Arc<dyn Fn(&Recorded) -> hyper::Response<Body> + Send + Sync>;

/// A running mock; stops when dropped, closing its open connections too,
/// so a client's kept-alive connection cannot outlive the "server".
pub struct MockServer {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    /// When each connection ended, in order: how tests see the gateway
    /// give up on an upstream call.
    closed: Arc<Mutex<Vec<std::time::Instant>>>,
    _shutdown: tokio::sync::watch::Sender<()>,
}

impl MockServer {
    pub async fn start(handler: Handler) -> Self {
        Self::start_at("127.0.0.1:0".parse().expect("loopback"), handler).await
    }

    /// On a given address: an upstream that comes back where it was.
    pub async fn start_at(addr: SocketAddr, handler: Handler) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind mock");
        let addr = listener.local_addr().expect("mock address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (shutdown, mut stopped) = tokio::sync::watch::channel(());
        let recorded = requests.clone();
        let closed = Arc::new(Mutex::new(Vec::new()));
        let closings = closed.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok(accepted) => accepted,
                        Err(_) => continue,
                    },
                    _ = stopped.changed() => return,
                };
                let handler = handler.clone();
                let recorded = recorded.clone();
                let service = hyper::service::service_fn(
                    move |request: hyper::Request<hyper::body::Incoming>| {
                        let handler = handler.clone();
                        let recorded = recorded.clone();
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let request = Recorded {
                                method: parts.method.to_string(),
                                path_and_query: parts
                                    .uri
                                    .path_and_query()
                                    .map(|pq| pq.to_string())
                                    .unwrap_or_default(),
                                headers: parts.headers,
                                body,
                            };
                            let response = handler(&request);
                            recorded.lock().expect("mock log").push(request);
                            if let Some(Delay(delay)) = response.extensions().get::<Delay>() {
                                tokio::time::sleep(*delay).await;
                            }
                            Ok::<_, Infallible>(response)
                        }
                    },
                );
                let mut closing = stopped.clone();
                let closings = closings.clone();
                tokio::spawn(async move {
                    let connection =
                        http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = connection => {}
                        _ = closing.changed() => {}
                    }
                    if let Ok(mut closings) = closings.lock() {
                        closings.push(std::time::Instant::now());
                    }
                });
            }
        });
        Self {
            addr,
            requests,
            closed,
            _shutdown: shutdown,
        }
    }

    /// When the connections that have ended so far ended.
    pub fn closed_connections(&self) -> Vec<std::time::Instant> {
        self.closed.lock().expect("mock log").clone()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("mock log").clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().expect("mock log").len()
    }
}

pub fn full(status: u16, content_type: &str, body: impl Into<Bytes>) -> hyper::Response<Body> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(
            http_body_util::Full::new(body.into())
                .map_err(|never| match never {})
                .boxed(),
        )
        .expect("valid mock response")
}

pub fn json(status: u16, value: serde_json::Value) -> hyper::Response<Body> {
    full(status, "application/json", value.to_string())
}

/// A body sent as `chunks` with `gap` between them; `then_fail` ends it with
/// an aborted connection instead of a clean end.
pub fn chunked(chunks: Vec<String>, gap: std::time::Duration, then_fail: bool) -> Body {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, BodyError>>(4);
    tokio::spawn(async move {
        for chunk in chunks {
            if sender
                .send(Ok(Frame::data(Bytes::from(chunk))))
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(gap).await;
        }
        if then_fail {
            let _ = sender.send(Err("mock aborts the body".into())).await;
        }
    });
    let frames = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|frame| (frame, receiver))
    });
    StreamBody::new(frames).boxed()
}
