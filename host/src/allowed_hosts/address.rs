//! Addresses a guest hands the host itself rather than through `wasi:http`
//! (a Redis URL for `fermyon:spin/redis`), reduced to scheme, host and port
//! the way Spin's `OutboundUrl::parse` reduces them
//! (`crates/outbound-networking-config/src/allowed_hosts.rs`), so the same
//! address is allowed or refused here and under `spin up`:
//!
//! - the user information before an `@` is percent-encoded first, so a
//!   password holding URL delimiters does not break parsing (only the host
//!   and port are kept afterwards);
//! - an address that does not parse as a URL with a host is retried with
//!   the interface's scheme in front (`127.0.0.1:6379` is
//!   `redis://127.0.0.1:6379` for the check, though connecting to it still
//!   fails, as in Spin);
//! - the scheme checked is the address's own: `rediss://` needs a
//!   `rediss://` entry (with a port: `rediss` has no well-known one).

use url::Url;

/// What an address is checked by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    pub scheme: String,
    pub host: String,
    pub port: Option<u16>,
}

impl Target {
    /// `None` when the address cannot be read at all: it is then refused.
    pub fn parse(address: &str, default_scheme: &str) -> Option<Self> {
        let address = with_encoded_userinfo(address);
        let url = match Url::parse(&address) {
            Ok(url) if url.has_host() => url,
            _ => Url::parse(&format!("{default_scheme}://{address}")).ok()?,
        };
        Some(Self {
            scheme: url.scheme().to_string(),
            host: url.host_str()?.to_string(),
            port: url.port(),
        })
    }

    /// `host[:port]`, for a log line: never the user information.
    pub fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }
}

/// The address with everything between `scheme://` and the first `@`
/// percent-encoded, if that `@` comes before the first `/` after it.
fn with_encoded_userinfo(address: &str) -> String {
    let Some(at) = address.find('@') else {
        return address.to_string();
    };
    let start = address.find("://").map_or(0, |end| end + 3);
    let path = address
        .get(start..)
        .and_then(|rest| rest.find('/'))
        .map_or(usize::MAX, |slash| slash + start);
    // An `@` inside the scheme part leaves nothing to encode.
    if at >= path || at < start {
        return address.to_string();
    }
    let (Some(prefix), Some(userinfo), Some(suffix)) = (
        address.get(..start),
        address.get(start..at),
        address.get(at..),
    ) else {
        return address.to_string();
    };
    let mut encoded = String::with_capacity(address.len() + 16);
    encoded.push_str(prefix);
    for byte in userinfo.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded.push_str(suffix);
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(address: &str) -> Option<(String, String, Option<u16>)> {
        Target::parse(address, "redis").map(|t| (t.scheme, t.host, t.port))
    }

    #[test]
    fn urls_keep_their_own_scheme_host_and_port() {
        assert_eq!(
            target("redis://127.0.0.1:6399/0"),
            Some(("redis".into(), "127.0.0.1".into(), Some(6399)))
        );
        assert_eq!(
            target("rediss://cache.example.com"),
            Some(("rediss".into(), "cache.example.com".into(), None))
        );
        assert_eq!(
            target("redis://[::1]:6379"),
            Some(("redis".into(), "[::1]".into(), Some(6379)))
        );
    }

    #[test]
    fn a_bare_address_gets_the_interface_scheme() {
        assert_eq!(
            target("127.0.0.1:6379"),
            Some(("redis".into(), "127.0.0.1".into(), Some(6379)))
        );
        assert_eq!(
            target("cache.internal"),
            Some(("redis".into(), "cache.internal".into(), None))
        );
        assert_eq!(target(""), None);
        // Spin's retry reads `redis://redis://` as the host `redis`; the
        // host an allow-list would have to name, so it stays refused in
        // practice, and the client then refuses the address itself.
        assert_eq!(
            target("redis://"),
            Some(("redis".into(), "redis".into(), None))
        );
    }

    #[test]
    fn passwords_with_delimiters_do_not_change_the_host() {
        assert_eq!(
            target("redis://user:p#ss?w:rd@cache.example.com:6380/1"),
            Some(("redis".into(), "cache.example.com".into(), Some(6380)))
        );
        assert_eq!(
            with_encoded_userinfo("redis://:s3cr/t@h"),
            "redis://:s3cr/t@h",
            "a '/' before the '@' ends the authority, as in Spin"
        );
        assert_eq!(with_encoded_userinfo("a@b://c"), "a@b://c");
        let target = Target::parse("redis://u:secret@h:1", "redis").expect("parses");
        assert_eq!(target.authority(), "h:1");
    }
}
