//! One request through the server: admitted (head checks, per-client and
//! instance caps), handed to a fresh instance with its own state, and
//! answered whatever the guest does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpCtx;

use super::guest::{GuestError, Held, Run};
use super::idle_body::IdleDeadline;
use super::responses::{self, Response};
use super::watch::Watch;
use super::{Server, head};
use crate::outbound::OutboundPolicy;
use crate::platform::{ExecutionMemory, HandlerDeadline};
use crate::state::WwsState;
use crate::tally::HostCallTally;

impl Server {
    pub(super) async fn handle(
        self: Arc<Self>,
        mut request: hyper::Request<Incoming>,
        client: SocketAddr,
    ) -> Result<Response, std::convert::Infallible> {
        let started = Instant::now();
        if head::head_bytes(request.headers()) > head::MAX_HEAD_BYTES && !self.spin_http_semantics {
            return Ok(responses::head_too_large(head::MAX_HEAD_BYTES));
        }
        if !self.spin_http_semantics && !head::has_usable_authority(&request) {
            return Ok(responses::no_usable_host());
        }
        let method = request.method().clone();
        // The path only: queries may carry secrets and never reach the log.
        let path = request.uri().path().to_string();
        if self.spin_http_semantics {
            if head::mark_as_spin_does(request.headers_mut(), client).is_none() {
                return Ok(responses::empty_internal_error());
            }
        } else {
            head::strip_and_mark(request.headers_mut(), client);
        }
        let Some(client_share) = self
            .requests
            .claim(client.ip(), self.limits.requests_per_client)
        else {
            return Ok(responses::busy(
                "too many requests in progress from this address",
            ));
        };
        let Ok(instance_slot) = self.instance_slots.clone().try_acquire_owned() else {
            return Ok(responses::busy("every instance is in use"));
        };
        let held = Held::new(instance_slot, client_share);
        let request = request.map(|body| IdleDeadline::new(body, self.limits.body_idle));
        let handler_deadline = self.quotas.as_ref().and_then(HandlerDeadline::new);
        let run = Run {
            pre: &self.pre,
            state: self.fresh_state(HostCallTally::new(&method, &path)),
            response_head: self.limits.response_head,
            request_deadline: self.limits.request,
            handler_deadline: handler_deadline.clone(),
        };
        let response = match run.respond(request, held).await {
            Ok(response) => response,
            Err(GuestError::NoResponse(limit)) => {
                if let Some(deadline) = &handler_deadline {
                    deadline.fired(limit);
                }
                tracing::warn!("{method} {path}: no response within {limit:?}; guest stopped");
                responses::no_response_in_time(limit)
            }
            Err(GuestError::Failed(error)) => {
                tracing::error!("{method} {path}: component failed: {error:#}");
                responses::internal_error()
            }
        };
        // The component writes the JSON access line operators read; this
        // one is for debugging the host itself (RUST_LOG=wws_host=debug).
        tracing::debug!(
            "{client} \"{method} {path}\" {} {:.3}ms",
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        Ok(response)
    }

    fn fresh_state(&self, calls: HostCallTally) -> WwsState {
        let mut wasi = WasiCtx::builder();
        calls.stdio(&mut wasi);
        WwsState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            kv: self.kv.clone(),
            variables: self.variables.clone(),
            outbound: OutboundPolicy {
                allowed: self.allowed_hosts.clone(),
                pool: self.pool.clone(),
                spin_costs: self.spin_costs.clone(),
            },
            spin_costs: self.spin_costs.clone(),
            watch: Watch::new(Instant::now(), self.limits.request),
            calls,
            redis_connections: 0,
            quotas: self.quotas.clone(),
            memory: ExecutionMemory::new(self.quotas.as_ref()),
        }
    }
}
