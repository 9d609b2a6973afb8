//! One request, one fresh instance: instantiated from the pre-linked
//! component, handed the request, and held to its deadlines.

use std::time::{Duration, Instant};

use anyhow::anyhow;
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use super::admission::Claim;
use super::watch::Stopped;
use crate::platform::HandlerDeadline;
use crate::state::WwsState;

/// What a guest run ended in, short of a response.
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    /// The guest sent no response head within the limit; it was stopped.
    #[error("no response within {0:?}")]
    NoResponse(Duration),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// What a run holds until the guest is done (its response body streamed and
/// its background work finished), not only until the head is sent.
pub struct Held {
    _instance_slot: tokio::sync::OwnedSemaphorePermit,
    _client_share: Claim,
}

impl Held {
    pub fn new(instance_slot: tokio::sync::OwnedSemaphorePermit, client_share: Claim) -> Self {
        Self {
            _instance_slot: instance_slot,
            _client_share: client_share,
        }
    }
}

pub struct Run<'a> {
    pub pre: &'a ProxyPre<WwsState>,
    pub state: WwsState,
    pub response_head: Duration,
    pub request_deadline: Duration,
    /// The platform's handler-duration quota, told whichever deadline ends
    /// the guest; `None` without one.
    pub handler_deadline: Option<HandlerDeadline>,
}

impl Run<'_> {
    pub async fn respond<B>(
        self,
        request: hyper::Request<B>,
        held: Held,
    ) -> Result<hyper::Response<HyperOutgoingBody>, GuestError>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let mut store = Store::new(self.pre.engine(), self.state);
        install_watch(&mut store);
        install_memory_quota(&mut store);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)
            .map_err(anyhow::Error::from)?;
        let out = store
            .data_mut()
            .http()
            .new_response_outparam(sender)
            .map_err(anyhow::Error::from)?;
        let pre = self.pre.clone();
        let (instantiated, instantiate_time) = tokio::sync::oneshot::channel();
        let request_deadline = self.request_deadline;
        let deadline = tokio::time::Instant::now() + request_deadline;
        let handler_deadline = self.handler_deadline;
        // The guest keeps running after its response head is sent: body
        // streaming and background revalidation happen in this task. A
        // guest stalled in a host call is not interrupted by the epoch, so
        // the task's own deadline ends it.
        let task = tokio::spawn(async move {
            let _held = held;
            let ran = tokio::time::timeout_at(deadline, async move {
                let started = Instant::now();
                let proxy = pre.instantiate_async(&mut store).await?;
                let _ = instantiated.send(started.elapsed());
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, incoming, out)
                    .await
            })
            .await;
            // Either deadline may end a guest: the task's, while it waits
            // in a host call, or the epoch watch's, while it computes.
            let stopped_at = match &ran {
                Err(_) => Some(request_deadline),
                Ok(Err(error)) => Stopped::behind(error).map(Stopped::limit),
                Ok(Ok(())) => None,
            };
            if let (Some(limit), Some(quota)) = (stopped_at, &handler_deadline) {
                quota.fired(limit);
            }
            ran.map_err(|_| anyhow!("the guest ran past its request deadline"))?
                .map_err(anyhow::Error::from)
        });
        // Until the head arrives, the guest works for this client only: if
        // the client leaves (hyper drops this future) or the head is late,
        // the guest stops, and with it every upstream call it made.
        let task = AbortOnDrop(Some(task));
        let head = tokio::time::timeout(self.response_head, receiver).await;
        match head {
            Err(_) => Err(GuestError::NoResponse(self.response_head)),
            Ok(Ok(Ok(mut response))) => {
                task.detach();
                // What the per-request sandbox costs, next to the guest's own
                // Server-Timing entries, so benchmarks can report it.
                if let Ok(elapsed) = instantiate_time.await {
                    let entry = format!("instantiate;dur={:.3}", elapsed.as_secs_f64() * 1000.0);
                    if let Ok(value) = entry.parse() {
                        response.headers_mut().append("server-timing", value);
                    }
                }
                Ok(response)
            }
            Ok(Ok(Err(code))) => Err(anyhow!("component answered with error code {code:?}").into()),
            Ok(Err(_)) => match task.join().await {
                Some(Ok(Ok(()))) => {
                    Err(anyhow!("component returned without sending a response").into())
                }
                Some(Ok(Err(error))) => Err(error.into()),
                Some(Err(error)) => Err(anyhow::Error::from(error).into()),
                None => Err(anyhow!("the guest task was lost").into()),
            },
        }
    }
}

/// Wires the state's watch into the store: the epoch callback checks the
/// deadline at each tick and yields, so a computing guest never holds an
/// executor thread.
fn install_watch(store: &mut Store<WwsState>) {
    store.epoch_deadline_callback(|store| {
        store.data().watch.ticked(Instant::now())?;
        Ok(UpdateDeadline::Yield(1))
    });
    store.set_epoch_deadline(1);
}

/// Holds the execution to the platform's memory quota, if it has one.
fn install_memory_quota(store: &mut Store<WwsState>) {
    if store.data().memory.is_limited() {
        store.limiter(|state| &mut state.memory);
    }
}

/// A spawned task that is aborted when dropped, unless detached first.
struct AbortOnDrop<T>(Option<tokio::task::JoinHandle<T>>);

impl<T> AbortOnDrop<T> {
    fn detach(mut self) {
        self.0.take();
    }

    async fn join(mut self) -> Option<Result<T, tokio::task::JoinError>> {
        let handle = self.0.take()?;
        Some(handle.await)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
        }
    }
}
