//! Everything that is not an AI route goes to the origin VPS unchanged,
//! except for hop-by-hop headers, which belong to one connection only.
//! GETs whose responses allow it are cached ([`cached`]).

mod cached;
mod hop;
mod pass_through;

use wasip2::http::types::{Method, ResponseOutparam};
use wws_guest::http::{self, HttpError};

use crate::config;
use crate::context::Context;
use crate::error::ApiError;
use crate::error::upstream_error;
use crate::inbound::{Inbound, too_large};
use hop::{forwarded_headers, target_url};
use pass_through::pass_through;

pub fn forward(mut inbound: Inbound, mut context: Context, out: ResponseOutparam) {
    let Some(origin) = config::origin_url() else {
        let error = ApiError::new(503, "origin_not_configured", "origin_url is not configured");
        return context.send_error(out, &error);
    };
    let url = target_url(&origin, &inbound.path, &inbound.query);
    if matches!(inbound.method, Method::Get) {
        return cached::forward(&inbound, &url, context, out);
    }
    let headers = forwarded_headers(&inbound);
    let is_head = matches!(inbound.method, Method::Head);
    let Some(mut upload) = inbound.take_body() else {
        let error = ApiError::bad_request("request body could not be read");
        return context.send_error(out, &error);
    };
    let request = http::Request {
        method: inbound.method.clone(),
        url: &url,
        headers,
        body: http::Body::Stream {
            reader: &mut upload,
            limit: inbound.max_body,
        },
    };
    let sent = context.timing.measure("upstream", || {
        http::send(request, config::upstream_timeouts())
    });
    let response = match sent {
        Ok(response) => response,
        Err(HttpError::TooLarge(limit)) => {
            return context.send_error(out, &too_large(limit));
        }
        Err(error) => {
            return context.send_error(out, &upstream_error(&error));
        }
    };
    pass_through(response, &context, out, !is_head, None);
}
