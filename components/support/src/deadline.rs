//! The platform's limit on one request's run time, as the instance sees it.
//!
//! Akamai Functions and Fermyon Cloud end a request after 30 s. Cut off by
//! the platform, a stream just stops: the client cannot tell a finished
//! answer from a killed one. So the gateway sets a deadline a little before
//! (`request_deadline_ms`), every body read and outgoing call here respects
//! it, and a read that reaches it fails with `TimedOut`, which the gateway
//! answers with the dialect's in-band error event while it still can. An
//! instance serves one request, so the deadline is the instance's.

use std::cell::Cell;
use std::io;
use std::time::{Duration, Instant};

use wasip2::clocks::monotonic_clock;
use wasip2::io::poll;
use wasip2::io::streams::{InputStream, StreamError};

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// From now, the request may run `budget` more; `None` leaves it unbounded.
pub fn start(budget: Option<Duration>) {
    DEADLINE.set(budget.map(|budget| Instant::now() + budget));
}

/// Time left, or `None` without a deadline.
pub fn remaining() -> Option<Duration> {
    DEADLINE
        .get()
        .map(|deadline| deadline.saturating_duration_since(Instant::now()))
}

pub fn has_passed() -> bool {
    remaining().is_some_and(|left| left.is_zero())
}

/// `timeout` shortened to what the request has left.
pub fn cap(timeout: Duration) -> Duration {
    remaining().map_or(timeout, |left| timeout.min(left))
}

/// The error a read that reached the deadline returns.
pub fn is_deadline(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::TimedOut
}

/// Reads what `stream` has, waiting at most until the deadline.
pub(crate) fn read(stream: &mut InputStream, buf: &mut [u8]) -> io::Result<usize> {
    let Some(left) = remaining() else {
        return io::Read::read(stream, buf);
    };
    loop {
        let readable = stream.subscribe();
        // Waiting on the timer too costs the host a scheduling round trip
        // even when the bytes are there (it added 4 ms to a stream's first
        // byte); a stream that is ready is read at once.
        if !readable.ready() {
            let timer = monotonic_clock::subscribe_duration(left_nanos(left));
            let ready = poll::poll(&[&readable, &timer]);
            if !ready.contains(&0) {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the request reached its deadline",
                ));
            }
        }
        match stream.read(buf.len() as u64) {
            Ok(bytes) if bytes.is_empty() => continue,
            Ok(bytes) => {
                buf[..bytes.len()].copy_from_slice(&bytes);
                return Ok(bytes.len());
            }
            Err(StreamError::Closed) => return Ok(0),
            Err(StreamError::LastOperationFailed(error)) => {
                return Err(io::Error::other(error.to_debug_string()));
            }
        }
    }
}

fn left_nanos(left: Duration) -> u64 {
    u64::try_from(left.as_nanos()).unwrap_or(u64::MAX)
}
