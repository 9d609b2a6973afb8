//! Supabase Auth mock: `GET /auth/v1/user` accepts the tokens it was given.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;

use crate::mock::{self, MockServer};

pub const ANON_KEY: &str = "test-anon-key";

/// Starts a mock that knows `users`: token -> user id. Requests without the
/// anon key as `apikey` are refused, as Supabase does.
pub async fn start(users: &[(&str, &str)]) -> MockServer {
    let users: HashMap<String, String> = users
        .iter()
        .map(|(token, id)| (format!("Bearer {token}"), id.to_string()))
        .collect();
    MockServer::start(Arc::new(move |request| {
        if request.path_and_query != "/auth/v1/user" || request.header("apikey") != Some(ANON_KEY) {
            return mock::json(401, json!({ "msg": "invalid request" }));
        }
        match request
            .header("authorization")
            .and_then(|auth| users.get(auth))
        {
            Some(id) => mock::json(
                200,
                json!({ "id": id, "email": format!("{id}@example.com"), "role": "authenticated" }),
            ),
            None => mock::json(401, json!({ "msg": "invalid JWT" })),
        }
    }))
    .await
}
