//! Writing the response: whole bodies, or upstream bodies passed through
//! chunk by chunk as they arrive.

use std::io::{Read, Write};

use wasip2::http::types::{Fields, OutgoingBody, OutgoingResponse, ResponseOutparam};
use wasip2::io::streams::OutputStream;

use crate::error::ApiError;
use crate::filter::Filter;
use crate::head::Head;
use crate::observe::access_log;

/// The most `blocking-write-and-flush` takes in one call (wasi:io 0.2).
const MAX_ONE_CALL_WRITE: usize = 4096;

/// How a piped body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piped {
    Complete,
    /// The upstream body broke off or stalled past its timeout.
    SourceFailed,
    /// The client stopped reading.
    ClientGone,
    /// The request reached its deadline ([`wws_guest::deadline`]).
    OutOfTime,
}

impl Piped {
    pub fn is_complete(self) -> bool {
        self == Piped::Complete
    }
}

/// An open response body; `finish` must be called once the body is written.
pub struct Writer {
    // Declared first so it is dropped before the body it belongs to.
    stream: OutputStream,
    body: OutgoingBody,
}

impl Writer {
    /// Sends the head; every response passes here, so this is where the
    /// request id is echoed and the access log learns what was answered.
    pub fn start(out: ResponseOutparam, mut head: Head) -> Option<Self> {
        if let Some(id) = access_log::request_id() {
            head.set("x-request-id", id);
        }
        access_log::responded(&head);
        let fields = Fields::new();
        for (name, value) in &head.headers {
            if fields.append(name, value).is_err() {
                eprintln!("gateway: dropped invalid response header {name:?}");
            }
        }
        let response = OutgoingResponse::new(fields);
        let _ = response.set_status_code(head.status);
        let body = response.body().ok()?;
        let stream = body.write().ok()?;
        ResponseOutparam::set(out, Ok(response));
        Some(Self { stream, body })
    }

    /// Writes and flushes `bytes`. A streamed event is small: one
    /// `blocking-write-and-flush` host call (it takes up to 4096 bytes)
    /// sends it, where `Write::write_all` and `flush` cost a readiness
    /// check, a write, a flush and a wait per chunk, each a host call that
    /// Spin charges.
    pub fn write_all(&mut self, bytes: &[u8]) -> bool {
        if bytes.len() <= MAX_ONE_CALL_WRITE {
            return self.stream.blocking_write_and_flush(bytes).is_ok();
        }
        self.stream
            .write_all(bytes)
            .and_then(|()| Write::flush(&mut self.stream))
            .is_ok()
    }

    /// Copies `source` to the client through `filter`, flushing every chunk
    /// as soon as it is read so streamed completions are not buffered, and
    /// says which side, if any, failed midway.
    pub fn pipe(&mut self, mut source: impl Read, filter: &mut impl Filter) -> Piped {
        let mut buffer = vec![0; 16 * 1024];
        loop {
            match source.read(&mut buffer) {
                Ok(0) => return Piped::Complete,
                Ok(read) => {
                    let forward = filter.pass(&buffer[..read]);
                    if !forward.is_empty() && !self.write_all(&forward) {
                        return Piped::ClientGone;
                    }
                    if filter.is_finished() {
                        return Piped::Complete;
                    }
                }
                Err(error) if wws_guest::deadline::is_deadline(&error) => return Piped::OutOfTime,
                Err(_) => return Piped::SourceFailed,
            }
        }
    }

    pub fn finish(self) {
        let Writer { stream, body } = self;
        drop(stream);
        let _ = OutgoingBody::finish(body, None);
        access_log::finish();
    }

    /// Ends a body that broke off upstream without finishing it: the host
    /// then aborts the response, so the client sees an incomplete message
    /// instead of a truncated body that looks whole.
    pub fn abort(self) {
        access_log::error("upstream_body_broken");
        let Writer { stream, body } = self;
        drop(stream);
        drop(body);
        access_log::finish();
    }

    /// Finishes the body if it was `complete`, aborts it otherwise.
    pub fn end(self, complete: bool) {
        if complete {
            self.finish();
        } else {
            self.abort();
        }
    }
}

/// Sends a complete response.
pub fn send(out: ResponseOutparam, mut head: Head, body: &[u8]) {
    head.set("content-length", body.len().to_string());
    if let Some(mut writer) = Writer::start(out, head) {
        writer.write_all(body);
        writer.finish();
    }
}

/// Sends `error` as JSON, with `extra` headers (rate limits, timing) added.
pub fn send_error(out: ResponseOutparam, error: &ApiError, extra: &[(String, String)]) {
    access_log::error(error.kind);
    let mut head = Head::new(error.status);
    head.set("content-type", "application/json");
    head.extend(extra);
    head.extend(&error.headers);
    send(out, head, &error.body());
}
