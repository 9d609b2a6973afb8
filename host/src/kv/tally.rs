//! The store operations one request's guest makes, counted as it makes
//! them: what a request asks of its host. Each one is a round trip to
//! Redis, and each write a transaction of its own in Spin's SQLite store,
//! so `cargo xtask bench --kv-ops` reads these counts per scenario.

/// Logged at debug level (`RUST_LOG=wws_host::kv=debug`) when the guest's
/// state is dropped, after its last operation, streams included.
pub struct KvTally {
    /// Method and path (a query may carry secrets); `None` when the line
    /// would not be logged, so the hot path builds no string for it.
    request: Option<String>,
    reads: u32,
    writes: u32,
}

impl KvTally {
    pub fn new(method: &http::Method, path: &str) -> Self {
        let logged = tracing::enabled!(target: "wws_host::kv", tracing::Level::DEBUG);
        Self {
            request: logged.then(|| format!("{method} {path}")),
            reads: 0,
            writes: 0,
        }
    }

    pub fn read(&mut self) {
        self.reads = self.reads.saturating_add(1);
    }

    pub fn write(&mut self) {
        self.writes = self.writes.saturating_add(1);
    }
}

impl Drop for KvTally {
    fn drop(&mut self) {
        if let Some(request) = &self.request {
            tracing::debug!(
                target: "wws_host::kv",
                "{request}: {} KV reads, {} KV writes",
                self.reads,
                self.writes
            );
        }
    }
}
