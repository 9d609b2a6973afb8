//! Origin GETs through the Cache Manager. A response is stored only when it
//! says a shared cache may keep it: status 200, `Cache-Control` with
//! `s-maxage` or `max-age` above zero and no `no-store`, `private` or
//! `no-cache`, no `Set-Cookie`, `Vary` on nothing but the negotiation headers
//! that are part of the key, and (for a request that carried cookies) an
//! explicit `public`.

use wasip2::http::types::{Method, ResponseOutparam};
use wws_guest::http::{self, Response};

use super::hop::forwarded_headers;
use super::pass_through::{pass_through, response_head};
use crate::bindings::mylder::wws::auth::AuthSource;
use crate::bindings::mylder::wws::cache::{self, CachedResponse, Hit, KeyInput, Lifetimes, Policy};
use crate::cache_control::CacheControl;
use crate::caching::{self, Found};
use crate::config;
use crate::context::Context;
use crate::error::upstream_error;
use crate::filter::Unchanged;
use crate::head::is_hop_by_hop;
use crate::inbound::Inbound;
use crate::reply;

/// Request headers that select a representation; their values are part of
/// the key, so a `Vary` on them is honoured.
const NEGOTIATION: [&str; 3] = ["accept", "accept-encoding", "accept-language"];

/// Larger responses pass through uncached (Spin's store takes 1 MB values).
const MAX_CACHED_BODY: usize = 1024 * 1024;

pub fn forward(inbound: &Inbound, url: &str, mut context: Context, out: ResponseOutparam) {
    let policy = cache::policy_for(&inbound.path);
    let request_cc = CacheControl::parse(inbound.header("cache-control").unwrap_or(""));
    // A request with credentials (a cookie, or the Authorization the gateway
    // checked and passes on) may have had a personal answer (RFC 9111 3.5);
    // that matters where one entry serves every caller (a public policy).
    let credentials = Credentials {
        cookie: inbound.header("cookie").is_some(),
        authorization: policy.public && inbound.header("authorization").is_some(),
    };
    // An anonymous `no-cache` is answered fresh but never refills the one
    // entry every caller shares: whoever cannot be named could otherwise
    // replace it on demand with whatever their unkeyed headers got from the
    // origin.
    let anonymous_refill = request_cc.no_cache
        && policy.public
        && matches!(context.identity.source, AuthSource::Public);
    if !policy.enabled || request_cc.no_store || anonymous_refill {
        return fetch_and_pass(inbound, url, context, out, None);
    }
    let key = cache::key(&KeyInput {
        scope: (!policy.public).then(|| context.identity.principal.id.clone()),
        method: "GET".into(),
        path: inbound.path.clone(),
        query: inbound.query.clone(),
        body: negotiation(inbound),
    });
    let found = if request_cc.no_cache {
        Found::Fetch {
            leader: cache::claim_fill(&key),
            fallback: None,
        }
    } else {
        caching::find(&key, None, &mut context)
    };
    match found {
        Found::Serve { hit, revalidate } => {
            caching::serve(
                &hit.response,
                hit.age_secs,
                caching::label(&hit),
                &context,
                out,
            );
            if revalidate {
                if let Ok(response) = get(inbound, url) {
                    store_if_allowed(response, &key, &policy, credentials);
                }
                cache::release_fill(&key);
            }
        }
        Found::Fetch { leader, fallback } => {
            let store = leader.then_some(Store {
                key: &key,
                policy: &policy,
                credentials,
            });
            fetch_and_pass(inbound, url, context, out, Some((store, fallback)));
            if leader {
                cache::release_fill(&key);
            }
        }
    }
}

struct Store<'a> {
    key: &'a str,
    policy: &'a Policy,
    credentials: Credentials,
}

/// GETs from the origin and answers; with `caching`, a storable answer is
/// stored (by the fill leader) and a failure falls back to a stale entry.
fn fetch_and_pass(
    inbound: &Inbound,
    url: &str,
    mut context: Context,
    out: ResponseOutparam,
    caching: Option<(Option<Store<'_>>, Option<Hit>)>,
) {
    let sent = context.timing.measure("upstream", || get(inbound, url));
    let (store, fallback) = caching.unwrap_or((None, None));
    let response = match (sent, fallback) {
        (Ok(response), Some(stale)) if response.status >= 500 => {
            return caching::serve(&stale.response, stale.age_secs, "STALE", &context, out);
        }
        (Ok(response), _) => response,
        (Err(_), Some(stale)) => {
            return caching::serve(&stale.response, stale.age_secs, "STALE", &context, out);
        }
        (Err(error), None) => {
            return context.send_error(out, &upstream_error(&error));
        }
    };
    let lifetimes = store.as_ref().and_then(|store| {
        lifetimes(&response, store.policy, store.credentials)
            .map(|lifetimes| (store.key, lifetimes))
    });
    let Some((key, lifetimes)) = lifetimes else {
        return pass_through(response, &context, out, true, Some("BYPASS"));
    };
    let head = response_head(&response);
    let mut body = Vec::new();
    let mut reader = std::io::Read::take(response.into_body(), MAX_CACHED_BODY as u64 + 1);
    if std::io::Read::read_to_end(&mut reader, &mut body).is_err() {
        let error = upstream_error(&http::HttpError::Transport("origin body broke off".into()));
        return context.send_error(out, &error);
    }
    let cached = CachedResponse {
        status: 200,
        headers: stored_headers(&head.headers),
        body,
    };
    if cached.body.len() > MAX_CACHED_BODY {
        // Too large to cache: the rest still has to reach the client.
        let mut head = head;
        head.extend(&context.headers());
        head.set("x-wws-cache", "BYPASS");
        if let Some(mut writer) = reply::Writer::start(out, head) {
            let complete = writer.write_all(&cached.body)
                && writer
                    .pipe(reader.into_inner(), &mut Unchanged)
                    .is_complete();
            writer.end(complete);
        }
        return;
    }
    caching::serve(&cached, 0, "MISS", &context, out);
    cache::store(key, &cached, lifetimes);
}

fn store_if_allowed(response: Response, key: &str, policy: &Policy, credentials: Credentials) {
    let Some(lifetimes) = lifetimes(&response, policy, credentials) else {
        return;
    };
    let headers = stored_headers(&response_head(&response).headers);
    if let Ok(body) = response.read_all(MAX_CACHED_BODY) {
        let cached = CachedResponse {
            status: 200,
            headers,
            body,
        };
        cache::store(key, &cached, lifetimes);
    }
}

fn get(inbound: &Inbound, url: &str) -> Result<Response, http::HttpError> {
    let request = http::Request {
        method: Method::Get,
        url,
        headers: forwarded_headers(inbound),
        body: http::Body::Bytes(&[]),
    };
    http::send(request, config::upstream_timeouts())
}

/// The values of the negotiation headers, hashed into the key.
fn negotiation(inbound: &Inbound) -> Vec<u8> {
    NEGOTIATION
        .iter()
        .map(|name| format!("{name}: {}\n", inbound.header(name).unwrap_or("")))
        .collect::<String>()
        .into_bytes()
}

/// How long the origin lets a shared cache keep `response`, if at all.
/// What the request carried that makes a shared cache careful.
#[derive(Clone, Copy, Default)]
struct Credentials {
    cookie: bool,
    authorization: bool,
}

fn lifetimes(response: &Response, policy: &Policy, credentials: Credentials) -> Option<Lifetimes> {
    let header = |name: &str| {
        response
            .headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
            .collect::<Vec<_>>()
            .join(",")
    };
    storable(
        response.status,
        &CacheControl::parse(&header("cache-control")),
        &header("vary"),
        !header("set-cookie").is_empty(),
        credentials,
    )
    .map(|(fresh, cc)| Lifetimes {
        fresh_secs: fresh,
        stale_secs: cc
            .stale_while_revalidate
            .unwrap_or(policy.lifetimes.stale_secs),
        stale_if_error_secs: cc
            .stale_if_error
            .unwrap_or(policy.lifetimes.stale_if_error_secs),
    })
}

/// The freshness lifetime of a storable response, per the module's rules.
fn storable(
    status: u16,
    cc: &CacheControl,
    vary: &str,
    sets_cookie: bool,
    credentials: Credentials,
) -> Option<(u64, CacheControl)> {
    // RFC 9111 3.5: an answer to an authorized request is shared only when
    // the origin says so (`public`, `s-maxage` or `must-revalidate`).
    let shared_despite_authorization = cc.public || cc.s_maxage.is_some() || cc.must_revalidate;
    if status != 200
        || sets_cookie
        || (credentials.cookie && !cc.public)
        || (credentials.authorization && !shared_despite_authorization)
    {
        return None;
    }
    let varies_elsewhere = vary
        .split(',')
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .any(|name| !NEGOTIATION.contains(&name.as_str()));
    if varies_elsewhere {
        return None;
    }
    Some((cc.shared_lifetime()?, *cc))
}

/// What a cached copy keeps: the representation's own headers.
fn stored_headers(headers: &[(String, Vec<u8>)]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| {
            !is_hop_by_hop(name)
                && !matches!(
                    name.to_ascii_lowercase().as_str(),
                    "set-cookie" | "age" | "date" | "x-wws-cache"
                )
        })
        .filter_map(|(name, value)| {
            Some((
                name.to_ascii_lowercase(),
                String::from_utf8(value.clone()).ok()?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(status: u16, cc: &str, vary: &str, sets_cookie: bool, cookie: bool) -> Option<u64> {
        let credentials = Credentials {
            cookie,
            authorization: false,
        };
        storable(
            status,
            &CacheControl::parse(cc),
            vary,
            sets_cookie,
            credentials,
        )
        .map(|(fresh, _)| fresh)
    }

    #[test]
    fn authorized_requests_need_the_origins_word_to_share() {
        let authorized = Credentials {
            cookie: false,
            authorization: true,
        };
        let stored = |cc: &str| {
            storable(200, &CacheControl::parse(cc), "", false, authorized).map(|(fresh, _)| fresh)
        };
        assert_eq!(stored("max-age=60"), None);
        assert_eq!(stored("public, max-age=60"), Some(60));
        assert_eq!(stored("s-maxage=30"), Some(30));
        assert_eq!(stored("max-age=60, must-revalidate"), Some(60));
    }

    #[test]
    fn stores_only_what_the_origin_allows() {
        assert_eq!(check(200, "max-age=60", "", false, false), Some(60));
        assert_eq!(
            check(
                200,
                "max-age=60, s-maxage=5",
                "Accept-Encoding",
                false,
                false
            ),
            Some(5)
        );
        assert_eq!(check(404, "max-age=60", "", false, false), None);
        assert_eq!(check(200, "", "", false, false), None);
        assert_eq!(check(200, "no-store, max-age=60", "", false, false), None);
        assert_eq!(check(200, "private, max-age=60", "", false, false), None);
        assert_eq!(check(200, "max-age=60", "*", false, false), None);
        assert_eq!(check(200, "max-age=60", "Cookie", false, false), None);
        assert_eq!(check(200, "max-age=60", "", true, false), None);
    }

    #[test]
    fn cookie_requests_need_an_explicit_public() {
        assert_eq!(check(200, "max-age=60", "", false, true), None);
        assert_eq!(check(200, "public, max-age=60", "", false, true), Some(60));
    }
}
