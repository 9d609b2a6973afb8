//! The Rate Limiter's admission of a request: asked once per request, with
//! the tokens to hold when the request will reach a provider, so the
//! request and its tokens cost one round trip to the counters.

use crate::bindings::mylder::wws::ratelimit::{self, Reservation, TokenDecision, Verdict};
use crate::context::Context;
use crate::error::ApiError;
use crate::refusal::{limiter_unavailable, rate_limited};

/// Admits the request to `path`, holding `tokens` when given; what the
/// limiter said is kept in `context` for the answer's headers. An error is
/// the answer to send instead.
pub fn admit(
    context: &mut Context,
    path: &str,
    tokens: Option<u64>,
) -> Result<Option<Reservation>, ApiError> {
    let principal = &context.identity.principal;
    let admission = context
        .timing
        .measure("ratelimit", || ratelimit::admit(principal, path, tokens));
    let decision = context.decision.insert(admission.decision);
    match decision.verdict {
        Verdict::Admitted => {}
        Verdict::Limited => return Err(rate_limited(decision)),
        Verdict::Unavailable => return Err(limiter_unavailable()),
    }
    let Some(held) = admission.tokens else {
        return Ok(None);
    };
    let outcome = match held.verdict {
        Verdict::Admitted => Ok(held.reservation.clone()),
        Verdict::Limited => Err(over_budget(&held, tokens.unwrap_or(0))),
        Verdict::Unavailable => Err(limiter_unavailable()),
    };
    context.tokens = Some(held);
    outcome
}

fn over_budget(decision: &TokenDecision, estimate: u64) -> ApiError {
    let message = if estimate > decision.limit {
        format!(
            "request needs about {estimate} tokens, more than the {} budget of {}",
            decision.budget, decision.limit
        )
    } else {
        format!(
            "{} budget of {} exceeded; about {estimate} tokens needed, {} left",
            decision.budget, decision.limit, decision.remaining
        )
    };
    ApiError::new(429, "tokens_exceeded", message)
        .with_header("retry-after", decision.retry_after_secs.to_string())
}
