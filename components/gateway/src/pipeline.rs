//! The order every request goes through: read, authenticate, rate-limit,
//! then dispatch to the AI path, the operator endpoints or the origin. A
//! chat request is rate-limited on the AI path, with its tokens.

use wasip2::http::types::{IncomingRequest, Method, ResponseOutparam};

use crate::bindings::mylder::wws::auth;
use crate::bindings::mylder::wws::ratelimit::Verdict;
use crate::bindings::mylder::wws::types::RequestInfo;
use crate::context::{Context, auth_source_name};
use crate::dialect::Dialect;
use crate::error::ApiError;
use crate::inbound::{self, Inbound};
use crate::observe::{access_log, request_id};
use crate::refusal::auth_error;
use crate::reply;
use crate::timing::ServerTiming;
use crate::{admin, admission, ai, config, health, origin};

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
    let mut context = Context {
        identity,
        decision: None,
        tokens: None,
        timing,
    };
    // A chat request is admitted once its tokens are known, in one charge.
    if !ai::admits_itself(&inbound.method, &inbound.path)
        && let Err(error) = admission::admit(&mut context, &inbound.path, None)
    {
        // The health check is how operators learn why the limiter is down,
        // so it answers even then.
        let limiter_down = context
            .decision
            .as_ref()
            .is_some_and(|decision| decision.verdict == Verdict::Unavailable);
        if !(limiter_down && inbound.path == health::PATH) {
            return context.send_error(out, &error);
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
