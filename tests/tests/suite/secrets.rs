//! Issue 9: no secret is ever written where it could leak. One run of
//! traffic covers every auth source (API key, HS256 and ES256 JWTs, a
//! Supabase session and its cached copy, rejected tokens), provider calls
//! (plain, streamed, failed over, failed, broken mid-stream), cache hits,
//! a purge and origin pass-through; then every key and value in the store
//! (SQLite, and separately Redis), every response head and body, and every
//! line the real `wws-host` binary printed are searched for each secret the
//! run used: bearer tokens (and JWT signatures alone), API keys, provider
//! keys, the Supabase anon key, the JWT secret and a secret in a query.
//!
//! The log test runs `target/<profile>/wws-host`, which `cargo test
//! --workspace` (and so `cargo xtask test`) builds; alone, build it first
//! with `cargo build -p wws-host`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use sha2::Digest;
use wws_tests::gateway::{self, Gateway, Store, variables_for};
use wws_tests::mock::{self, MockServer, Recorded};
use wws_tests::provider::{self, Script, Step};
use wws_tests::redis_process::RedisProcess;
use wws_tests::supabase;
use wws_tests::tokens::{self, EcKey, JWT_SECRET};

const SERVICE_KEY: &str = "sk-live-service-7f3a9c1e5b";
const ADMIN_KEY: &str = "sk-live-admin-2d8e4f6a0c";
const QUERY_SECRET: &str = "query-secret-5e1b7d";

/// Loopback stand-ins for everything the gateway calls.
struct Upstreams {
    primary: MockServer,
    primary_script: Script,
    fallback: MockServer,
    fallback_script: Script,
    supabase: MockServer,
    origin: MockServer,
    signing_key: EcKey,
}

impl Upstreams {
    async fn start() -> Self {
        let (primary, primary_script) = provider::start("primary", provider::SYNTHETIC_KEY).await;
        let (fallback, fallback_script) = provider::start("fallback", provider::ZAI_KEY).await;
        let (supabase, supabase_keys) = supabase::start().await;
        let signing_key = EcKey::generate("k1");
        supabase_keys.publish(tokens::jwks(&[&signing_key]));
        Self {
            primary,
            primary_script,
            fallback,
            fallback_script,
            supabase,
            origin: MockServer::start(Arc::new(origin_answer)).await,
            signing_key,
        }
    }

    /// With `local_jwt`, tokens are verified locally (HS256 secret and
    /// JWKS), which refuses opaque tokens outright; without, Supabase decides
    /// every token. One gateway of each kind covers every auth source.
    fn variables(&self, local_jwt: bool) -> HashMap<String, String> {
        let mut variables =
            variables_for(&self.primary, &self.fallback, &self.supabase, &self.origin);
        let api_keys = json!([
            { "sha256": sha256(SERVICE_KEY), "principal": "n8n", "role": "service" },
            { "sha256": sha256(ADMIN_KEY), "principal": "ops", "role": "admin" },
        ]);
        variables.insert("api_keys".into(), api_keys.to_string());
        if local_jwt {
            variables.insert("supabase_jwt_secret".into(), JWT_SECRET.into());
            variables.insert("jwt_jwks".into(), "true".into());
        }
        variables
    }

    fn issuer(&self) -> String {
        format!("{}/auth/v1", self.supabase.url())
    }
}

/// An origin that does not echo requests (the suite's usual origin mock
/// does, and would hand the forwarded `Authorization` straight back); its
/// `/cacheable` pages may be stored.
fn origin_answer(request: &Recorded) -> hyper::Response<mock::Body> {
    let mut response = mock::json(
        200,
        json!({ "origin": true, "path_length": request.path_and_query.len() }),
    );
    if request.path_and_query.starts_with("/cacheable") {
        let value = http::HeaderValue::from_static("public, max-age=60");
        response.headers_mut().insert("cache-control", value);
    }
    response
}

fn sha256(text: &str) -> String {
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// Every secret the traffic uses, with what it is for the failure message.
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: &str, secret: &str) {
        self.0.push((what.to_string(), secret.to_string()));
        // A JWT's signature alone is as good as the token to whoever holds
        // the rest, and logging a "shortened" token would expose it.
        if let Some((_, signature)) = secret.rsplit_once('.').filter(|(_, s)| s.len() > 16) {
            self.0
                .push((format!("{what} (signature)"), signature.to_string()));
        }
    }

    fn assert_absent(&self, place: &str, text: &str) {
        for (what, secret) in &self.0 {
            assert!(
                !text.contains(secret.as_str()),
                "{place} contains the {what}"
            );
        }
    }
}

/// Drives the whole mix through two gateways on the same upstreams, `local`
/// verifying JWTs itself and `remote` asking Supabase; returns every
/// response's status, head and body as text, and the secrets it used.
async fn drive(local: &str, remote: &str, upstreams: &Upstreams) -> (Vec<String>, Secrets) {
    let nonce = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let issuer = upstreams.issuer();
    let user = format!("token-secret-user-{nonce}");
    let rejected = format!("not-a-valid-token-{nonce}");
    let hs256 = tokens::hs256(JWT_SECRET, &tokens::claims(&issuer, "hs-user", 600));
    let es256 = upstreams
        .signing_key
        .sign(&tokens::claims(&issuer, "es-user", 600));
    let expired = tokens::hs256(JWT_SECRET, &tokens::claims(&issuer, "old", -3600));
    let forged = tokens::hs256(
        "not-the-project-secret-but-long-enough",
        &tokens::claims(&issuer, "forged", 600),
    );
    let wrong_key = format!("{SERVICE_KEY}-wrong");
    let mut secrets = Secrets(Vec::new());
    for (what, secret) in [
        ("Supabase user token", user.as_str()),
        ("rejected token", &rejected),
        ("HS256 token", &hs256),
        ("ES256 token", &es256),
        ("expired token", &expired),
        ("forged token", &forged),
        ("wrong API key", &wrong_key),
        ("service API key", SERVICE_KEY),
        ("admin API key", ADMIN_KEY),
        ("primary provider key", provider::SYNTHETIC_KEY),
        ("fallback provider key", provider::ZAI_KEY),
        ("Supabase anon key", supabase::ANON_KEY),
        ("JWT secret", JWT_SECRET),
        ("query secret", QUERY_SECRET),
    ] {
        secrets.add(what, secret);
    }

    let client = reqwest::Client::new();
    let mut transcript = Vec::new();
    let plain = json!({ "messages": [{ "role": "user", "content": "2+2?" }], "temperature": 0 });
    let streamed = json!({ "messages": [{ "role": "user", "content": "count" }], "temperature": 0, "stream": true });
    let creative =
        json!({ "messages": [{ "role": "user", "content": "a poem" }], "temperature": 0.9 });
    let mut call = async |method: &str, path: &str, token: Option<&str>, body: Option<&Value>| {
        // JWTs (three dot-separated parts) go where they are verified locally.
        let base = match token {
            Some(token) if token.matches('.').count() == 2 => local,
            _ => remote,
        };
        let mut request = client.request(method.parse().unwrap(), format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the gateway answers");
        let status = response.status().as_u16();
        let head = format!("{:?}", response.headers());
        let body = response.text().await.unwrap_or_default();
        // Labelled without the query, which is the client's own secret.
        let route = path.split('?').next().unwrap_or_default();
        transcript.push(format!("{method} {route} -> {status}\n{head}\n{body}"));
        status
    };

    // Every way in, and the ways of being refused.
    assert_eq!(call("GET", "/api/wws/health", None, None).await, 200);
    let accepted = [SERVICE_KEY, hs256.as_str(), es256.as_str(), user.as_str()];
    for token in [&accepted[..], &[user.as_str(), hs256.as_str()]].concat() {
        assert_eq!(
            call("POST", "/api/ai/chat", Some(token), Some(&creative)).await,
            200
        );
    }
    let refused = [
        rejected.as_str(),
        &rejected,
        &expired,
        &forged,
        &wrong_key,
        "abc.def.ghi",
    ];
    for token in refused {
        assert_eq!(
            call("POST", "/api/ai/chat", Some(token), Some(&creative)).await,
            401
        );
    }
    assert_eq!(
        call("POST", "/api/ai/chat", None, Some(&creative)).await,
        401
    );

    // Providers: cached plain and streamed answers, failover, failure.
    for body in [&plain, &plain, &streamed, &streamed] {
        assert_eq!(
            call("POST", "/v1/chat/completions", Some(&user), Some(body)).await,
            200
        );
    }
    upstreams
        .primary_script
        .push(Step::Status(500, json!({ "error": { "message": "boom" } })));
    assert_eq!(
        call(
            "POST",
            "/v1/chat/completions",
            Some(&hs256),
            Some(&creative)
        )
        .await,
        200
    );
    upstreams.primary_script.push(Step::Status(503, json!({})));
    upstreams.fallback_script.push(Step::Status(500, json!({})));
    assert_eq!(
        call(
            "POST",
            "/v1/chat/completions",
            Some(&hs256),
            Some(&creative)
        )
        .await,
        502
    );
    upstreams.primary_script.push(Step::BreakStreamAfter(2));
    let broken = json!({ "messages": [{ "role": "user", "content": "x" }], "stream": true });
    assert_eq!(
        call("POST", "/v1/chat/completions", Some(&es256), Some(&broken)).await,
        200
    );
    upstreams.primary_script.push(Step::Status(
        400,
        json!({ "error": { "message": "bad request", "type": "invalid_request_error" } }),
    ));
    assert_eq!(
        call(
            "POST",
            "/api/ai/generate",
            Some(SERVICE_KEY),
            Some(&json!({ "prompt": "p" }))
        )
        .await,
        400
    );

    // The origin, with a cacheable page and a secret in a query.
    for _ in 0..2 {
        assert_eq!(call("GET", "/cacheable/page", Some(&user), None).await, 200);
    }
    let search = format!("/api/search?api_key={QUERY_SECRET}");
    assert_eq!(call("GET", &search, Some(&user), None).await, 200);
    assert_eq!(
        call(
            "POST",
            "/api/projects",
            Some(SERVICE_KEY),
            Some(&json!({ "name": "p" }))
        )
        .await,
        200
    );

    // A purge (and a refused one), then entries to find in the store again.
    let purge = json!({ "prefix": "/" });
    assert_eq!(
        call("POST", "/api/wws/cache/purge", Some(&user), Some(&purge)).await,
        403
    );
    assert_eq!(
        call(
            "POST",
            "/api/wws/cache/purge",
            Some(ADMIN_KEY),
            Some(&purge)
        )
        .await,
        200
    );
    assert_eq!(
        call("POST", "/v1/chat/completions", Some(&user), Some(&plain)).await,
        200
    );
    assert_eq!(call("GET", "/cacheable/page", Some(&user), None).await, 200);

    // What is searched for is what really travelled: the scans are not vacuous.
    let sent = |server: &MockServer, name: &str, value: &str| {
        server
            .requests()
            .iter()
            .any(|r| r.header(name) == Some(value))
    };
    assert!(sent(
        &upstreams.supabase,
        "authorization",
        &format!("Bearer {user}")
    ));
    assert!(sent(&upstreams.supabase, "apikey", supabase::ANON_KEY));
    let primary_key = format!("Bearer {}", provider::SYNTHETIC_KEY);
    assert!(sent(&upstreams.primary, "authorization", &primary_key));
    let fallback_key = format!("Bearer {}", provider::ZAI_KEY);
    assert!(sent(&upstreams.fallback, "authorization", &fallback_key));
    (transcript, secrets)
}

/// Key and value pairs, as text, that the store must hold after `drive`.
fn assert_store_is_clean(place: &str, entries: &[(String, Vec<u8>)], secrets: &Secrets) {
    for prefix in ["auth:session:", "auth:deny:", "auth:jwks:", "cache:", "rl:"] {
        assert!(
            entries.iter().any(|(key, _)| key.starts_with(prefix)),
            "{place}: no {prefix} key; did the traffic reach the store?"
        );
    }
    for (key, value) in entries {
        secrets.assert_absent(&format!("{place} key {key}"), key);
        let value = String::from_utf8_lossy(value);
        secrets.assert_absent(&format!("{place} value of {key}"), &value);
    }
}

fn assert_responses_are_clean(transcript: &[String], secrets: &Secrets) {
    for response in transcript {
        let first_line = response.lines().next().unwrap_or_default();
        secrets.assert_absent(&format!("response to {first_line}"), response);
    }
}

fn sqlite_entries(gateway: &Gateway) -> Vec<(String, Vec<u8>)> {
    let db = rusqlite::Connection::open(gateway.state_dir().join("sqlite_key_value.db")).unwrap();
    let mut rows = db.prepare("SELECT key, value FROM spin_key_value").unwrap();
    rows.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test]
async fn no_secret_in_the_sqlite_store_or_any_response() {
    let upstreams = Upstreams::start().await;
    let local = Gateway::start(upstreams.variables(true), Store::Sqlite)
        .await
        .expect("gateway starts");
    let remote = Gateway::start(upstreams.variables(false), Store::Sqlite)
        .await
        .expect("gateway starts");
    let (transcript, secrets) = drive(&local.url, &remote.url, &upstreams).await;
    assert_responses_are_clean(&transcript, &secrets);
    let entries = [sqlite_entries(&local), sqlite_entries(&remote)].concat();
    assert_store_is_clean("SQLite", &entries, &secrets);
}

#[tokio::test]
async fn no_secret_in_the_redis_store_or_any_response() {
    let redis = RedisProcess::start();
    let upstreams = Upstreams::start().await;
    let local = Gateway::start(upstreams.variables(true), Store::Redis(redis.url()))
        .await
        .expect("gateway starts");
    let remote = Gateway::start(upstreams.variables(false), Store::Redis(redis.url()))
        .await
        .expect("gateway starts");
    let (transcript, secrets) = drive(&local.url, &remote.url, &upstreams).await;
    assert_responses_are_clean(&transcript, &secrets);

    // The private server holds these gateways' keys and nothing else.
    let store = wws_host::kv::RedisStore::connect(&redis.url())
        .await
        .unwrap();
    let mut entries = Vec::new();
    for key in store.keys().await.unwrap() {
        let value = store.get(&key).await.unwrap().unwrap_or_default();
        entries.push((key, value));
    }
    assert_store_is_clean("Redis", &entries, &secrets);
}

/// `wws-host`, built beside this test's own executable.
fn host_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = profile_dir.join("wws-host");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build -p wws-host` (cargo test --workspace builds it)",
        binary.display()
    );
    binary
}

/// A `wws-host up` child process with its output captured line by line.
struct Host {
    child: std::process::Child,
    url: String,
    output: std::thread::JoinHandle<Vec<String>>,
    errors: std::thread::JoinHandle<Vec<String>>,
    _state: tempfile::TempDir,
}

impl Host {
    fn start(variables: HashMap<String, String>) -> Self {
        let state = tempfile::tempdir().unwrap();
        let mut command = Command::new(host_binary());
        command
            .args(["up", "--listen", "127.0.0.1:0", "-f"])
            .arg(gateway::manifest())
            .arg("--state-dir")
            .arg(state.path())
            // Our own crate's debug lines too, not only what operators see.
            .env("RUST_LOG", "wws_host=debug,info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in variables {
            command.arg("--variable").arg(format!("{name}={value}"));
        }
        let mut child = command.spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let errors =
            std::thread::spawn(move || stderr.lines().map_while(Result::ok).collect::<Vec<_>>());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let url = first
            .trim()
            .strip_prefix("Serving ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}; is target/wws.wasm built?"))
            .to_string();
        let output =
            std::thread::spawn(move || stdout.lines().map_while(Result::ok).collect::<Vec<_>>());
        Self {
            child,
            url,
            output,
            errors,
            _state: state,
        }
    }

    /// SIGTERM, so the host drains and flushes; then every line it printed.
    fn stop(mut self) -> Vec<String> {
        let stopped = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(stopped.success());
        assert!(self.child.wait().unwrap().success());
        let mut lines = self.output.join().unwrap();
        lines.extend(self.errors.join().unwrap());
        lines
    }
}

#[tokio::test]
async fn no_secret_in_any_line_the_host_prints() {
    let upstreams = Upstreams::start().await;
    let local = Host::start(upstreams.variables(true));
    let remote = Host::start(upstreams.variables(false));
    let (transcript, secrets) = drive(&local.url, &remote.url, &upstreams).await;
    assert_responses_are_clean(&transcript, &secrets);
    // Background revalidations and their log lines finish after the answers.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let lines = [local.stop(), remote.stop()].concat();
    let access_lines = lines
        .iter()
        .filter(|line| line.contains("\"POST /api/ai/chat\""))
        .count();
    assert_eq!(access_lines, 13, "the host logged the traffic: {lines:#?}");
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with('{') && line.contains("\"request_id\"")),
        "the gateway's own log lines were captured"
    );
    for line in &lines {
        secrets.assert_absent(&format!("log line {line:?}"), line);
    }
}
