//! Supabase Auth mock: `GET /auth/v1/user` for tokens of a known shape, and
//! the project's JWKS at `/auth/v1/.well-known/jwks.json`, replaceable to
//! simulate key rotation.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::mock::{self, MockServer, Recorded};

pub const ANON_KEY: &str = "test-anon-key";
pub const JWKS_PATH: &str = "/auth/v1/.well-known/jwks.json";

/// The key set the mock publishes, as the body it serves.
#[derive(Clone)]
pub struct PublishedKeys(Arc<Mutex<String>>);

impl PublishedKeys {
    pub fn publish(&self, jwks: Value) {
        self.publish_raw(jwks.to_string());
    }

    /// Serves `body` as the key set, valid JSON or not.
    pub fn publish_raw(&self, body: String) {
        *self.0.lock().expect("jwks") = body;
    }
}

/// Starts a mock that accepts every token of the form `token-<name>` as the
/// user `user-<name>`, so each test can mint principals of its own. Requests
/// without the anon key as `apikey` are refused, as Supabase does.
pub async fn start() -> (MockServer, PublishedKeys) {
    start_at("127.0.0.1:0".parse().expect("loopback")).await
}

/// The same mock on `addr`, e.g. where a stopped one listened.
pub async fn start_at(addr: std::net::SocketAddr) -> (MockServer, PublishedKeys) {
    let keys = PublishedKeys(Arc::new(Mutex::new(json!({ "keys": [] }).to_string())));
    let published = keys.clone();
    let server = MockServer::start_at(
        addr,
        Arc::new(move |request| {
            if request.path_and_query == JWKS_PATH {
                let body = published.0.lock().expect("jwks").clone();
                return mock::full(200, "application/json", body);
            }
            user_answer(request)
        }),
    )
    .await;
    (server, keys)
}

/// Supabase's answer to `GET /auth/v1/user`: `token-<name>` is the user
/// `user-<name>`, anything else (or a request without the anon key) a 401.
pub fn user_answer(request: &Recorded) -> hyper::Response<mock::Body> {
    if request.path_and_query != "/auth/v1/user" || request.header("apikey") != Some(ANON_KEY) {
        return mock::json(401, json!({ "msg": "invalid request" }));
    }
    let user = request
        .header("authorization")
        .and_then(|auth| auth.strip_prefix("Bearer token-"))
        .map(|name| format!("user-{name}"));
    match user {
        Some(id) => mock::json(
            200,
            json!({ "id": id, "email": format!("{id}@example.com"), "role": "authenticated" }),
        ),
        None => mock::json(401, json!({ "msg": "invalid JWT" })),
    }
}

/// Calls to `/auth/v1/user`, the expensive path the Auth Guard avoids.
pub fn user_calls(server: &MockServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.path_and_query == "/auth/v1/user")
        .count()
}

pub fn jwks_calls(server: &MockServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.path_and_query == JWKS_PATH)
        .count()
}
