//! Delivering a provider's answer: streamed through as it arrives, or read
//! whole to be stored in the cache, with its token usage read on the way.

use wasip2::http::types::ResponseOutparam;

use super::answer::{Answer, AnswerBody};
use super::attempts::first_answer;
use super::body::ChatRequest;
use super::usage::{self, UsageTap};
use crate::mylder::wws::cache::{self, CachedResponse};
use crate::mylder::wws::router::Plan;
use crate::origin::upstream_error;
use crate::outbound::{self, Filter, Head, Writer};
use crate::pipeline::Context;

/// Largest completion body buffered for the cache; bigger ones are streamed
/// through uncached.
const MAX_CACHED_BODY: usize = 1024 * 1024;

/// Answers the client from the first provider that accepts the request;
/// with `cache_key`, a 200 answer is also stored for later hits. Returns the
/// tokens to charge: the provider's count, 0 when nothing was answered, or
/// `None` when a provider answered without saying.
pub fn proxy(
    request: &ChatRequest,
    plan: &Plan,
    mut context: Context,
    out: ResponseOutparam,
    cache_key: Option<&str>,
) -> Option<u64> {
    let answer = context
        .timing
        .measure("upstream", || first_answer(request, plan));
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) => {
            outbound::send_error(out, &error, &context.headers());
            return Some(0);
        }
    };
    let mut head = answer.head();
    head.set("x-wws-route-reason", plan.reason.clone());
    let cacheable = cache_key.filter(|_| answer.status == 200);
    head.set(
        "x-wws-cache",
        if cacheable.is_some() {
            "MISS"
        } else {
            "BYPASS"
        },
    );
    head.extend(&context.headers());

    match cacheable {
        Some(key) => {
            let stored_headers = stored_headers(&head);
            let status = answer.status;
            match answer.read_all(MAX_CACHED_BODY) {
                Ok(body) => {
                    let used = usage::total_tokens(&body);
                    outbound::send(out, head, &body);
                    cache::store(
                        key,
                        &CachedResponse {
                            status,
                            headers: stored_headers,
                            body,
                        },
                    );
                    used
                }
                Err(error) => {
                    outbound::send_error(out, &upstream_error(&error), &[]);
                    None
                }
            }
        }
        None => stream_through(answer, head, request, out),
    }
}

/// Refreshes a stale entry after its stale copy has been sent.
pub fn revalidate(request: &ChatRequest, plan: &Plan, key: &str) {
    let Ok(answer) = first_answer(request, plan) else {
        return;
    };
    if answer.status != 200 {
        return;
    }
    let headers = stored_headers(&answer.head());
    if let Ok(body) = answer.read_all(MAX_CACHED_BODY) {
        let response = CachedResponse {
            status: 200,
            headers,
            body,
        };
        cache::store(key, &response);
    }
}

/// Passes the answer on as it arrives, reading its token usage on the way;
/// returns the tokens to charge, as [`proxy`] does.
fn stream_through(
    answer: Answer,
    head: Head,
    request: &ChatRequest,
    out: ResponseOutparam,
) -> Option<u64> {
    let status = answer.status;
    let mut tap = if request.is_stream() && status == 200 {
        UsageTap::stream(request.asks_for_usage())
    } else {
        UsageTap::json()
    };
    let mut writer = Writer::start(out, head)?;
    let complete = match answer.body {
        AnswerBody::Buffered(body) => writer.write_all(&tap.pass(&body)),
        AnswerBody::Live { first, rest } => {
            writer.write_all(&tap.pass(&first)) && writer.pipe(rest, &mut tap)
        }
    };
    let remainder = tap.remainder();
    if !remainder.is_empty() {
        writer.write_all(&remainder);
    }
    if !complete && request.is_stream() {
        // Headers are gone already: report the failure inside the stream.
        let event = "event: error\ndata: {\"error\":{\"type\":\"upstream_error\",\
                     \"message\":\"provider stream ended unexpectedly\"}}\n\n";
        writer.write_all(event.as_bytes());
    }
    writer.finish();
    match status {
        200 => tap.total_tokens(),
        // A refused request costs what the provider says, else nothing.
        _ => Some(tap.total_tokens().unwrap_or(0)),
    }
}

/// Only what describes the content is worth storing with an entry.
fn stored_headers(head: &Head) -> Vec<(String, String)> {
    head.headers
        .iter()
        .filter(|(name, _)| {
            matches!(
                name.as_str(),
                "content-type" | "x-wws-provider" | "x-wws-model"
            )
        })
        .filter_map(|(name, value)| Some((name.clone(), String::from_utf8(value.clone()).ok()?)))
        .collect()
}
