//! The guest's stdout and stderr, counting its writes for the request's
//! [`crate::tally::HostCallTally`]: under Spin each one is a write to its
//! log files through tokio's blocking pool, so how often a request writes
//! is part of what it costs there. Used only while the tally is logged.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// `inner`, with every write the guest makes added to `writes`.
pub struct CountedOutput<S> {
    pub inner: S,
    pub writes: Arc<AtomicU32>,
}

impl<S: IsTerminal> IsTerminal for CountedOutput<S> {
    fn is_terminal(&self) -> bool {
        self.inner.is_terminal()
    }
}

impl<S: StdoutStream> StdoutStream for CountedOutput<S> {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        self.inner.async_stream()
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(CountedStream {
            inner: self.inner.p2_stream(),
            writes: self.writes.clone(),
        })
    }
}

struct CountedStream {
    inner: Box<dyn OutputStream>,
    writes: Arc<AtomicU32>,
}

impl Pollable for CountedStream {
    fn ready<'life0, 'async_trait>(
        &'life0 mut self,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.ready()
    }
}

impl OutputStream for CountedStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.inner.flush()
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        self.inner.check_write()
    }
}
