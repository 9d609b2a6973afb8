//! What the host checks and changes in a request head before the guest
//! sees it: the size and `Host` checks, hop-by-hop and forged host headers,
//! and the client address the guest is told.

use std::net::SocketAddr;

use hyper::HeaderMap;

/// Largest request head accepted (request line plus headers).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// hyper's own limit is approximate (it checks only heads still
/// incomplete), so the exact one is here, before the guest copies them.
pub fn head_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum()
}

/// The guest's request needs an authority: without one (an HTTP/1.0
/// health checker) or with bytes a host name cannot hold, that is the
/// client's mistake, not the component failing.
pub fn has_usable_authority<B>(request: &hyper::Request<B>) -> bool {
    request.uri().authority().is_some()
        || request
            .headers()
            .get(hyper::header::HOST)
            .is_some_and(|host| {
                !host.is_empty() && host.as_bytes().iter().all(u8::is_ascii_graphic)
            })
}

/// Clients may not forge host-set headers, and the headers their
/// `Connection` names belong to this hop only (RFC 9110 7.6.1); the guest
/// never sees `Connection` itself, so it cannot drop them. The host's own
/// `spin-client-addr` replaces any the client sent.
pub fn strip_and_mark(headers: &mut HeaderMap, client: SocketAddr) {
    let connection_named: Vec<String> = headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|token| token.trim().to_ascii_lowercase())
        .filter(|token| !token.is_empty())
        .collect();
    let hop_or_forged: Vec<_> = headers
        .keys()
        .filter(|name| {
            name.as_str().starts_with("spin-")
                || connection_named.iter().any(|token| token == name.as_str())
        })
        .cloned()
        .collect();
    for name in hop_or_forged {
        headers.remove(name);
    }
    if let Ok(value) = client.to_string().parse() {
        headers.insert("spin-client-addr", value);
    }
}

/// As Spin 4.0.2's trigger hands a head over: client `spin-*` headers stay
/// and Spin's own value comes after them. `None` when a header value is not
/// UTF-8, which Spin refuses (it turns every value into a string first).
pub fn mark_as_spin_does(headers: &mut HeaderMap, client: SocketAddr) -> Option<()> {
    if headers
        .values()
        .any(|value| std::str::from_utf8(value.as_bytes()).is_err())
    {
        return None;
    }
    if let Ok(value) = client.to_string().parse() {
        headers.append("spin-client-addr", value);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 7], 4000))
    }

    #[test]
    fn forged_and_connection_named_headers_are_dropped() {
        let mut headers = HeaderMap::new();
        headers.insert("connection", "keep-alive, X-Secret".parse().unwrap());
        headers.insert("x-secret", "1".parse().unwrap());
        headers.insert("spin-client-addr", "6.6.6.6:1".parse().unwrap());
        headers.insert("accept", "*/*".parse().unwrap());
        strip_and_mark(&mut headers, client());
        assert!(headers.get("x-secret").is_none());
        assert_eq!(headers.get_all("spin-client-addr").iter().count(), 1);
        assert_eq!(headers["spin-client-addr"], "192.0.2.7:4000");
        assert_eq!(headers["accept"], "*/*");
    }

    #[test]
    fn spins_way_keeps_the_clients_value_before_its_own() {
        let mut headers = HeaderMap::new();
        headers.insert("spin-client-addr", "6.6.6.6:1".parse().unwrap());
        assert_eq!(mark_as_spin_does(&mut headers, client()), Some(()));
        let values: Vec<_> = headers.get_all("spin-client-addr").iter().collect();
        assert_eq!(values, ["6.6.6.6:1", "192.0.2.7:4000"]);
    }

    #[test]
    fn spins_way_refuses_a_value_that_is_not_utf8() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-bytes",
            hyper::header::HeaderValue::from_bytes(&[0xff]).unwrap(),
        );
        assert_eq!(mark_as_spin_does(&mut headers, client()), None);
    }
}
