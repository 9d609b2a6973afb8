//! Cache keys that can never hand one principal's answer to another.
//!
//! The key covers the principal (unless the route is public), method, path,
//! the query with its pairs sorted, and a digest of the body. JSON bodies are
//! canonicalised first (keys sorted, whitespace dropped), so two requests that
//! differ only in formatting share an entry.
//!
//! Keys read `cache:<path>:<sha256>`: the path in clear lets operators purge
//! a route (it never holds credentials: queries and bodies are only hashed),
//! cut to fit Spin's 255-byte key limit.

use wws_guest::digest::sha256_hex;

pub struct Parts<'a> {
    pub scope: Option<&'a str>,
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub body: &'a [u8],
}

pub fn derive(parts: &Parts<'_>) -> String {
    // Sorted by name only, and stably: `?a=1&b=2` and `?b=2&a=1` share an
    // entry, but `?x=1&x=2` and `?x=2&x=1` do not, since origins read
    // repeated names in order.
    let mut query: Vec<&str> = parts.query.split('&').filter(|p| !p.is_empty()).collect();
    query.sort_by_key(|pair| pair.split_once('=').map_or(*pair, |(name, _)| name));
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
    format!("{PREFIX}{}:{}", clipped(parts.path), sha256_hex(material))
}

const PREFIX: &str = "cache:";
/// Keeps whole keys within Spin's 255 bytes: prefix, path, `:` and 64 hex.
const MAX_PATH_BYTES: usize = 160;

fn clipped(path: &str) -> &str {
    let mut end = path.len().min(MAX_PATH_BYTES);
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    &path[..end]
}

/// The (possibly clipped) path of a cache key, `None` for other keys.
pub fn path_of(key: &str) -> Option<&str> {
    let (path, digest) = key.strip_prefix(PREFIX)?.rsplit_once(':')?;
    (digest.len() == 64).then_some(path)
}

/// serde_json's map is ordered by key, so re-serialising a parsed value
/// sorts keys at every level and drops insignificant whitespace; numbers
/// are written one way (`0.0` and `0` are the same temperature).
fn canonical_body(body: &[u8]) -> Vec<u8> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .map(integral_numbers)
        .and_then(|value| serde_json::to_vec(&value).ok())
        .unwrap_or_else(|| body.to_vec())
}

/// Floats with no fractional part, within the range f64 holds exactly, as
/// integers.
fn integral_numbers(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    match value {
        Value::Number(number) => match number.as_f64() {
            Some(float) if number.is_f64() && float.fract() == 0.0 && float.abs() <= EXACT => {
                Value::from(float as i64)
            }
            _ => Value::Number(number),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(integral_numbers).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(name, field)| (name, integral_numbers(field)))
                .collect(),
        ),
        other => other,
    }
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
    fn keys_carry_the_path_for_purges_and_stay_short() {
        let key = key(Some("u"), "token=secret", "{}");
        assert_eq!(path_of(&key), Some("/v1/chat/completions"));
        assert!(!key.contains("secret"));
        let long = derive(&Parts {
            scope: None,
            method: "GET",
            path: &format!("/{}", "é".repeat(300)),
            query: "",
            body: b"",
        });
        assert!(long.len() <= 255, "{}", long.len());
        assert_eq!(path_of("auth:session:abc"), None);
    }

    #[test]
    fn principals_never_share_keys() {
        assert_ne!(key(Some("user-a"), "", "{}"), key(Some("user-b"), "", "{}"));
        assert_ne!(key(Some("user-a"), "", "{}"), key(None, "", "{}"));
    }

    #[test]
    fn repeated_query_names_keep_their_order() {
        assert_ne!(key(None, "x=1&x=2", ""), key(None, "x=2&x=1", ""));
        assert_eq!(key(None, "a=1&x=1&x=2", ""), key(None, "x=1&a=1&x=2", ""));
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

    #[test]
    fn numbers_are_written_one_way() {
        assert_eq!(
            key(Some("u"), "", r#"{"temperature":0.0,"n":[1.0,2.5]}"#),
            key(Some("u"), "", r#"{"temperature":0,"n":[1,2.5]}"#)
        );
        assert_ne!(
            key(Some("u"), "", r#"{"temperature":0.5}"#),
            key(Some("u"), "", r#"{"temperature":0}"#)
        );
    }

    #[test]
    fn canonical_bodies_stay_canonical() {
        // Found by the canonical_json fuzz target: without correctly rounded
        // parsing this number came back one unit in the last place off.
        let once = canonical_body(b"[111111111111111151111111111111111111111110]");
        assert_eq!(canonical_body(&once), once);
    }
}
