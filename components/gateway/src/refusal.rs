//! The answers to requests refused before dispatch: by the Auth Guard, by
//! the Rate Limiter, or because the limiter's store is down.

use crate::bindings::mylder::wws::auth::AuthError;
use crate::bindings::mylder::wws::ratelimit::Decision;
use crate::error::ApiError;

pub fn auth_error(error: AuthError) -> ApiError {
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

pub fn rate_limited(decision: &Decision) -> ApiError {
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
