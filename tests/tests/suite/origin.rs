//! Origin pass-through: only ever to `origin_url`, one hop's headers dropped,
//! the client described in `X-Forwarded-*`.

use serde_json::Value;
use wws_tests::gateway::{ALICE, Env};

/// Sends raw HTTP/1.1, for request shapes an HTTP client will not produce.
async fn raw(env: &Env, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = env.gateway.url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn hop_headers_are_dropped_and_the_client_is_described() {
    let env = Env::start().await;
    let echoed: Value = env
        .get("/api/projects", Some(ALICE))
        .header("connection", "x-hop-secret")
        .header("x-hop-secret", "for this hop only")
        .header("x-forwarded-for", "198.51.100.7")
        .header("x-custom", "kept")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let headers = &echoed["headers"];
    assert_eq!(headers["x-custom"], "kept");
    assert!(headers.get("x-hop-secret").is_none(), "{headers}");
    assert_eq!(headers["x-forwarded-for"], "198.51.100.7, 127.0.0.1");
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert!(
        headers
            .as_object()
            .unwrap()
            .keys()
            .all(|name| !name.starts_with("spin-")),
        "{headers}"
    );
}

#[tokio::test]
async fn absolute_form_and_host_tricks_still_reach_only_the_origin() {
    let env = Env::start().await;
    let absolute = raw(
        &env,
        &format!(
            "GET http://169.254.169.254/latest/meta-data HTTP/1.1\r\nHost: 169.254.169.254\r\n\
             Authorization: Bearer {ALICE}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert!(absolute.starts_with("HTTP/1.1 200"), "{absolute}");
    let host_trick = raw(
        &env,
        &format!(
            "GET //evil.example/x HTTP/1.1\r\nHost: evil.example\r\n\
             Authorization: Bearer {ALICE}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert!(host_trick.starts_with("HTTP/1.1 200"), "{host_trick}");
    let paths: Vec<String> = env
        .origin
        .requests()
        .iter()
        .map(|request| request.path_and_query.clone())
        .collect();
    // `//` merged as the origin would merge it: still a path on the origin.
    assert_eq!(paths, ["/latest/meta-data", "/evil.example/x"]);
}

#[tokio::test]
async fn a_target_that_is_not_a_path_is_refused() {
    let env = Env::start().await;
    let response = raw(
        &env,
        "OPTIONS * HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(response.contains("must be a path"), "{response}");
    assert_eq!(env.origin.count(), 0);
}

#[tokio::test]
async fn uploads_stream_to_the_origin_within_the_body_limit() {
    let env = Env::start_with(
        &[("max_body_bytes", "100000")],
        wws_tests::gateway::Store::Memory,
    )
    .await;
    let upload = "u".repeat(90_000);
    let echoed: Value = env
        .post("/api/upload", Some(ALICE))
        .body(upload.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(echoed["body"].as_str().map(str::len), Some(90_000));

    // No Content-Length: the limit is enforced while streaming.
    let chunks: Vec<Result<String, std::io::Error>> =
        (0..30).map(|_| Ok("x".repeat(10_000))).collect();
    let chunked = env
        .post("/api/upload", Some(ALICE))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(chunked.status(), 413);
    let body: Value = chunked.json().await.unwrap();
    assert_eq!(body["error"]["type"], "request_too_large");
    let partial = &env.origin.requests()[1];
    assert!(
        partial.body.len() < 300_000,
        "the oversized upload was cut off, never delivered whole"
    );
}
