//! Per-provider counters kept in KV, so every instance (and every gateway
//! sharing a Redis) adds to one set: calls made, calls that failed, and
//! answers a provider gave after an earlier target had failed or was skipped.
//!
//! Counting must never cost a request its answer, so store errors are
//! ignored here; the counters are for operators, not for decisions. For the
//! same reason they are written after the answer has gone out: events are
//! noted while the request runs and [`flush`]ed when its handler is done,
//! which keeps a store write per provider call (a transaction of its own in
//! Spin's SQLite store) off the time a client waits. An instance serves one
//! request, so what it has noted is that request's.

use std::cell::RefCell;

use serde_json::{Map, Value, json};
use wws_guest::kv::{Counters, SharedCounters};

use crate::config;

thread_local! {
    static NOTED: RefCell<Vec<(String, Event)>> = const { RefCell::new(Vec::new()) };
}

#[derive(Clone, Copy)]
pub enum Event {
    Request,
    Error,
    Fallback,
    /// A call made with the pool's key at this index (never the key).
    Key(usize),
}

impl Event {
    const ALL: [Event; 3] = [Event::Request, Event::Error, Event::Fallback];

    fn name(self) -> String {
        match self {
            Event::Request => "requests".into(),
            Event::Error => "errors".into(),
            Event::Fallback => "fallbacks".into(),
            Event::Key(index) => format!("key{index}"),
        }
    }
}

fn key(provider: &str, event: Event) -> String {
    format!("stats:{provider}:{}", event.name())
}

/// Notes one event, to be counted by [`flush`].
pub fn record(provider: &str, event: Event) {
    NOTED.with_borrow_mut(|noted| noted.push((provider.to_string(), event)));
}

/// Adds what this request noted to the shared counters, one increment per
/// counter however many events it holds.
pub fn flush() {
    let noted = NOTED.take();
    if noted.is_empty() {
        return;
    }
    for (key, count) in totals(&noted) {
        let _ = SharedCounters.add(&key, count, 0);
    }
}

fn totals(noted: &[(String, Event)]) -> Vec<(String, i64)> {
    let mut totals: Vec<(String, i64)> = Vec::new();
    for (provider, event) in noted {
        let key = key(provider, *event);
        match totals.iter_mut().find(|(known, _)| *known == key) {
            Some((_, count)) => *count += 1,
            None => totals.push((key, 1)),
        }
    }
    totals
}

/// `{"primary": {"requests": n, "errors": n, "fallbacks": n}, ...}`, with
/// `"keys": [calls per key index]` for a provider with a pool of keys.
pub fn snapshot() -> Result<Value, wws_guest::kv::KvError> {
    let mut providers = Map::new();
    for provider in config::PROVIDERS {
        let mut counts = Map::new();
        let events: Vec<String> = Event::ALL
            .iter()
            .map(|event| key(provider, *event))
            .collect();
        for (event, count) in Event::ALL.iter().zip(SharedCounters.read(&events)?) {
            counts.insert(event.name(), json!(count));
        }
        let pool = config::key_count(provider);
        if pool > 1 {
            let keys: Vec<String> = (0..pool)
                .map(|index| key(provider, Event::Key(index)))
                .collect();
            counts.insert("keys".into(), json!(SharedCounters.read(&keys)?));
        }
        providers.insert(provider.into(), Value::Object(counts));
    }
    Ok(Value::Object(providers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_provider_and_event() {
        assert_eq!(key("primary", Event::Request), "stats:primary:requests");
        assert_eq!(key("fallback", Event::Fallback), "stats:fallback:fallbacks");
    }

    #[test]
    fn a_request_adds_each_counter_once() {
        let noted = [
            ("primary".to_string(), Event::Request),
            ("primary".to_string(), Event::Error),
            ("primary".to_string(), Event::Request),
            ("fallback".to_string(), Event::Request),
        ];
        assert_eq!(
            totals(&noted),
            [
                ("stats:primary:requests".to_string(), 2),
                ("stats:primary:errors".to_string(), 1),
                ("stats:fallback:requests".to_string(), 1),
            ]
        );
    }
}
