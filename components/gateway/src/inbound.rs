//! The incoming request: its head as plain data, its body left unread until
//! a stage needs it, whole (AI routes) or streamed (origin pass-through).

use std::io::Read;

use wasip2::http::types::{IncomingBody, IncomingRequest, Method, Scheme};
use wasip2::io::streams::InputStream;

use crate::error::ApiError;

/// The request body, readable once. Fields drop in order: the stream
/// before its body, the body before the request that owns it.
pub struct BodyStream {
    stream: InputStream,
    _body: IncomingBody,
    _request: IncomingRequest,
}

impl Read for BodyStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        Read::read(&mut self.stream, buf)
    }
}

pub struct Inbound {
    pub method: Method,
    /// `http` or `https`, as the client spoke to the host.
    pub scheme: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, Vec<u8>)>,
    /// Largest body accepted, from `max_body_bytes`.
    pub max_body: usize,
    body: Option<BodyStream>,
}

impl Inbound {
    /// Reads the head; a declared body over `max_body` bytes is a 413 at once.
    pub fn read(request: IncomingRequest, max_body: usize) -> Result<Self, ApiError> {
        let method = request.method();
        let path_with_query = request.path_with_query().unwrap_or_else(|| "/".into());
        let (raw_path, query) = match path_with_query.split_once('?') {
            Some((path, query)) => (path, query.to_string()),
            None => (path_with_query.as_str(), String::new()),
        };
        // Only origin-form targets: anything else (`*`, an authority) could
        // change which host the origin URL points at once appended to it.
        if !raw_path.starts_with('/') {
            return Err(ApiError::bad_request("the request target must be a path"));
        }
        // One spelling for limits, policies, routing and the origin alike.
        let path = wws_guest::path::normalise(raw_path);
        let scheme = match request.scheme() {
            Some(Scheme::Https) => "https",
            _ => "http",
        };
        let headers = request.headers().entries();
        // Spin passes heads of up to ~400 KiB; the limit is the gateway's own,
        // so it holds on every host (wws-host refuses larger heads earlier).
        let head_bytes: usize = headers
            .iter()
            .map(|(name, value)| name.len() + value.len())
            .sum::<usize>()
            + path.len()
            + query.len();
        if head_bytes > MAX_HEAD_BYTES {
            return Err(ApiError::new(
                431,
                "request_header_fields_too_large",
                "request headers exceed 64 KiB",
            ));
        }
        let mut inbound = Self {
            method,
            scheme: scheme.to_string(),
            path,
            query,
            headers,
            max_body,
            body: None,
        };
        if let Some(length) = inbound.header("content-length") {
            match length.trim().parse::<u64>() {
                Ok(length) if length > max_body as u64 => return Err(too_large(max_body)),
                Ok(_) => {}
                Err(_) => return Err(ApiError::bad_request("invalid Content-Length")),
            }
        }
        inbound.body = Some(body_stream(request)?);
        Ok(inbound)
    }

    /// The body as a stream, for passing it on unread; once only.
    pub fn take_body(&mut self) -> Option<BodyStream> {
        self.body.take()
    }

    /// Reads the whole body; more than `max_body` bytes is a 413.
    pub fn read_body(&mut self) -> Result<Vec<u8>, ApiError> {
        let unreadable = || ApiError::bad_request("request body could not be read");
        let Some(stream) = self.body.take() else {
            return Err(unreadable());
        };
        let mut bytes = Vec::new();
        stream
            .take(self.max_body as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|_| unreadable())?;
        if bytes.len() > self.max_body {
            return Err(too_large(self.max_body));
        }
        Ok(bytes)
    }

    /// The client's `ip:port` as the host reports it. Spin appends its own
    /// `spin-client-addr` after any the client sent, so only the last value
    /// is the host's; wws-host removes forged ones before adding its own.
    pub fn client_addr(&self) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(key, _)| key.eq_ignore_ascii_case("spin-client-addr"))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    }

    /// How many times the client sent a header.
    pub fn header_count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .count()
    }

    /// The first value of a header, if it is valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    }

    pub fn method_name(&self) -> &str {
        method_name(&self.method)
    }
}

pub fn method_name(method: &Method) -> &str {
    match method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Connect => "CONNECT",
        Method::Options => "OPTIONS",
        Method::Trace => "TRACE",
        Method::Patch => "PATCH",
        Method::Other(other) => other,
    }
}

/// Largest request head accepted: request target plus header names and values.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

pub fn too_large(max_body: usize) -> ApiError {
    ApiError::new(
        413,
        "request_too_large",
        format!("request body exceeds {max_body} bytes"),
    )
}

fn body_stream(request: IncomingRequest) -> Result<BodyStream, ApiError> {
    let unreadable = || ApiError::bad_request("request body could not be read");
    let body = request.consume().map_err(|_| unreadable())?;
    let stream = body.stream().map_err(|_| unreadable())?;
    Ok(BodyStream {
        stream,
        _body: body,
        _request: request,
    })
}
