//! Calls to the AI providers: each target of the router's plan in turn,
//! falling over on connection errors, timeouts, 429 and 5xx. Any other
//! answer (a 4xx about the request itself) goes back to the client as is.

use wasip2::http::types::{Method, ResponseOutparam};
use wws_guest::http::{self, Response};

use super::body::ChatRequest;
use super::usage::{self, UsageTap};
use crate::config;
use crate::error::ApiError;
use crate::mylder::wws::cache::{self, CachedResponse};
use crate::mylder::wws::router::{Plan, Target};
use crate::origin::upstream_error;
use crate::outbound::{self, Head, Writer};
use crate::pipeline::Context;

/// Largest completion body buffered for the cache; bigger ones are streamed
/// through uncached.
const MAX_CACHED_BODY: usize = 1024 * 1024;

struct Answer {
    response: Response,
    target: Target,
}

impl Answer {
    /// The response head every use of an answer shares: status, content
    /// type, and which provider and model produced it.
    fn head(&self) -> Head {
        let mut head = Head::new(self.response.status);
        if let Some(content_type) = self.response.header("content-type") {
            head.set("content-type", content_type);
        }
        head.set("x-wws-provider", self.target.provider.clone());
        head.set("x-wws-model", self.target.model.clone());
        head
    }
}

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
    let cacheable = cache_key.filter(|_| answer.response.status == 200);
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
            let status = answer.response.status;
            match answer.response.read_all(MAX_CACHED_BODY) {
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
        None => stream_through(answer.response, head, request, out),
    }
}

/// Refreshes a stale entry after its stale copy has been sent.
pub fn revalidate(request: &ChatRequest, plan: &Plan, key: &str) {
    let Ok(answer) = first_answer(request, plan) else {
        return;
    };
    if answer.response.status != 200 {
        return;
    }
    let headers = stored_headers(&answer.head());
    if let Ok(body) = answer.response.read_all(MAX_CACHED_BODY) {
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
    response: Response,
    head: Head,
    request: &ChatRequest,
    out: ResponseOutparam,
) -> Option<u64> {
    let status = response.status;
    let mut tap = if request.is_stream() && status == 200 {
        UsageTap::stream(request.asks_for_usage())
    } else {
        UsageTap::json()
    };
    let mut writer = Writer::start(out, head)?;
    let complete = writer.pipe(response.into_body(), &mut tap);
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

fn first_answer(request: &ChatRequest, plan: &Plan) -> Result<Answer, ApiError> {
    let mut last_failure = None;
    for target in &plan.targets {
        let Some(provider) = config::provider(&target.provider) else {
            continue;
        };
        let url = format!(
            "{}/chat/completions",
            provider.base_url.trim_end_matches('/')
        );
        let body = request.provider_body(&target.model);
        let accept: &[u8] = if request.is_stream() {
            b"text/event-stream"
        } else {
            b"application/json"
        };
        let outgoing = http::Request {
            method: Method::Post,
            url: &url,
            headers: vec![
                (
                    "authorization".into(),
                    format!("Bearer {}", provider.api_key).into_bytes(),
                ),
                ("content-type".into(), b"application/json".to_vec()),
                ("accept".into(), accept.to_vec()),
            ],
            body: &body,
        };
        match http::send(outgoing, config::upstream_timeouts()) {
            Ok(response) if response.status == 429 || response.status >= 500 => {
                eprintln!(
                    "gateway: {} ({}) answered {}, trying next target",
                    target.provider, target.model, response.status
                );
                last_failure = Some(ApiError::new(
                    502,
                    "upstream_error",
                    format!("provider {} answered {}", target.provider, response.status),
                ));
            }
            Ok(response) => {
                return Ok(Answer {
                    response,
                    target: target.clone(),
                });
            }
            Err(error) => {
                eprintln!(
                    "gateway: {} ({}) failed: {error}, trying next target",
                    target.provider, target.model
                );
                last_failure = Some(upstream_error(&error));
            }
        }
    }
    Err(last_failure.unwrap_or_else(|| {
        ApiError::new(
            503,
            "provider_not_configured",
            "no AI provider is configured for this route: set synthetic_api_key or zai_api_key",
        )
    }))
}
