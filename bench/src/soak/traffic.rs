//! The soak's traffic: a fixed mix of request classes, each answer checked
//! against what its class must get, and tallies of everything seen.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use serde::Serialize;
use serde_json::json;

use super::client::Answer;
use crate::mock;

/// Distinct signed-in users; each gets its own limiter, session and cache keys.
const PRINCIPALS: u64 = 32;
/// The cacheable prompts form a ring; at any moment a window of them is in
/// use, and the window moves along the ring (see [`Traffic::prompt`]).
const PROMPT_RING: u64 = 16;
const PROMPT_WINDOW: u64 = 4;
/// Origin pages per kind (cacheable and not).
const PAGES: u64 = 8;
/// Tokens Supabase rejects: the negative cache gets one key per token.
const BAD_TOKENS: u64 = 4;
/// The route one principal (the hammer) sends over its tiny limit.
pub const LIMITED_ROUTE: &str = "/api/ai/generate";
pub const LIMITED_REQUESTS: u64 = 5;
pub const LIMITED_WINDOW_SECS: u64 = 10;
/// At most this many unexpected answers are kept to show.
const SAMPLES: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Not cacheable (temperature 0.7), on `/v1/chat/completions` or `/api/ai/chat`.
    Chat,
    /// SSE, half of them cacheable; must end with `data: [DONE]`.
    Stream,
    /// Temperature 0 from the rotating prompt ring: hits, stale hits and misses.
    Cacheable,
    /// Pass-through GETs, half of them cacheable by the origin's headers.
    Origin,
    /// The hammer over its limit: 200 or 429 with `Retry-After`.
    Limited,
    /// No token or one Supabase rejects: 401.
    Unauthorized,
}

/// One pass of the mix, 20 requests: 25% chat, 15% streams, 25% cacheable,
/// 15% origin, 10% over a limit, 10% unauthorised, interleaved.
const MIX: [Class; 20] = {
    use Class::*;
    [
        Cacheable,
        Chat,
        Origin,
        Stream,
        Cacheable,
        Chat,
        Limited,
        Cacheable,
        Unauthorized,
        Chat,
        Stream,
        Origin,
        Cacheable,
        Chat,
        Limited,
        Cacheable,
        Stream,
        Origin,
        Chat,
        Unauthorized,
    ]
};

pub struct Request {
    pub class: Class,
    pub path: String,
    pub http: hyper::Request<Full<Bytes>>,
}

#[derive(Default, Serialize)]
pub struct ClassTally {
    pub requests: u64,
    pub statuses: BTreeMap<u16, u64>,
    /// `X-WWS-Cache` values on answers that carry one.
    pub cache: BTreeMap<String, u64>,
    pub unexpected: u64,
    #[serde(skip)]
    latencies_ms: Vec<f64>,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Largest `Retry-After` seen on a 429, seconds.
    pub max_retry_after: Option<u64>,
}

#[derive(Default)]
pub struct Tally {
    pub classes: BTreeMap<Class, ClassTally>,
    pub requests: u64,
    pub unexpected: u64,
    pub unexpected_samples: Vec<String>,
    /// Latencies since the last sample, all classes.
    interval_ms: Vec<f64>,
}

impl Tally {
    /// Latencies since the last call, as (p50, p99).
    pub fn take_interval(&mut self) -> Option<(f64, f64)> {
        let mut millis = std::mem::take(&mut self.interval_ms);
        (!millis.is_empty()).then(|| percentiles(&mut millis))
    }

    /// Fills in each class's percentiles over the whole run.
    pub fn finish(&mut self) {
        for tally in self.classes.values_mut() {
            (tally.p50_ms, tally.p99_ms) = percentiles(&mut tally.latencies_ms);
        }
    }
}

fn percentiles(millis: &mut [f64]) -> (f64, f64) {
    millis.sort_by(f64::total_cmp);
    let at = |q: f64| {
        millis
            .get(((millis.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    (at(0.5), at(0.99))
}

pub struct Traffic {
    pub started: Instant,
    /// How long the prompt window stays on one step of the ring.
    step: Duration,
    next: AtomicU64,
    pub tally: Mutex<Tally>,
}

impl Traffic {
    /// The window walks the whole prompt ring in the first 40% of `duration`,
    /// so by half time every key the workload will ever create exists and the
    /// key count must stay flat from then on.
    pub fn new(duration: Duration) -> Self {
        Self {
            started: Instant::now(),
            step: (duration.mul_f64(0.4) / PROMPT_RING as u32).max(Duration::from_millis(100)),
            next: AtomicU64::new(0),
            tally: Mutex::default(),
        }
    }

    /// The next request of the mix.
    pub fn next_request(&self) -> Request {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let class = MIX[(n % MIX.len() as u64) as usize];
        let user = format!("{}soak-{}", mock::USER_PREFIX, pick(n, 1, PRINCIPALS));
        let (path, token, body) = match class {
            Class::Chat if pick(n, 2, 2) == 0 => {
                let body = json!({ "messages": [{ "role": "user", "content": format!("chat {n}") }],
                                   "temperature": 0.7 });
                ("/v1/chat/completions".to_string(), Some(user), Some(body))
            }
            Class::Chat => {
                let body = json!({ "messages": [{ "role": "user", "content": format!("chat {n}") }],
                                   "context": "soak", "temperature": 0.7 });
                ("/api/ai/chat".to_string(), Some(user), Some(body))
            }
            Class::Stream => {
                // Half share the cacheable prompts' entries (the key leaves
                // `stream` out), so streams replay plain answers and the
                // other way round. `0`, not `0.0`: the key sees the difference.
                let (content, temperature) = match pick(n, 2, 2) {
                    0 => (self.prompt(n), json!(0)),
                    _ => (format!("stream {n}"), json!(0.7)),
                };
                let body = json!({ "messages": [{ "role": "user", "content": content }],
                                   "temperature": temperature, "stream": true });
                ("/v1/chat/completions".to_string(), Some(user), Some(body))
            }
            Class::Cacheable => {
                let body = json!({ "messages": [{ "role": "user", "content": self.prompt(n) }],
                                   "temperature": 0 });
                ("/v1/chat/completions".to_string(), Some(user), Some(body))
            }
            Class::Origin => {
                let kind = match pick(n, 2, 2) {
                    0 => mock::CACHEABLE_PAGE,
                    _ => mock::UNCACHEABLE_PAGE,
                };
                (format!("{kind}{}", pick(n, 3, PAGES)), Some(user), None)
            }
            Class::Limited => {
                let body = json!({ "prompt": format!("hammer {n}") });
                let hammer = format!("{}hammer", mock::USER_PREFIX);
                (LIMITED_ROUTE.to_string(), Some(hammer), Some(body))
            }
            Class::Unauthorized => {
                let token =
                    (pick(n, 2, 2) == 0).then(|| format!("not-a-user-{}", pick(n, 3, BAD_TOKENS)));
                (
                    "/v1/chat/completions".to_string(),
                    token,
                    Some(json!({ "messages": [] })),
                )
            }
        };
        let mut http = hyper::Request::builder()
            .method(if body.is_some() { "POST" } else { "GET" })
            .uri(&path);
        if let Some(token) = token {
            http = http.header("authorization", format!("Bearer {token}"));
        }
        let body = body.map_or(Bytes::new(), |body| Bytes::from(body.to_string()));
        let http = http
            .header("content-type", "application/json")
            .body(Full::new(body))
            .expect("valid request");
        Request { class, path, http }
    }

    /// A prompt from the current window of the ring.
    fn prompt(&self, n: u64) -> String {
        let step = (self.started.elapsed().as_millis() / self.step.as_millis()) as u64;
        format!(
            "soak prompt {}",
            (step + pick(n, 4, PROMPT_WINDOW)) % PROMPT_RING
        )
    }

    pub fn record(
        &self,
        class: Class,
        path: &str,
        latency: Duration,
        answer: anyhow::Result<Answer>,
    ) {
        let millis = latency.as_secs_f64() * 1000.0;
        let mut tally = self.tally.lock().expect("tally lock");
        tally.requests += 1;
        tally.interval_ms.push(millis);
        let entry = tally.classes.entry(class).or_default();
        entry.requests += 1;
        entry.latencies_ms.push(millis);
        let problem = match answer {
            Err(error) => Some(format!("{error:#}")),
            Ok(answer) => {
                *entry.statuses.entry(answer.status).or_default() += 1;
                if let Some(label) = header(&answer, "x-wws-cache") {
                    *entry.cache.entry(label.to_string()).or_default() += 1;
                }
                if answer.status == 429 {
                    let retry_after = header(&answer, "retry-after").and_then(|v| v.parse().ok());
                    entry.max_retry_after = entry.max_retry_after.max(retry_after);
                }
                check(class, path, &answer).err().map(|reason| {
                    let body = String::from_utf8_lossy(&answer.body);
                    let body: String = body.chars().take(200).collect();
                    format!("status {}: {reason}; body {body:?}", answer.status)
                })
            }
        };
        if let Some(problem) = problem {
            entry.unexpected += 1;
            tally.unexpected += 1;
            if tally.unexpected_samples.len() < SAMPLES {
                let at = self.started.elapsed().as_secs_f64();
                tally
                    .unexpected_samples
                    .push(format!("{at:.1}s {class:?} {path}: {problem}"));
            }
        }
    }
}

/// What each class must get; `Err` names what was wrong.
fn check(class: Class, path: &str, answer: &Answer) -> Result<(), &'static str> {
    let body = String::from_utf8_lossy(&answer.body);
    let completion = || body.contains("\"choices\"");
    match (class, answer.status) {
        (Class::Chat | Class::Cacheable | Class::Limited, 200) if completion() => Ok(()),
        (Class::Chat | Class::Cacheable | Class::Limited, 200) => Err("not a completion"),
        (Class::Stream, 200) => {
            if !header(answer, "content-type").is_some_and(|v| v.starts_with("text/event-stream")) {
                Err("not an event stream")
            } else if body.contains("event: error") {
                Err("stream carried an error event")
            } else if !body.trim_end().ends_with("data: [DONE]") {
                Err("stream did not end with [DONE]")
            } else {
                Ok(())
            }
        }
        (Class::Origin, 200) if body.contains(&format!("\"{path}\"")) => Ok(()),
        (Class::Origin, 200) => Err("not the origin's page"),
        (Class::Limited, 429) => {
            if header(answer, "retry-after")
                .and_then(|v| v.parse::<u64>().ok())
                .is_none()
            {
                Err("429 without a numeric Retry-After")
            } else if !body.contains("rate_limit_exceeded") {
                Err("429 without rate_limit_exceeded")
            } else {
                Ok(())
            }
        }
        (Class::Unauthorized, 401) => Ok(()),
        _ => Err("unexpected status"),
    }
}

fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer.headers.get(name)?.to_str().ok()
}

/// A well-spread choice in `0..count` for request `n`; `salt` keeps the
/// choices of one request independent of each other.
fn pick(n: u64, salt: u64, count: u64) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one((n, salt)) % count
}
