//! The order every request goes through: read, authenticate, rate-limit,
//! then dispatch to the AI path, the health check or the origin.

use wasip2::http::types::{IncomingRequest, Method, ResponseOutparam};

use crate::error::ApiError;
use crate::inbound::Inbound;
use crate::mylder::wws::auth::{self, AuthError, AuthSource, Identity};
use crate::mylder::wws::ratelimit::{self, Decision, TokenDecision, Verdict};
use crate::mylder::wws::types::RequestInfo;
use crate::outbound::{self, Head};
use crate::timing::ServerTiming;
use crate::{admin, ai, config, origin};

pub const HEALTH_PATH: &str = "/api/wws/health";

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
    let mut timing = ServerTiming::default();
    let inbound = match Inbound::read(request, config::max_body_bytes()) {
        Ok(inbound) => inbound,
        Err(error) => return outbound::send_error(out, &error, &[]),
    };
    if matches!(inbound.method, Method::Connect | Method::Trace) {
        let error = ApiError::new(405, "method_not_allowed", "method not allowed");
        return outbound::send_error(out, &error, &[]);
    }

    let info = RequestInfo {
        method: inbound.method_name().to_string(),
        path: inbound.path.clone(),
        query: inbound.query.clone(),
        authorization: inbound.header("authorization").map(str::to_string),
        client_addr: inbound.header("spin-client-addr").map(str::to_string),
    };
    let identity = match timing.measure("auth", || auth::authenticate(&info)) {
        Ok(identity) => identity,
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
        Verdict::Unavailable => {
            return outbound::send_error(out, &limiter_unavailable(), &context.headers());
        }
    }

    match (&inbound.method, inbound.path.as_str()) {
        (Method::Get, HEALTH_PATH) => health(out, &context),
        (Method::Post, admin::PURGE_PATH) => admin::purge(inbound, context, out),
        (_, path) if ai::handles(path) => ai::handle(inbound, context, out),
        _ => origin::forward(inbound, context, out),
    }
}

fn health(out: ResponseOutparam, context: &Context) {
    let body = serde_json::json!({
        "status": "ok",
        "service": "wws",
        "version": env!("CARGO_PKG_VERSION"),
        "providers": {
            "primary": config::provider("primary").is_some(),
            "fallback": config::provider("fallback").is_some(),
        },
        "origin": config::origin_url().is_some(),
    });
    let mut head = Head::new(200);
    head.set("content-type", "application/json");
    head.extend(&context.headers());
    outbound::send(out, head, body.to_string().as_bytes());
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
