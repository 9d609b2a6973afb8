//! The AI routes: OpenAI-compatible chat completions and the seed's
//! `/api/ai/chat` and `/api/ai/generate`, routed, cached and proxied.

mod answer;
mod attempts;
mod body;
mod breaker;
mod failover;
mod providers;
mod sse;
mod tokens;
mod usage;

use wasip2::http::types::{Method, ResponseOutparam};

use crate::error::ApiError;
use crate::inbound::Inbound;
use crate::mylder::wws::cache::{self, CachedResponse, Freshness, KeyInput};
use crate::mylder::wws::router::{self, RouteError, RouteRequest};
use crate::outbound::{self, Head};
use crate::pipeline::Context;

const CHAT_PATHS: [&str; 3] = ["/v1/chat/completions", "/api/ai/chat", "/api/ai/generate"];
const MODELS_PATH: &str = "/v1/models";

pub fn handles(path: &str) -> bool {
    path == MODELS_PATH || CHAT_PATHS.contains(&path)
}

pub fn handle(inbound: Inbound, context: Context, out: ResponseOutparam) {
    match (&inbound.method, inbound.path.as_str()) {
        (Method::Get, MODELS_PATH) => models(context, out),
        (Method::Post, path) if CHAT_PATHS.contains(&path) => complete(inbound, context, out),
        _ => {
            let error = ApiError::new(
                405,
                "method_not_allowed",
                "method not allowed on this route",
            );
            outbound::send_error(out, &error, &context.headers());
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
    let mut head = Head::new(200);
    head.set("content-type", "application/json");
    head.extend(&context.headers());
    outbound::send(out, head, body.to_string().as_bytes());
}

fn complete(mut inbound: Inbound, mut context: Context, out: ResponseOutparam) {
    let bytes = match inbound.read_body() {
        Ok(bytes) => bytes,
        Err(error) => return outbound::send_error(out, &error, &context.headers()),
    };
    let request = match body::ChatRequest::parse(&inbound.path, &bytes) {
        Ok(request) => request,
        Err(error) => {
            let error = ApiError::bad_request(error.to_string());
            return outbound::send_error(out, &error, &context.headers());
        }
    };
    let task_type = inbound
        .header("x-task-type")
        .map(str::to_string)
        .or_else(|| request.task_type());
    let route_request = RouteRequest {
        task_type,
        model: request.model(),
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
            return outbound::send_error(out, &error, &context.headers());
        }
        Err(RouteError::ContextTooLarge(tokens)) => {
            let error = ApiError::new(
                400,
                "context_length_exceeded",
                format!(
                    "the prompt (about {tokens} tokens) is larger than every configured model's context window"
                ),
            );
            return outbound::send_error(out, &error, &context.headers());
        }
    };

    let cache_key = request
        .is_cacheable(inbound.header("cache-control"))
        .then(|| {
            cache::key(&KeyInput {
                scope: Some(context.identity.principal.id.clone()),
                method: "POST".into(),
                path: inbound.path.clone(),
                query: inbound.query.clone(),
                body: bytes.clone(),
            })
        });
    if let Some(key) = &cache_key {
        let hit = context.timing.measure("cache", || cache::lookup(key));
        if let Some(hit) = hit {
            let stale = hit.freshness == Freshness::Stale;
            serve_cached(&hit.response, hit.age_secs, stale, &context, out);
            if stale {
                providers::revalidate(&request, &plan, key);
            }
            return;
        }
    }
    let reservation = match tokens::reserve(&request, &mut context) {
        Ok(reservation) => reservation,
        Err(error) => return outbound::send_error(out, &error, &context.headers()),
    };
    let used = providers::proxy(&request, &plan, context, out, cache_key.as_deref());
    tokens::settle(reservation, used);
}

fn serve_cached(
    response: &CachedResponse,
    age_secs: u64,
    stale: bool,
    context: &Context,
    out: ResponseOutparam,
) {
    let mut head = Head::new(response.status);
    head.extend(&response.headers);
    head.set("age", age_secs.to_string());
    head.set("x-wws-cache", if stale { "STALE" } else { "HIT" });
    head.extend(&context.headers());
    outbound::send(out, head, &response.body);
}
