//! Token budgets around a provider call: the estimate is held when the
//! request is admitted, and replaced by the provider's own count once the
//! answer is through.

use super::body::ChatRequest;
use crate::admission;
use crate::bindings::mylder::wws::ratelimit::{self, Reservation};
use crate::context::Context;
use crate::error::ApiError;

/// Admits the request with its estimated tokens held; an error is the
/// answer to send.
pub fn reserve(
    request: &ChatRequest,
    path: &str,
    context: &mut Context,
) -> Result<Option<Reservation>, ApiError> {
    let estimate = u64::from(request.context_tokens());
    admission::admit(context, path, Some(estimate))
}

/// Charges what the provider reported; `None` keeps the estimate charged
/// (the provider answered but did not say).
pub fn settle(reservation: Option<Reservation>, used: Option<u64>) {
    if let (Some(reservation), Some(used)) = (reservation, used) {
        ratelimit::settle_tokens(&reservation, used);
    }
}
