//! One call to a provider: the request in the client's dialect, with the
//! pooled key the attempt leased and the headers the dialect needs, and the
//! log line for a provider whose base URL redirects (a misconfiguration,
//! never retried).

use wasip2::http::types::Method;
use wws_guest::http::{self, HttpError, Response};

use super::body::ChatRequest;
use super::key_pool::Lease;
use crate::bindings::mylder::wws::router::Target;
use crate::config::{self, Provider};
use crate::dialect::{DEFAULT_ANTHROPIC_VERSION, Dialect};
use crate::observe::access_log;

pub fn call(
    request: &ChatRequest,
    target: &Target,
    provider: &Provider,
    lease: &Lease,
) -> Result<Response, HttpError> {
    let dialect = request.dialect();
    let url = format!(
        "{}{}",
        provider.base_url_for(dialect).trim_end_matches('/'),
        dialect.upstream_path()
    );
    let body = request.provider_body(&target.model);
    let accept: &[u8] = if request.is_stream() {
        b"text/event-stream"
    } else {
        b"application/json"
    };
    let mut headers = vec![
        (
            "authorization".into(),
            format!("Bearer {}", lease.key).into_bytes(),
        ),
        ("content-type".into(), b"application/json".to_vec()),
        ("accept".into(), accept.to_vec()),
    ];
    if dialect == Dialect::Anthropic {
        // Anthropic's own header for the key; both providers' Messages
        // endpoints also take the Bearer form, which some proxies need.
        headers.push(("x-api-key".into(), lease.key.clone().into_bytes()));
        let passed = request.passed_headers();
        if !passed.iter().any(|(name, _)| *name == "anthropic-version") {
            headers.push((
                "anthropic-version".into(),
                DEFAULT_ANTHROPIC_VERSION.as_bytes().to_vec(),
            ));
        }
        for (name, value) in passed {
            headers.push((name.to_string(), value.clone().into_bytes()));
        }
    }
    // Lets a provider's support trace a call back to the gateway's log line.
    if let Some(id) = access_log::request_id() {
        headers.push(("x-request-id".into(), id.into_bytes()));
    }
    let outgoing = http::Request {
        method: Method::Post,
        url: &url,
        headers,
        body: http::Body::Bytes(&body),
    };
    http::send(outgoing, config::upstream_timeouts())
}

/// A provider that redirects is misconfigured here, not flaky: the log names
/// the base URL and the variables that make it, and where it pointed (its
/// origin only: a `Location` may carry a query).
pub fn report_redirect(
    target: &Target,
    provider: &Provider,
    dialect: Dialect,
    status: u16,
    location: Option<&str>,
) {
    let variables = config::provider_variables(&target.provider);
    let (url, path) = variables.map_or(("the provider URL", "its path"), |variables| {
        (variables.url, variables.path_for(dialect))
    });
    let pointed = match location.map(wws_guest::http::split_url) {
        Some(Ok(parts)) => {
            let scheme = if parts.https { "https" } else { "http" };
            format!("to {scheme}://{}", parts.authority)
        }
        Some(Err(_)) => "to a path on the same host".to_string(),
        None => "no Location".to_string(),
    };
    eprintln!(
        "gateway: {}'s base URL {} redirects ({status}, {pointed}); set {url} and {path} to where its API answers",
        target.provider,
        provider.base_url_for(dialect)
    );
}
