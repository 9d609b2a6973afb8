//! The host calls one request's guest makes, counted as it makes them: what
//! a request asks of its host. Each store operation is a round trip to
//! Redis, each store write a transaction of its own in Spin's SQLite store,
//! and each `wasi:config` read a walk through Spin's variable providers (a
//! blocking environment lookup), each stdout or stderr write a write to
//! Spin's log files, and each `fermyon:spin/redis` command a round trip to
//! the app's own Redis, so `cargo xtask bench --host-calls` reads these
//! counts per scenario.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use wasmtime_wasi::WasiCtxBuilder;

use crate::stdio_tally::CountedOutput;

/// Logged at debug level (`RUST_LOG=wws_host::calls=debug`) when the
/// guest's state is dropped, after its last call, streams included.
pub struct HostCallTally {
    /// Method and path (a query may carry secrets); `None` when the line
    /// would not be logged, so the hot path builds no string for it.
    request: Option<String>,
    kv_opens: u32,
    kv_reads: u32,
    kv_writes: u32,
    config_reads: u32,
    redis_commands: u32,
    /// Writes to stdout and stderr, counted by their streams.
    stdio_writes: Arc<AtomicU32>,
}

impl HostCallTally {
    pub fn new(method: &http::Method, path: &str) -> Self {
        let logged = tracing::enabled!(target: "wws_host::calls", tracing::Level::DEBUG);
        Self {
            request: logged.then(|| format!("{method} {path}")),
            kv_opens: 0,
            kv_reads: 0,
            kv_writes: 0,
            config_reads: 0,
            redis_commands: 0,
            stdio_writes: Arc::default(),
        }
    }

    /// The guest's stdout and stderr: the host's own, counted when this
    /// tally will be logged.
    pub fn stdio(&self, wasi: &mut WasiCtxBuilder) {
        if self.request.is_none() {
            wasi.inherit_stdout().inherit_stderr();
            return;
        }
        wasi.stdout(CountedOutput {
            inner: wasmtime_wasi::cli::stdout(),
            writes: self.stdio_writes.clone(),
        })
        .stderr(CountedOutput {
            inner: wasmtime_wasi::cli::stderr(),
            writes: self.stdio_writes.clone(),
        });
    }

    pub fn kv_open(&mut self) {
        self.kv_opens = self.kv_opens.saturating_add(1);
    }

    pub fn kv_read(&mut self) {
        self.kv_reads = self.kv_reads.saturating_add(1);
    }

    pub fn kv_write(&mut self) {
        self.kv_writes = self.kv_writes.saturating_add(1);
    }

    pub fn config_read(&mut self) {
        self.config_reads = self.config_reads.saturating_add(1);
    }

    pub fn redis_command(&mut self) {
        self.redis_commands = self.redis_commands.saturating_add(1);
    }
}

impl HostCallTally {
    /// The counts as logged. Redis commands appear only when there were
    /// some (only the edge build sends any), so the line the standard build
    /// logs, and what reads it (`bench/src/host_calls.rs`), stay as they were.
    pub(crate) fn counts(&self, stdio_writes: u32) -> String {
        let redis = if self.redis_commands > 0 {
            format!("{} Redis commands, ", self.redis_commands)
        } else {
            String::new()
        };
        format!(
            "{} KV opens, {} KV reads, {} KV writes, {redis}{} config reads, {stdio_writes} stdio writes",
            self.kv_opens, self.kv_reads, self.kv_writes, self.config_reads,
        )
    }
}

impl Drop for HostCallTally {
    fn drop(&mut self) {
        if let Some(request) = &self.request {
            tracing::debug!(
                target: "wws_host::calls",
                "{request}: {}",
                self.counts(self.stdio_writes.load(Ordering::Relaxed))
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_commands_are_counted_with_the_rest() {
        let mut tally = HostCallTally::new(&http::Method::GET, "/");
        tally.kv_open();
        tally.kv_read();
        tally.config_read();
        assert_eq!(
            tally.counts(1),
            "1 KV opens, 1 KV reads, 0 KV writes, 1 config reads, 1 stdio writes"
        );
        tally.redis_command();
        tally.redis_command();
        assert_eq!(
            tally.counts(0),
            "1 KV opens, 1 KV reads, 0 KV writes, 2 Redis commands, 1 config reads, 0 stdio writes"
        );
    }
}
