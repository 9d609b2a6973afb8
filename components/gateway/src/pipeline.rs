//! The order every request goes through: read, authenticate, rate-limit,
//! then dispatch to the AI path, the operator endpoints or the origin.

use wasip2::http::types::{IncomingRequest, Method, ResponseOutparam};

use crate::error::ApiError;
use crate::inbound::{self, Inbound};
use crate::mylder::wws::auth::{self, AuthError, AuthSource, Identity};
use crate::mylder::wws::ratelimit::{self, Decision, TokenDecision, Verdict};
use crate::mylder::wws::types::RequestInfo;
use crate::observe::{access_log, request_id};
use crate::outbound;
use crate::timing::ServerTiming;
use crate::{admin, ai, config, health, origin};

/// What earlier stages learned, carried to whichever stage answers.
pub struct Context {
    pub identity: Identity,
    pub decision: Decision,
    /// The token budget's answer, once a request is about to reach a provider.
    pub tokens: Option<TokenDecision>,
    pub timing: ServerTiming,
}

impl Context {
    /// Headers every response after the rate limiter carries.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut headers = rate_limit_headers(&self.decision);
        if let Some(tokens) = self.tokens.as_ref().filter(|t| t.limit != u64::MAX) {
            headers.extend(token_headers(tokens));
        }
        headers.push((
            "x-wws-auth-source".into(),
            auth_source_name(self.identity.source).into(),
        ));
        headers.push(("server-timing".into(), self.timing.header_value()));
        headers
    }
}

pub fn handle(request: IncomingRequest, out: ResponseOutparam) {
    open_access_log(&request);
    serve(request, out);
    // Normally written when the body finished; this covers answers that
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

fn serve(request: IncomingRequest, out: ResponseOutparam) {
    let mut timing = ServerTiming::default();
    let inbound = match Inbound::read(request, config::max_body_bytes()) {
        Ok(inbound) => inbound,
        Err(error) => return outbound::send_error(out, &error, &[]),
    };
    if matches!(inbound.method, Method::Connect | Method::Trace) {
        let error = ApiError::new(405, "method_not_allowed", "method not allowed");
        return outbound::send_error(out, &error, &[]);
    }
    // Only one credential is verified; a second would still reach the origin.
    if inbound.header_count("authorization") > 1 {
        let error = ApiError::bad_request("more than one Authorization header");
        return outbound::send_error(out, &error, &[]);
    }

    let info = RequestInfo {
        method: inbound.method_name().to_string(),
        path: inbound.path.clone(),
        query: inbound.query.clone(),
        authorization: inbound.header("authorization").map(str::to_string),
        client_addr: inbound.client_addr().map(str::to_string),
    };
    let identity = match timing.measure("auth", || auth::authenticate(&info)) {
        Ok(identity) => {
            access_log::principal(&identity.principal.id, auth_source_name(identity.source));
            identity
        }
        Err(error) => {
            let timing = vec![("server-timing".into(), timing.header_value())];
            return outbound::send_error(out, &auth_error(error), &timing);
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
            return outbound::send_error(out, &error, &context.headers());
        }
        // The health check is how operators learn why the limiter is down,
        // so it answers even then.
        Verdict::Unavailable if inbound.path == health::PATH => {}
        Verdict::Unavailable => {
            return outbound::send_error(out, &limiter_unavailable(), &context.headers());
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

fn auth_error(error: AuthError) -> ApiError {
    match error {
        AuthError::MissingCredentials => {
            ApiError::new(401, "authentication_error", "missing bearer token")
                .with_header("www-authenticate", "Bearer")
        }
        AuthError::InvalidToken(reason) => ApiError::new(401, "authentication_error", reason)
            .with_header("www-authenticate", "Bearer error=\"invalid_token\""),
        AuthError::Unavailable(reason) => ApiError::new(503, "auth_unavailable", reason),
        AuthError::Throttled(retry_after) => ApiError::new(
            429,
            "too_many_failed_logins",
            "too many refused tokens from this address; retry later",
        )
        .with_header("retry-after", retry_after.to_string()),
    }
}

fn rate_limited(decision: &Decision) -> ApiError {
    ApiError::new(
        429,
        "rate_limit_exceeded",
        format!(
            "rate limit of {} requests per {} s for {} exceeded",
            decision.limit, decision.window_secs, decision.policy
        ),
    )
    .with_header("retry-after", decision.retry_after_secs.to_string())
}

/// The rate-limit store is down and `on_store_error` is `closed`.
pub fn limiter_unavailable() -> ApiError {
    ApiError::new(
        503,
        "rate_limiter_unavailable",
        "rate limiting is unavailable and the gateway is configured to fail closed",
    )
    .with_header("retry-after", "5")
}

/// OpenAI's names for token budgets, which its SDKs already surface.
fn token_headers(tokens: &TokenDecision) -> Vec<(String, String)> {
    vec![
        ("x-ratelimit-limit-tokens".into(), tokens.limit.to_string()),
        (
            "x-ratelimit-remaining-tokens".into(),
            tokens.remaining.to_string(),
        ),
        (
            "x-ratelimit-reset-tokens".into(),
            format!("{}s", tokens.reset_secs),
        ),
    ]
}

/// `X-RateLimit-*` (reset in seconds from now) and the IETF fields.
fn rate_limit_headers(decision: &Decision) -> Vec<(String, String)> {
    let name = decision.policy.trim_start_matches('/').replace('/', "-");
    vec![
        ("x-ratelimit-limit".into(), decision.limit.to_string()),
        (
            "x-ratelimit-remaining".into(),
            decision.remaining.to_string(),
        ),
        ("x-ratelimit-reset".into(), decision.reset_secs.to_string()),
        (
            "ratelimit-policy".into(),
            format!("\"{name}\";q={};w={}", decision.limit, decision.window_secs),
        ),
        (
            "ratelimit".into(),
            format!(
                "\"{name}\";r={};t={}",
                decision.remaining, decision.reset_secs
            ),
        ),
    ]
}

fn auth_source_name(source: AuthSource) -> &'static str {
    match source {
        AuthSource::Cache => "cache",
        AuthSource::Jwt => "jwt",
        AuthSource::Origin => "origin",
        AuthSource::ApiKey => "api-key",
        AuthSource::Public => "public",
    }
}
