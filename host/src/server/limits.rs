//! How long a client may take and how much of the host it may hold. The
//! defaults suit a gateway that faces clients directly; behind a proxy every
//! client shares the proxy's address, so raise the per-client caps there
//! (0 turns a cap off).

use std::time::Duration;

use super::engine::INSTANCE_SLOTS;
use crate::platform::Quotas;

#[derive(Clone, Debug)]
pub struct Limits {
    /// From the first byte of a request head to its end.
    pub header_read: Duration,
    /// Longest gap between two pieces of a request body.
    pub body_idle: Duration,
    /// From the head read to the guest's response head; past it the client
    /// gets 504 and the guest is stopped.
    pub response_head: Duration,
    /// The whole guest task, response body and background work included:
    /// the end for a guest that stalls or loops.
    pub request: Duration,
    /// Open connections per client address.
    pub connections_per_client: usize,
    /// Guest instances (requests in progress, streams included) per client
    /// address.
    pub requests_per_client: usize,
    /// Guest instances in all; at most the pool's slots.
    pub instances: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            body_idle: Duration::from_secs(10),
            // Two provider attempts at the default 60 s first-byte timeout,
            // plus retry waits and a cache-fill wait, fit well inside.
            response_head: Duration::from_secs(300),
            // Long streamed completions run for minutes.
            request: Duration::from_secs(1800),
            connections_per_client: 256,
            requests_per_client: 128,
            instances: INSTANCE_SLOTS as usize,
        }
    }
}

impl Limits {
    /// These limits, with the platform's handler duration as the longest
    /// any request may run and wait for its head: a request past it is
    /// ended by the host, as the platform ends it. Shorter limits of the
    /// operator's own stay.
    pub fn within(mut self, quotas: &Quotas) -> Self {
        if let Some(handler) = quotas.handler_duration {
            self.request = self.request.min(handler);
            self.response_head = self.response_head.min(handler);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Platform;

    #[test]
    fn a_platform_shortens_the_request_deadlines_only() {
        let limits = Limits::default().within(&Platform::Akamai.spec().quotas);
        assert_eq!(limits.request, Duration::from_secs(30));
        assert_eq!(limits.response_head, Duration::from_secs(30));
        assert_eq!(limits.header_read, Limits::default().header_read);
        let shorter = Limits {
            response_head: Duration::from_secs(5),
            ..Limits::default()
        }
        .within(&Platform::FermyonCloud.spec().quotas);
        assert_eq!(shorter.response_head, Duration::from_secs(5));
        assert_eq!(shorter.request, Duration::from_secs(30));
        let spin = Limits::default().within(&Platform::Spin.spec().quotas);
        assert_eq!(spin.request, Limits::default().request);
    }
}
