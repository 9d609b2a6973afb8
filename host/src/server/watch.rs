//! The deadline a running guest is held to, as Spin holds its guests:
//! wasmtime interrupts compiled code at every epoch tick and the tick
//! checks the request's deadline, so a guest that computes without end is
//! stopped and one that waits is stopped by the same bound.
//!
//! A "busy" limit (computing without waiting) would need the store's call
//! hook to see every return from the host; measured, that hook cost about
//! 0.5 ms per request (BENCHMARKS.md), so a looping guest is stopped at the
//! request or response deadline instead, and yields at every tick meanwhile
//! so it never holds an executor thread.

use std::time::{Duration, Instant};

/// Why a guest was stopped.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Stopped {
    #[error("the guest ran past its {0:?} request deadline")]
    Deadline(Duration),
}

impl Stopped {
    /// The limit the guest was stopped at.
    pub fn limit(&self) -> Duration {
        match self {
            Self::Deadline(limit) => *limit,
        }
    }

    /// The stop behind a guest's failure, if the watch stopped it: wasmtime
    /// returns the epoch callback's error as the trap, with context around.
    pub fn behind(error: &wasmtime::Error) -> Option<&Self> {
        error
            .downcast_ref::<Self>()
            .or_else(|| error.chain().find_map(|cause| cause.downcast_ref::<Self>()))
    }
}

#[derive(Clone, Debug)]
pub struct Watch {
    started: Instant,
    request: Duration,
}

impl Watch {
    pub fn new(now: Instant, request: Duration) -> Self {
        Self {
            started: now,
            request,
        }
    }

    /// Called at each epoch tick while the guest runs.
    pub fn ticked(&self, now: Instant) -> Result<(), Stopped> {
        if now.duration_since(self.started) >= self.request {
            return Err(Stopped::Deadline(self.request));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: Duration = Duration::from_secs(60);

    #[test]
    fn a_guest_runs_until_its_request_deadline() {
        let start = Instant::now();
        let watch = Watch::new(start, REQUEST);
        for second in 0..60 {
            assert_eq!(watch.ticked(start + Duration::from_secs(second)), Ok(()));
        }
        assert_eq!(
            watch.ticked(start + REQUEST),
            Err(Stopped::Deadline(REQUEST))
        );
    }

    #[test]
    fn a_stop_is_found_behind_the_trap() {
        let trap = wasmtime::Error::new(Stopped::Deadline(REQUEST)).context("wasm backtrace");
        assert_eq!(Stopped::behind(&trap), Some(&Stopped::Deadline(REQUEST)));
        assert_eq!(Stopped::behind(&wasmtime::Error::msg("other")), None);
    }
}
