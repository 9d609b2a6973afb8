//! Supabase Auth mock: `GET /auth/v1/user` for tokens of a known shape.

use std::sync::Arc;

use serde_json::json;

use crate::mock::{self, MockServer};

pub const ANON_KEY: &str = "test-anon-key";

/// Starts a mock that accepts every token of the form `token-<name>` as the
/// user `user-<name>`, so each test can mint principals of its own. Requests
/// without the anon key as `apikey` are refused, as Supabase does.
pub async fn start() -> MockServer {
    MockServer::start(Arc::new(move |request| {
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
    .await
}
