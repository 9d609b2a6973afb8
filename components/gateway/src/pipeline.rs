//! The order every request goes through: read, authenticate, rate-limit,
//! then dispatch to the AI path, the operator endpoints or the origin.

use wasip2::http::types::{IncomingRequest, Method, ResponseOutparam};

use crate::bindings::mylder::wws::auth;
use crate::bindings::mylder::wws::ratelimit::{self, Verdict};
use crate::bindings::mylder::wws::types::RequestInfo;
use crate::context::{Context, auth_source_name};
use crate::dialect::Dialect;
use crate::error::ApiError;
use crate::inbound::{self, Inbound};
use crate::observe::{access_log, request_id};
use crate::refusal::{auth_error, limiter_unavailable, rate_limited};
use crate::reply;
use crate::timing::ServerTiming;
use crate::{admin, ai, config, health, origin};

pub fn handle(request: IncomingRequest, out: ResponseOutparam) {
    open_access_log(&request);
    serve(request, out);
    // Normally timed when the body finished; this covers answers that
    // never got that far (a client gone before the head was sent).
    access_log::finish();
}

fn open_access_log(request: &IncomingRequest) {
    let target = request.path_with_query().unwrap_or_default();
    let route = target.split('?').next().unwrap_or_default();
    let offered = request.headers().get("x-request-id");
    let offered = offered
        .first()
        .and_then(|value| std::str::from_utf8(value).ok());
    access_log::begin(
        request_id::choose(offered),
        inbound::method_name(&request.method()),
        route,
    );
}

/// The credential to verify: `Authorization`, or on the Messages API the
/// `x-api-key` header Anthropic's SDKs send instead, read as a bearer token.
fn credential(inbound: &Inbound) -> Option<String> {
    if let Some(authorization) = inbound.header("authorization") {
        return Some(authorization.to_string());
    }
    let api_key = inbound.header("x-api-key")?;
    Dialect::is_messages_api(&inbound.path).then(|| format!("Bearer {api_key}"))
}

fn serve(request: IncomingRequest, out: ResponseOutparam) {
    wws_guest::deadline::start(config::request_deadline());
    let mut timing = ServerTiming::default();
    let inbound = match Inbound::read(request, config::max_body_bytes()) {
        Ok(inbound) => inbound,
        Err(error) => return reply::send_error(out, &error, &[]),
    };
    if matches!(inbound.method, Method::Connect | Method::Trace) {
        let error = ApiError::new(405, "method_not_allowed", "method not allowed");
        return reply::send_error(out, &error, &[]);
    }
    // Only one credential is verified; a second would still reach the origin.
    if inbound.header_count("authorization") > 1 || inbound.header_count("x-api-key") > 1 {
        let error = ApiError::bad_request("more than one Authorization or x-api-key header");
        return reply::send_error(out, &error, &[]);
    }

    let info = RequestInfo {
        method: inbound.method_name().to_string(),
        path: inbound.path.clone(),
        query: inbound.query.clone(),
        authorization: credential(&inbound),
        client_addr: inbound.client_addr().map(str::to_string),
    };
    let identity = match timing.measure("auth", || auth::authenticate(&info)) {
        Ok(identity) => {
            access_log::principal(&identity.principal.id, auth_source_name(identity.source));
            identity
        }
        Err(error) => {
            let timing = vec![("server-timing".into(), timing.header_value())];
            return reply::send_error(out, &auth_error(error), &timing);
        }
    };
    let decision = timing.measure("ratelimit", || {
        ratelimit::check(&identity.principal, &inbound.path)
    });
    let context = Context {
        identity,
        decision,
        tokens: None,
        timing,
    };
    match context.decision.verdict {
        Verdict::Admitted => {}
        Verdict::Limited => {
            let error = rate_limited(&context.decision);
            return context.send_error(out, &error);
        }
        // The health check is how operators learn why the limiter is down,
        // so it answers even then.
        Verdict::Unavailable if inbound.path == health::PATH => {}
        Verdict::Unavailable => {
            return context.send_error(out, &limiter_unavailable());
        }
    }

    match (&inbound.method, inbound.path.as_str()) {
        (Method::Get, health::PATH) => health::check(out, &context),
        (Method::Post, admin::PURGE_PATH) => admin::purge(inbound, context, out),
        (Method::Get, admin::STATS_PATH) => admin::stats(context, out),
        (_, path) if ai::handles(path) => ai::handle(inbound, context, out),
        _ => origin::forward(inbound, context, out),
    }
}
