//! Per-provider counters kept in KV, so every instance (and every gateway
//! sharing a Redis) adds to one set: calls made, calls that failed, and
//! answers a provider gave after an earlier target had failed or was skipped.
//!
//! Counting must never cost a request its answer, so store errors are
//! ignored here; the counters are for operators, not for decisions.

use serde_json::{Map, Value, json};
use wws_guest::kv::Store;

/// The providers the gateway knows, in the order operators read them.
pub const PROVIDERS: [&str; 2] = ["primary", "fallback"];

#[derive(Clone, Copy)]
pub enum Event {
    Request,
    Error,
    Fallback,
}

impl Event {
    const ALL: [Event; 3] = [Event::Request, Event::Error, Event::Fallback];

    fn name(self) -> &'static str {
        match self {
            Event::Request => "requests",
            Event::Error => "errors",
            Event::Fallback => "fallbacks",
        }
    }
}

fn key(provider: &str, event: Event) -> String {
    format!("stats:{provider}:{}", event.name())
}

pub fn record(provider: &str, event: Event) {
    if let Ok(store) = Store::open_default() {
        let _ = store.increment(&key(provider, event), 1);
    }
}

/// `{"primary": {"requests": n, "errors": n, "fallbacks": n}, ...}`.
pub fn snapshot() -> Result<Value, wws_guest::kv::KvError> {
    let store = Store::open_default()?;
    let mut providers = Map::new();
    for provider in PROVIDERS {
        let mut counts = Map::new();
        for event in Event::ALL {
            let count = store.counter(&key(provider, event))?;
            counts.insert(event.name().into(), json!(count));
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
}
