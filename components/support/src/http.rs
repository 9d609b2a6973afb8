//! Outgoing HTTP over `wasi:http/outgoing-handler`, with the body left as a
//! stream so callers can pass it through chunk by chunk or read it whole.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingResponse, Method, OutgoingBody, OutgoingRequest,
    RequestOptions, Scheme,
};
use wasip2::io::streams::{InputStream, StreamError};

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("invalid upstream URL {0:?}")]
    InvalidUrl(String),
    #[error("invalid request header {0:?}")]
    InvalidHeader(String),
    #[error("upstream timed out")]
    Timeout,
    #[error("upstream connection failed: {0}")]
    Connect(String),
    #[error("upstream request failed: {0}")]
    Transport(String),
    #[error("upstream response is larger than {0} bytes")]
    TooLarge(usize),
    /// The host's `allowed_outbound_hosts` refused the destination: the
    /// deployment's configuration is wrong, not the upstream.
    #[error("the host refused the request: its destination is not in allowed_outbound_hosts")]
    Denied,
}

impl From<ErrorCode> for HttpError {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::ConnectionTimeout | ErrorCode::ConnectionReadTimeout => HttpError::Timeout,
            ErrorCode::DnsTimeout | ErrorCode::ConnectionRefused => {
                HttpError::Connect(format!("{code:?}"))
            }
            ErrorCode::DnsError(_)
            | ErrorCode::DestinationNotFound
            | ErrorCode::DestinationUnavailable
            | ErrorCode::DestinationIpProhibited
            | ErrorCode::DestinationIpUnroutable
            | ErrorCode::ConnectionTerminated
            | ErrorCode::TlsProtocolError
            | ErrorCode::TlsCertificateError => HttpError::Connect(format!("{code:?}")),
            ErrorCode::HttpRequestDenied => HttpError::Denied,
            other => HttpError::Transport(format!("{other:?}")),
        }
    }
}

/// How long each phase of an upstream exchange may take.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub first_byte: Duration,
    pub between_bytes: Duration,
}

pub struct Request<'a> {
    pub method: Method,
    pub url: &'a str,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Body<'a>,
}

/// What a request sends after its head.
pub enum Body<'a> {
    Bytes(&'a [u8]),
    /// Copied from `reader` as it is read, so a large upload never sits in
    /// memory whole; more than `limit` bytes fails with [`HttpError::TooLarge`].
    Stream {
        reader: &'a mut dyn Read,
        limit: usize,
    },
}

/// An upstream response whose body has not been read yet.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    body: BodyReader,
}

/// The response body as a blocking reader; dropping it releases the stream.
pub struct BodyReader {
    // Field order matters: the stream must be dropped before its body.
    stream: InputStream,
    _body: IncomingBody,
}

/// Reads stop at the request's deadline ([`deadline`](crate::deadline)).
impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        crate::deadline::read(&mut self.stream, buf)
    }
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    }

    pub fn into_body(self) -> BodyReader {
        self.body
    }

    /// Reads the whole body, refusing more than `limit` bytes.
    pub fn read_all(self, limit: usize) -> Result<Vec<u8>, HttpError> {
        self.read_whole(limit, None)
    }

    /// As [`Response::read_all`], but the body must be complete by
    /// `deadline`: one that trickles in, each gap shorter than the
    /// between-bytes timeout, would otherwise take as long as it likes.
    pub fn read_all_by(self, limit: usize, deadline: Instant) -> Result<Vec<u8>, HttpError> {
        self.read_whole(limit, Some(deadline))
    }

    fn read_whole(mut self, limit: usize, deadline: Option<Instant>) -> Result<Vec<u8>, HttpError> {
        let mut body = Vec::new();
        let mut chunk = vec![0; 16 * 1024];
        loop {
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Err(HttpError::Timeout);
            }
            match self.body.read(&mut chunk) {
                Ok(0) => return Ok(body),
                Ok(read) => {
                    body.extend_from_slice(&chunk[..read]);
                    if body.len() > limit {
                        return Err(HttpError::TooLarge(limit));
                    }
                }
                Err(error) => return Err(HttpError::Transport(error.to_string())),
            }
        }
    }
}

/// The three parts of an absolute `http(s)` URL that wasi:http sets separately.
#[derive(Debug, PartialEq, Eq)]
pub struct UrlParts<'a> {
    pub https: bool,
    pub authority: &'a str,
    pub path_and_query: &'a str,
}

pub fn split_url(url: &str) -> Result<UrlParts<'_>, HttpError> {
    let invalid = || HttpError::InvalidUrl(url.to_string());
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(invalid());
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(split);
    if authority.is_empty() || authority.contains('@') {
        return Err(invalid());
    }
    Ok(UrlParts {
        https,
        authority,
        path_and_query: if path_and_query.is_empty() {
            "/"
        } else {
            path_and_query
        },
    })
}

/// Sends `request` and waits for the response head, within the request's
/// deadline if it has one.
pub fn send(request: Request<'_>, timeouts: Timeouts) -> Result<Response, HttpError> {
    if crate::deadline::has_passed() {
        return Err(HttpError::Timeout);
    }
    let parts = split_url(request.url)?;
    let fields = Fields::new();
    for (name, value) in &request.headers {
        fields
            .append(name, value)
            .map_err(|_| HttpError::InvalidHeader(name.clone()))?;
    }
    // A body known in full goes with its length: both hosts send chunked
    // otherwise, and some provider front ends refuse chunked uploads (411).
    if let Some(length) = declared_length(&request.method, &request.body) {
        fields
            .set("content-length", &[length.to_string().into_bytes()])
            .map_err(|_| HttpError::InvalidHeader("content-length".into()))?;
    }
    let outgoing = OutgoingRequest::new(fields);
    let invalid_url = || HttpError::InvalidUrl(request.url.to_string());
    outgoing
        .set_method(&request.method)
        .map_err(|_| invalid_url())?;
    let scheme = if parts.https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|_| invalid_url())?;
    outgoing
        .set_authority(Some(parts.authority))
        .map_err(|_| invalid_url())?;
    outgoing
        .set_path_with_query(Some(parts.path_and_query))
        .map_err(|_| invalid_url())?;
    let body = outgoing
        .body()
        .map_err(|_| HttpError::Transport("request body already taken".into()))?;

    let future = outgoing_handler::handle(outgoing, Some(options(timeouts)))?;
    // A refused or failed exchange also breaks the body stream; the
    // response future then holds the real cause, so it is consulted first.
    let sent = write_body(&body, request.body)
        .and_then(|()| OutgoingBody::finish(body, None).map_err(HttpError::from));
    if let Err(HttpError::TooLarge(limit)) = sent {
        // The unfinished body aborts the upstream request; say why.
        return Err(HttpError::TooLarge(limit));
    }

    future.subscribe().block();
    let incoming: IncomingResponse = match future.get() {
        Some(Ok(result)) => result?,
        Some(Err(())) | None => return Err(HttpError::Transport("response already taken".into())),
    };
    sent?;
    let status = incoming.status();
    let headers = incoming.headers().entries();
    let body = incoming
        .consume()
        .map_err(|_| HttpError::Transport("response body already taken".into()))?;
    let stream = body
        .stream()
        .map_err(|_| HttpError::Transport("response stream already taken".into()))?;
    Ok(Response {
        status,
        headers,
        body: BodyReader {
            stream,
            _body: body,
        },
    })
}

/// The `Content-Length` a request announces: a buffered body's size, also
/// `0` for an empty body on methods that carry one; a stream has none.
fn declared_length(method: &Method, body: &Body<'_>) -> Option<usize> {
    match body {
        Body::Bytes(bytes) if !bytes.is_empty() => Some(bytes.len()),
        Body::Bytes(_) => matches!(method, Method::Post | Method::Put | Method::Patch).then_some(0),
        Body::Stream { .. } => None,
    }
}

fn options(timeouts: Timeouts) -> RequestOptions {
    let options = RequestOptions::new();
    let nanos = |duration: Duration| crate::deadline::cap(duration).as_nanos() as u64;
    // A host that cannot honour a timeout refuses it; the request then runs
    // with the host's own limits, which is still correct.
    let _ = options.set_connect_timeout(Some(nanos(timeouts.connect)));
    let _ = options.set_first_byte_timeout(Some(nanos(timeouts.first_byte)));
    let _ = options.set_between_bytes_timeout(Some(nanos(timeouts.between_bytes)));
    options
}

fn write_body(body: &OutgoingBody, source: Body<'_>) -> Result<(), HttpError> {
    let broken = |error: std::io::Error| HttpError::Transport(error.to_string());
    if matches!(source, Body::Bytes(bytes) if bytes.is_empty()) {
        return Ok(());
    }
    let mut stream = body
        .write()
        .map_err(|_| HttpError::Transport("request stream already taken".into()))?;
    match source {
        Body::Bytes(bytes) => stream.write_all(bytes).map_err(broken)?,
        Body::Stream { reader, limit } => {
            let mut buffer = vec![0; 16 * 1024];
            let mut sent = 0;
            loop {
                let read = reader.read(&mut buffer).map_err(broken)?;
                if read == 0 {
                    break;
                }
                sent += read;
                if sent > limit {
                    return Err(HttpError::TooLarge(limit));
                }
                stream.write_all(&buffer[..read]).map_err(broken)?;
            }
        }
    }
    // With a declared length, the host's HTTP client drops its end of the
    // stream as soon as it holds the last byte, so a flush racing it finds
    // the stream closed although everything was handed over; a body that
    // did break shows in the response future, which the caller reads next.
    match stream.blocking_flush() {
        Ok(()) | Err(StreamError::Closed) => Ok(()),
        Err(StreamError::LastOperationFailed(error)) => {
            Err(HttpError::Transport(error.to_debug_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls_into_wasi_parts() {
        assert_eq!(
            split_url("https://api.z.ai/api/paas/v4?x=1").unwrap(),
            UrlParts {
                https: true,
                authority: "api.z.ai",
                path_and_query: "/api/paas/v4?x=1"
            }
        );
        assert_eq!(
            split_url("http://127.0.0.1:8080").unwrap().path_and_query,
            "/"
        );
    }

    #[test]
    fn buffered_bodies_declare_their_length() {
        assert_eq!(declared_length(&Method::Post, &Body::Bytes(b"{}")), Some(2));
        assert_eq!(declared_length(&Method::Post, &Body::Bytes(b"")), Some(0));
        assert_eq!(declared_length(&Method::Get, &Body::Bytes(b"")), None);
        let mut reader: &[u8] = b"abc";
        let stream = Body::Stream {
            reader: &mut reader,
            limit: 10,
        };
        assert_eq!(declared_length(&Method::Post, &stream), None);
    }

    #[test]
    fn refuses_other_schemes_and_userinfo() {
        assert!(split_url("ftp://example.com/").is_err());
        assert!(split_url("http://user@evil/").is_err());
        assert!(split_url("http:///path").is_err());
    }
}
