//! Outgoing HTTP from guests: checked against `allowed_outbound_hosts`, then
//! sent by wasmtime-wasi-http's default client.

use std::sync::Arc;

use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use crate::allowed_hosts::AllowedHosts;

pub struct OutboundPolicy {
    pub allowed: Arc<AllowedHosts>,
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
        let _ = fut;
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}
