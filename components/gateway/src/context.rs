//! What the stages before dispatch learned about a request (who asks, what
//! the limiter said, the timings so far), and the headers that tell the
//! client so on every answer after the rate limiter.

use wasip2::http::types::ResponseOutparam;

use crate::bindings::mylder::wws::auth::{AuthSource, Identity};
use crate::bindings::mylder::wws::ratelimit::{Decision, TokenDecision};
use crate::error::ApiError;
use crate::head::Head;
use crate::reply;
use crate::timing::ServerTiming;

/// What earlier stages learned, carried to whichever stage answers.
pub struct Context {
    pub identity: Identity,
    /// The Rate Limiter's answer, once the request has been admitted (a
    /// chat request is admitted with its tokens, after its body is read).
    pub decision: Option<Decision>,
    /// The token budget's answer, once a request is about to reach a provider.
    pub tokens: Option<TokenDecision>,
    pub timing: ServerTiming,
}

impl Context {
    /// Headers every response after the rate limiter carries.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut headers = self
            .decision
            .as_ref()
            .map(rate_limit_headers)
            .unwrap_or_default();
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

    /// A response head with `status` and the shared headers, computed now
    /// (timings and token budgets grow as the request goes on).
    pub fn head(&self, status: u16) -> Head {
        let mut head = Head::new(status);
        head.extend(&self.headers());
        head
    }

    /// Answers `error` with the shared headers.
    pub fn send_error(&self, out: ResponseOutparam, error: &ApiError) {
        reply::send_error(out, error, &self.headers());
    }
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

pub fn auth_source_name(source: AuthSource) -> &'static str {
    match source {
        AuthSource::Cache => "cache",
        AuthSource::Jwt => "jwt",
        AuthSource::Origin => "origin",
        AuthSource::ApiKey => "api-key",
        AuthSource::Public => "public",
    }
}
