//! An operator's view of the gateway: an admin API key (configured by its
//! SHA-256, as `api_keys` wants it) and the per-provider stats it may read.

use serde_json::{Value, json};

use crate::gateway::Env;

/// The suite's admin key; `.ci/run` scans the suite's output for it.
pub const OPERATOR_KEY: &str = "wws-test-operator-key";

/// The `api_keys` value that makes [`OPERATOR_KEY`] an admin's.
pub fn api_keys() -> String {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(OPERATOR_KEY.as_bytes()));
    json!([{ "sha256": digest, "principal": "ops", "role": "admin" }]).to_string()
}

/// `/api/wws/stats`' `providers`, read with the admin key.
pub async fn provider_stats(env: &Env) -> Value {
    let response = env
        .get("/api/wws/stats", Some(OPERATOR_KEY))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["providers"].clone()
}
