//! Token budgets around a provider call: the estimate is held before the
//! call, and replaced by the provider's own count once the answer is through.

use super::body::ChatRequest;
use crate::bindings::mylder::wws::ratelimit::{self, Reservation, TokenDecision, Verdict};
use crate::context::Context;
use crate::error::ApiError;
use crate::refusal::limiter_unavailable;

/// Holds the request's estimated tokens; an error is the answer to send.
pub fn reserve(
    request: &ChatRequest,
    context: &mut Context,
) -> Result<Option<Reservation>, ApiError> {
    let estimate = u64::from(request.context_tokens());
    let principal = &context.identity.principal;
    let decision = context
        .timing
        .measure("tokens", || ratelimit::reserve_tokens(principal, estimate));
    let outcome = match decision.verdict {
        Verdict::Admitted => Ok(decision.reservation.clone()),
        Verdict::Limited => Err(over_budget(&decision, estimate)),
        Verdict::Unavailable => Err(limiter_unavailable()),
    };
    context.tokens = Some(decision);
    outcome
}

/// Charges what the provider reported; `None` keeps the estimate charged
/// (the provider answered but did not say).
pub fn settle(reservation: Option<Reservation>, used: Option<u64>) {
    if let (Some(reservation), Some(used)) = (reservation, used) {
        ratelimit::settle_tokens(&reservation, used);
    }
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
