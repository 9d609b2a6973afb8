//! Everything that is not an AI route goes to the origin VPS unchanged,
//! except for hop-by-hop headers, which belong to one connection only.
//! GETs whose responses allow it are cached ([`cached`]).

mod cached;

use wasip2::http::types::{Method, ResponseOutparam};
use wws_guest::http::{self, HttpError, Response};

use crate::config;
use crate::error::ApiError;
use crate::inbound::{Inbound, too_large};
use crate::observe::access_log;
use crate::outbound::{self, Head, Unchanged, Writer, is_hop_by_hop};
use crate::pipeline::Context;

pub fn forward(mut inbound: Inbound, mut context: Context, out: ResponseOutparam) {
    let Some(origin) = config::origin_url() else {
        let error = ApiError::new(503, "origin_not_configured", "origin_url is not configured");
        return outbound::send_error(out, &error, &context.headers());
    };
    let url = target_url(&origin, &inbound.path, &inbound.query);
    if matches!(inbound.method, Method::Get) {
        return cached::forward(&inbound, &url, context, out);
    }
    let headers = forwarded_headers(&inbound);
    let is_head = matches!(inbound.method, Method::Head);
    let Some(mut upload) = inbound.take_body() else {
        let error = ApiError::bad_request("request body could not be read");
        return outbound::send_error(out, &error, &context.headers());
    };
    let request = http::Request {
        method: inbound.method.clone(),
        url: &url,
        headers,
        body: http::Body::Stream {
            reader: &mut upload,
            limit: inbound.max_body,
        },
    };
    let sent = context.timing.measure("upstream", || {
        http::send(request, config::upstream_timeouts())
    });
    let response = match sent {
        Ok(response) => response,
        Err(HttpError::TooLarge(limit)) => {
            return outbound::send_error(out, &too_large(limit), &context.headers());
        }
        Err(error) => {
            return outbound::send_error(out, &upstream_error(&error), &context.headers());
        }
    };
    pass_through(response, &context, out, !is_head, None);
}

/// Sends the origin's response on as it arrives, minus hop-by-hop headers.
fn pass_through(
    response: Response,
    context: &Context,
    out: ResponseOutparam,
    with_body: bool,
    cache_label: Option<&str>,
) {
    let mut head = response_head(&response);
    head.extend(&context.headers());
    if let Some(label) = cache_label {
        head.set("x-wws-cache", label);
    }
    if let Some(mut writer) = Writer::start(out, head) {
        let complete = !with_body || writer.pipe(response.into_body(), &mut Unchanged);
        writer.end(complete);
    }
}

fn response_head(response: &Response) -> Head {
    let mut head = Head::new(response.status);
    for (name, value) in &response.headers {
        if !is_hop_by_hop(name) {
            head.headers.push((name.clone(), value.clone()));
        }
    }
    head
}

/// `origin_url` + path + query. The path always starts with `/`, so the
/// authority of the configured origin can never be replaced by the client.
fn target_url(origin: &str, path: &str, query: &str) -> String {
    let mut url = format!("{}{}", origin.trim_end_matches('/'), path);
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// The client's headers minus those of this hop, plus the `X-Forwarded-*`
/// fields that tell the origin who asked and how.
fn forwarded_headers(inbound: &Inbound) -> Vec<(String, Vec<u8>)> {
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

pub fn upstream_error(error: &HttpError) -> ApiError {
    match error {
        HttpError::Timeout => ApiError::new(504, "upstream_timeout", "upstream timed out"),
        HttpError::Denied => ApiError::upstream_not_allowed("origin_url"),
        other => ApiError::new(502, "upstream_error", other.to_string()),
    }
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
