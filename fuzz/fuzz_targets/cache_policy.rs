//! The `cache_policy` variable: any text is either refused or gives a policy
//! for every path: the entry of its longest configured prefix (matched by
//! whole path segments) laid over `default`, laid over the built-in lifetimes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use wws_cache::fuzzing::policy::{Policies, Policy};

const PATHS: [&str; 5] = [
    "/v1/chat/completions",
    "/api/ai/generate",
    "/api/docs/x",
    "/",
    "",
];

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(policies) = Policies::from_json(json) else {
        return;
    };
    let table: Map<String, Value> = serde_json::from_str(json).expect("accepted JSON is an object");
    let default = over(table.get("default"), Policy::default());
    let prefixes: Vec<&str> = table
        .keys()
        .map(String::as_str)
        .filter(|prefix| *prefix != "default")
        .collect();
    for path in PATHS.iter().chain(&prefixes) {
        let longest = prefixes
            .iter()
            .filter(|prefix| covers(prefix, path))
            .max_by_key(|prefix| prefix.len());
        let expected = match longest {
            Some(prefix) => over(table.get(*prefix), default),
            None => default,
        };
        assert_eq!(policies.for_path(path), expected, "{path:?}");
    }
});

/// `/api/docs` covers `/api/docs` and `/api/docs/x`, not `/api/docs-admin`.
fn covers(prefix: &str, path: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || prefix.ends_with('/'))
}

fn over(entry: Option<&Value>, base: Policy) -> Policy {
    // serde also takes a struct as an array of its fields in order
    // (`[true, false, 60, 300, 300]`): found by this target, accepted as is.
    let field = |name: &str, position: usize| match entry? {
        Value::Array(fields) => fields.get(position),
        entry => entry.get(name),
    };
    let flag = |name, position, base| {
        field(name, position)
            .and_then(Value::as_bool)
            .unwrap_or(base)
    };
    let secs = |name, position, base| {
        field(name, position)
            .and_then(Value::as_u64)
            .unwrap_or(base)
    };
    Policy {
        enabled: flag("enabled", 0, base.enabled),
        public: flag("public", 1, base.public),
        fresh_secs: secs("fresh_secs", 2, base.fresh_secs),
        stale_secs: secs("stale_secs", 3, base.stale_secs),
        stale_if_error_secs: secs("stale_if_error_secs", 4, base.stale_if_error_secs),
    }
}
