//! The answers the host gives itself, without the guest: JSON in the
//! gateway's own error shape, so clients parse them like the component's.

use std::convert::Infallible;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::StatusCode;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

pub type Response = hyper::Response<HyperOutgoingBody>;

pub fn internal_error() -> Response {
    json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "the gateway component failed",
    )
}

pub fn head_too_large(limit: usize) -> Response {
    json_error(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "request_header_fields_too_large",
        &format!("request headers exceed {} KiB", limit / 1024),
    )
}

pub fn no_usable_host() -> Response {
    json_error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "the request needs a Host header of visible ASCII characters",
    )
}

/// Every instance is taken, or this client holds its share of them (or of
/// connections): worth retrying in a moment, unlike a 500.
pub fn busy(what: &str) -> Response {
    let mut response = json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "server_busy",
        &format!("{what}; retry shortly"),
    );
    response.headers_mut().insert(
        hyper::header::RETRY_AFTER,
        hyper::header::HeaderValue::from_static("1"),
    );
    response
}

pub fn no_response_in_time(limit: Duration) -> Response {
    json_error(
        StatusCode::GATEWAY_TIMEOUT,
        "gateway_timeout",
        &format!("no response within {} s", limit.as_secs()),
    )
}

/// Spin answers a request it cannot hand to the guest with an empty 500.
pub fn empty_internal_error() -> Response {
    let mut response = hyper::Response::new(body(Vec::new()));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

fn json_error(status: StatusCode, kind: &str, message: &str) -> Response {
    let text = serde_json::json!({ "error": { "type": kind, "message": message } }).to_string();
    let mut response = hyper::Response::new(body(text.into_bytes()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

fn body(bytes: Vec<u8>) -> HyperOutgoingBody {
    Full::new(bytes::Bytes::from(bytes))
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}
