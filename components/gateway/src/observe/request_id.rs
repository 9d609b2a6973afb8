//! `X-Request-Id`: the caller's, when it is a plain token, or a new one.
//!
//! A caller-chosen id ties the gateway's log line to the caller's own logs,
//! so it is kept; anything that is not a short run of token characters is
//! replaced, so an id can never smuggle text into logs or upstream headers.

const MAX_LEN: usize = 128;

/// The id this request goes by.
pub fn choose(offered: Option<&str>) -> String {
    match offered.map(str::trim) {
        Some(id) if is_acceptable(id) => id.to_string(),
        _ => generate(),
    }
}

fn is_acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_.:".contains(&byte))
}

/// 128 random bits as 32 hex digits, from the host's secure random source.
fn generate() -> String {
    wasip2::random::random::get_random_bytes(16)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_plain_token_ids() {
        assert!(is_acceptable("req-42"));
        assert!(is_acceptable("0b6c1f0e-3d4a-4b8e-9c1d-2f3a4b5c6d7e"));
        assert!(is_acceptable("trace:abc.def_1"));
    }

    #[test]
    fn refuses_ids_that_could_carry_text() {
        assert!(!is_acceptable(""));
        assert!(!is_acceptable("a b"));
        assert!(!is_acceptable("x\r\ny"));
        assert!(!is_acceptable("{\"json\":1}"));
        assert!(!is_acceptable(&"a".repeat(MAX_LEN + 1)));
    }
}
