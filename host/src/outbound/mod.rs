//! Outgoing HTTP from guests: checked against `allowed_outbound_hosts`, then
//! sent over a keep-alive connection from the host's [`Pool`].

mod pool;
mod probe;

use std::sync::Arc;

pub use pool::Pool;
pub use probe::{Redirect, redirect_of};

use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use crate::allowed_hosts::AllowedHosts;
use crate::spin_costs::SpinCosts;

pub struct OutboundPolicy {
    pub allowed: Arc<AllowedHosts>,
    pub pool: Arc<Pool>,
    /// Benchmark mode: Spin's per-instance allow-list resolution.
    pub spin_costs: Option<SpinCosts>,
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> SendFuture {
        if let Some(costs) = &mut self.spin_costs {
            costs.outgoing_request();
        }
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("http");
        let host = uri.host().unwrap_or("");
        if !self.allowed.allows(scheme, host, uri.port_u16()) {
            // Report scheme and authority only: paths and queries may carry secrets.
            tracing::warn!(
                "blocked outgoing request to {scheme}://{}: not in allowed_outbound_hosts",
                uri.authority().map(|a| a.as_str()).unwrap_or("")
            );
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        // The guest's body completion needs no relay: the pool's connection
        // task drives the upload and reports failures through the response.
        let _ = fut;
        let pool = self.pool.clone();
        Box::new(async move {
            let response = pool.send(request, options).await?;
            Ok((
                response,
                Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}
