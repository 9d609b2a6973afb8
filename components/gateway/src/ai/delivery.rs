//! Delivering a provider's answer: streamed through as it arrives, its token
//! usage read on the way and, for a cacheable request, recorded for the
//! Cache Manager (plain answers up to 1 MB, streams as their SSE events).
//!
//! A plain 200 is read whole before anything is sent (it arrives whole
//! anyway: providers send it once generation is done), so a body that broke
//! off or is not a chat completion becomes a clean 502 instead of a 200 the
//! client cannot parse, and is never stored. Only complete, well-formed
//! streams are stored (see [`UsageTap::take_recording`]).

use wasip2::http::types::ResponseOutparam;

use super::answer::{Answer, Bounded, MAX_CACHED_BODY};
use super::attempts::first_answer;
use super::body::ChatRequest;
use super::resume::{Onward, resume};
use super::usage::{self, Meter, UsageTap};
use crate::bindings::mylder::wws::cache::{self, CachedResponse, Lifetimes};
use crate::bindings::mylder::wws::router::Plan;
use crate::context::Context;
use crate::error::ApiError;
use crate::error::upstream_error;
use crate::head::Head;
use crate::observe::access_log;
use crate::reply::{self, Piped, Writer};

/// Where a cacheable answer is stored.
pub struct CacheSlot<'a> {
    pub key: &'a str,
    pub lifetimes: Lifetimes,
}

/// Sends `answer` to the client and, with `slot`, stores a 200 answer.
/// Returns the tokens to charge: the provider's count, or `None` when it
/// did not say.
pub fn deliver(
    answer: Answer,
    plan: &Plan,
    request: &ChatRequest,
    context: &Context,
    out: ResponseOutparam,
    slot: Option<CacheSlot<'_>>,
) -> Option<u64> {
    let onward = Onward {
        plan,
        caller: &context.identity.principal.id,
    };
    let meter = stream_meter(request, context);
    let mut head = answer.head();
    head.set("x-wws-route-reason", plan.reason.clone());
    head.extend(&context.headers());
    let slot = slot.filter(|_| answer.status == 200);
    head.set(
        "x-wws-cache",
        if slot.is_some() { "MISS" } else { "BYPASS" },
    );
    if request.is_stream() || answer.status != 200 {
        return stream_through(answer, head, request, out, slot, &onward, meter);
    }
    let provider = answer.target.provider.clone();
    let dialect = request.dialect();
    match answer.read_bounded(MAX_CACHED_BODY) {
        Ok(Bounded::Whole(body)) if dialect.is_answer(&body) => {
            // Whatever the provider called it, this is a JSON answer.
            head.set("content-type", "application/json");
            let used = usage::total_tokens(&body);
            let response = CachedResponse {
                status: 200,
                headers: stored_headers(&head),
                body,
            };
            reply::send(out, head, &response.body);
            if let Some(slot) = slot {
                cache::store(slot.key, &response, slot.lifetimes);
            }
            used
        }
        Ok(Bounded::Whole(_)) => {
            let error = ApiError::new(
                502,
                "upstream_error",
                format!("provider {provider} {}", dialect.not_an_answer()),
            );
            context.send_error(out, &error);
            None
        }
        Ok(Bounded::TooLarge(answer)) => {
            head.set("x-wws-cache", "BYPASS");
            stream_through(answer, head, request, out, None, &onward, meter)
        }
        Err(error) => {
            context.send_error(out, &upstream_error(&error));
            None
        }
    }
}

/// Refreshes a stale entry after its stale copy has been sent.
pub fn revalidate(request: &ChatRequest, plan: &Plan, caller: &str, slot: CacheSlot<'_>) {
    let Ok(answer) = first_answer(request, plan, caller) else {
        return;
    };
    if answer.status != 200 {
        return;
    }
    let headers = stored_headers(&answer.head());
    let Ok(body) = answer.read_all(MAX_CACHED_BODY) else {
        return;
    };
    // A streaming request's revalidation reads the stream whole; either
    // kind is stored only if it is what the client would have accepted.
    let dialect = request.dialect();
    let valid = if request.is_stream() {
        usage::is_complete_stream(dialect, &body)
    } else {
        dialect.is_answer(&body)
    };
    if !valid {
        return;
    }
    let response = CachedResponse {
        status: 200,
        headers,
        body,
    };
    cache::store(slot.key, &response, slot.lifetimes);
}

/// Passes the answer on as it arrives, reading its token usage on the way
/// and, with `slot`, recording a stream to store once it completed.
fn stream_through(
    answer: Answer,
    head: Head,
    request: &ChatRequest,
    out: ResponseOutparam,
    slot: Option<CacheSlot<'_>>,
    onward: &Onward<'_>,
    meter: Option<Meter>,
) -> Option<u64> {
    let status = answer.status;
    let target = answer.target.clone();
    let stored_headers = stored_headers(&head);
    let mut tap = match (request.is_stream() && status == 200, meter) {
        (true, meter) => {
            let tap = UsageTap::stream(request.dialect(), request.asks_for_usage(), slot.is_some());
            match meter {
                Some(meter) => tap.metered(meter),
                None => tap,
            }
        }
        (false, _) => UsageTap::json(),
    };
    let mut writer = Writer::start(out, head)?;
    let piped = writer.pipe(answer.body.into_reader(), &mut tap);
    if let Some(meter) = tap.cut_off() {
        access_log::error("tokens_exceeded");
        writer.write_all(meter.ending(request.dialect()).as_bytes());
        writer.finish();
        return Some(meter.used());
    }
    if piped == Piped::OutOfTime {
        return out_of_time(writer, request, &tap);
    }
    let remainder = tap.remainder();
    let continued = match (piped, tap.partial_text()) {
        // An unfinished last event is not sent: the continuation follows.
        (Piped::SourceFailed, Some(partial)) if request.is_stream() && status == 200 => {
            let meter = tap.meter_to_carry();
            resume(request, partial, &target, onward, &mut writer, meter)
        }
        _ => None,
    };
    if continued.is_none() && !remainder.is_empty() {
        writer.write_all(&remainder);
    }
    let complete = continued
        .as_ref()
        .map_or(piped, |continued| continued.piped)
        .is_complete();
    if !complete && request.is_stream() {
        // Headers are gone already: report the failure inside the stream.
        let event = request
            .dialect()
            .stream_error_event("provider stream ended unexpectedly");
        writer.write_all(event.as_bytes());
        writer.finish();
    } else {
        writer.end(complete);
    }
    if let Some(continued) = continued {
        // The continuation's prompt held the text already sent: its usage
        // (or, cut off by the budget, the meter's count) is what the whole
        // answer cost. A spliced stream is not stored.
        if let Some(meter) = continued.tap.cut_off() {
            return Some(meter.used());
        }
        return continued.tap.total_tokens().or(tap.total_tokens());
    }
    if let (true, Some(slot), Some(events)) = (complete, slot, tap.take_recording()) {
        // The recording is SSE whatever the provider labelled it, and replay
        // decides by this header whether to reshape it for a plain request.
        let mut headers = stored_headers;
        headers.retain(|(name, _)| name != "content-type");
        headers.push(("content-type".into(), "text/event-stream".into()));
        let response = CachedResponse {
            status: 200,
            headers,
            body: events,
        };
        cache::store(slot.key, &response, slot.lifetimes);
    }
    match status {
        200 => tap.total_tokens(),
        // A refused request costs what the provider says, else nothing.
        _ => Some(tap.total_tokens().unwrap_or(0)),
    }
}

/// Ends a stream the deadline cut short with the in-band error and the end
/// marker; any other body is aborted, as the platform would. What the
/// answer cost is then only known for a stream that was metered.
fn out_of_time(mut writer: Writer, request: &ChatRequest, tap: &UsageTap) -> Option<u64> {
    access_log::error("deadline_reached");
    if !request.is_stream() {
        writer.abort();
        return None;
    }
    writer.write_all(request.dialect().deadline_ending().as_bytes());
    writer.finish();
    tap.total_tokens()
        .or_else(|| tap.meter_to_carry().map(|meter| meter.used()))
}

/// The principal's token budget to enforce while the stream passes: its
/// hold plus what the budget had left after it.
fn stream_meter(request: &ChatRequest, context: &Context) -> Option<Meter> {
    let decision = context.tokens.as_ref()?;
    let held = decision.reservation.as_ref()?.tokens;
    Some(Meter::new(
        held.saturating_add(decision.remaining),
        request.prompt_tokens(),
        decision.budget.clone(),
    ))
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
