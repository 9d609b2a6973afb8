//! What crosses the hop to the origin: its URL, and the client's headers
//! minus those a client must not supply, plus `X-Forwarded-*`.

use crate::head::is_hop_by_hop;
use crate::inbound::Inbound;
use crate::observe::access_log;

/// `origin_url` + path + query. The path always starts with `/`, so the
/// authority of the configured origin can never be replaced by the client.
pub fn target_url(origin: &str, path: &str, query: &str) -> String {
    let mut url = format!("{}{}", origin.trim_end_matches('/'), path);
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// The client's headers minus those of this hop, plus the `X-Forwarded-*`
/// fields that tell the origin who asked and how.
pub fn forwarded_headers(inbound: &Inbound) -> Vec<(String, Vec<u8>)> {
    let mut headers: Vec<(String, Vec<u8>)> = inbound
        .headers
        .iter()
        .filter(|(name, _)| !is_hop_by_hop(name) && !is_host_set(name))
        .cloned()
        .collect();
    let client_ip = inbound
        .client_addr()
        .map_or_else(|| "unknown".into(), wws_guest::client::ip);
    let forwarded_for = match inbound.header("x-forwarded-for") {
        Some(earlier) => format!("{earlier}, {client_ip}"),
        None => client_ip,
    };
    headers.push(("x-forwarded-for".into(), forwarded_for.into_bytes()));
    headers.push((
        "x-forwarded-proto".into(),
        inbound.scheme.clone().into_bytes(),
    ));
    if let Some(host) = inbound.header("host") {
        headers.push(("x-forwarded-host".into(), host.as_bytes().to_vec()));
    }
    if let Some(id) = access_log::request_id() {
        headers.push(("x-request-id".into(), id.into_bytes()));
    }
    headers
}

/// Headers the host or the gateway sets for the upstream hop, and headers
/// a client could use to make the origin act on another URL, method, host
/// or client address than the one the gateway checked, limited and keyed
/// the cache on: no client may supply those.
fn is_host_set(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "host"
        || name.starts_with("spin-")
        || name.starts_with("x-forwarded-")
        || matches!(
            name.as_str(),
            "x-request-id"
                | "forwarded"
                | "x-real-ip"
                | "true-client-ip"
                | "cf-connecting-ip"
                | "fastly-client-ip"
                | "x-client-ip"
                | "x-cluster-client-ip"
                | "x-original-url"
                | "x-rewrite-url"
                | "x-original-host"
                | "x-host"
                | "x-http-method-override"
                | "x-http-method"
                | "x-method-override"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_cannot_supply_forwarding_or_override_headers() {
        for name in [
            "Forwarded",
            "X-Real-IP",
            "True-Client-IP",
            "X-Forwarded-Prefix",
            "X-Forwarded-For",
            "X-Original-URL",
            "X-Rewrite-URL",
            "X-HTTP-Method-Override",
            "spin-client-addr",
        ] {
            assert!(is_host_set(name), "{name}");
        }
        for name in ["Accept", "Cookie", "X-Task-Type", "Authorization"] {
            assert!(!is_host_set(name), "{name}");
        }
    }

    #[test]
    fn builds_urls_under_the_origin() {
        assert_eq!(
            target_url("http://origin:8080/", "/api/x", "a=1"),
            "http://origin:8080/api/x?a=1"
        );
        assert_eq!(
            target_url("http://origin", "//evil.example/x", ""),
            "http://origin//evil.example/x"
        );
    }
}
