//! The incoming request, read once into plain data.

use std::io::Read;

use wasip2::http::types::{IncomingRequest, Method, Scheme};

use crate::error::ApiError;

pub struct Inbound {
    pub method: Method,
    /// `http` or `https`, as the client spoke to the host.
    pub scheme: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Inbound {
    /// Reads head and body; a body over `max_body` bytes is a 413.
    pub fn read(request: IncomingRequest, max_body: usize) -> Result<Self, ApiError> {
        let method = request.method();
        let path_with_query = request.path_with_query().unwrap_or_else(|| "/".into());
        let (path, query) = match path_with_query.split_once('?') {
            Some((path, query)) => (path.to_string(), query.to_string()),
            None => (path_with_query, String::new()),
        };
        // Only origin-form targets: anything else (`*`, an authority) could
        // change which host the origin URL points at once appended to it.
        if !path.starts_with('/') {
            return Err(ApiError::bad_request("the request target must be a path"));
        }
        let scheme = match request.scheme() {
            Some(Scheme::Https) => "https",
            _ => "http",
        };
        let headers = request.headers().entries();
        let inbound = Self {
            method,
            scheme: scheme.to_string(),
            path,
            query,
            headers,
            body: Vec::new(),
        };
        if let Some(length) = inbound.header("content-length") {
            match length.trim().parse::<u64>() {
                Ok(length) if length > max_body as u64 => return Err(too_large(max_body)),
                Ok(_) => {}
                Err(_) => return Err(ApiError::bad_request("invalid Content-Length")),
            }
        }
        let body = read_body(&request, max_body)?;
        Ok(Self { body, ..inbound })
    }

    /// The first value of a header, if it is valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    }

    pub fn method_name(&self) -> &str {
        match &self.method {
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
}

fn too_large(max_body: usize) -> ApiError {
    ApiError::new(
        413,
        "request_too_large",
        format!("request body exceeds {max_body} bytes"),
    )
}

fn read_body(request: &IncomingRequest, max_body: usize) -> Result<Vec<u8>, ApiError> {
    let unreadable = || ApiError::bad_request("request body could not be read");
    let body = request.consume().map_err(|_| unreadable())?;
    let mut bytes = Vec::new();
    {
        let stream = body.stream().map_err(|_| unreadable())?;
        stream
            .take(max_body as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|_| unreadable())?;
    }
    drop(body);
    if bytes.len() > max_body {
        return Err(too_large(max_body));
    }
    Ok(bytes)
}
