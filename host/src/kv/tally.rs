//! The store operations one request's guest makes, counted as it makes
//! them: what a request asks of its host. Each one is a round trip to
//! Redis, and each write a transaction of its own in Spin's SQLite store,
//! so `cargo xtask bench --kv-ops` reads these counts per scenario.

/// Logged at debug level (`RUST_LOG=wws_host::kv=debug`) when the guest's
/// state is dropped, after its last operation, streams included.
pub struct KvTally {
    request: String,
    reads: u32,
    writes: u32,
}

impl KvTally {
    /// `request` names the request in the log line (method and path only:
    /// a query may carry secrets).
    pub fn new(request: String) -> Self {
        Self {
            request,
            reads: 0,
            writes: 0,
        }
    }

    pub fn read(&mut self, keys: usize) {
        self.reads = self.reads.saturating_add(keys as u32);
    }

    pub fn write(&mut self, keys: usize) {
        self.writes = self.writes.saturating_add(keys as u32);
    }
}

impl Drop for KvTally {
    fn drop(&mut self) {
        tracing::debug!(
            target: "wws_host::kv",
            "{}: {} KV reads, {} KV writes",
            self.request,
            self.reads,
            self.writes
        );
    }
}
