//! Walking the router's plan: each target in turn, past open circuits,
//! until one gives an answer worth passing on.
//!
//! A target is left for the next on a refused connection, a timeout
//! (connect, first byte, or a stream that breaks before its first byte), a
//! 5xx, a 429, a redirect, or a 401/403 for the gateway's own key; a short `Retry-After` on a 429/503 is waited out once on
//! the same target first. A "prompt too long" answer re-routes to the plan's
//! long-context models. Any other answer, including other 4xx, is passed on.

use std::collections::VecDeque;
use std::io::Read;
use std::time::Duration;

use wws_guest::http::{HttpError, Response};

use super::answer::{Answer, AnswerBody, Bounded, MAX_CACHED_BODY as MAX_CHECKED_BODY};
use super::body::ChatRequest;
use super::breaker::{self, Admission, Blame};
use super::call::{call, report_redirect};
use super::failover::{self, Next};
use super::key_pool;
use crate::bindings::mylder::wws::router::{Plan, Target};
use crate::config::{self, Provider};
use crate::error::ApiError;
use crate::error::upstream_error;
use crate::observe::provider_stats::{self, Event};

/// Error answers are read whole to classify them; none is anywhere near this.
const MAX_ERROR_BODY: usize = 256 * 1024;

/// Why the plan produced no answer worth passing on.
struct Failures {
    last: Option<ApiError>,
    /// A context-length answer kept to return if no long-context model helps.
    too_long: Option<Answer>,
    /// The soonest an open circuit will let a probe through.
    open_for_secs: Option<u64>,
    attempts: u32,
}

/// `caller` is the principal's id: a failure that may be its own prompt's
/// doing counts against a provider's circuit once per caller.
pub fn first_answer(request: &ChatRequest, plan: &Plan, caller: &str) -> Result<Answer, ApiError> {
    let mut queue: VecDeque<Target> = plan.targets.iter().cloned().collect();
    let mut long_context = plan.long_context.clone();
    let mut failures = Failures {
        last: None,
        too_long: None,
        open_for_secs: None,
        attempts: 0,
    };
    while let Some(target) = queue.pop_front() {
        let Some(provider) = config::provider(&target.provider) else {
            continue;
        };
        let admission = breaker::admit(&target.provider);
        if let Admission::Skip { retry_in_secs } = admission {
            eprintln!("gateway: circuit for {} is open, skipping", target.provider);
            let soonest = failures
                .open_for_secs
                .map_or(retry_in_secs, |s| s.min(retry_in_secs));
            failures.open_for_secs = Some(soonest);
            continue;
        }
        match try_target(
            request,
            &target,
            &provider,
            &admission,
            caller,
            &mut failures,
        ) {
            Outcome::Answered(answer) => {
                if failures.stood_in_for_another() {
                    provider_stats::record(&target.provider, Event::Fallback);
                }
                return Ok(answer);
            }
            Outcome::Failed => {}
            Outcome::TooLong(answer) => {
                failures.too_long = Some(answer);
                // Long-context models go next, each once.
                for target in long_context.drain(..).rev() {
                    queue.push_front(target);
                }
            }
        }
    }
    if let Some(answer) = failures.too_long {
        return Ok(answer);
    }
    Err(match (failures.last, failures.open_for_secs) {
        (Some(error), _) => error,
        (None, Some(secs)) => ApiError::new(
            503,
            "provider_unavailable",
            "every provider for this route is failing; its circuit is open",
        )
        .with_header("retry-after", secs.to_string()),
        (None, None) => ApiError::new(
            503,
            "provider_not_configured",
            "no AI provider is configured for this route: set synthetic_api_key or zai_api_key",
        ),
    })
}

impl Failures {
    /// Whether an answer now comes from other than the first target chosen.
    fn stood_in_for_another(&self) -> bool {
        self.last.is_some() || self.open_for_secs.is_some() || self.too_long.is_some()
    }
}

enum Outcome {
    Answered(Answer),
    Failed,
    TooLong(Answer),
}

fn try_target(
    request: &ChatRequest,
    target: &Target,
    provider: &Provider,
    admission: &Admission,
    caller: &str,
    failures: &mut Failures,
) -> Outcome {
    let mut retried = false;
    let mut tried_keys = Vec::new();
    loop {
        let Some(lease) = key_pool::lease(&target.provider, &provider.api_keys, &tried_keys) else {
            failures.last = Some(provider_failed(target, "has every API key set aside"));
            return Outcome::Failed;
        };
        failures.attempts += 1;
        provider_stats::record(&target.provider, Event::Request);
        if provider.api_keys.len() > 1 {
            provider_stats::record(&target.provider, Event::Key(lease.index));
        }
        let response = match call(request, target, provider, &lease) {
            Ok(response) => response,
            // A configuration mistake says nothing about the provider's
            // health, so the breaker never hears of it.
            Err(HttpError::Denied) => {
                let variable = url_variable(&target.provider);
                eprintln!(
                    "gateway: the host refused the request to {}: check {variable}",
                    target.provider
                );
                failures.last = Some(ApiError::upstream_not_allowed(variable));
                return Outcome::Failed;
            }
            Err(error) => {
                // A timeout may be the prompt's size, not the provider's health.
                let blame = match error {
                    HttpError::Timeout => Blame::Ambiguous { caller },
                    _ => Blame::Provider,
                };
                let error = upstream_error(&error);
                note_failure(target, admission, &error.message, false, blame);
                failures.last = Some(error);
                return Outcome::Failed;
            }
        };
        let status = response.status;
        let content_type = response.header("content-type").map(str::to_string);
        let attempts = failures.attempts;
        let answer = |body| Answer {
            status,
            content_type: content_type.clone(),
            body,
            target: target.clone(),
            attempts,
        };
        if (200..300).contains(&status) {
            let checked = first_bytes(response, request.is_stream())
                .map(&answer)
                .and_then(|answered| checked_answer(answered, request, target));
            return match checked {
                Ok(answered) => {
                    breaker::record_success(&target.provider, admission);
                    // In flight until the answer has gone out.
                    key_pool::hold(lease);
                    Outcome::Answered(answered)
                }
                Err(error) => {
                    note_failure(target, admission, &error.message, false, Blame::Provider);
                    failures.last = Some(error);
                    Outcome::Failed
                }
            };
        }
        let retry_after = response.header("retry-after").map(str::to_string);
        let location = response.header("location").map(str::to_string);
        let body = match response.read_all(MAX_ERROR_BODY) {
            Ok(body) => body,
            Err(error) => {
                let error = upstream_error(&error);
                note_failure(target, admission, &error.message, false, Blame::Provider);
                failures.last = Some(error);
                return Outcome::Failed;
            }
        };
        // A pooled key the provider limits or refuses is set aside, and the
        // next key is tried before the provider counts as failing.
        if provider.api_keys.len() > 1
            && let Some(secs) = key_pool::set_aside_secs(status, retry_after.as_deref())
        {
            key_pool::put_aside(&target.provider, &lease, secs);
            tried_keys.push(lease.index);
            if tried_keys.len() < provider.api_keys.len() {
                continue;
            }
        }
        match failover::classify(status, retry_after.as_deref(), &body, max_retry_wait()) {
            Next::Deliver => {
                breaker::record_success(&target.provider, admission);
                return Outcome::Answered(answer(AnswerBody::Buffered(body)));
            }
            Next::LongContext => {
                eprintln!(
                    "gateway: {} ({}) says the prompt is too long, re-routing",
                    target.provider, target.model
                );
                return Outcome::TooLong(answer(AnswerBody::Buffered(body)));
            }
            Next::RetrySame { after } if !retried => {
                retried = true;
                std::thread::sleep(after);
            }
            Next::RetrySame { .. } => {
                let reason = format!("answered {status} again after Retry-After");
                note_failure(target, admission, &reason, false, Blame::Provider);
                failures.last = Some(provider_failed(target, &reason));
                return Outcome::Failed;
            }
            Next::FailOver {
                reason,
                open_circuit,
            } => {
                if (300..400).contains(&status) {
                    let dialect = request.dialect();
                    report_redirect(target, provider, dialect, status, location.as_deref());
                }
                note_failure(target, admission, &reason, open_circuit, Blame::Provider);
                failures.last = Some(provider_failed(target, &reason));
                return Outcome::Failed;
            }
        }
    }
}

fn url_variable(provider: &str) -> &'static str {
    config::provider_variables(provider).map_or("the provider URL", |variables| variables.url)
}

/// For a stream, waits for its first bytes before committing to it: a
/// provider that fails before then can still be replaced by the next one.
fn first_bytes(response: Response, is_stream: bool) -> Result<AnswerBody, ApiError> {
    let mut rest = response.into_body();
    let mut first = Vec::new();
    if is_stream {
        let mut buffer = vec![0; 16 * 1024];
        match rest.read(&mut buffer) {
            Ok(0) => {
                return Err(ApiError::new(
                    502,
                    "upstream_error",
                    "provider stream ended before its first byte",
                ));
            }
            Ok(read) => first.extend_from_slice(&buffer[..read]),
            Err(error) => {
                return Err(ApiError::new(
                    502,
                    "upstream_error",
                    format!("provider stream failed before its first byte: {error}"),
                ));
            }
        }
    }
    Ok(AnswerBody::Live { first, rest })
}

/// A plain 200 is read whole (up to the cacheable size; it arrives whole
/// anyway, once generation is done) and must be an answer in the request's
/// dialect: a body that broke off or is an error page is the provider
/// failing, so the next target can still answer and the circuit breaker
/// counts it.
fn checked_answer(
    answer: Answer,
    request: &ChatRequest,
    target: &Target,
) -> Result<Answer, ApiError> {
    if request.is_stream() || answer.status != 200 {
        return Ok(answer);
    }
    let shell = Answer {
        status: answer.status,
        content_type: answer.content_type.clone(),
        body: AnswerBody::Buffered(Vec::new()),
        target: answer.target.clone(),
        attempts: answer.attempts,
    };
    match answer.read_bounded(MAX_CHECKED_BODY) {
        Ok(Bounded::Whole(body)) if request.dialect().is_answer(&body) => Ok(Answer {
            body: AnswerBody::Buffered(body),
            ..shell
        }),
        Ok(Bounded::Whole(_)) => Err(provider_failed(target, request.dialect().not_an_answer())),
        Ok(Bounded::TooLarge(answer)) => Ok(answer),
        Err(error) => Err(upstream_error(&error)),
    }
}

fn note_failure(
    target: &Target,
    admission: &Admission,
    reason: &str,
    open_circuit: bool,
    blame: Blame<'_>,
) {
    eprintln!(
        "gateway: {} ({}) failed: {reason}; trying the next target",
        target.provider, target.model
    );
    breaker::record_failure(&target.provider, admission, open_circuit, blame);
    provider_stats::record(&target.provider, Event::Error);
}

fn provider_failed(target: &Target, reason: &str) -> ApiError {
    ApiError::new(
        502,
        "upstream_error",
        format!("provider {} {reason}", target.provider),
    )
}

fn max_retry_wait() -> Duration {
    Duration::from_millis(wws_guest::config::get_u64("max_retry_wait_ms", 2_000))
}
