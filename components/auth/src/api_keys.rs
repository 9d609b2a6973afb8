//! API keys for server-to-server callers (n8n). The `api_keys` variable
//! holds SHA-256 digests, never keys:
//! `[{"sha256": "<hex>", "principal": "n8n", "role": "service"}]`.
//! The presented key's digest is compared in constant time with each entry.

use serde::Deserialize;
use subtle::ConstantTimeEq;

#[derive(Debug, Deserialize, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub sha256: String,
    pub principal: String,
    #[serde(default = "default_role")]
    pub role: String,
}

fn default_role() -> String {
    "service".into()
}

pub fn parse(json: &str) -> Result<Vec<ApiKey>, serde_json::Error> {
    serde_json::from_str(json)
}

/// The entry whose digest equals `token_digest` (lowercase hex SHA-256).
pub fn find<'a>(keys: &'a [ApiKey], token_digest: &str) -> Option<&'a ApiKey> {
    let mut found = None;
    // Every entry is compared, so timing does not reveal which one matched.
    for key in keys {
        let expected = key.sha256.to_ascii_lowercase();
        if bool::from(expected.as_bytes().ct_eq(token_digest.as_bytes())) {
            found = Some(key);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_by_digest_only() {
        let keys = parse(
            r#"[{"sha256": "AB12", "principal": "n8n"}, {"sha256": "cd34", "principal": "ci", "role": "admin"}]"#,
        )
        .unwrap();
        assert_eq!(
            find(&keys, "ab12").map(|k| k.principal.as_str()),
            Some("n8n")
        );
        assert_eq!(
            find(&keys, "ab12").map(|k| k.role.as_str()),
            Some("service")
        );
        assert_eq!(find(&keys, "cd34").map(|k| k.role.as_str()), Some("admin"));
        assert_eq!(find(&keys, "ab1"), None);
        assert!(parse("{}").is_err());
    }
}
