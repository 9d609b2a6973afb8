//! The deadlines a running guest is held to. wasmtime interrupts compiled
//! code at every epoch tick; the store's call hook says when the guest last
//! came back from the host (every wait for I/O is a host call), so the two
//! together tell a guest that computes without end from one that is busy
//! waiting on a slow upstream or streaming a long answer. The tick itself
//! is a host call too (a libcall, with the hook around it): its return must
//! not count as the guest having waited.

use std::time::{Duration, Instant};

/// Why a guest was stopped.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Stopped {
    #[error("the guest ran past its {0:?} request deadline")]
    Deadline(Duration),
    #[error("the guest computed for {0:?} without waiting for I/O")]
    Busy(Duration),
}

/// One request's deadlines.
#[derive(Clone, Debug)]
pub struct Watch {
    started: Instant,
    request: Duration,
    busy: Duration,
    /// When the guest last returned from a host call (or started).
    running_since: Instant,
    /// Inside a tick: the next return from the host is the tick's own.
    in_tick: bool,
}

impl Watch {
    pub fn new(now: Instant, request: Duration, busy: Duration) -> Self {
        Self {
            started: now,
            request,
            busy,
            running_since: now,
            in_tick: false,
        }
    }

    /// The guest came back from the host (or was called): unless that was
    /// the end of a tick, its computing starts again.
    pub fn resumed(&mut self, now: Instant) {
        if std::mem::take(&mut self.in_tick) {
            return;
        }
        self.running_since = now;
    }

    /// At a tick while the guest computes: may it go on?
    pub fn ticked(&mut self, now: Instant) -> Result<(), Stopped> {
        self.in_tick = true;
        if now.duration_since(self.started) >= self.request {
            return Err(Stopped::Deadline(self.request));
        }
        if now.duration_since(self.running_since) >= self.busy {
            return Err(Stopped::Busy(self.busy));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: Duration = Duration::from_secs(60);
    const BUSY: Duration = Duration::from_secs(2);

    #[test]
    fn a_guest_that_keeps_computing_is_stopped_at_the_busy_limit() {
        let start = Instant::now();
        let mut watch = Watch::new(start, REQUEST, BUSY);
        // Each tick is a libcall the call hook sees return: not a wait.
        for millis in (10..2000).step_by(10) {
            let now = start + Duration::from_millis(millis);
            assert_eq!(watch.ticked(now), Ok(()), "{millis} ms");
            watch.resumed(now);
        }
        assert_eq!(
            watch.ticked(start + Duration::from_secs(2)),
            Err(Stopped::Busy(BUSY))
        );
    }

    #[test]
    fn every_return_from_the_host_restarts_the_busy_clock() {
        let start = Instant::now();
        let mut watch = Watch::new(start, REQUEST, BUSY);
        for second in 1..30 {
            let now = start + Duration::from_secs(second);
            watch.resumed(now);
            assert_eq!(watch.ticked(now + Duration::from_millis(1500)), Ok(()));
            watch.resumed(now + Duration::from_millis(1500));
        }
    }

    #[test]
    fn the_request_deadline_holds_however_often_the_guest_waits() {
        let start = Instant::now();
        let mut watch = Watch::new(start, REQUEST, BUSY);
        let late = start + REQUEST;
        watch.resumed(late);
        assert_eq!(watch.ticked(late), Err(Stopped::Deadline(REQUEST)));
    }
}
