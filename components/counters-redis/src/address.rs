//! Where the counters' Redis is. Two variables, because Spin checks the
//! address against `allowed_outbound_hosts`, which is written with
//! `{{ redis_address }}` and must not carry a password: `redis_address`
//! (`redis://host:port` or `rediss://host:port`) and the secret
//! `redis_password`, put into the URL only here.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddressError {
    #[error("redis_address is not set: the edge build keeps its counters in Redis")]
    Missing,
    #[error("redis_address must be redis://host:port or rediss://host:port, without a password")]
    Malformed,
}

/// The URL to connect to: the address with the password, if any, as the
/// default user's (`AUTH password`).
pub fn connection_url(
    address: Option<&str>,
    password: Option<&str>,
) -> Result<String, AddressError> {
    let address = address.map(str::trim).filter(|address| !address.is_empty());
    let address = address.ok_or(AddressError::Missing)?;
    let (scheme, rest) = address
        .split_once("://")
        .filter(|(scheme, _)| matches!(*scheme, "redis" | "rediss"))
        .ok_or(AddressError::Malformed)?;
    if rest.is_empty() || rest.contains('@') {
        return Err(AddressError::Malformed);
    }
    Ok(match password.filter(|password| !password.is_empty()) {
        Some(password) => format!("{scheme}://:{}@{rest}", escape(password)),
        None => address.to_string(),
    })
}

/// Percent-encodes what would end the userinfo part of a URL early.
fn escape(password: &str) -> String {
    password
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_goes_into_the_url_escaped() {
        assert_eq!(
            connection_url(Some("rediss://edge.example:6380"), Some("p@ss:w/rd")),
            Ok("rediss://:p%40ss%3Aw%2Frd@edge.example:6380".to_string())
        );
        assert_eq!(
            connection_url(Some("redis://127.0.0.1:6379"), None),
            Ok("redis://127.0.0.1:6379".to_string())
        );
        assert_eq!(
            connection_url(Some("redis://127.0.0.1:6379"), Some("")),
            Ok("redis://127.0.0.1:6379".to_string())
        );
    }

    #[test]
    fn addresses_that_are_not_redis_urls_are_refused() {
        assert_eq!(connection_url(None, None), Err(AddressError::Missing));
        assert_eq!(connection_url(Some(" "), None), Err(AddressError::Missing));
        for address in [
            "http://host:6379",
            "host:6379",
            "redis://",
            "redis://u:p@host:1",
        ] {
            assert_eq!(
                connection_url(Some(address), None),
                Err(AddressError::Malformed),
                "{address}"
            );
        }
    }
}
