//! Cache keys that can never hand one principal's answer to another.
//!
//! The key covers the principal (unless the route is public), method, path,
//! the query with its pairs sorted, and a digest of the body. JSON bodies are
//! canonicalised first (keys sorted, whitespace dropped), so two requests that
//! differ only in formatting share an entry.

use wws_guest::digest::sha256_hex;

pub struct Parts<'a> {
    pub scope: Option<&'a str>,
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub body: &'a [u8],
}

pub fn derive(parts: &Parts<'_>) -> String {
    let mut query: Vec<&str> = parts.query.split('&').filter(|p| !p.is_empty()).collect();
    query.sort_unstable();
    let material = format!(
        "{}\n{}\n{}\n{}\n{}",
        parts
            .scope
            .map_or("public".to_string(), |s| format!("principal:{s}")),
        parts.method.to_ascii_uppercase(),
        parts.path,
        query.join("&"),
        sha256_hex(canonical_body(parts.body)),
    );
    format!("cache:{}", sha256_hex(material))
}

/// serde_json's map is ordered by key, so re-serialising a parsed value
/// sorts keys at every level and drops insignificant whitespace.
fn canonical_body(body: &[u8]) -> Vec<u8> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| serde_json::to_vec(&value).ok())
        .unwrap_or_else(|| body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(scope: Option<&str>, query: &str, body: &str) -> String {
        derive(&Parts {
            scope,
            method: "POST",
            path: "/v1/chat/completions",
            query,
            body: body.as_bytes(),
        })
    }

    #[test]
    fn principals_never_share_keys() {
        assert_ne!(key(Some("user-a"), "", "{}"), key(Some("user-b"), "", "{}"));
        assert_ne!(key(Some("user-a"), "", "{}"), key(None, "", "{}"));
    }

    #[test]
    fn json_formatting_and_query_order_do_not_matter() {
        assert_eq!(
            key(Some("u"), "b=2&a=1", r#"{"model":"m","temperature":0}"#),
            key(
                Some("u"),
                "a=1&b=2",
                "{ \"temperature\": 0,\n \"model\": \"m\" }"
            )
        );
        assert_ne!(
            key(Some("u"), "", r#"{"temperature":0}"#),
            key(Some("u"), "", r#"{"temperature":1}"#)
        );
    }
}
