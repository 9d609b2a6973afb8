//! One JSON line per request on stderr: request id, route, a digest prefix
//! of the principal, provider, model, cache status, status, error type,
//! per-function timings, the duration until the response body finished,
//! and what the request asked of the key-value store and the shared
//! counters (all components together). Never a token, key, query string or
//! body. It is written when the request's work is over, after what runs
//! once the answer has gone (settling tokens, counting provider calls), so
//! the store counts are whole.
//!
//! Each instance serves exactly one request (wasi:http 0.2 on Spin and on
//! wws-host), so the entry being filled in lives in instance state: the
//! stages that answer deep inside the pipeline add to it without a logger
//! threaded through every call, and the response head, which already names
//! provider, model, cache status and timings, is the single source of them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use serde::Serialize;

use crate::head::Head;

/// Digest characters kept: enough to tell principals apart in a day's logs,
/// too few to be a stable identifier outside them.
const PRINCIPAL_PREFIX: usize = 12;

#[derive(Serialize, Default)]
struct Entry {
    request_id: String,
    method: String,
    route: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<String>,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    continued: Option<Continued>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    timings_ms: BTreeMap<String, f64>,
    duration_ms: f64,
    store: StoreUse,
}

/// Store operations of the request: on the managed edge the platform's
/// quotas count KV reads and writes, and each counter call is a round trip
/// to the counters' Redis.
#[derive(Serialize, Default)]
struct StoreUse {
    kv_reads: u32,
    kv_writes: u32,
    counter_calls: u32,
}

/// A stream that broke after its first bytes and was continued elsewhere:
/// by whom, and how long the client waited between the two.
#[derive(Serialize)]
struct Continued {
    from: String,
    to: String,
    gap_ms: f64,
}

struct Current {
    entry: Entry,
    started: Instant,
    /// The response body finished: the duration is fixed.
    done: bool,
    written: bool,
}

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

fn with_entry(update: impl FnOnce(&mut Entry)) {
    CURRENT.with_borrow_mut(|current| {
        if let Some(current) = current {
            update(&mut current.entry);
        }
    });
}

/// Opens this request's entry.
pub fn begin(request_id: String, method: &str, route: &str) {
    let entry = Entry {
        request_id,
        method: method.to_string(),
        route: route.to_string(),
        ..Entry::default()
    };
    CURRENT.set(Some(Current {
        entry,
        started: Instant::now(),
        done: false,
        written: false,
    }));
}

/// This request's id, to echo and to pass upstream.
pub fn request_id() -> Option<String> {
    CURRENT.with_borrow(|current| current.as_ref().map(|c| c.entry.request_id.clone()))
}

/// Who the Auth Guard says is calling, as a digest prefix.
pub fn principal(id: &str, auth_source: &str) {
    let digest = principal_digest(id);
    with_entry(|entry| {
        entry.principal = Some(digest);
        entry.auth = Some(auth_source.to_string());
    });
}

/// An error answer's type (`rate_limit_exceeded`, `upstream_timeout`, ...).
pub fn error(kind: &'static str) {
    with_entry(|entry| entry.error = Some(kind));
}

/// The stream was continued by `to` after `from` broke, `gap` later.
pub fn continued(from: &str, to: &str, gap: std::time::Duration) {
    with_entry(|entry| {
        entry.continued = Some(Continued {
            from: from.to_string(),
            to: to.to_string(),
            gap_ms: round(gap.as_secs_f64() * 1000.0),
        })
    });
}

/// Takes status, route headers and timings from the head about to be sent.
pub fn responded(head: &Head) {
    with_entry(|entry| {
        entry.status = head.status;
        for (name, value) in &head.headers {
            let text = || String::from_utf8_lossy(value).into_owned();
            match name.to_ascii_lowercase().as_str() {
                "x-wws-provider" => entry.provider = Some(text()),
                "x-wws-model" => entry.model = Some(text()),
                "x-wws-cache" => entry.cache = Some(text()),
                "server-timing" => entry.timings_ms.extend(parse_server_timing(&text())),
                _ => {}
            }
        }
    });
}

/// The response is over: fixes its duration. The line is written later,
/// by [`write`].
pub fn finish() {
    CURRENT.with_borrow_mut(|current| {
        if let Some(current) = current.as_mut().filter(|c| !c.done) {
            current.done = true;
            current.entry.duration_ms = round(current.started.elapsed().as_secs_f64() * 1000.0);
        }
    });
}

/// Writes the line once, with `store` (every component's operations).
pub fn write(store: wws_guest::kv::Operations) {
    finish();
    let line = CURRENT.with_borrow_mut(|current| {
        let current = current.as_mut().filter(|c| !c.written)?;
        current.written = true;
        current.entry.store = StoreUse {
            kv_reads: store.kv_reads,
            kv_writes: store.kv_writes,
            counter_calls: store.counter_calls,
        };
        serde_json::to_string(&current.entry).ok()
    });
    if let Some(mut line) = line {
        // One write per line: instances share the host's stderr, and a
        // separate newline write lets another instance's line in between.
        line.push('\n');
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}

fn principal_digest(id: &str) -> String {
    let mut digest = wws_guest::digest::sha256_hex(id);
    digest.truncate(PRINCIPAL_PREFIX);
    digest
}

/// `auth;dur=0.038, route;dur=0.010` as name -> milliseconds.
fn parse_server_timing(value: &str) -> Vec<(String, f64)> {
    value
        .split(',')
        .filter_map(|metric| {
            let mut parts = metric.split(';').map(str::trim);
            let name = parts.next().filter(|name| !name.is_empty())?;
            let millis = parts
                .find_map(|param| param.strip_prefix("dur="))
                .and_then(|dur| dur.parse::<f64>().ok())?;
            Some((name.to_string(), millis))
        })
        .collect()
}

fn round(millis: f64) -> f64 {
    (millis * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_server_timing_entries() {
        let parsed = parse_server_timing("auth;dur=0.038, ratelimit;dur=1.5, bogus, x;desc=y");
        assert_eq!(
            parsed,
            vec![("auth".to_string(), 0.038), ("ratelimit".to_string(), 1.5)]
        );
    }

    #[test]
    fn the_line_names_the_route_but_never_the_principal_itself() {
        begin("req-1".into(), "POST", "/v1/chat/completions");
        principal("user-1234", "jwt");
        let mut head = Head::new(200);
        head.set("x-wws-provider", "primary");
        head.set("x-wws-cache", "MISS");
        head.set("server-timing", "auth;dur=0.5");
        responded(&head);
        let line = CURRENT
            .with_borrow(|current| serde_json::to_value(&current.as_ref().unwrap().entry).unwrap());
        assert_eq!(line["request_id"], "req-1");
        assert_eq!(line["route"], "/v1/chat/completions");
        assert_eq!(line["status"], 200);
        assert_eq!(line["provider"], "primary");
        assert_eq!(line["cache"], "MISS");
        assert_eq!(line["timings_ms"]["auth"], 0.5);
        assert_eq!(line["principal"], principal_digest("user-1234"));
        assert!(!line.to_string().contains("user-1234"));
    }
}
