//! Supabase Auth mock: `GET /auth/v1/user` for tokens of a known shape, and
//! the project's JWKS at `/auth/v1/.well-known/jwks.json`, replaceable to
//! simulate key rotation.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::mock::{self, MockServer};

pub const ANON_KEY: &str = "test-anon-key";
pub const JWKS_PATH: &str = "/auth/v1/.well-known/jwks.json";

/// The key set the mock publishes.
#[derive(Clone)]
pub struct PublishedKeys(Arc<Mutex<Value>>);

impl PublishedKeys {
    pub fn publish(&self, jwks: Value) {
        *self.0.lock().expect("jwks") = jwks;
    }
}

/// Starts a mock that accepts every token of the form `token-<name>` as the
/// user `user-<name>`, so each test can mint principals of its own. Requests
/// without the anon key as `apikey` are refused, as Supabase does.
pub async fn start() -> (MockServer, PublishedKeys) {
    let keys = PublishedKeys(Arc::new(Mutex::new(json!({ "keys": [] }))));
    let published = keys.clone();
    let server = MockServer::start(Arc::new(move |request| {
        if request.path_and_query == JWKS_PATH {
            return mock::json(200, published.0.lock().expect("jwks").clone());
        }
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
    }))
    .await;
    (server, keys)
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
