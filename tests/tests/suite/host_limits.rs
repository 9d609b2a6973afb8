//! Issue 15 (availability) and 22 (cancellation): what wws-host holds a
//! client and a guest to. Slow heads and stalled bodies are cut off, one
//! address cannot take every instance or socket, a guest that never answers
//! or never stops computing is ended, and a client that leaves takes its
//! upstream calls with it.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wws_tests::gateway::{Env, Gateway, Limits, Store};
use wws_tests::provider::Step;
use wws_tests::raw_http::{self, RawReply, connect_from, exchange_on};

const ATTACKER: [u8; 4] = [127, 0, 0, 1];
const NEIGHBOUR: [u8; 4] = [127, 0, 0, 2];

fn chat_request(body_length: usize) -> Vec<u8> {
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: gateway.test\r\n\
         Authorization: Bearer token-alice\r\nContent-Type: application/json\r\n\
         Content-Length: {body_length}\r\n\r\n"
    )
    .into_bytes()
}

fn health() -> Vec<u8> {
    raw_http::request("GET /api/wws/health", &[], b"")
}

/// Reads from `stream` until the server closes it; how long that took.
async fn until_closed(stream: &mut tokio::net::TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut sink = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut sink))
        .await
        .ok()
        .map(|_| started.elapsed())
}

fn assert_busy(reply: &RawReply, case: &str) {
    assert_eq!(reply.status, Some(503), "{case}");
    assert_eq!(reply.json()["error"]["type"], "server_busy", "{case}");
    let head = String::from_utf8_lossy(&reply.raw).to_ascii_lowercase();
    assert!(head.contains("retry-after: 1\r\n"), "{case}: {head}");
}

#[tokio::test]
async fn a_half_sent_head_is_closed_at_the_header_timeout() {
    let limits = Limits {
        header_read: Duration::from_secs(1),
        ..Limits::default()
    };
    let env = Env::start_limited(&[], limits).await;
    let mut stream = connect_from(&env.gateway.url, ATTACKER).await;
    stream
        .write_all(b"GET /api/wws/health HTTP/1.1\r\nHost: gateway.test\r\n")
        .await
        .expect("write part of a head");
    let closed = until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(
        closed.is_some_and(|took| took < Duration::from_secs(3)),
        "a head that never ends is dropped near the 1 s limit: {closed:?}"
    );
}

#[tokio::test]
async fn a_stalled_body_is_cut_off_and_its_instance_freed() {
    let limits = Limits {
        body_idle: Duration::from_secs(1),
        requests_per_client: 1,
        ..Limits::default()
    };
    let env = Env::start_limited(&[], limits).await;
    let started = Instant::now();
    let mut request = chat_request(100);
    request.push(b'{');
    let reply = exchange_on(
        connect_from(&env.gateway.url, ATTACKER).await,
        &request,
        Duration::from_secs(5),
    )
    .await
    .expect("the gateway answers a body that stopped");
    assert_eq!(reply.status, Some(400), "{:?}", reply.json());
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(env.primary.count(), 0, "nothing half-read goes upstream");
    // The one instance this address may hold is free again.
    let again = exchange_on(
        connect_from(&env.gateway.url, ATTACKER).await,
        &health(),
        Duration::from_secs(5),
    )
    .await
    .expect("health answers");
    assert_eq!(again.status, Some(200));
}

#[tokio::test]
async fn one_address_cannot_take_every_instance() {
    let limits = Limits {
        requests_per_client: 3,
        ..Limits::default()
    };
    let env = Env::start_limited(&[], limits).await;
    // Three requests whose bodies never finish hold this address's share.
    let mut holders = Vec::new();
    for _ in 0..3 {
        let mut stream = connect_from(&env.gateway.url, ATTACKER).await;
        let mut request = chat_request(100);
        request.push(b'{');
        stream.write_all(&request).await.expect("write");
        holders.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = exchange_on(
        connect_from(&env.gateway.url, ATTACKER).await,
        &health(),
        Duration::from_secs(5),
    )
    .await
    .expect("a fourth request is answered at once");
    assert_busy(&refused, "over the per-address share");

    let started = Instant::now();
    let neighbour = exchange_on(
        connect_from(&env.gateway.url, NEIGHBOUR).await,
        &health(),
        Duration::from_secs(5),
    )
    .await
    .expect("another address is served");
    assert_eq!(neighbour.status, Some(200));
    assert!(started.elapsed() < Duration::from_secs(1));
    drop(holders);
}

#[tokio::test]
async fn instances_running_out_is_503_with_retry_after() {
    let limits = Limits {
        instances: 2,
        ..Limits::default()
    };
    let env = Env::start_limited(&[], limits).await;
    let mut holders = Vec::new();
    for source in [[127, 0, 0, 3], [127, 0, 0, 4]] {
        let mut stream = connect_from(&env.gateway.url, source).await;
        let mut request = chat_request(100);
        request.push(b'{');
        stream.write_all(&request).await.expect("write");
        holders.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = exchange_on(
        connect_from(&env.gateway.url, NEIGHBOUR).await,
        &health(),
        Duration::from_secs(5),
    )
    .await
    .expect("answered at once");
    assert_busy(&refused, "every instance in use");
    drop(holders);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let served = exchange_on(
        connect_from(&env.gateway.url, NEIGHBOUR).await,
        &health(),
        Duration::from_secs(5),
    )
    .await
    .expect("answered");
    assert_eq!(
        served.status,
        Some(200),
        "instances come back with their clients"
    );
}

#[tokio::test]
async fn connections_over_the_per_address_cap_get_one_503_and_close() {
    let limits = Limits {
        connections_per_client: 3,
        ..Limits::default()
    };
    let env = Env::start_limited(&[], limits).await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(connect_from(&env.gateway.url, ATTACKER).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = exchange_on(
        connect_from(&env.gateway.url, ATTACKER).await,
        &health(),
        Duration::from_secs(5),
    )
    .await
    .expect("answered and closed");
    assert_busy(&refused, "over the per-address connection cap");
    let neighbour = exchange_on(
        connect_from(&env.gateway.url, NEIGHBOUR).await,
        &health(),
        Duration::from_secs(5),
    )
    .await
    .expect("answered");
    assert_eq!(neighbour.status, Some(200));
    drop(idle);
}

#[tokio::test]
async fn an_answer_that_never_comes_is_504_and_the_upstream_call_ends() {
    let limits = Limits {
        response_head: Duration::from_secs(1),
        ..Limits::default()
    };
    let env = Env::start_limited(&[("first_byte_timeout_ms", "20000")], limits).await;
    env.primary_script
        .push(Step::Delay(Duration::from_secs(10)));
    let started = Instant::now();
    let response = env
        .send_json(
            "/v1/chat/completions",
            Some("token-alice"),
            &json!({ "messages": [{ "role": "user", "content": "hi" }] }),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(response.status(), 504);
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(body["error"]["type"], "gateway_timeout");
    assert!(took < Duration::from_secs(3), "{took:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !env.primary.closed_connections().is_empty(),
        "the stopped guest's provider call is closed, not left to run 10 s"
    );
    assert_eq!(
        env.fallback.count(),
        0,
        "nobody asks the fallback for nobody"
    );
}

#[tokio::test]
async fn a_client_that_leaves_ends_the_provider_call_and_the_failover() {
    let env = Env::start_with(&[("first_byte_timeout_ms", "2000")], Store::Memory).await;
    env.primary_script.push(Step::Delay(Duration::from_secs(5)));
    let mut stream = connect_from(&env.gateway.url, ATTACKER).await;
    let body = json!({ "messages": [{ "role": "user", "content": "hi" }] }).to_string();
    let mut request = chat_request(body.len());
    request.extend_from_slice(body.as_bytes());
    stream.write_all(&request).await.expect("write");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let left = Instant::now();
    drop(stream);
    let mut cancelled = None;
    while left.elapsed() < Duration::from_secs(4) {
        if let Some(closed) = env.primary.closed_connections().first() {
            cancelled = Some(closed.duration_since(left));
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("provider call ended {cancelled:?} after the client left");
    assert!(
        cancelled.is_some_and(|took| took < Duration::from_secs(1)),
        "{cancelled:?}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        env.fallback.count(),
        0,
        "no failover for a client that left"
    );
}

/// A component whose handler computes forever: no real guest does, so it
/// is written out here in the component text format.
const LOOPING_COMPONENT: &str = r#"(component
  (import "wasi:http/types@0.2.6" (instance $types
    (export "incoming-request" (type (sub resource)))
    (export "response-outparam" (type (sub resource)))))
  (alias export $types "incoming-request" (type $incoming-request))
  (alias export $types "response-outparam" (type $response-outparam))
  (core module $spin
    (func (export "handle") (param i32 i32)
      (loop $forever (br $forever))))
  (core instance $running (instantiate $spin))
  (func $handle (param "request" (own $incoming-request))
    (param "response-out" (own $response-outparam))
    (canon lift (core func $running "handle")))
  (instance $handler (export "handle" (func $handle)))
  (export "wasi:http/incoming-handler@0.2.6" (instance $handler)))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_that_computes_forever_is_stopped_and_others_are_served() {
    let app = tempfile::tempdir().expect("temp dir");
    std::fs::write(app.path().join("looping.wat"), LOOPING_COMPONENT).expect("write component");
    std::fs::write(
        app.path().join("spin.toml"),
        "spin_manifest_version = 2\n\n[application]\nname = \"looping\"\n\n\
         [[trigger.http]]\nroute = \"/...\"\ncomponent = \"looping\"\n\n\
         [component.looping]\nsource = \"looping.wat\"\n",
    )
    .expect("write manifest");
    let gateway = Gateway::start_with_limits(
        app.path().join("spin.toml"),
        Limits {
            request: Duration::from_millis(500),
            ..Limits::default()
        },
    )
    .await
    .expect("the looping app loads");
    let client = reqwest::Client::new();
    let started = Instant::now();
    let (first, second) = tokio::join!(
        client.get(gateway.at("/a")).send(),
        client.get(gateway.at("/b")).send()
    );
    let took = started.elapsed();
    for response in [first, second] {
        assert_eq!(response.expect("answered").status(), 500);
    }
    assert!(
        took < Duration::from_secs(3),
        "stopped near the 0.5 s limit: {took:?}"
    );
}
