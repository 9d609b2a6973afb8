//! The AI routes: OpenAI-compatible chat completions, Anthropic's Messages
//! API and the seed's `/api/ai/chat` and `/api/ai/generate`, routed, cached
//! and proxied.

mod answer;
mod attempts;
pub(crate) mod body;
mod breaker;
mod call;
mod delivery;
mod failover;
pub(crate) mod key_pool;
pub(crate) mod replay;
mod resume;
mod splice;
pub(crate) mod sse;
mod tokens;
pub(crate) mod usage;

use wasip2::http::types::{Method, ResponseOutparam};

use crate::admission;
use crate::bindings::mylder::wws::cache::{self, Hit, KeyInput};
use crate::bindings::mylder::wws::router::{self, Plan, RouteError, RouteRequest};
use crate::cache_control::CacheControl;
use crate::caching::{self, Found};
use crate::config;
use crate::context::Context;
use crate::dialect::Dialect;
use crate::error::ApiError;
use crate::inbound::Inbound;
use crate::reply;
use body::ChatRequest;
use delivery::CacheSlot;

const CHAT_PATHS: [&str; 4] = [
    "/v1/chat/completions",
    "/v1/messages",
    "/api/ai/chat",
    "/api/ai/generate",
];
const MODELS_PATH: &str = "/v1/models";
const COUNT_TOKENS_PATH: &str = "/v1/messages/count_tokens";

pub fn handles(path: &str) -> bool {
    path == MODELS_PATH || path == COUNT_TOKENS_PATH || CHAT_PATHS.contains(&path)
}

/// Chat requests are admitted here rather than before dispatch: once the
/// body says how many tokens to hold, or that a cached answer needs none.
pub fn admits_itself(method: &Method, path: &str) -> bool {
    matches!(method, Method::Post) && CHAT_PATHS.contains(&path)
}

/// Answers `error` for a chat request turned down before any provider was
/// asked; it still counts against the client's rate limit, unless that
/// limit refuses it first.
fn turn_down(mut context: Context, path: &str, error: ApiError, out: ResponseOutparam) {
    match admission::admit(&mut context, path, None) {
        Ok(_) => context.send_error(out, &error),
        Err(refusal) => context.send_error(out, &refusal),
    }
}

pub fn handle(inbound: Inbound, context: Context, out: ResponseOutparam) {
    match (&inbound.method, inbound.path.as_str()) {
        (Method::Get, MODELS_PATH) => models(context, out),
        (Method::Post, COUNT_TOKENS_PATH) => count_tokens(inbound, context, out),
        (Method::Post, path) if CHAT_PATHS.contains(&path) => complete(inbound, context, out),
        _ => {
            let error = ApiError::new(
                405,
                "method_not_allowed",
                "method not allowed on this route",
            );
            context.send_error(out, &error);
        }
    }
}

fn models(context: Context, out: ResponseOutparam) {
    let data: Vec<_> = router::catalogue()
        .into_iter()
        .map(|target| {
            serde_json::json!({
                "id": target.model,
                "object": "model",
                "created": 0,
                "owned_by": target.provider,
                "context_window": target.context_window,
            })
        })
        .collect();
    let body = serde_json::json!({ "object": "list", "data": data });
    let mut head = context.head(200);
    head.set("content-type", "application/json");
    reply::send(out, head, body.to_string().as_bytes());
}

/// Anthropic's token counting, answered here: the providers' Messages
/// endpoints do not all offer it, and agents call it to decide when to
/// compact. The estimate is the one budgets and routing use (characters / 3),
/// which errs high, toward compacting early rather than overflowing.
fn count_tokens(mut inbound: Inbound, context: Context, out: ResponseOutparam) {
    let bytes = match inbound.read_body() {
        Ok(bytes) => bytes,
        Err(error) => return context.send_error(out, &error),
    };
    match ChatRequest::parse("/v1/messages", &bytes) {
        Ok(request) => {
            let body = serde_json::json!({ "input_tokens": request.prompt_tokens() });
            let mut head = context.head(200);
            head.set("content-type", "application/json");
            reply::send(out, head, body.to_string().as_bytes());
        }
        Err(error) => {
            let error = ApiError::bad_request(error.to_string());
            context.send_error(out, &error);
        }
    }
}

fn complete(mut inbound: Inbound, mut context: Context, out: ResponseOutparam) {
    let bytes = match inbound.read_body() {
        Ok(bytes) => bytes,
        Err(error) => return turn_down(context, &inbound.path, error, out),
    };
    let mut request = match ChatRequest::parse(&inbound.path, &bytes) {
        Ok(request) => request,
        Err(error) => {
            let error = ApiError::bad_request(error.to_string());
            return turn_down(context, &inbound.path, error, out);
        }
    };
    // A task type is a short name; anything else is ignored (the router
    // echoes it in X-WWS-Route-Reason, so client bytes must stay tame).
    let task_type = inbound
        .header("x-task-type")
        .map(str::to_string)
        .or_else(|| request.task_type())
        .filter(|name| is_task_name(name));
    for (name, value) in &inbound.headers {
        if let Ok(value) = std::str::from_utf8(value) {
            request.pass_header(name, value);
        }
    }
    let route_request = RouteRequest {
        task_type,
        model: routed_model(&request),
        context_tokens: request.context_tokens(),
    };
    let plan = match context
        .timing
        .measure("route", || router::route(&route_request))
    {
        Ok(plan) => plan,
        Err(RouteError::UnknownModel(model)) => {
            let error = ApiError::new(
                400,
                "model_not_found",
                format!("model {model:?} is not in the catalogue; see GET /v1/models"),
            );
            return turn_down(context, &inbound.path, error, out);
        }
        Err(RouteError::ContextTooLarge(tokens)) => {
            let error = ApiError::new(
                400,
                "context_length_exceeded",
                format!(
                    "the prompt (about {tokens} tokens) is larger than every configured model's context window"
                ),
            );
            return turn_down(context, &inbound.path, error, out);
        }
    };

    request.bound_completion(completion_allowance(&plan, request.prompt_tokens()));

    let policy = cache::policy_for(&inbound.path);
    let cache_control = CacheControl::parse(inbound.header("cache-control").unwrap_or(""));
    let cacheable = policy.enabled && request.is_cacheable(&cache_control);
    let Some(key) = cacheable.then(|| {
        let model = plan
            .targets
            .first()
            .map_or("", |target| target.model.as_str());
        cache::key(&KeyInput {
            scope: (!policy.public).then(|| context.identity.principal.id.clone()),
            method: "POST".into(),
            path: inbound.path.clone(),
            query: inbound.query.clone(),
            body: request.cache_body(model),
        })
    }) else {
        return fetch(&request, &inbound.path, &plan, context, out, None, None);
    };
    let slot = || CacheSlot {
        key: &key,
        lifetimes: policy.lifetimes,
    };
    let max_age = cache_control
        .max_age
        .filter(|_| !request.is_deterministic());
    match caching::find(&key, max_age, &mut context) {
        Found::Serve { hit, revalidate } => {
            if let Err(refusal) = admission::admit(&mut context, &inbound.path, None) {
                return context.send_error(out, &refusal);
            }
            serve_completion(&hit, caching::label(&hit), &request, &context, out);
            if revalidate {
                let caller = &context.identity.principal.id;
                delivery::revalidate(&request, &plan, caller, slot());
                cache::release_fill(&key);
            }
        }
        Found::Fetch { leader, fallback } => {
            let path = &inbound.path;
            fetch(
                &request,
                path,
                &plan,
                context,
                out,
                leader.then(slot),
                fallback,
            );
            if leader {
                cache::release_fill(&key);
            }
        }
    }
}

/// Asks the providers, holding the request's tokens meanwhile; when every
/// provider fails, a `fallback` entry is served instead (stale-if-error).
fn fetch(
    request: &ChatRequest,
    path: &str,
    plan: &Plan,
    mut context: Context,
    out: ResponseOutparam,
    slot: Option<CacheSlot<'_>>,
    fallback: Option<Hit>,
) {
    let reservation = match tokens::reserve(request, path, &mut context) {
        Ok(reservation) => reservation,
        Err(error) => return context.send_error(out, &error),
    };
    let answer = context.timing.measure("upstream", || {
        attempts::first_answer(request, plan, &context.identity.principal.id)
    });
    let used = match (answer, fallback) {
        (Ok(answer), _) => delivery::deliver(answer, plan, request, &context, out, slot),
        (Err(_), Some(stale)) => {
            serve_completion(&stale, "STALE", request, &context, out);
            Some(0)
        }
        (Err(error), None) => {
            context.send_error(out, &error);
            Some(0)
        }
    };
    tokens::settle(reservation, used);
}

/// A cached completion in the shape this client asked for: a recorded
/// stream becomes one completion for a plain request and the other way round.
fn serve_completion(
    hit: &Hit,
    label: &str,
    request: &ChatRequest,
    context: &Context,
    out: ResponseOutparam,
) {
    let stored_as_stream = hit
        .response
        .headers
        .iter()
        .any(|(name, value)| name == "content-type" && value.starts_with("text/event-stream"));
    let reshaped =
        match (stored_as_stream, request.is_stream()) {
            // Messages API entries are keyed by their shape: never reshaped.
            _ if request.dialect() == Dialect::Anthropic => None,
            (true, false) => replay::stream_to_completion(&hit.response.body)
                .map(|body| (body, "application/json")),
            (false, true) => replay::completion_to_stream(&hit.response.body)
                .map(|body| (body, "text/event-stream")),
            _ => None,
        };
    match reshaped {
        Some((body, content_type)) => {
            let mut response = hit.response.clone();
            response.body = body;
            response.headers.retain(|(name, _)| name != "content-type");
            response
                .headers
                .push(("content-type".into(), content_type.into()));
            caching::serve(&response, hit.age_secs, label, context, out);
        }
        None => caching::serve(&hit.response, hit.age_secs, label, context, out),
    }
}

/// The completion bound sent for a request that set none: the configured
/// `default_max_tokens`, but never more than the largest planned model has
/// room for after the prompt.
fn completion_allowance(plan: &Plan, prompt_tokens: u64) -> u64 {
    let room = plan
        .targets
        .iter()
        .map(|target| u64::from(target.context_window).saturating_sub(prompt_tokens))
        .max()
        .unwrap_or(0);
    config::default_max_tokens().min(room)
}

/// The model the client asked for, if the router should honour it. Anthropic
/// SDKs and coding agents send Claude model names that neither provider
/// serves; those are routed by task like a request without a model, so the
/// tools work unchanged (the answer names the model that served it).
fn routed_model(request: &ChatRequest) -> Option<String> {
    request
        .model()
        .filter(|model| !(request.dialect() == Dialect::Anthropic && model.starts_with("claude")))
}

/// 1 to 64 visible ASCII characters.
fn is_task_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_graphic())
}
