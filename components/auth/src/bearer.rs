//! Extraction of the bearer token from an `Authorization` header.

#[derive(Debug, PartialEq, Eq)]
pub enum BearerError {
    Missing,
    Malformed,
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive).
///
/// Only the characters of RFC 6750's `b64token` are accepted, so a token can
/// never smuggle whitespace or control bytes into an upstream header.
pub fn token(header: Option<&str>) -> Result<&str, BearerError> {
    let header = header.map(str::trim).filter(|value| !value.is_empty());
    let header = header.ok_or(BearerError::Missing)?;
    let (scheme, token) = header.split_once(' ').ok_or(BearerError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(BearerError::Malformed);
    }
    let token = token.trim();
    let valid = !token.is_empty()
        && token.len() <= 8192
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b));
    if valid {
        Ok(token)
    } else {
        Err(BearerError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_bearer_in_any_case() {
        assert_eq!(token(Some("Bearer abc.def")), Ok("abc.def"));
        assert_eq!(token(Some("bearer  abc ")), Ok("abc"));
    }

    #[test]
    fn distinguishes_missing_from_malformed() {
        assert_eq!(token(None), Err(BearerError::Missing));
        assert_eq!(token(Some("  ")), Err(BearerError::Missing));
        assert_eq!(token(Some("Basic dXNlcg==")), Err(BearerError::Malformed));
        assert_eq!(token(Some("Bearer")), Err(BearerError::Malformed));
        assert_eq!(token(Some("Bearer a b")), Err(BearerError::Malformed));
        assert_eq!(token(Some("Bearer a\r\nX: y")), Err(BearerError::Malformed));
    }
}
