//! Operator endpoints (cache purge, provider stats), for principals with the `admin` role only (an API
//! key configured with `"role": "admin"`, or a JWT whose `role` is `admin`).

use serde::Deserialize;
use wasip2::http::types::ResponseOutparam;

use crate::bindings::mylder::wws::cache;
use crate::context::Context;
use crate::error::ApiError;
use crate::inbound::Inbound;
use crate::observe::provider_stats;
use crate::reply;

pub const PURGE_PATH: &str = "/api/wws/cache/purge";
pub const STATS_PATH: &str = "/api/wws/stats";

fn forbidden(what: &str) -> ApiError {
    ApiError::new(
        403,
        "permission_denied",
        format!("{what} need the admin role"),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Purge {
    /// Every entry whose path starts with this.
    prefix: Option<String>,
    /// Every entry of this route (and the paths below it).
    route: Option<String>,
}

/// `POST /api/wws/cache/purge` with `{"route": "/v1/chat/completions"}` or
/// `{"prefix": "/api/"}`; answers `{"purged": <entries deleted>}`.
pub fn purge(mut inbound: Inbound, context: Context, out: ResponseOutparam) {
    if context.identity.principal.role != "admin" {
        return context.send_error(out, &forbidden("cache purges"));
    }
    let request = inbound
        .read_body()
        .and_then(|body| {
            serde_json::from_slice::<Purge>(&body).map_err(|_| {
                ApiError::bad_request("expected {\"route\": \"/path\"} or {\"prefix\": \"/path\"}")
            })
        })
        .and_then(|purge| match (purge.route, purge.prefix) {
            (Some(path), None) | (None, Some(path)) if path.starts_with('/') => Ok(path),
            _ => Err(ApiError::bad_request(
                "give exactly one of \"route\" or \"prefix\", starting with /",
            )),
        });
    let prefix = match request {
        Ok(prefix) => prefix,
        Err(error) => return context.send_error(out, &error),
    };
    let purged = cache::purge(&prefix);
    eprintln!("gateway: cache purge of {prefix:?} deleted {purged} entries");
    let mut head = context.head(200);
    head.set("content-type", "application/json");
    let body = serde_json::json!({ "purged": purged, "prefix": prefix });
    reply::send(out, head, body.to_string().as_bytes());
}

/// `GET /api/wws/stats`: per-provider request, error and fallback counts
/// since the store was created, summed over every instance sharing it.
pub fn stats(context: Context, out: ResponseOutparam) {
    if context.identity.principal.role != "admin" {
        return context.send_error(out, &forbidden("stats"));
    }
    let providers = match provider_stats::snapshot() {
        Ok(providers) => providers,
        Err(error) => {
            let error = ApiError::new(503, "store_unavailable", error.to_string());
            return context.send_error(out, &error);
        }
    };
    let mut head = context.head(200);
    head.set("content-type", "application/json");
    let body = serde_json::json!({ "providers": providers });
    reply::send(out, head, body.to_string().as_bytes());
}
