//! Issue 9: hostile input on the wire — oversized heads, bytes that are not
//! UTF-8, CR/LF aimed at upstream headers, conflicting framing, CONNECT and
//! TRACE, path tricks aimed at another host, and bodies the AI routes cannot
//! use. Each is refused with a clear status or passed on harmlessly; nothing
//! reaches a provider or a host other than the origin, none is a 500.
//! (Absolute-form targets and `Host` tricks are in `origin.rs`.)

use std::sync::Arc;

use serde_json::{Value, json};
use wws_tests::gateway::{ALICE, Env, Store, header};
use wws_tests::mock::{self, MockServer};
use wws_tests::raw_http::{RawReply, exchange, request};

const AUTH: &[u8] = b"Authorization: Bearer token-alice";

async fn send(env: &Env, bytes: &[u8]) -> RawReply {
    exchange(&env.gateway.url, bytes).await
}

fn chat_body() -> Vec<u8> {
    json!({ "messages": [{ "role": "user", "content": "hi" }] })
        .to_string()
        .into_bytes()
}

/// What the gateway itself answers with: a JSON error of this status and type.
fn assert_json_error(reply: &RawReply, status: u16, kind: &str, case: &str) {
    assert_eq!(reply.status, Some(status), "{case}: {:?}", lossy(reply));
    assert_eq!(reply.json()["error"]["type"], kind, "{case}");
}

fn lossy(reply: &RawReply) -> String {
    String::from_utf8_lossy(&reply.raw)
        .chars()
        .take(300)
        .collect()
}

/// hyper refuses a head with more than 100 fields or over its ~400 KB read
/// buffer before the component runs. (A head between 128 KiB and that size
/// still reaches the component, and copying it for the origin exceeds
/// wasmtime's 128 KiB field limit: a trap, answered 500. Lowering hyper's
/// `max_buf_size` in wws-host would refuse those with 431 too.)
#[tokio::test]
async fn oversized_heads_are_refused_with_431_and_go_nowhere() {
    let env = Env::start().await;
    let huge = format!("X-Huge: {}", "a".repeat(500 * 1024));
    // Between the host's 64 KiB head limit and wasmtime's field limit: once
    // accepted, these trapped the guest while it copied them for the origin.
    let large = format!("X-Large: {}", "a".repeat(100 * 1024));
    let larger = format!("X-Larger: {}", "a".repeat(200 * 1024));
    let many: Vec<String> = (0..2_000).map(|n| format!("X-Many-{n}: {n}")).collect();
    let many: Vec<&[u8]> = many.iter().map(|line| line.as_bytes()).collect();
    for (case, headers) in [
        ("one 500 KB header", vec![AUTH, huge.as_bytes()]),
        ("one 100 KB header", vec![AUTH, large.as_bytes()]),
        ("one 200 KB header", vec![AUTH, larger.as_bytes()]),
        ("2,000 headers", [&[AUTH][..], &many].concat()),
    ] {
        for target in ["GET /api/projects", "POST /v1/chat/completions"] {
            let reply = send(&env, &request(target, &headers, &chat_body())).await;
            assert_eq!(
                reply.status,
                Some(431),
                "{case} {target}: {:?}",
                lossy(&reply)
            );
        }
    }
    assert_eq!((env.origin.count(), env.primary.count()), (0, 0));
}

/// Spin hands heads of up to ~400 KB to the guest: the component's own
/// limit must answer 431 before any of it is copied or sent on.
#[tokio::test]
async fn the_component_refuses_oversized_heads_itself_under_spins_http() {
    let env = Env::start_spin_http(&[]).await;
    for size in [70 * 1024, 100 * 1024, 200 * 1024] {
        let line = format!("X-Large: {}", "a".repeat(size));
        for target in ["GET /api/projects", "POST /v1/chat/completions"] {
            let reply = send(
                &env,
                &request(target, &[AUTH, line.as_bytes()], &chat_body()),
            )
            .await;
            let case = format!("{size} bytes, {target}");
            assert_json_error(&reply, 431, "request_header_fields_too_large", &case);
        }
    }
    assert_eq!((env.origin.count(), env.primary.count()), (0, 0));
}

/// Spin appends its own `spin-client-addr` after any the client sent: a
/// forged one must not buy an anonymous caller a fresh rate limit.
#[tokio::test]
async fn a_forged_client_address_is_not_trusted_under_spins_http() {
    let env = Env::start_spin_http(&[("rate_limits", r#"{"default": 2}"#)]).await;
    let mut statuses = Vec::new();
    for n in 0..4 {
        let forged = format!("Spin-Client-Addr: 203.0.113.{n}:4242");
        let reply = send(
            &env,
            &request("GET /api/wws/health", &[forged.as_bytes()], b""),
        )
        .await;
        statuses.push(reply.status);
    }
    assert_eq!(statuses, [Some(200), Some(200), Some(429), Some(429)]);
}

#[tokio::test]
async fn bytes_that_are_not_utf8_never_cause_a_500() {
    not_utf8_cases(&Env::start().await).await;
}

/// Spin itself refuses a header value that is not UTF-8 (500, before the
/// component runs: SECURITY.md says what to put in front); UTF-8 text that is
/// no valid token or task name is the component's to handle.
#[tokio::test]
async fn text_that_is_no_token_or_task_name_is_handled_by_the_component_under_spins_http() {
    let env = Env::start_spin_http(&[]).await;
    utf8_text_cases(&env).await;
    let reply = send(
        &env,
        &request("GET /api/projects", &[AUTH, b"X-Legacy: caf\xe9"], b""),
    )
    .await;
    assert_eq!(
        reply.status,
        Some(500),
        "as Spin 4.0.2 answers: {:?}",
        lossy(&reply)
    );
    assert_eq!(env.origin.count(), 0);
}

/// A bearer token in UTF-8 outside a token's characters is no credential
/// (401); a task type in UTF-8 outside a name's characters is ignored (200).
async fn utf8_text_cases(env: &Env) {
    let reply = send(
        env,
        &request(
            "POST /v1/chat/completions",
            &[b"Authorization: Bearer tok\xc3\xa9n"],
            &chat_body(),
        ),
    )
    .await;
    assert_json_error(&reply, 401, "authentication_error", "authorization (UTF-8)");
    let reply = send(
        env,
        &request(
            "POST /v1/chat/completions",
            &[AUTH, b"X-Task-Type: c\xc3\xb6de"],
            &chat_body(),
        ),
    )
    .await;
    assert_eq!(
        reply.status,
        Some(200),
        "task type (UTF-8): {:?}",
        lossy(&reply)
    );
}

async fn not_utf8_cases(env: &Env) {
    // An Authorization value that is not text is no credential at all.
    let reply = send(
        env,
        &request(
            "POST /v1/chat/completions",
            &[b"Authorization: Bearer tok\xffen"],
            &chat_body(),
        ),
    )
    .await;
    assert_json_error(&reply, 401, "authentication_error", "authorization");
    utf8_text_cases(env).await;

    // A task type that is not text is ignored: the default route answers.
    let reply = send(
        env,
        &request(
            "POST /v1/chat/completions",
            &[AUTH, b"X-Task-Type: \xffcode"],
            &chat_body(),
        ),
    )
    .await;
    assert_eq!(reply.status, Some(200), "{:?}", lossy(&reply));
    assert!(
        lossy(&reply).contains("Kimi-K2-Thinking"),
        "{}",
        lossy(&reply)
    );

    // HTTP allows such bytes in header values (obs-text): passed on as is.
    let reply = send(
        env,
        &request("GET /api/projects", &[AUTH, b"X-Legacy: caf\xe9"], b""),
    )
    .await;
    assert_eq!(reply.status, Some(200), "{:?}", lossy(&reply));
    let forwarded = &env.origin.requests()[0];
    assert_eq!(forwarded.headers["x-legacy"].as_bytes(), b"caf\xe9");

    let body = b"{\"messages\":[{\"role\":\"user\",\"content\":\"caf\xe9\"}]}";
    let reply = send(
        env,
        &request(
            "POST /v1/chat/completions",
            &[AUTH, b"Content-Type: application/json"],
            body,
        ),
    )
    .await;
    assert_json_error(&reply, 400, "invalid_request_error", "JSON body");
    assert_eq!(
        env.primary.count(),
        2,
        "only the valid requests were sent on (the ignored task type's too)"
    );
}

#[tokio::test]
async fn cr_and_lf_never_split_a_header_on_the_way_upstream() {
    let env = Env::start().await;
    // Bare CR, bare LF inside a value, and an obsolete folded line: the
    // head is malformed, refused before the gateway sees it.
    let raw_breaks: [(&str, &[u8]); 3] = [
        ("bare CR", b"X-Task-Type: code\rX-Evil: 1"),
        ("NUL", b"X-Task-Type: code\0X-Evil: 1"),
        ("folded line", b"X-Task-Type: code\r\n X-Evil: 1"),
    ];
    for (case, line) in raw_breaks {
        for target in ["POST /v1/chat/completions", "POST /api/projects"] {
            let reply = send(&env, &request(target, &[AUTH, line], &chat_body())).await;
            assert_eq!(
                reply.status,
                Some(400),
                "{case} {target}: {:?}",
                lossy(&reply)
            );
        }
    }
    // Percent-encoded CR/LF stay encoded: text in a path, query or value.
    let encoded = "/api/projects%0d%0aX-Evil:%201?q=%0D%0AX-Evil:%202";
    let reply = send(&env, &request(&format!("GET {encoded}"), &[AUTH], b"")).await;
    assert_eq!(reply.status, Some(200), "{:?}", lossy(&reply));
    let reply = send(
        &env,
        &request(
            "POST /v1/chat/completions?x=%0d%0aX-Evil:%203",
            &[AUTH, b"X-Task-Type: code%0d%0aX-Evil: 4"],
            &chat_body(),
        ),
    )
    .await;
    assert_eq!(reply.status, Some(200), "{:?}", lossy(&reply));

    let origin = env.origin.requests();
    assert_eq!(origin.len(), 1);
    // Normalised (RFC 3986: escapes in capitals), still encoded.
    assert_eq!(
        origin[0].path_and_query,
        "/api/projects%0D%0AX-Evil:%201?q=%0D%0AX-Evil:%202"
    );
    let provider = env.primary.requests();
    assert_eq!(provider.len(), 1);
    assert_eq!(provider[0].path_and_query, "/openai/v1/chat/completions");
    for request in origin.iter().chain(&provider) {
        assert!(
            request.headers.keys().all(|name| name != "x-evil"),
            "{:?}",
            request.headers
        );
    }
}

#[tokio::test]
async fn conflicting_framing_cannot_smuggle_a_second_request() {
    let env = Env::start().await;
    // Transfer-Encoding wins over Content-Length (RFC 9112 6.3): the body
    // is the empty chunked one, and the connection is closed after the
    // answer, so the bytes behind it are never read as a request.
    let hidden = "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: gateway.test\r\n\r\n";
    let smuggle = format!(
        "POST /api/upload HTTP/1.1\r\nHost: gateway.test\r\nAuthorization: Bearer token-alice\r\n\
         Content-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n{hidden}",
        hidden.len()
    );
    let reply = send(&env, smuggle.as_bytes()).await;
    assert_eq!(reply.status, Some(200), "{:?}", lossy(&reply));
    assert_eq!(reply.responses(), 1, "{:?}", lossy(&reply));

    // Framing no server can be sure of is refused outright.
    let refused: [(&str, &[&[u8]]); 4] = [
        (
            "a final encoding that is not chunked",
            &[b"Transfer-Encoding: chunked, identity"],
        ),
        ("an unknown encoding", &[b"Transfer-Encoding: xchunked"]),
        (
            "two different lengths",
            &[b"Content-Length: 5", b"Content-Length: 6"],
        ),
        ("a length that is not a number", &[b"Content-Length: 5x"]),
    ];
    for (case, framing) in refused {
        let headers = [&[AUTH][..], framing].concat();
        let mut bytes = request("POST /api/upload", &headers, b"");
        bytes.extend_from_slice(b"hello");
        let reply = send(&env, &bytes).await;
        assert_eq!(reply.status, Some(400), "{case}: {:?}", lossy(&reply));
    }
    let paths: Vec<String> = env
        .origin
        .requests()
        .iter()
        .map(|request| {
            format!(
                "{} {} {:?}",
                request.method, request.path_and_query, request.body
            )
        })
        .collect();
    assert_eq!(paths, ["POST /api/upload b\"\""]);
}

#[tokio::test]
async fn connect_and_trace_are_refused_and_never_forwarded() {
    let env = Env::start().await;
    let origin = env.origin.addr.to_string();
    for line in [
        format!("CONNECT {origin}"),
        "CONNECT /api/projects".to_string(),
        "TRACE /api/projects".to_string(),
        "TRACE /v1/chat/completions".to_string(),
    ] {
        let reply = send(&env, &request(&line, &[AUTH], b"")).await;
        assert_json_error(&reply, 405, "method_not_allowed", &line);
    }
    assert_eq!((env.origin.count(), env.primary.count()), (0, 0));
}

#[tokio::test]
async fn path_tricks_reach_only_the_origin_and_never_a_provider() {
    let env = Env::start().await;
    let other = MockServer::start(Arc::new(|_| mock::json(200, json!({ "other": true })))).await;
    let evil = other.addr.to_string();
    let targets = [
        "/..".to_string(),
        "/api/../../../etc/passwd".to_string(),
        "/%2e%2e/%2E%2E/admin".to_string(),
        "/api/..%2F..%2Fadmin".to_string(),
        format!("/%2F%2F{evil}/x"),
        format!("/@{evil}/x"),
        format!("/api?next=//{evil}/x&u=@{evil}"),
        "/v1/chat/completions/../../admin".to_string(),
        "/v1/chat/completions%2F..%2Fadmin".to_string(),
        "/V1/CHAT/COMPLETIONS".to_string(),
    ];
    for target in &targets {
        let reply = send(&env, &request(&format!("GET {target}"), &[AUTH], b"")).await;
        assert_eq!(reply.status, Some(200), "{target}: {:?}", lossy(&reply));
    }
    let seen: Vec<String> = env
        .origin
        .requests()
        .iter()
        .map(|request| request.path_and_query.clone())
        .collect();
    // Dot segments resolved (never above the root), unreserved escapes
    // decoded; an encoded `/` stays encoded, so it is never a separator.
    let normalised = [
        "/".to_string(),
        "/etc/passwd".to_string(),
        "/admin".to_string(),
        "/api/..%2F..%2Fadmin".to_string(),
        format!("/%2F%2F{evil}/x"),
        format!("/@{evil}/x"),
        format!("/api?next=//{evil}/x&u=@{evil}"),
        "/v1/admin".to_string(),
        "/v1/chat/completions%2F..%2Fadmin".to_string(),
        "/V1/CHAT/COMPLETIONS".to_string(),
    ];
    assert_eq!(
        seen, normalised,
        "the origin got each path normalised, on itself"
    );
    assert_eq!(env.primary.count(), 0);
    assert_eq!(other.count(), 0, "no request reached the other host");
}

#[tokio::test]
async fn bodies_the_ai_routes_cannot_use_get_400_json() {
    let env = Env::start().await;
    let json_body = String::from_utf8(chat_body()).unwrap();
    let multipart =
        "--x\r\nContent-Disposition: form-data; name=\"messages\"\r\n\r\nhi\r\n--x--\r\n";
    let cases: [(&str, &str, &str, &str); 7] = [
        (
            "/v1/chat/completions",
            "application/x-www-form-urlencoded",
            "messages=hi",
            "form",
        ),
        (
            "/v1/chat/completions",
            "multipart/form-data; boundary=x",
            multipart,
            "multipart",
        ),
        ("/v1/chat/completions", "application/json", "", "empty"),
        ("/v1/chat/completions", "application/json", "null", "null"),
        (
            "/api/ai/generate",
            "application/json",
            r#"{"prompt": 5}"#,
            "prompt not text",
        ),
        (
            "/api/ai/chat",
            "application/json",
            r#"{"context": "c", "messages": {}}"#,
            "messages not a list",
        ),
        (
            "/v1/chat/completions",
            "application/json",
            r#"{"messages": [{"role": "user", "content": "x"}], "model": ["a"]}"#,
            "model not text",
        ),
    ];
    for (path, content_type, body, case) in cases {
        let response = env
            .post(path, Some(ALICE))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{case}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["type"], "invalid_request_error", "{case}");
    }
    assert_eq!(env.primary.count(), 0);

    // The content type is not checked: valid JSON under another label is
    // served, as the README's `curl -d` examples (form-encoded) rely on.
    let response = env
        .post("/v1/chat/completions", Some(ALICE))
        .header("content-type", "text/plain")
        .body(json_body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_default_body_limit_takes_a_long_prompt_and_refuses_more_at_once() {
    let env = Env::start_with(&[], Store::Memory).await;
    // About 600 KB: some 150,000 tokens of English, more than a 128K model
    // takes, so the router picks the long-context model.
    let prompt = "All work and no play makes a dull gateway. ".repeat(14_000);
    let response = env
        .send_json(
            "/v1/chat/completions",
            Some(ALICE),
            &json!({ "messages": [{ "role": "user", "content": prompt }] }),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-wws-model"), "glm-4-long");
    let forwarded = env.fallback.requests()[0].json();
    assert_eq!(
        forwarded["messages"][0]["content"], prompt,
        "passed on whole"
    );

    // A declared length over max_body_bytes (4 MiB) is refused before a
    // byte of the body is read.
    let head = request(
        "POST /v1/chat/completions",
        &[AUTH, b"Content-Length: 5000000"],
        b"",
    );
    let reply = send(&env, &head).await;
    assert_json_error(&reply, 413, "request_too_large", "declared length");
    assert_eq!(env.fallback.count(), 1);
}

/// `//lim/a`, `/./lim/a` and `/%6Cim/a` are `/lim/a` to the origin, so they
/// share its limit; the origin receives the one normalised path.
#[tokio::test]
async fn spellings_of_a_path_share_its_limit() {
    let env = Env::start_with(&[("rate_limits", r#"{"/lim": 2}"#)], Store::Memory).await;
    let mut statuses = Vec::new();
    for target in ["GET /lim/a", "GET //lim/a", "GET /./lim/a", "GET /%6Cim/a"] {
        statuses.push(send(&env, &request(target, &[AUTH], b"")).await.status);
    }
    assert_eq!(statuses, [Some(200), Some(200), Some(429), Some(429)]);
    let paths: Vec<String> = env
        .origin
        .requests()
        .iter()
        .map(|forwarded| forwarded.path_and_query.clone())
        .collect();
    assert_eq!(paths, ["/lim/a", "/lim/a"]);
}

/// Public is the route and the method meant: a bare path in
/// `public_routes` is GET only, and a second Authorization header is refused.
#[tokio::test]
async fn public_routes_are_public_for_their_method_only() {
    let env = Env::start().await;
    for target in [
        "POST /api/wws/health",
        "PUT /api/wws/health",
        "DELETE /api/wws/health",
        "HEAD /api/wws/health",
    ] {
        let reply = send(&env, &request(target, &[], b"")).await;
        assert_eq!(reply.status, Some(401), "{target}: {:?}", lossy(&reply));
    }
    assert_eq!(env.origin.count(), 0);
    let reply = send(&env, &request("GET /api/wws/health", &[], b"")).await;
    assert_eq!(reply.status, Some(200));
    let reply = send(
        &env,
        &request(
            "GET /api/projects",
            &[AUTH, b"Authorization: Bearer token-bob"],
            b"",
        ),
    )
    .await;
    assert_json_error(
        &reply,
        400,
        "invalid_request_error",
        "two Authorization headers",
    );
    assert_eq!(env.origin.count(), 0);
}

/// Client forwarding and override headers never reach the origin.
#[tokio::test]
async fn forwarding_and_override_headers_are_dropped_before_the_origin() {
    let env = Env::start().await;
    let headers: [&[u8]; 7] = [
        AUTH,
        b"Forwarded: host=evil.example",
        b"X-Real-IP: 203.0.113.5",
        b"True-Client-IP: 203.0.113.5",
        b"X-Original-URL: /admin",
        b"X-Forwarded-Prefix: /evil",
        b"X-HTTP-Method-Override: DELETE",
    ];
    let reply = send(&env, &request("GET /api/projects", &headers, b"")).await;
    assert_eq!(reply.status, Some(200), "{:?}", lossy(&reply));
    let forwarded = &env.origin.requests()[0];
    for name in [
        "forwarded",
        "x-real-ip",
        "true-client-ip",
        "x-original-url",
        "x-forwarded-prefix",
        "x-http-method-override",
    ] {
        assert!(
            !forwarded.headers.contains_key(name),
            "{name} reached the origin"
        );
    }
}

/// An HTTP/1.0 health checker sends no `Host`; a `Host` with non-ASCII bytes
/// names no host: both are the client's mistake, 400, never a 500.
#[tokio::test]
async fn requests_without_a_usable_host_get_400() {
    let env = Env::start().await;
    let cases: [(&str, &[u8]); 2] = [
        ("HTTP/1.0 without Host", b"GET /api/wws/health HTTP/1.0\r\n\r\n"),
        (
            "non-ASCII Host",
            b"GET /api/wws/health HTTP/1.1\r\nHost: caf\xc3\xa9.example\r\nConnection: close\r\n\r\n",
        ),
    ];
    for (case, bytes) in cases {
        let reply = send(&env, bytes).await;
        let head = lossy(&reply);
        assert!(
            head.starts_with("HTTP/1.0 400") || head.starts_with("HTTP/1.1 400"),
            "{case}: {head}"
        );
    }
    assert_eq!(env.origin.count(), 0);
}
